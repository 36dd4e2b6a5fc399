"""A demo city's GIS layers, generated: its district outlines (OSMBoundary, administrative
level 10) and main streets (Road: a ring road, avenues between the districts, a grid in
the centre), so that an offline map (no tile server) still shows a city under the markers.

The shapes are schematic — drawn around the city's real centre and inside its bounding
box, named after its real districts — and deterministic like the rest of the demo.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from icity.demo.network import DemoCity
from icity.demo.places import DISTRICTS
from icity.demo.sampling import Generated, rng_for
from icity.services.entity_store import entity_urn

KM_PER_DEGREE = 111.32
OUTLINE_VERTICES = 72
CENTRE_SHARE = 0.35  # the central district's radius, as a share of the city's
RING_SHARE = 0.65  # the ring road's
MAX_GRID_STREETS = 10  # each way, in the centre

# how each city names its streets: (avenue, street, ring road)
STREET_WORDS = {
    "ES": ("Avinguda", "Carrer", "Ronda"),
    "IT": ("Viale", "Via", "Circonvallazione"),
    "GB": ("Road", "Street", "Ring Road"),
    "GR": ("Leoforos", "Odos", "Periferiaki Odos"),
}


class _Frame:
    """Kilometres east and north of the city centre <-> [lon, lat], clamped inside the bbox."""

    def __init__(self, city: DemoCity):
        self.city = city
        self.km_lon = KM_PER_DEGREE * math.cos(math.radians(city.lat))
        min_lon, min_lat, max_lon, max_lat = city.bbox
        # the largest radius that keeps the city's outline within 90% of its bbox
        self.radius_km = 0.9 * min(
            (city.lon - min_lon) * self.km_lon, (max_lon - city.lon) * self.km_lon,
            (city.lat - min_lat) * KM_PER_DEGREE, (max_lat - city.lat) * KM_PER_DEGREE,
        )  # fmt: skip

    def point(self, east_km: float, north_km: float) -> list[float]:
        min_lon, min_lat, max_lon, max_lat = self.city.bbox
        lon = min(max(self.city.lon + east_km / self.km_lon, min_lon), max_lon)
        lat = min(max(self.city.lat + north_km / KM_PER_DEGREE, min_lat), max_lat)
        return [round(lon, 6), round(lat, 6)]

    def polar(self, radius_km: float, angle: float) -> list[float]:
        return self.point(radius_km * math.cos(angle), radius_km * math.sin(angle))


def _length_km(points: list[tuple[float, float]]) -> float:
    return round(sum(math.dist(a, b) for a, b in zip(points, points[1:])), 2)


def city_map(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    """The districts and main streets of `city` (`count` is unused: the city's districts decide)."""
    rng, frame = rng_for(city.id, "city-map"), _Frame(city)
    phases = (rng.uniform(0, math.tau), rng.uniform(0, math.tau))

    def edge(angle: float) -> float:  # the city's radius in this direction: a lobed, irregular outline
        return frame.radius_km * (1 + 0.10 * math.sin(3 * angle + phases[0]) + 0.05 * math.sin(5 * angle + phases[1])) / 1.15

    districts = DISTRICTS.get(city.id, [city.name])
    avenue, street, ring = STREET_WORDS.get(city.country, STREET_WORDS["GB"])
    entities: list[dict[str, Any]] = []

    def district(index: int, name: str, outline: list[list[float]]) -> None:
        entities.append({
            "id": entity_urn("OSMBoundary", city.id, f"district-{index + 1:02d}"), "type": "OSMBoundary",
            "location": {"type": "Polygon", "coordinates": [outline + [outline[0]]]},
            "name": name, "description": f"District of {city.name}", "boundaryType": "administrative", "adminLevel": 10,
        })  # fmt: skip

    def road(local_id: str, name: str, road_class: str, points_km: list[tuple[float, float]]) -> None:
        entities.append({
            "id": entity_urn("Road", city.id, local_id), "type": "Road",
            "location": {"type": "LineString", "coordinates": [frame.point(*p) for p in points_km]},
            "name": name, "roadClass": road_class, "length": _length_km(points_km),
        })  # fmt: skip

    # the centre, then one sector per other district between the centre and the city's edge
    steps = [math.tau * i / OUTLINE_VERTICES for i in range(OUTLINE_VERTICES)]
    district(0, districts[0], [frame.polar(CENTRE_SHARE * edge(a), a) for a in steps])
    sectors = max(len(districts) - 1, 1)
    start = rng.uniform(0, math.tau)
    borders = [start + math.tau * i / sectors + rng.uniform(-0.15, 0.15) for i in range(sectors)] + [start + math.tau]
    for i, name in enumerate(districts[1:] or [city.name]):
        arc = [borders[i] + (borders[i + 1] - borders[i]) * k / 12 for k in range(13)]
        outer = [frame.polar(edge(a), a) for a in arc]
        inner = [frame.polar(CENTRE_SHARE * edge(a), a) for a in reversed(arc)]
        district(i + 1, name, outer + inner)

    ring_points = [(RING_SHARE * edge(a) * math.cos(a), RING_SHARE * edge(a) * math.sin(a)) for a in steps]
    road("ring", ring, "primary", ring_points + [ring_points[0]])
    for i, angle in enumerate(borders[:-1]):  # an avenue along each border between two districts
        points = [(r * edge(angle) * math.cos(angle), r * edge(angle) * math.sin(angle)) for r in (0.05, 0.5, 1.0)]
        road(f"avenue-{i + 1:02d}", f"{avenue} {districts[(i + 1) % len(districts)]}", "secondary", points)

    # a street grid in the centre, turned as the city's (Barcelona's Eixample runs at 45°)
    half = CENTRE_SHARE * frame.radius_km * 0.8
    spacing = max(0.35, 2 * half / MAX_GRID_STREETS)
    turn = math.radians(rng.choice([0, 15, 30, 45]))
    cos_t, sin_t = math.cos(turn), math.sin(turn)
    offsets = [-half + spacing * (k + 0.5) for k in range(int(2 * half / spacing))]
    for direction in (0, 1):
        for k, offset in enumerate(offsets):
            span = math.sqrt(max(half**2 - offset**2, 0))
            ends = [(offset, -span), (offset, span)] if direction == 0 else [(-span, offset), (span, offset)]
            turned = [(x * cos_t - y * sin_t, x * sin_t + y * cos_t) for x, y in ends]
            road(f"street-{direction + 1}{k + 1:02d}", f"{street} {direction * len(offsets) + k + 1}", "residential", turned)
    return Generated(entities)
