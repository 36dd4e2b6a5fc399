"""A form generated from a command's JSON Schema (its parameters object), and the parameters
object read back from what was posted. Only the shape of each input comes from here: whether
the parameters are valid is services/commands.py's call (the same JSON Schema validation as
the API), so a value that does not parse is passed on as typed, for it to name the problem."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PREFIX = "p."  # posted field names: p.<parameter>, apart from the form's own (csrf_token…)


@dataclass(frozen=True)
class Field:
    name: str
    input: str  # text | number | integer | checkbox | select | json
    label: str
    required: bool
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    max_length: int | None = None
    options: tuple[Any, ...] = ()
    default: Any = None

    @property
    def form_name(self) -> str:
        return PREFIX + self.name

    def shown(self, value: Any) -> str:
        """An option's or a default's text in the form."""
        return value if isinstance(value, str) else json.dumps(value)


def fields_of(schema: dict[str, Any]) -> list[Field]:
    """One input per property of the parameters object, in the schema's order."""
    required = set(schema.get("required", []))
    return [_field(name, spec if isinstance(spec, dict) else {}, name in required) for name, spec in schema.get("properties", {}).items()]


def _field(name: str, spec: dict[str, Any], required: bool) -> Field:
    kind = spec.get("type")
    common = {
        "name": name, "label": spec.get("title") or name, "required": required,
        "description": spec.get("description", ""), "default": spec.get("default"),
    }  # fmt: skip
    if "enum" in spec:
        return Field(input="select", options=tuple(spec["enum"]), **common)
    if "const" in spec:
        return Field(input="select", options=(spec["const"],), **common)
    if kind in ("number", "integer"):
        return Field(input=kind, minimum=_bound(spec, "minimum"), maximum=_bound(spec, "maximum"), **common)
    if kind == "boolean":
        return Field(input="checkbox", **common)
    if kind == "string":
        return Field(input="text", max_length=spec.get("maxLength"), **common)
    return Field(input="json", **common)  # objects, arrays, several types: typed as JSON


def _bound(spec: dict[str, Any], name: str) -> float | None:
    value = spec.get(name)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def parameters_of(schema: dict[str, Any], posted: dict[str, str]) -> dict[str, Any]:
    """The parameters object from the posted form: a blank optional input is left out, a
    checkbox is true when ticked (false otherwise), numbers and JSON are read where they parse."""
    parameters: dict[str, Any] = {}
    for field in fields_of(schema):
        raw = posted.get(field.form_name)
        if field.input == "checkbox":
            parameters[field.name] = raw is not None
            continue
        if raw is None or raw.strip() == "":
            continue
        parameters[field.name] = _read(field, raw.strip())
    return parameters


def _read(field: Field, raw: str) -> Any:
    if field.input == "select":
        return next((option for option in field.options if field.shown(option) == raw), raw)
    if field.input == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if field.input == "number":
        try:
            number = float(raw)
        except ValueError:
            return raw
        return int(number) if number.is_integer() and "." not in raw and "e" not in raw.lower() else number
    if field.input == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw
