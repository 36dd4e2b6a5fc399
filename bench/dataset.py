"""The benchmark's data set: 20,000 entities and 1,000,000 observations in SQLite.

Deterministic (one seeded random.Random). The schema comes from the real
migrations, cities and information systems from the real services; entities
and observations are bulk-inserted through SQLAlchemy Core on the models'
tables, so they are stored exactly as the application stores them.

The file is cached in bench/out/ under a name derived from the parameters,
the schema (migration files) and this module's source; it is only reused when
its sidecar records a completed build with the expected row counts.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import sqlite3
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
ROOT = BENCH.parent


@dataclass(frozen=True)
class Params:
    seed: int = 20140318
    entities: int = 20_000
    sensors: int = 1_000  # AirQualityObserved entities with history
    observations_per_sensor: int = 1_000
    attribute: str = "no2"
    start: str = "2024-05-01T00:00:00+00:00"
    days: int = 7

    @property
    def step(self) -> timedelta:
        # 1,000 readings spread evenly over exactly 7 days (one every 10 min 4.8 s),
        # so that each of the 168 hourly buckets holds data.
        return timedelta(microseconds=self.days * 86_400_000_000 // self.observations_per_sensor)

    @property
    def t0(self) -> datetime:
        return datetime.fromisoformat(self.start)


# id, name, country, centre (lon, lat), bbox [min_lon, min_lat, max_lon, max_lat], share of entities
CITIES = [
    ("barcelona", "Barcelona", "ES", (2.1734, 41.3851), [2.0525, 41.3170, 2.2282, 41.4695], 0.40),
    ("london", "London", "GB", (-0.1276, 51.5072), [-0.5103, 51.2868, 0.3340, 51.6919], 0.30),
    ("genova", "Genova", "IT", (8.9463, 44.4056), [8.6676, 44.3803, 9.0956, 44.5216], 0.15),
    ("bologna", "Bologna", "IT", (11.3426, 44.4949), [11.2293, 44.4213, 11.4335, 44.5560], 0.15),
]

# type, IS slug, IS name, category, share of the non-sensor entities
OTHER_TYPES = [
    ("NoiseLevelObserved", "noise", "Noise monitoring network", "environment", 0.16),
    ("ParkingSpot", "parking", "On-street parking sensors", "transport-mobility", 0.42),
    ("WifiPointOfInterest", "wifi", "Public WiFi hotspots", "wifi", 0.21),
    ("PointOfInterest", "poi", "Points of interest", "tourism-culture", 0.21),
]
SENSOR_TYPE = ("AirQualityObserved", "air-quality", "Air quality monitoring network", "environment")
AIR_LEVELS = ["good", "moderate", "unhealthyForSensitiveGroups", "unhealthy"]
POI_CATEGORIES = ["museum", "library", "theatre", "market", "park", "monument", "sportsCentre"]


def _fingerprint(params: Params) -> str:
    digest = hashlib.sha256(json.dumps(asdict(params), sort_keys=True).encode())
    digest.update(Path(__file__).read_bytes())
    db = ROOT / "src" / "icity" / "db"
    for folder in (db / "migrations", db / "models"):  # the schema the cached database was built with
        for path in sorted(folder.rglob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _point_in(rng: random.Random, centre: tuple[float, float], bbox: list[float]) -> tuple[float, float]:
    """A point clustered around the centre (denser downtown), inside the bbox."""
    sigma_lon = (bbox[2] - bbox[0]) / 4
    sigma_lat = (bbox[3] - bbox[1]) / 4
    for _ in range(100):
        lon = rng.gauss(centre[0], sigma_lon)
        lat = rng.gauss(centre[1], sigma_lat)
        if bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]:
            return round(lon, 6), round(lat, 6)
    return centre


def _attributes(rng: random.Random, entity_type: str, city_name: str, n: int) -> dict[str, Any]:
    if entity_type == "AirQualityObserved":
        no2 = round(rng.uniform(5, 90), 1)
        return {
            "name": f"{city_name} air quality station {n}",
            "no2": no2,
            "pm10": round(rng.uniform(5, 60), 1),
            "airQualityLevel": AIR_LEVELS[min(int(no2 // 25), 3)],
            "source": "https://icity.example/bench",
        }
    if entity_type == "NoiseLevelObserved":
        laeq = round(rng.uniform(40, 80), 1)
        return {"name": f"{city_name} noise meter {n}", "LAeq": laeq, "LAmax": round(laeq + rng.uniform(3, 20), 1)}
    if entity_type == "ParkingSpot":
        return {
            "name": f"{city_name} parking spot {n}",
            "status": rng.choice(["free", "occupied", "closed", "unknown"]),
            "category": ["onStreet"],
        }
    if entity_type == "WifiPointOfInterest":
        return {"name": f"{city_name} WiFi {n}", "wifiStatus": rng.choice(["active", "inactive"])}
    return {
        "name": f"{city_name} point of interest {n}",
        "category": [rng.choice(POI_CATEGORIES)],
        "description": f"A place of interest in {city_name}",
    }


def _setup_catalogue(url: str) -> dict[tuple[str, str], str]:
    """Cities at level consortium, one public, open IS per (city, type); returns their ids."""
    from icity.db.engine import transaction
    from icity.services import audit, catalogue, cities

    systems: dict[tuple[str, str], str] = {}
    with transaction(url) as session:
        catalogue.ensure_categories(session)
        for city_id, name, country, (lon, lat), bbox, _ in CITIES:
            cities.create_city(session, audit.actor_named("bench"), id=city_id, name=name, country=country, lon=lon, lat=lat, bbox=bbox)
            cities.change_level(
                session,
                audit.actor_named("bench"),
                city_id,
                to_level="consortium",
                effective_on=date(2014, 1, 1),
                evidence_kind="consortium_agreement",
                evidence="iCity consortium agreement (benchmark data set)",
            )
            for entity_type, slug, is_name, category in [SENSOR_TYPE] + [t[:4] for t in OTHER_TYPES]:
                system = catalogue.create_information_system(
                    session,
                    city_id=city_id,
                    slug=slug,
                    name=f"{name} — {is_name}",
                    category=category,
                    entity_types=[entity_type],
                    access_policy="public",
                    licence="CC-BY-4.0",
                    provider="bench",
                )
                catalogue.set_status(session, system.id, "open")
                systems[(city_id, entity_type)] = system.id
    return systems


def _entity_rows(params: Params, rng: random.Random, systems: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    """All entity rows; sensors first (n = 0..sensors-1 spread over cities by share)."""
    last = params.t0 + params.step * (params.observations_per_sensor - 1)
    modified = params.t0 + timedelta(days=params.days)
    plan: list[tuple[str, str]] = []  # (city, type)
    shares = [c[5] for c in CITIES]
    others = params.entities - params.sensors
    for city, share in zip(CITIES, shares):
        plan += [(city[0], SENSOR_TYPE[0])] * round(params.sensors * share)
        for entity_type, *_rest, type_share in OTHER_TYPES:
            plan += [(city[0], entity_type)] * round(others * share * type_share)
    # fix rounding so that the totals are exact
    sensors = [p for p in plan if p[1] == SENSOR_TYPE[0]]
    rest = [p for p in plan if p[1] != SENSOR_TYPE[0]]
    sensors = (sensors + [(CITIES[0][0], SENSOR_TYPE[0])] * params.sensors)[: params.sensors]
    rest = (rest + [(CITIES[0][0], "ParkingSpot")] * others)[:others]
    by_city = {c[0]: c for c in CITIES}
    counters: dict[tuple[str, str], int] = {}
    rows = []
    for city_id, entity_type in sensors + rest:
        n = counters[(city_id, entity_type)] = counters.get((city_id, entity_type), 0) + 1
        _, city_name, _, centre, bbox, _ = by_city[city_id]
        lon, lat = _point_in(rng, centre, bbox)
        observed = last if entity_type == SENSOR_TYPE[0] else params.t0 + timedelta(seconds=rng.randrange(params.days * 86400))
        rows.append(
            {
                "id": f"urn:ngsi-ld:{entity_type}:{city_id}:{n}",
                "type": entity_type,
                "city_id": city_id,
                "information_system_id": systems[(city_id, entity_type)],
                "location": {"type": "Point", "coordinates": [lon, lat]},
                "lon": lon,
                "lat": lat,
                "attributes": _attributes(rng, entity_type, city_name, n),
                "observed_at": observed,
                "modified_at": modified,
                "retired_at": None,
            }
        )
    return rows


def _insert_observations(connection, params: Params, rng: random.Random, sensor_ids: list[str]) -> None:
    from sqlalchemy import insert

    from icity.db.models import Observation

    statement = insert(Observation.__table__)
    times = [params.t0 + params.step * i for i in range(params.observations_per_sensor)]
    batch: list[dict[str, Any]] = []
    for entity_id in sorted(sensor_ids):  # primary-key order: appends to the index
        base = rng.uniform(15, 60)
        phase = rng.uniform(0, 2 * math.pi)
        for i, at in enumerate(times):
            daily = 12 * math.sin(2 * math.pi * i / (params.observations_per_sensor / params.days) + phase)
            batch.append(
                {
                    "entity_id": entity_id,
                    "attribute": params.attribute,
                    "observed_at": at,
                    "value_number": round(max(0.0, base + daily + rng.gauss(0, 4)), 2),
                    "value": None,
                }
            )
        if len(batch) >= 50_000:
            connection.execute(statement, batch)
            batch = []
    if batch:
        connection.execute(statement, batch)


def build(path: Path, params: Params) -> dict[str, Any]:
    from sqlalchemy import create_engine, insert

    from icity.db import migrate
    from icity.db.models import Entity

    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    systems = _setup_catalogue(url)
    rng = random.Random(params.seed)
    rows = _entity_rows(params, rng, systems)
    sensor_ids = [r["id"] for r in rows if r["type"] == SENSOR_TYPE[0]]
    # A private engine for the bulk load: no fsync until the end.
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA synchronous=OFF")
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            for start in range(0, len(rows), 5000):
                connection.execute(insert(Entity.__table__), rows[start : start + 5000])
            _insert_observations(connection, params, rng, sensor_ids)
    finally:
        engine.dispose()
    from icity.db.engine import analyze, get_engine

    analyze(url)  # as the platform does after its own bulk loads (demo, harvests)
    get_engine(url).dispose()  # the pooled connections of the migrations and services
    raw = sqlite3.connect(path)
    try:
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    return {"entities": len(rows), "observations": len(sensor_ids) * params.observations_per_sensor}


def counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {
            "entities": db.execute("SELECT count(*) FROM entities").fetchone()[0],
            "observations": db.execute("SELECT count(*) FROM observations").fetchone()[0],
            "open_public_systems": db.execute(
                "SELECT count(*) FROM information_systems WHERE status='open' AND access_policy='public'"
            ).fetchone()[0],
        }
    finally:
        db.close()


def ensure(params: Params | None = None, log=print) -> tuple[Path, dict[str, Any]]:
    """The path of a complete data set for `params`, built if not cached. Returns (path, info)."""
    params = params or Params()
    OUT.mkdir(parents=True, exist_ok=True)
    key = _fingerprint(params)
    path = OUT / f"query-{key}.db"
    sidecar = path.with_suffix(".json")
    expected = {"entities": params.entities, "observations": params.sensors * params.observations_per_sensor}
    if path.exists() and sidecar.exists():
        meta = json.loads(sidecar.read_text())
        found = counts(path)
        if meta.get("complete") and all(found[k] == v for k, v in expected.items()):
            log(f"data set: reusing {path.relative_to(ROOT)} (built in {meta['build_seconds']:.1f} s)")
            return path, {**meta, "reused": True, "counts": found}
        log("data set: cached file is incomplete or stale; rebuilding")
    for stale in OUT.glob("query-*.db*"):
        stale.unlink()
    for stale in OUT.glob("query-*.json"):
        if stale.name != "query.json":
            stale.unlink()
    partial = path.with_name(path.name + ".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    log(f"data set: generating {params.entities:,} entities and {expected['observations']:,} observations …")
    started = time.perf_counter()
    build(partial, params)
    elapsed = time.perf_counter() - started
    found = counts(partial)
    if any(found[k] != v for k, v in expected.items()):
        raise RuntimeError(f"data set build produced {found}, expected {expected}")
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    os.replace(partial, path)
    meta = {"complete": True, "params": asdict(params), "build_seconds": elapsed, "counts": found}
    sidecar.write_text(json.dumps(meta, indent=2))
    log(f"data set: generated {path.relative_to(ROOT)} in {elapsed:.1f} s")
    return path, {**meta, "reused": False}


if __name__ == "__main__":
    ensure()
