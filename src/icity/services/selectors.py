"""Which changes a subscription (or a stream) selects, and which of their attributes it shows.

The same filters as the entity queries (services/filters.py parses them), evaluated in
Python on change-log rows: a notification is decided once per change, not per query.
`q` means here what it means in SQL there — a term on an absent attribute, or on a
value of another JSON type, is false, except `!=`, which it satisfies.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any

from icity.services.filters import METRES_PER_DEGREE, BBox, Condition, Near

# What a notification always carries, whatever attributes the subscription chose
IDENTITY = ("id", "type", "city", "informationSystem", "observedAt", "modifiedAt")

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
_KINDS = {"number": (int, float), "string": (str,), "boolean": (bool,)}


@dataclass(frozen=True)
class Selector:
    entity_types: tuple[str, ...] = ()  # empty: any
    city: str | None = None
    system: str | None = None
    conditions: tuple[Condition, ...] = ()
    bbox: BBox | None = None
    near: Near | None = None
    attributes: tuple[str, ...] = ()  # empty: all

    def matches(self, change: Any) -> bool:
        """Does this change-log row (entity_type, city_id, information_system_id, lon, lat, entity) qualify?"""
        if self.entity_types and change.entity_type not in self.entity_types:
            return False
        if self.city is not None and change.city_id != self.city:
            return False
        if self.system is not None and change.information_system_id != self.system:
            return False
        if self.bbox is not None and not _in_bbox(self.bbox, change.lon, change.lat):
            return False
        if self.near is not None and not _near(self.near, change.lon, change.lat):
            return False
        return all(_holds(condition, change.entity.get(condition.attribute)) for condition in self.conditions)

    def project(self, entity: dict[str, Any]) -> dict[str, Any]:
        """The entity with only the chosen attributes (and its identity)."""
        if not self.attributes:
            return entity
        return {name: value for name, value in entity.items() if name in IDENTITY or name in self.attributes}


def _typed(condition: Condition, value: Any) -> Any:
    """The value if it is of the condition's JSON type (booleans are not numbers), else None."""
    if isinstance(value, bool) and condition.kind != "boolean":
        return None
    return value if isinstance(value, _KINDS[condition.kind]) else None


def _holds(condition: Condition, raw: Any) -> bool:
    value = _typed(condition, raw)
    if condition.op == "==":
        return value is not None and value in condition.values
    if condition.op == "!=":
        return value is None or value not in condition.values
    return value is not None and _COMPARE[condition.op](value, condition.values[0])


def _in_bbox(bbox: BBox, lon: float | None, lat: float | None) -> bool:
    return lon is not None and lat is not None and bbox.min_lon <= lon <= bbox.max_lon and bbox.min_lat <= lat <= bbox.max_lat


def _near(near: Near, lon: float | None, lat: float | None) -> bool:
    """The same equirectangular distance as the SQL of services/entities.py."""
    if lon is None or lat is None:
        return False
    dx = (lon - near.lon) * near.lon_scale
    dy = (lat - near.lat) * METRES_PER_DEGREE
    return math.hypot(dx, dy) <= near.radius_m
