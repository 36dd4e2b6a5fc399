"""The NGSI-LD geo-query (ETSI GS CIM 009 clause 4.10): georel, geometry, coordinates.

Given as query parameters (`parse_geo_query`) or as a GeoQuery object in a body
(`parse_geo_query_body`). The three go together; the reference geometry is
checked as GeoJSON (RFC 7946: positions [lon, lat] or [lon, lat, alt] in range,
closed rings of four positions or more) and as a valid simple feature (no
self-intersecting polygon). `near` takes a Point here (the clause allows any
reference geometry; a point is what every client sends, and what can be boxed).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import shapely
from shapely.geometry import shape

from icity.errors import bad_parameter
from icity.services.geo_match import GeoFilter

GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon")
PLAIN_RELATIONS = ("within", "contains", "intersects", "disjoint", "overlaps", "equals")
NEAR = re.compile(r"near;(maxDistance|minDistance)==((?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)")
MAX_POSITIONS = 10_000
PARTS = ("georel", "geometry", "coordinates")


def parse_geo_query(georel: str | None, geometry: str | None, coordinates: str | None) -> GeoFilter | None:
    """The filter the three query parameters mean, None when none is given; a 400
    naming the offending parameter otherwise."""
    return _parse({"georel": georel, "geometry": geometry, "coordinates": coordinates}, prefix="")


def parse_geo_query_body(obj: Any, param: str = "geoQ") -> GeoFilter | None:
    """The same from a body's GeoQuery object (`coordinates` a JSON array, or its
    text); errors name `<param>.georel` and so on."""
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise bad_parameter(param, f"{param} must be an object with georel, geometry and coordinates.")
    return _parse({part: obj.get(part) for part in PARTS}, prefix=f"{param}.")


def _parse(parts: dict[str, Any], prefix: str) -> GeoFilter | None:
    given = [part for part in PARTS if parts[part] is not None]
    if not given:
        return None
    missing = [part for part in PARTS if parts[part] is None]
    if missing:
        raise bad_parameter(
            prefix + missing[0],
            f"{' and '.join(given)} given without {' and '.join(missing)}: "
            "a geo-query needs georel, geometry and coordinates together.",
        )
    relation, max_distance, min_distance = _georel(parts["georel"], prefix + "georel")
    geometry_type = _geometry_type(parts["geometry"], prefix + "geometry")
    if relation == "near" and geometry_type != "Point":
        raise bad_parameter(prefix + "geometry", f"near measures distances from a Point, not a {geometry_type}.")
    geometry = _geometry(geometry_type, parts["coordinates"], prefix + "coordinates")
    return GeoFilter(relation, geometry, max_distance, min_distance)


def _georel(text: Any, param: str) -> tuple[str, float | None, float | None]:
    if text in PLAIN_RELATIONS:
        return text, None, None
    near = NEAR.fullmatch(text) if isinstance(text, str) else None
    if near is None:
        if isinstance(text, str) and text.startswith("near"):
            detail = f"'{text}' is not a near relation: write near;maxDistance==<metres> or near;minDistance==<metres>."
        else:
            detail = f"'{text}' is not a georel: use near;maxDistance==<metres>, near;minDistance==<metres>, " + (
                ", ".join(PLAIN_RELATIONS) + "."
            )
        raise bad_parameter(param, detail)
    distance = float(near.group(2))
    if not (math.isfinite(distance) and distance > 0):
        raise bad_parameter(param, f"the distance of near is a positive number of metres, not {near.group(2)}.")
    if near.group(1) == "maxDistance":
        return "near", distance, None
    return "near", None, distance


def _geometry_type(text: Any, param: str) -> str:
    if text not in GEOMETRY_TYPES:
        raise bad_parameter(param, f"'{text}' is not a geometry type: use one of {', '.join(GEOMETRY_TYPES)}.")
    return text


def _geometry(geometry_type: str, coordinates: Any, param: str) -> shapely.Geometry:
    if isinstance(coordinates, str):
        try:
            coordinates = json.loads(coordinates)
        except json.JSONDecodeError as exc:
            detail = f"coordinates are not a JSON array ({exc.msg}): write for example [8,40]."
            raise bad_parameter(param, detail) from None
    cleaned = _Coordinates(param).read(geometry_type, coordinates)
    geometry = shape({"type": geometry_type, "coordinates": cleaned})
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        raise bad_parameter(param, f"the {geometry_type} is not a valid geometry: {reason}.")
    return geometry


class _Coordinates:
    """Checks GeoJSON coordinates level by level, naming where a fault lies."""

    def __init__(self, param: str) -> None:
        self.param = param
        self.positions = 0

    def read(self, geometry_type: str, value: Any) -> Any:
        reader = {
            "Point": self.position,
            "LineString": self.line,
            "Polygon": self.polygon,
            "MultiPoint": lambda v, at: self.array(v, at, 1, self.position, "positions"),
            "MultiLineString": lambda v, at: self.array(v, at, 1, self.line, "line strings"),
            "MultiPolygon": lambda v, at: self.array(v, at, 1, self.polygon, "polygons"),
        }[geometry_type]
        return reader(value, "coordinates")

    def position(self, value: Any, at: str) -> list[float]:
        if not isinstance(value, list) or len(value) not in (2, 3):
            raise self.fault(at, "a position is an array [longitude, latitude] (or with an altitude)")
        if any(type(n) not in (int, float) or not math.isfinite(n) for n in value):
            raise self.fault(at, "a position holds numbers only")
        lon, lat = value[0], value[1]
        if not -180 <= lon <= 180:
            raise self.fault(at, f"longitude {lon} is outside -180..180 (positions are [longitude, latitude])")
        if not -90 <= lat <= 90:
            raise self.fault(at, f"latitude {lat} is outside -90..90 (positions are [longitude, latitude])")
        self.positions += 1
        if self.positions > MAX_POSITIONS:
            raise self.fault(at, f"a geometry of more than {MAX_POSITIONS:,} positions is not accepted")
        return [float(lon), float(lat)]  # the altitude plays no part in the relations

    def line(self, value: Any, at: str) -> list[list[float]]:
        return self.array(value, at, 2, self.position, "positions")

    def ring(self, value: Any, at: str) -> list[list[float]]:
        positions = self.array(value, at, 4, self.position, "positions")
        if positions[0] != positions[-1]:
            raise self.fault(at, "a ring is closed: its last position repeats its first")
        return positions

    def polygon(self, value: Any, at: str) -> list[list[list[float]]]:
        return self.array(value, at, 1, self.ring, "rings")

    def array(self, value: Any, at: str, minimum: int, item: Any, items: str) -> list[Any]:
        if not isinstance(value, list) or len(value) < minimum or (value and not isinstance(value[0], list)):
            raise self.fault(at, f"expected an array of at least {minimum} {items}, each an array")
        return [item(element, f"{at}[{index}]") for index, element in enumerate(value)]

    def fault(self, at: str, what: str) -> Exception:
        return bad_parameter(self.param, f"{at}: {what}.")
