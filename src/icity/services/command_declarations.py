"""What a device declares it accepts: commands with a JSON Schema (Draft 2020-12) of their
parameters, and where they go (an HTTP endpoint, or MQTT). Checked when a device is registered
(services/catalogue.py) and when its city declares them (services/commands.py)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from icity.errors import FieldProblem
from icity.services import outbound

NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
RESERVED_NAMES = ("commandId", "error")  # keys of the MQTT payloads besides the command's name
MAX_DECLARED = 100


def declaration_problems(commands: list[Any], command_url: str | None) -> list[FieldProblem]:
    """What is wrong with a device's declared commands and endpoint (empty: nothing)."""
    problems: list[FieldProblem] = []
    if len(commands) > MAX_DECLARED:
        problems.append(FieldProblem("commands", f"at most {MAX_DECLARED} commands per device"))
    seen: set[str] = set()
    for index, command in enumerate(commands):
        where = f"commands[{index}]"
        if not isinstance(command, dict):
            problems.append(FieldProblem(where, 'each command is an object: {"name", "description", "parameters"}'))
            continue
        name = command.get("name")
        if not isinstance(name, str) or not NAME.match(name) or name in RESERVED_NAMES:
            problems.append(
                FieldProblem(f"{where}.name", "a name of letters, digits, _ . - (starting with a letter), not commandId or error")
            )
        elif name in seen:
            problems.append(FieldProblem(f"{where}.name", f"'{name}' is declared twice"))
        else:
            seen.add(name)
        schema = command.get("parameters", {"type": "object"})
        problems.extend(_schema_problems(f"{where}.parameters", schema))
        unknown = set(command) - {"name", "description", "parameters"}
        if unknown:
            problems.append(FieldProblem(where, f"unknown field(s): {', '.join(sorted(unknown))}"))
    if command_url is not None:
        parts = urlsplit(command_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(command_url) > 1000:
            problems.append(FieldProblem("commandUrl", "an http:// or https:// URL of at most 1000 characters, or null for MQTT"))
        elif refused := outbound.refusal(command_url):
            problems.append(FieldProblem("commandUrl", refused))
    return problems


def _schema_problems(where: str, schema: Any) -> list[FieldProblem]:
    if not isinstance(schema, dict):
        return [FieldProblem(where, "a JSON Schema object describing the parameters object")]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as error:
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path)
        return [FieldProblem(f"{where}{path}", f"not a valid JSON Schema (Draft 2020-12): {error.message}")]
    if schema.get("type", "object") != "object":
        return [FieldProblem(f"{where}.type", "the parameters are a JSON object: the schema's type is object")]
    remote = _remote_reference(schema)
    if remote:
        return [FieldProblem(where, f"only references inside the schema (#…) are allowed, not {remote}")]
    return []


def _remote_reference(value: Any) -> str | None:
    """A $ref outside the schema: it would be fetched, or fail, when parameters are checked."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("$ref", "$dynamicRef") and isinstance(item, str) and not item.startswith("#"):
                return item
            found = _remote_reference(item)
            if found:
                return found
    elif isinstance(value, list):
        for item in value:
            found = _remote_reference(item)
            if found:
                return found
    return None
