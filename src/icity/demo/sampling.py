"""Deterministic randomness, positions and clock shared by the synthetic generators.

Everything generated depends only on SEED and the moment given to the loader (`until`: a
date means its midnight, UTC), so two loads with the same moment produce the same entities
and history. `icity demo load` gives the moment of loading: the history ends then, and the
demo simulator (icity.demo.simulator) carries it on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from icity.demo.network import DemoCity

SEED = 2014
HISTORY_DAYS = 21  # hourly history of the sensor networks before `until`


@dataclass
class Generated:
    """What one information system yields: entities (as upsert_entities takes them) and their history rows."""

    entities: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


def rng_for(city_id: str, kind: str) -> random.Random:
    # A generator per (city, kind): adding a kind or a city never shifts the others' data.
    return random.Random(f"{SEED}:{city_id}:{kind}")


def point_near_centre(rng: random.Random, city: DemoCity, spread: float = 0.2) -> list[float]:
    """[lon, lat] drawn around the city centre, kept within the inner 80% of its bbox."""
    min_lon, min_lat, max_lon, max_lat = city.bbox
    margin_lon, margin_lat = (max_lon - min_lon) * 0.1, (max_lat - min_lat) * 0.1
    while True:
        lon = rng.gauss(city.lon, (max_lon - min_lon) * spread)
        lat = rng.gauss(city.lat, (max_lat - min_lat) * spread)
        if min_lon + margin_lon <= lon <= max_lon - margin_lon and min_lat + margin_lat <= lat <= max_lat - margin_lat:
            return [round(lon, 6), round(lat, 6)]


def geo_point(coordinates: list[float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": coordinates}


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_of(until: date | datetime) -> datetime:
    """A day's midnight (UTC); a moment is itself."""
    if isinstance(until, datetime):
        return until.astimezone(timezone.utc)
    return datetime.combine(until, time(0), tzinfo=timezone.utc)


def latest_hour(until: date | datetime) -> datetime:
    """The last hour strictly before `until` (23:00 the day before a date; 10:00 for 10:20):
    the time of every current reading."""
    moment = start_of(until) - timedelta(microseconds=1)
    return moment.replace(minute=0, second=0, microsecond=0)


def history_hours(until: date | datetime) -> list[datetime]:
    last = latest_hour(until)
    count = HISTORY_DAYS * 24
    return [last - timedelta(hours=count - 1 - h) for h in range(count)]
