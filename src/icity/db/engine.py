"""Engines and sessions, built once per process and database URL."""

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from icity.config import get_settings


# orjson decodes the JSON columns (attributes, locations) several times faster than json
JSON_CODEC = {"json_serializer": lambda value: orjson.dumps(value).decode(), "json_deserializer": orjson.loads}


# WAL lets readers work while one writer writes; NORMAL sync is durable at checkpoint granularity
# under WAL and far faster than FULL. Checkpoints every ~40 MiB of WAL rather than 4 MiB: pushes
# rewrite the same entity, device and index pages batch after batch, and a rarer checkpoint copies
# each of them back once. (bench/ingest.py gives its raw baseline the same.)
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "busy_timeout=10000",
    "cache_size=-65536",
    "mmap_size=268435456",
    "wal_autocheckpoint=10000",
)


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


MAX_ENGINES = 8
_engines: OrderedDict[str, tuple[Engine, sessionmaker[Session]]] = OrderedDict()
_engines_lock = threading.Lock()


def get_engine(url: str | None = None) -> Engine:
    """The engine of `url`, or of the configured database (resolved now, so a
    changed setting is honoured)."""
    return _opened(url or get_settings().resolved_database_url())[0]


def new_session(url: str | None = None) -> Session:
    return _opened(url or get_settings().resolved_database_url())[1]()


def _opened(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """The engine and session factory of `url`, built once; the least recently used of more
    than MAX_ENGINES is disposed, closing its idle connections (a test run touches hundreds
    of databases, and PostgreSQL refuses clients beyond max_connections)."""
    with _engines_lock:
        if url in _engines:
            _engines.move_to_end(url)
            return _engines[url]
        engine = _create_engine(url)
        _engines[url] = engine, sessionmaker(engine, expire_on_commit=False)
        if len(_engines) > MAX_ENGINES:
            _, (evicted, _) = _engines.popitem(last=False)
            evicted.dispose()  # connections still checked out are closed when they are returned
        return _engines[url]


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=8, max_overflow=16, **JSON_CODEC)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(url, pool_size=8, max_overflow=16, pool_pre_ping=True, **JSON_CODEC)


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with new_session(url) as session, session.begin():
        yield session


@contextmanager
def write_transaction(url: str | None = None) -> Iterator[Session]:
    """A transaction that reads and then writes a lot (a harvest's write phase).

    On SQLite it takes the write lock at once (BEGIN IMMEDIATE), waiting its turn
    behind other writers. A plain transaction starts as a reader, and when it then
    tries to write after another writer committed, SQLite refuses at once
    ("database is locked") rather than wait: two harvests finishing together failed so.
    """
    resolved = url or get_settings().resolved_database_url()
    if not resolved.startswith("sqlite"):
        with new_session(resolved) as session, session.begin():
            yield session
        return
    # Writers of this process queue on a lock rather than on SQLite's busy handler, which
    # polls with sleeps of up to 100 ms: with 4 concurrent pushes the p99 was 1.3 s.
    with _sqlite_writers(resolved), new_session(resolved) as session, session.begin():
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        yield session


_writer_locks: dict[str, threading.Lock] = {}


def _sqlite_writers(url: str) -> threading.Lock:
    with _engines_lock:
        return _writer_locks.setdefault(url, threading.Lock())


def analyze(url: str | None = None) -> None:
    """Refresh the query planner's statistics; run after bulk loads. Without them
    SQLite prefers the information-system index over the location index for
    geographic queries and reads every row."""
    with get_engine(url).connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
