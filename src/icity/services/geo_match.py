"""Whether an entity's location stands in a spatial relation to a query geometry.

Geometries are GeoJSON lon/lat (WGS84). Relations follow the OGC simple-feature
predicates (as GEOS computes them), read as "the entity's geometry is <relation>
the query's": `within` (in the query's interior, not on its edge), `contains`,
`intersects`, `disjoint`, `overlaps`, `equals`; and `near`, by the great-circle
distance on a sphere of the Earth's mean radius from the query point to the
nearest point of the entity's geometry: at most `max_distance_m` (inclusive),
more than `min_distance_m` (outside the closed disc of that radius).

A filter runs once per candidate entity, so the query geometry is prepared once,
and a Point entity is tested on its two numbers without building a shapely
object; other geometries are built per call (candidates are seen once each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
RELATIONS = frozenset({"near", "within", "contains", "intersects", "disjoint", "overlaps", "equals"})
BOX_MARGIN_DEG = 1e-7  # about a centimetre: the box keeps points that round onto its edge


@dataclass(frozen=True)
class GeoFilter:
    relation: str
    geometry: BaseGeometry  # the query's, lon/lat
    max_distance_m: float | None = None
    min_distance_m: float | None = None

    def __post_init__(self) -> None:
        if self.relation not in RELATIONS:
            raise ValueError(f"unknown relation {self.relation!r}")
        distances = [d for d in (self.max_distance_m, self.min_distance_m) if d is not None]
        if self.relation == "near":
            if not isinstance(self.geometry, Point) or not distances:
                raise ValueError("near needs a Point and a max or min distance")
        elif distances:
            raise ValueError("distances go with near only")
        if any(not (math.isfinite(d) and d > 0) for d in distances):
            raise ValueError("distances are positive numbers of metres")
        shapely.prepare(self.geometry)

    def matches(self, location: dict[str, Any] | None) -> bool:
        """Whether an entity whose location is this GeoJSON geometry matches; an
        entity without a location, or with a malformed one, does not."""
        if not isinstance(location, dict):
            return False
        if location.get("type") == "Point" and self.relation in ("near", "within", "intersects", "disjoint"):
            xy = _point_xy(location.get("coordinates"))
            if xy is None:
                return False
            if self.relation == "near":
                return self._distance_holds(_great_circle_m(self.geometry.x, self.geometry.y, *xy))
            if self.relation == "within":
                return bool(shapely.contains_xy(self.geometry, *xy))
            return bool(shapely.intersects_xy(self.geometry, *xy)) == (self.relation == "intersects")
        target = _geometry(location)
        if target is None:
            return False
        if self.relation == "near":
            return self._distance_holds(_distance_from_point_m(self.geometry, target))
        query = self.geometry  # first argument, so that its preparation is used
        if self.relation == "within":
            return bool(shapely.contains(query, target))
        if self.relation == "contains":
            return bool(shapely.within(query, target))
        return bool(getattr(shapely, self.relation)(query, target))  # symmetric: intersects, disjoint, overlaps, equals

    def prefilter_box(self) -> tuple[float, float, float, float] | None:
        """(min_lon, min_lat, max_lon, max_lat) holding every Point entity that
        matches, for a database to narrow the candidates; None when no box does
        (disjoint, near with only a minimum distance)."""
        if self.relation == "disjoint" or (self.relation == "near" and self.max_distance_m is None):
            return None
        if self.relation == "near":
            return _cap_box(self.geometry.x, self.geometry.y, self.max_distance_m)
        min_lon, min_lat, max_lon, max_lat = self.geometry.bounds
        return (min_lon - BOX_MARGIN_DEG, min_lat - BOX_MARGIN_DEG, max_lon + BOX_MARGIN_DEG, max_lat + BOX_MARGIN_DEG)

    def _distance_holds(self, distance_m: float) -> bool:
        if self.max_distance_m is not None and distance_m > self.max_distance_m:
            return False
        return self.min_distance_m is None or distance_m > self.min_distance_m


def _point_xy(coordinates: Any) -> tuple[float, float] | None:
    if not isinstance(coordinates, (list, tuple)) or len(coordinates) < 2:
        return None
    lon, lat = coordinates[0], coordinates[1]
    if type(lon) not in (int, float) or type(lat) not in (int, float):
        return None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return None
    return float(lon), float(lat)


def _geometry(location: dict[str, Any]) -> BaseGeometry | None:
    try:
        geometry = shape(location)
    except Exception:  # shapely raises several kinds on malformed GeoJSON; a bad location never matches
        return None
    return None if geometry.is_empty else geometry


def _great_circle_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Haversine distance: exact on the sphere, stable at small distances."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _distance_from_point_m(center: Point, target: BaseGeometry) -> float:
    """Metres from `center` to the nearest point of `target`, in an azimuthal
    equidistant projection centred there: every distance from the centre is the
    great-circle one, and edges are drawn straight between projected vertices."""
    lon0, lat0 = math.radians(center.x), math.radians(center.y)
    sin_lat0, cos_lat0 = math.sin(lat0), math.cos(lat0)

    def project(coords: np.ndarray) -> np.ndarray:
        lon, lat = np.radians(coords[:, 0]), np.radians(coords[:, 1])
        dlon = lon - lon0
        cos_lat = np.cos(lat)
        h = np.sin((lat - lat0) / 2) ** 2 + cos_lat0 * cos_lat * np.sin(dlon / 2) ** 2
        c = 2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))  # angular distance from the centre
        scale = EARTH_RADIUS_M * np.divide(c, np.sin(c), out=np.ones_like(c), where=c > 0)
        x = scale * cos_lat * np.sin(dlon)
        y = scale * (cos_lat0 * np.sin(lat) - sin_lat0 * cos_lat * np.cos(dlon))
        return np.column_stack((x, y))

    return float(shapely.transform(target, project).distance(Point(0, 0)))


def _cap_box(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    """The lon/lat box around the spherical cap of `radius_m` about a point."""
    radius = radius_m / EARTH_RADIUS_M
    south = lat - math.degrees(radius) - BOX_MARGIN_DEG
    north = lat + math.degrees(radius) + BOX_MARGIN_DEG
    sin_ratio = math.sin(radius) / math.cos(math.radians(lat)) if abs(lat) < 90 else 2.0
    if south <= -90 or north >= 90 or sin_ratio >= 1:
        return (-180.0, max(south, -90.0), 180.0, min(north, 90.0))  # the cap holds a pole
    half_width = math.degrees(math.asin(sin_ratio)) + BOX_MARGIN_DEG
    west, east = lon - half_width, lon + half_width
    if west < -180 or east > 180:
        return (-180.0, south, 180.0, north)  # across the antimeridian: the whole band of latitudes
    return (west, south, east, north)
