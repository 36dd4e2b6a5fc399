"""Parsing of the query-string filters of entity reads: q, bbox, near, intervals, times.

Each parser turns text into a typed value or raises a 400 naming its parameter.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from icity.datamodels import get_registry
from icity.errors import bad_parameter

METRES_PER_DEGREE = 6_371_008.8 * math.pi / 180  # mean Earth radius
MAX_RADIUS_M = 100_000
ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TERM = re.compile(r"^(?P<attr>[^=!<>~]+?)\s*(?P<op>==|!=|>=|<=|>|<)\s*(?P<value>.+)$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
INTERVAL = re.compile(r"^(?P<n>\d+)(?P<unit>[mhd])$")
INTERVAL_SECONDS = {"m": 60, "h": 3600, "d": 86400}
MAX_INTERVAL_S = 3650 * 86400  # ten years: a longer bucket holds every observation there is


@dataclass(frozen=True)
class Condition:
    """One `attribute op value` term of q; `values` has several items for `a==x,y`."""

    attribute: str
    op: str
    values: tuple[Any, ...]
    kind: str  # number | string | boolean


@dataclass(frozen=True)
class BBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True)
class Near:
    lat: float
    lon: float
    radius_m: float

    @property
    def degrees_lat(self) -> float:
        return self.radius_m / METRES_PER_DEGREE

    @property
    def lon_scale(self) -> float:
        """Metres per degree of longitude at this latitude."""
        return METRES_PER_DEGREE * math.cos(math.radians(self.lat))

    @property
    def degrees_lon(self) -> float:
        return self.radius_m / max(self.lon_scale, 1e-9)


def _literal(text: str) -> tuple[Any, str]:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1], "string"
    if NUMBER.match(text):
        return float(text), "number"
    if text in ("true", "false"):
        return text == "true", "boolean"
    return text, "string"


def parse_q(q: str, entity_type: str | None) -> list[Condition]:
    """`no2>40;airQualityLevel==moderate`: terms joined by `;`, all must hold."""
    model = get_registry().get(entity_type) if entity_type else None
    conditions = []
    for raw in q.split(";"):
        match = TERM.match(raw.strip())
        if not match:
            raise bad_parameter(
                "q",
                f"Cannot read the term '{raw}'. Write attribute, operator (==, !=, >, >=, <, <=) and value, "
                "terms separated by ';', e.g. no2>40;airQualityLevel==moderate",
            )
        attribute, op, value_text = match["attr"].strip(), match["op"], match["value"]
        if not ATTRIBUTE_NAME.match(attribute):
            raise bad_parameter("q", f"'{attribute}' is not an attribute name")
        if model is not None and attribute not in model.attributes:
            hint = next((a for a in model.attributes if a.lower() == attribute.lower()), None)
            suggestion = f" Did you mean '{hint}'?" if hint else ""
            raise bad_parameter("q", f"'{attribute}' is not an attribute of {entity_type}.{suggestion}")
        parts = [_literal(p) for p in value_text.split(",")] if op in ("==", "!=") else [_literal(value_text)]
        kinds = {kind for _, kind in parts}
        if len(kinds) > 1:
            raise bad_parameter("q", f"the values compared with '{attribute}' mix numbers and text")
        kind = kinds.pop()
        if op in (">", ">=", "<", "<=") and kind != "number":
            raise bad_parameter("q", f"'{attribute}{op}' needs a number, got '{value_text}'")
        conditions.append(Condition(attribute, op, tuple(v for v, _ in parts), kind))
    return conditions


def _floats(param: str, text: str, count: int, shape: str) -> list[float]:
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise bad_parameter(param, f"{param} must be {count} numbers separated by commas: {shape}")
    return values


def parse_bbox(text: str) -> BBox:
    min_lon, min_lat, max_lon, max_lat = _floats("bbox", text, 4, "minLon,minLat,maxLon,maxLat")
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise bad_parameter(
            "bbox", "bbox must be minLon,minLat,maxLon,maxLat in WGS84 degrees with min ≤ max (e.g. 2.15,41.37,2.20,41.40)"
        )
    return BBox(min_lon, min_lat, max_lon, max_lat)


def parse_near(text: str) -> Near:
    lat, lon, radius = _floats("near", text, 3, "lat,lon,radiusInMetres (e.g. 41.3874,2.1686,500)")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_parameter("near", "near must be lat,lon,radius: lat within [-90, 90], lon within [-180, 180]")
    if not (0 < radius <= MAX_RADIUS_M):
        raise bad_parameter("near", f"the radius must be more than 0 and at most {MAX_RADIUS_M} metres")
    return Near(lat, lon, radius)


def parse_interval(text: str) -> int:
    match = INTERVAL.match(text)
    if not match or int(match["n"]) == 0:
        raise bad_parameter("interval", "interval must be a whole number and a unit m, h or d, e.g. 15m, 1h, 1d")
    seconds = int(match["n"]) * INTERVAL_SECONDS[match["unit"]]
    if seconds > MAX_INTERVAL_S:
        raise bad_parameter("interval", f"interval must be at most {MAX_INTERVAL_S // 86400}d")
    return seconds


def to_utc(value: datetime) -> datetime:
    """The one rule for times on the wire (query, body, MQTT): the same instant in UTC (a time
    without a zone is taken as UTC); ValueError when it has none, e.g. 0001-01-01T00:00:00+14:00."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("is out of range: in UTC it falls before year 1 or after year 9999") from None


def parse_time(param: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise bad_parameter(param, f"{param} must be an ISO 8601 date-time with a time zone, e.g. 2024-05-01T00:00:00Z")
    try:
        return to_utc(value)
    except ValueError as error:
        raise bad_parameter(param, f"{param} {error}") from None


def parse_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]
