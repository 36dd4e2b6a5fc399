"""What any JSON the platform receives must be (HTTP bodies, MQTT payloads), before a rule of
its own looks at it: nested at most MAX_JSON_DEPTH deep (orjson, which writes every stored
document and every answer, stops at 255 levels), and no text — key or string — with a NUL
(PostgreSQL refuses it in text) or a lone surrogate (it has no UTF-8 form to store)."""

from __future__ import annotations

from typing import Any

from icity.errors import FieldProblem

MAX_JSON_DEPTH = 64


def text_problem(text: str) -> str | None:
    """Why `text` cannot be stored, or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone surrogate (\\ud800–\\udfff without its pair)"
    return None


def json_problems(document: Any, limit: int = 20) -> list[FieldProblem]:
    """The problems of a parsed JSON document (at most `limit`), each with its path (a.b[0].c)."""
    problems: list[FieldProblem] = []
    stack: list[tuple[Any, str, int]] = [(document, "", 1)]
    while stack and len(problems) < limit:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_JSON_DEPTH:
                problems.append(FieldProblem(path or "body", f"is nested more than {MAX_JSON_DEPTH} levels deep"))
                continue
            for key, item in value.items():
                where = f"{path}.{key}" if path else str(key)
                problem = text_problem(key)
                if problem:
                    problems.append(FieldProblem(where, f"the name {problem}"))
                elif isinstance(item, (dict, list)):
                    stack.append((item, where, depth + 1))
                elif isinstance(item, str) and (problem := text_problem(item)):
                    problems.append(FieldProblem(where, problem))
        elif isinstance(value, list):
            if depth > MAX_JSON_DEPTH:
                problems.append(FieldProblem(path or "body", f"is nested more than {MAX_JSON_DEPTH} levels deep"))
                continue
            for index, item in enumerate(value):
                where = f"{path}[{index}]"
                if isinstance(item, (dict, list)):
                    stack.append((item, where, depth + 1))
                elif isinstance(item, str) and (problem := text_problem(item)):
                    problems.append(FieldProblem(where, problem))
        elif isinstance(value, str) and (problem := text_problem(value)):
            problems.append(FieldProblem(path or "body", problem))
    return problems
