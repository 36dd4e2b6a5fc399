"""Engines and sessions, built once per process and database URL.

Two pools per database: requests take their connections from one, background work (harvests,
webhooks, alarms, commands, metering, mail) from a small one of its own, so background work can
never leave a request without a connection. A thread is background work when it was started by
`background_thread`. Waits are bounded: a connection not free in ICITY_DB_POOL_TIMEOUT_S, or the
SQLite write lock not free in ICITY_DB_LOCK_TIMEOUT_S, raises `Overloaded` (503 to a client).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
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
    "busy_timeout=5000",
    "cache_size=-65536",
    "mmap_size=268435456",
    "wal_autocheckpoint=10000",
)


def _tune_sqlite(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class Overloaded(Exception):
    """The database could not take more work in the bounded time: no free connection, or
    the write lock held by others. A client is told to come back (503 with Retry-After)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


BACKGROUND_WAIT_S = 60  # background work has no client waiting: it waits longer, then retries later
MAX_ENGINES = 8
_engines: OrderedDict[tuple[str, bool], tuple[Engine, sessionmaker[Session]]] = OrderedDict()
_engines_lock = threading.Lock()
_this_thread = threading.local()


def in_background() -> bool:
    """Is this thread background work (started by `background_thread`)?"""
    return getattr(_this_thread, "background", False)


def as_background(target: Callable[..., object]) -> Callable[..., object]:
    """`target`, made to take its connections from the background pool in whatever thread it runs."""

    def run(*args: object) -> object:
        before = in_background()
        _this_thread.background = True
        try:
            return target(*args)
        finally:
            _this_thread.background = before

    return run


def background_thread(target: Callable[..., object], *args: object, name: str) -> threading.Thread:
    """A daemon thread (not started) whose database work uses the background pool."""
    return threading.Thread(target=as_background(target), args=args, name=name, daemon=True)


def get_engine(url: str | None = None) -> Engine:
    """The engine of `url`, or of the configured database (resolved now, so a
    changed setting is honoured), from this thread's pool (requests' or background's)."""
    return _opened(url or get_settings().resolved_database_url())[0]


def read_database_url(url: str | None = None) -> str:
    """Where read-only queries of the database at `url` go: the read replica (ICITY_DATABASE_READ_URL)
    when one is set and `url` is the configured database, else `url` itself. A replica lags its
    primary a little: what must see its own writes reads the primary."""
    settings = get_settings()
    primary = settings.resolved_database_url()
    url = url or primary
    if settings.database_read_url and url == primary:
        return settings.database_read_url
    return url


def new_session(url: str | None = None) -> Session:
    return _opened(url or get_settings().resolved_database_url())[1]()


def _opened(url: str) -> tuple[Engine, sessionmaker[Session]]:
    """The engine and session factory of `url` for this thread's kind of work, built once; the
    least recently used of more than MAX_ENGINES is disposed, closing its idle connections (a
    test run touches hundreds of databases, and PostgreSQL refuses clients beyond max_connections)."""
    key = (url, in_background())
    with _engines_lock:
        if key in _engines:
            _engines.move_to_end(key)
            return _engines[key]
        engine = _create_engine(url, background=key[1])
        _engines[key] = engine, sessionmaker(engine, expire_on_commit=False)
        if len(_engines) > MAX_ENGINES:
            _, (evicted, _) = _engines.popitem(last=False)
            evicted.dispose()  # connections still checked out are closed when they are returned
        return _engines[key]


def dispose(url: str) -> None:
    """Close the idle connections of both pools of `url` (before copying or dropping a database)."""
    with _engines_lock:
        opened = [_engines.pop(key) for key in [(url, False), (url, True)] if key in _engines]
    for engine, _ in opened:
        engine.dispose()


def _create_engine(url: str, background: bool) -> Engine:
    settings = get_settings()
    if background:
        size = settings.db_background_pool_size
        pool = {"pool_size": size, "max_overflow": size, "pool_timeout": BACKGROUND_WAIT_S}
    else:
        # a request holds at most two connections at a time, and at most max_requests_in_flight
        # requests run at once (api/middleware.AdmissionMiddleware): the pool never runs dry
        size = settings.max_requests_in_flight
        pool = {"pool_size": size, "max_overflow": size, "pool_timeout": settings.db_pool_timeout_s}
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **pool, **JSON_CODEC)
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    # a request waits for a row another transaction locked at most as long as a push waits for
    # SQLite's write lock; then it is answered 503 (is_overload), never left hanging
    wait_ms = int((BACKGROUND_WAIT_S if background else settings.db_lock_timeout_s) * 1000)
    return create_engine(
        url, **pool, pool_pre_ping=True, connect_args={"options": f"-c lock_timeout={wait_ms}"}, **JSON_CODEC
    )


def is_overload(error: BaseException) -> bool:
    """Is this database error a sign of overload (a full pool, a write lock not granted in time)
    rather than a fault? Those are answered 503 with Retry-After, never 500."""
    if isinstance(error, (Overloaded, PoolTimeout)):
        return True
    if isinstance(error, OperationalError):
        text = str(error.orig).lower()
        return any(sign in text for sign in ("database is locked", "database is busy", "too many clients", "lock timeout"))
    return False


@contextmanager
def transaction(url: str | None = None) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with new_session(url) as session, session.begin():
        yield session


@contextmanager
def write_transaction(url: str | None = None) -> Iterator[Session]:
    """A transaction that reads and then writes a lot (a harvest's write phase, background work).

    On SQLite it takes the write lock at once (BEGIN IMMEDIATE), waiting its turn
    behind other writers. A plain transaction starts as a reader, and when it then
    tries to write after another writer committed, SQLite refuses at once
    ("database is locked") rather than wait: two harvests finishing together failed so.
    The turn is taken before the connection: no thread holds a connection while it waits.
    """
    resolved = url or get_settings().resolved_database_url()
    lock = sqlite_writer_lock(resolved)
    if lock is None:
        with new_session(resolved) as session, session.begin():
            yield session
        return
    wait_s = BACKGROUND_WAIT_S if in_background() else get_settings().db_lock_timeout_s
    if not lock.acquire(timeout=wait_s):
        raise Overloaded(f"the database's write lock was not free within {wait_s:g} s")
    try:
        with new_session(resolved) as session, session.begin():
            begin_immediate(session)
            yield session
    finally:
        lock.release()


def begin_immediate(session: Session) -> None:
    """Start the session's transaction as SQLite's writer (the caller holds the writer lock)."""
    session.connection().exec_driver_sql("BEGIN IMMEDIATE")


_writer_locks: dict[str, threading.Lock] = {}


def sqlite_writer_lock(url: str) -> threading.Lock | None:
    """The lock this process's writers of a SQLite database queue on (None for other databases).
    They queue on it rather than on SQLite's busy handler, which polls with sleeps of up to 100 ms:
    with 4 concurrent pushes the p99 was 1.3 s."""
    if not url.startswith("sqlite"):
        return None
    with _engines_lock:
        return _writer_locks.setdefault(url, threading.Lock())


def analyze(url: str | None = None) -> None:
    """Refresh the query planner's statistics; run after bulk loads. Without them
    SQLite prefers the information-system index over the location index for
    geographic queries and reads every row."""
    with get_engine(url).connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()
