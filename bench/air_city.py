"""The city and air-quality information system the harvest, ingest and real-time benchmarks write into,
and the small helpers they share."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

CITY = "bench"
SLUG = "aire"
SYSTEM = f"{CITY}/{SLUG}"
ENTITY_TYPE = "AirQualityObserved"


def create_air_city(url: str) -> None:
    """Migrate the (new) database at `url` and register the city and its air-quality IS."""
    from icity.db.engine import transaction
    from icity.db.migrate import upgrade
    from icity.services import audit, catalogue, cities

    upgrade(url)
    with transaction(url) as session:
        catalogue.ensure_categories(session)
        cities.create_city(
            session, audit.actor_named("bench"), id=CITY, name="Bench City", country="ES", lon=2.17, lat=41.39, bbox=[2.05, 41.32, 2.23, 41.47]
        )
        catalogue.create_information_system(
            session, city_id=CITY, slug=SLUG, name="Qualitat de l'aire (benchmark)", category="environment",
            entity_types=[ENTITY_TYPE],
        )  # fmt: skip


class BenchFailure(Exception):
    pass


def log(message: str = "") -> None:
    print(message, flush=True)


def device_name(i: int) -> str:
    return f"aq-{i:03d}"


def unlink_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def history_count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM observations").fetchone()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
