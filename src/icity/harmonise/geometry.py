"""Source geometries (coordinates, WKT, GeoJSON, any CRS) → GeoJSON in WGS84 [lon, lat].

Errors are ValueError with a reason a city admin can act on; the mapping turns them
into a rejected record.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pyproj
import shapely
import shapely.geometry
import shapely.wkt
from shapely.errors import GEOSException

WGS84 = "EPSG:4326"
DECIMALS = 7  # about 1 cm: finer digits are noise from the source or the projection
# Projected coordinates far outside their CRS's area of use are nearly always a wrong CRS,
# swapped x/y or a lost digit; the projection maths would still give a plausible-looking place
# (a transverse Mercator inverse even wraps around the globe). The margin lets a city use its
# usual UTM zone a little beyond the zone's edge, as Spanish cities near 0° do.
AREA_MARGIN_DEGREES = 2.0


def check_crs(name: str) -> None:
    try:
        pyproj.CRS.from_user_input(name)
    except pyproj.exceptions.CRSError as exc:
        raise ValueError(f"unknown coordinate reference system '{name}'") from exc


@lru_cache(maxsize=64)  # asked twice for every point of a harvest
def is_wgs84(name: str) -> bool:
    return name.strip().upper() in {"EPSG:4326", "WGS84", "OGC:CRS84"}


@lru_cache(maxsize=32)
def _area_of_use(crs: str) -> tuple[float, float, float, float] | None:
    area = pyproj.CRS.from_user_input(crs).area_of_use
    return None if area is None else (area.west, area.south, area.east, area.north)


def _check_area(lon: float, lat: float, x: float | None, y: float | None, crs: str) -> None:
    area = _area_of_use(crs)
    if area is None:
        return
    west, south, east, north = area
    m = AREA_MARGIN_DEGREES
    inside_lon = west - m <= lon <= east + m if west <= east else lon >= west - m or lon <= east + m
    if inside_lon and south - m <= lat <= north + m:
        return
    source = f" (source x {x}, y {y})" if x is not None else ""
    raise ValueError(
        f"coordinates lon {lon:.7g}, lat {lat:.7g}{source} after conversion from {crs} fall outside the area "
        f"where {crs} is used (lon {west:g}..{east:g}, lat {south:g}..{north:g}): "
        "check the coordinate system and the order of x and y"
    )


@lru_cache(maxsize=32)
def _to_wgs84(crs: str) -> Callable[[Any, Any], tuple[Any, Any]]:
    # always_xy: we give (x, y) / (lon, lat) whatever axis order the CRS declares.
    return pyproj.Transformer.from_crs(crs, WGS84, always_xy=True).transform


def point(x: float, y: float, crs: str = WGS84) -> dict[str, Any]:
    lon, lat = (x, y) if is_wgs84(crs) else _to_wgs84(crs)(x, y)
    _check_position(lon, lat, x, y, crs)
    if not is_wgs84(crs):
        _check_area(lon, lat, x, y, crs)
    return {"type": "Point", "coordinates": [round(lon, DECIMALS), round(lat, DECIMALS)]}


def from_wkt(text: str, crs: str = WGS84) -> dict[str, Any]:
    try:
        geometry = shapely.wkt.loads(text)
    except (GEOSException, ValueError, TypeError) as exc:
        raise ValueError(f"'{_clip(text)}' is not valid WKT") from exc
    return _from_shape(geometry, crs)


def from_geojson(value: Any, crs: str = WGS84) -> dict[str, Any]:
    """A GeoJSON geometry given as a dict (parsed JSON) or as JSON text (a CSV cell)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"'{_clip(value)}' is not JSON") from exc
    if not isinstance(value, dict) or "coordinates" not in value and "geometries" not in value:
        raise ValueError(f"'{_clip(str(value))}' is not a GeoJSON geometry")
    try:
        geometry = shapely.geometry.shape(value)
    except (GEOSException, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ValueError(f"'{_clip(json.dumps(value))}' is not a valid GeoJSON geometry") from exc
    return _from_shape(geometry, crs)


def _from_shape(geometry: shapely.Geometry, crs: str) -> dict[str, Any]:
    if geometry.is_empty:
        raise ValueError("the geometry is empty")
    if not is_wgs84(crs):
        transform = _to_wgs84(crs)
        geometry = shapely.transform(
            geometry, lambda xy: np.column_stack(transform(xy[:, 0], xy[:, 1])), include_z=False
        )
    coordinates = shapely.get_coordinates(geometry)
    for lon, lat in coordinates:
        _check_position(float(lon), float(lat), None, None, crs)
        if not is_wgs84(crs):
            _check_area(float(lon), float(lat), None, None, crs)
    return _rounded(shapely.geometry.mapping(geometry))


def _rounded(value: Any) -> Any:
    """shapely's mapping() gives nested tuples; GeoJSON wants lists, and we want 7 decimals."""
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_rounded(item) for item in value]
    if isinstance(value, float):
        return round(value, DECIMALS)
    return value


def _check_position(lon: float, lat: float, x: float | None, y: float | None, crs: str) -> None:
    if math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90:
        return
    where = "" if is_wgs84(crs) else f" after conversion from {crs}"
    source = f" (source x {x}, y {y})" if x is not None and not is_wgs84(crs) else ""
    raise ValueError(
        f"coordinates lon {lon:.7g}, lat {lat:.7g}{source} are outside WGS84 "
        f"(lon -180..180, lat -90..90){where}"
    )


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
