"""The Smart Data Models registry, read offline from the pysmartdatamodels package.

The package ships every model's attributes (name, JSON type, description,
units) in one compressed file. It takes about two seconds to read, so the
registry is built once per process, on first use.
"""

from __future__ import annotations

import difflib

import gzip
import json
import math
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

from icity.errors import FieldProblem

# What an IS checks its entities against (InformationSystem.validation): the Smart Data Models
# (types, attributes, ids urn:ngsi-ld:<Type>:<city>:<local-id>), or nothing beyond usable values
# and URI ids, for a city bringing its own models through its own JSON-LD @context.
SMART_DATA_MODELS, OPEN = "smart-data-models", "open"
VALIDATIONS = (SMART_DATA_MODELS, OPEN)

# Core members of an iCity entity; never validated as model attributes.
CORE_KEYS = frozenset({"id", "type", "location", "observedAt", "modifiedAt", "city", "informationSystem"})

# JSON Schema type → does a Python value of this class have it? (By class, so that the
# answer can be cached: a harvest checks the same few classes hundreds of thousands of times.)
_JSON_TYPES = {
    "string": lambda cls: issubclass(cls, str),
    "number": lambda cls: issubclass(cls, (int, float)) and not issubclass(cls, bool),
    "integer": lambda cls: issubclass(cls, int) and not issubclass(cls, bool),
    "boolean": lambda cls: issubclass(cls, bool),
    "array": lambda cls: issubclass(cls, list),
    "object": lambda cls: issubclass(cls, dict),
    "null": lambda cls: cls is type(None),
}


# Attributes Smart Data Models use for the time of an observation or of a device's last
# report (AirQualityObserved.dateObserved, Device.dateLastReported, …); dateModified and
# dateCreated are the record's, not the observation's.
OBSERVATION_TIME_ATTRIBUTES = ("dateObserved", "dateLastReported", "dateLastValueReported")

# A value a city can use: a number is finite and, when whole, exact in the double every
# number is stored as (history's value_number); text holds no control character but
# tab, line feed and carriage return (no Smart Data Model attribute allows them).
# One rule for HTTP and MQTT pushes, harvests and entity writes: all pass validate().
MAX_EXACT_INTEGER = 2**53
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def unusable_value(value: Any, path: str) -> tuple[str, str] | None:
    """(path, reason) of the first number or text within value a city cannot use; None if all are usable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        if abs(value) > MAX_EXACT_INTEGER:
            return path, f"integer beyond ±2**53 ({MAX_EXACT_INTEGER:,}): not kept exactly"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, "must be a finite number (not NaN or ±Infinity)")
    if isinstance(value, str):
        found = _CONTROL_CHARACTERS.search(value)
        if found:
            return path, f"contains the control character U+{ord(found.group()):04X} at position {found.start()}"
        return None
    if isinstance(value, dict):
        items = ((f"{path}.{key}", item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    else:
        return None
    for item_path, item in items:
        found = unusable_value(item, item_path)
        if found:
            return found
    return None


@lru_cache(maxsize=4096)
def _accepts(types: frozenset[str], cls: type) -> bool:
    return any(_JSON_TYPES.get(name, lambda _: True)(cls) for name in types)


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    types: frozenset[str]  # JSON Schema types; empty means any
    description: str = ""
    units: str | None = None
    format: str | None = None
    ngsi_type: str = "Property"
    iri: str | None = None  # its IRI in the Smart Data Models' JSON-LD context

    @property
    def numeric(self) -> bool:
        return bool(self.types) and self.types <= {"number", "integer", "null"}

    def problem_with(self, value: Any) -> str | None:
        if self.types and not _accepts(self.types, type(value)):
            return f"must be of type {' or '.join(sorted(self.types))}, got {_json_type(value)}"
        if self.format == "date-time" and isinstance(value, str) and not _is_datetime(value):
            return "must be an ISO 8601 date-time, e.g. 2024-05-01T10:00:00Z"
        return None


@dataclass
class DataModel:
    name: str
    subject: str
    attributes: dict[str, AttributeSpec] = field(default_factory=dict)

    @property
    def schema_url(self) -> str:
        """The model's identifier: the `$id` of its JSON Schema as the Smart Data Models publish it."""
        return f"https://smart-data-models.github.io/{self.subject}/{self.name}/schema.json"

    @property
    def observation_times(self) -> tuple[str, ...]:
        """The model's own attributes for when its values were observed or last reported: kept
        in step with observedAt by pushes and harvests unless a record gives them."""
        return tuple(name for name in OBSERVATION_TIME_ATTRIBUTES if name in self.attributes)

    def validate(self, attributes: dict[str, Any], prefix: str = "") -> list[FieldProblem]:
        """Every problem with these attributes, each with its path; [] when valid."""
        problems: list[FieldProblem] = []
        for name, value in attributes.items():
            spec = self.attributes.get(name)
            if spec is None:
                detail = f"'{name}' is not an attribute of {self.name}{_suggestion(name, self)}"
                problems.append(FieldProblem(f"{prefix}{name}", detail))
                continue
            problem = spec.problem_with(value)
            if problem:
                problems.append(FieldProblem(f"{prefix}{name}", problem))
                continue
            unusable = unusable_value(value, f"{prefix}{name}")
            if unusable:
                problems.append(FieldProblem(*unusable))
        return problems


class Registry:
    def __init__(self, models: dict[str, DataModel]):
        self._models = models

    def get(self, type_name: str) -> DataModel | None:
        return self._models.get(type_name)

    def __contains__(self, type_name: str) -> bool:
        return type_name in self._models

    def names(self) -> list[str]:
        return sorted(self._models)


def _json_type(value: Any) -> str:
    for name in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _JSON_TYPES[name](type(value)):
            return name
    return type(value).__name__


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def closest(name: str, candidates: list[str]) -> str | None:
    """The candidate `name` was most likely meant to be: the same but for case, else the closest spelling."""
    same = [c for c in candidates if c.lower() == name.lower()]
    if same:
        return same[0]
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.8)
    return matches[0] if matches else None


def _suggestion(name: str, model: DataModel) -> str:
    matches = [a for a in model.attributes if a.lower() == name.lower()]
    return f" (did you mean '{matches[0]}'?)" if matches else ""


def _types_of(raw: Any) -> set[str]:
    if isinstance(raw, str):
        return {raw}
    if isinstance(raw, list):
        return {t for t in raw if isinstance(t, str)}
    return set()  # absent, or a nested schema: accept any value


def _build() -> Registry:
    source = resources.files("pysmartdatamodels") / "model-assets" / "smartdatamodels.json.gz"
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        rows = json.load(text)
    models: dict[str, DataModel] = {}
    for row in rows:
        model_name, prop = row.get("dataModel"), row.get("property")
        if not model_name or not prop or prop in CORE_KEYS:
            continue
        model = models.setdefault(model_name, DataModel(model_name, row.get("repoName", "")))
        types = _types_of(row.get("type"))
        known = model.attributes.get(prop)
        if known:  # a model may list one attribute twice with different types: accept both
            types = types | known.types if (types and known.types) else set()
        model.attributes[prop] = AttributeSpec(
            name=prop,
            types=frozenset(types),
            description=(row.get("description") or "").strip(),
            units=row.get("units") or (known.units if known else None),
            format=row.get("format"),
            ngsi_type=row.get("typeNGSI") or "Property",
            iri=(known.iri if known else None) or row.get("context"),
        )
    return Registry(models)


_lock = threading.Lock()
_registry: Registry | None = None


def get_registry() -> Registry:
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = _build()
    return _registry
