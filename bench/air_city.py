"""The city and air-quality information system the harvest, ingest and real-time benchmarks write into,
and the small helpers they share."""

from __future__ import annotations

import socket
import sqlite3
import uuid
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


# ---- the database a benchmark writes into: SQLite files, or PostgreSQL databases it creates and drops ----


def is_postgresql(url: str) -> bool:
    return url.startswith("postgresql")


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def own_database_url(server_url: str, label: str) -> str:
    """A database of the benchmark's own on the PostgreSQL server of `server_url` (whose database is only where
    it connects to create it): a benchmark never recreates or drops a database it did not make."""
    return sibling_url(server_url, f"icity_bench_{label}_{uuid.uuid4().hex[:8]}")


def sibling_url(url: str, name: str) -> str:
    """The URL of database `name` on the same PostgreSQL server as `url`."""
    return f"{url.rsplit('/', 1)[0]}/{name}"


def create_postgresql_database(url: str, template: str | None = None) -> str:
    """(Re)create the database named by `url`, empty or as a copy of database `template`; its URL."""
    import psycopg

    with psycopg.connect(libpq_url(sibling_url(url, "postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database_name(url)}"' + (f' TEMPLATE "{template}"' if template else ""))
    return url


def drop_postgresql_database(url: str) -> None:
    import psycopg

    from icity.db.engine import dispose

    dispose(url)  # this process's pooled connections
    with psycopg.connect(libpq_url(sibling_url(url, "postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def count_rows(url: str, table: str) -> int:
    if is_postgresql(url):
        import psycopg

        with psycopg.connect(libpq_url(url)) as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
