"""The services import one another only downward: a cycle (even through a function-level import)
means a rule lives in the wrong module (issue 12: apps ⇄ certification)."""

from __future__ import annotations

import ast
from pathlib import Path

import icity.services

PACKAGE = "icity.services"


def _imports_of_services() -> dict[str, set[str]]:
    """Each services module → the services modules it imports anywhere in its source."""
    folder = Path(icity.services.__file__).parent
    modules = {path.stem for path in folder.glob("*.py") if path.stem != "__init__"}
    graph: dict[str, set[str]] = {}
    for name in modules:
        tree = ast.parse((folder / f"{name}.py").read_text(encoding="utf-8"))
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets |= {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {t.removeprefix(f"{PACKAGE}.") for t in targets if t.startswith(f"{PACKAGE}.")} & modules
    return graph


def _a_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_services_modules_do_not_import_each_other_in_a_circle():
    cycle = _a_cycle(_imports_of_services())
    assert cycle is None, "services import each other in a circle: " + " → ".join(cycle or [])


def test_the_walk_finds_a_circle_when_there_is_one():
    assert _a_cycle({"apps": {"certification"}, "certification": {"apps"}}) == ["apps", "certification", "apps"]
