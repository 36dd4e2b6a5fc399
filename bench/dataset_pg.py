"""The benchmark's data set on PostgreSQL: the SQLite data set's rows, copied as they are.

The database named in the URL is (re)created when it does not hold the data set of this
fingerprint: migrations and the catalogue through the application's own code (as dataset.build
does on SQLite), then entities and observations streamed from the SQLite file with COPY (outside
any timing). The fingerprint is kept as the database's COMMENT, so a second run reuses it.

The SQLite file stays the oracle: the rows are the same, so the API on PostgreSQL is checked
against the direct SQL on either.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import dataset

TABLES = ("entities", "observations")
DATABASE = "icity_bench_query"  # the benchmark's own database on the server it is given, kept between runs


def own_database(server_url: str) -> str:
    """The URL of the benchmark's own database on the server of `server_url`: the URL's own database is only
    where a benchmark connects to create it, never one it recreates or drops."""
    from sqlalchemy.engine import make_url

    return make_url(server_url).set(database=DATABASE).render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """postgresql+psycopg://… (SQLAlchemy's) as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _database(url: str) -> tuple[str, str]:
    """(the database's name, the URL of the server's maintenance database `postgres`)."""
    base, _, name = libpq_url(url).rpartition("/")
    name = name.split("?", 1)[0]
    return name, f"{base}/postgres"


def ensure(url: str, sqlite_path: Path, params: dataset.Params, log=print) -> dict[str, Any]:
    import psycopg

    name, admin_url = _database(url)
    fingerprint = f"icity-bench {sqlite_path.name}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        found = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", (name,)
        ).fetchone()
        if found is not None and found[0] == fingerprint:
            log(f"data set: reusing PostgreSQL database {name}")
            return {"reused": True, "build_seconds": 0.0, "database": name}
        if found is not None:
            log(f"data set: PostgreSQL database {name} holds another data set; recreating it")
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    log(f"data set: loading {sqlite_path.name} into PostgreSQL database {name} (COPY) …")
    started = time.perf_counter()
    from icity.db import migrate
    from icity.db.engine import get_engine

    migrate.upgrade(url)
    dataset._setup_catalogue(url)
    get_engine(url).dispose()
    source = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        with psycopg.connect(libpq_url(url)) as db:
            db.execute("SET TIME ZONE 'UTC'")  # SQLite holds naive UTC times
            for table in TABLES:
                target = {r[0] for r in db.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %s", (table,)
                )}  # fmt: skip
                columns = [r[1] for r in source.execute(f"PRAGMA table_info({table})") if r[1] in target]
                listed = ", ".join(columns)
                with db.cursor().copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
                    for row in source.execute(f"SELECT {listed} FROM {table}"):
                        copy.write_row(row)
            db.commit()
        with psycopg.connect(libpq_url(url), autocommit=True) as db:
            db.execute("VACUUM ANALYZE")
            db.execute(f"COMMENT ON DATABASE \"{name}\" IS '{fingerprint}'")
    finally:
        source.close()
    elapsed = time.perf_counter() - started
    log(f"data set: loaded into {name} in {elapsed:.1f} s")
    return {"reused": False, "build_seconds": elapsed, "database": name}
