"""The change log: every committed change of an entity (or alarm), in commit order.

Writers (harvests, HTTP and MQTT push, the alarm evaluator) add a row per changed
entity in the transaction that changes it, so a change is in the log exactly when it
is stored. Readers — webhook outboxes, SSE streams, the alarm evaluator — read
`id > position`; the log is the source of truth, and the wake-ups below only save them
from polling:

- in this process, the callbacks registered with `on_commit` are called after each
  commit that logged a change;
- with `ICITY_REDIS_URL` set, a message on the Redis channel `CHANNEL` tells the other
  processes (API workers, `icity worker`) too.

The log is written only while someone listens — an active subscription that could
select the IS, an alarm rule on it, or a portal page following it live — so a platform with no subscribers pays
nothing for it on its write paths.

Ids must grow in commit order, or a reader that has passed id 12 would never see a
late-committing 11. SQLite has one writer at a time; on PostgreSQL writers of the
log take a transaction-level advisory lock, held until they commit.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import delete, event, exists, func, or_, select, text
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.db.bulk import insert_many
from icity.db.models import AlarmRule, Change, LiveView, Subscription, utcnow

log = logging.getLogger(__name__)

CHANNEL = "icity:changes"
_LOG_LOCK = 0x1C17C4A6  # advisory lock key (PostgreSQL) serialising writers of the log
_LOGGED = "icity.changes_logged"  # session.info flag: this transaction logged changes

_callbacks: list[Callable[[], None]] = []
_callbacks_lock = threading.Lock()


def listening(session: Session, system_id: str, city_id: str) -> bool:
    """Does anyone listen to changes of this IS (so that they must be logged)?"""
    now = utcnow()
    subscribed = exists().where(
        Subscription.status == "active",
        or_(Subscription.expires_at.is_(None), Subscription.expires_at > now),
        or_(Subscription.information_system_id.is_(None), Subscription.information_system_id == system_id),
        or_(Subscription.city_id.is_(None), Subscription.city_id == city_id),
    )
    ruled = exists().where(AlarmRule.information_system_id == system_id, AlarmRule.enabled.is_(True))
    watched = exists().where(
        LiveView.expires_at > now, or_(LiveView.information_system_id.is_(None), LiveView.information_system_id == system_id)
    )
    return bool(session.scalar(select(or_(subscribed, ruled, watched))))


def change_row(
    body: dict[str, Any], lon: float | None, lat: float | None, kind: str = "entity",
    details: dict[str, Any] | None = None, altered: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "at": utcnow(),
        "details": details,
        "altered": altered,
        "kind": kind,
        "entity_id": body["id"],
        "entity_type": body["type"],
        "city_id": body["city"],
        "information_system_id": body["informationSystem"],
        "lon": lon,
        "lat": lat,
        "entity": body,
    }


def alterations(
    before: dict[str, Any] | None, after: dict[str, Any], *, details_before: dict[str, Any] | None = None,
    details_after: dict[str, Any] | None = None, location_moved: bool = False, deleted: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """What a write did to an entity (Change.altered): `before` None when it created it."""
    if deleted:
        return {"entity": "deleted", "attributes": {name: "deleted" for name in after}}
    previous, details_before, details_after = before or {}, details_before or {}, details_after or {}
    attributes = {name: "created" for name in after if name not in previous}
    attributes |= {name: "deleted" for name in previous if name not in after}
    attributes |= {
        name: "updated" for name in after
        if name in previous and (after[name] != previous[name] or details_after.get(name) != details_before.get(name))
    }  # fmt: skip
    if location_moved:
        attributes["location"] = "created" if before is None else "updated"
    return {"entity": "created" if before is None else "updated", "attributes": attributes}


def record(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add changes (see change_row) to the log, in this transaction."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOG_LOCK})
    insert_many(session, Change.__table__, rows)
    session.info[_LOGGED] = True


def read_since(session: Session, position: int, limit: int = 1000) -> list[Change]:
    """The changes after `position`, oldest first."""
    return list(session.scalars(select(Change).where(Change.id > position).order_by(Change.id).limit(limit)))


def latest_id(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(Change.id), 0))) or 0


def prune(session: Session, before: datetime) -> int:
    """Forget changes older than `before` (streams cannot resume from before it), and live views
    that stopped counting (their page's process died)."""
    session.execute(delete(LiveView).where(LiveView.expires_at < utcnow()))
    return session.execute(delete(Change).where(Change.at < before)).rowcount


# --- Wake-ups after commit -------------------------------------------------------------


def on_commit(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (from the committing thread: it must be quick and thread-safe) after
    each commit in this process that logged changes. Returns the function that unregisters it."""
    with _callbacks_lock:
        _callbacks.append(callback)

    def unregister() -> None:
        with _callbacks_lock:
            if callback in _callbacks:
                _callbacks.remove(callback)

    return unregister


def announce() -> None:
    """Tell this process's readers and, through Redis, the other processes' that the log grew."""
    _wake_readers()
    redis_url = get_settings().redis_url
    if redis_url:
        _redis_announcer(redis_url).announce()


class RedisAnnouncer:
    """Publishes the announcements from a thread of its own: a slow or unreachable Redis never
    delays the commit that announced, and announcements made meanwhile go out as one."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self._client = redis.Redis.from_url(redis_url, socket_timeout=1, socket_connect_timeout=1)
        self._pending = threading.Event()
        threading.Thread(target=self._run, name="change announcements", daemon=True).start()
        atexit.register(self._publish_pending)  # a short-lived process (a CLI push) still announces

    def announce(self) -> None:
        self._pending.set()

    def _run(self) -> None:
        while True:
            self._pending.wait()
            self._publish_pending()

    def _publish_pending(self) -> None:
        if not self._pending.is_set():
            return
        self._pending.clear()
        try:
            self._client.publish(CHANNEL, b"")
        except Exception as error:  # readers poll as well: a lost wake-up delays, loses nothing
            log.warning("could not announce changes through Redis: %s", error)


@lru_cache(maxsize=4)
def _redis_announcer(url: str) -> RedisAnnouncer:
    return RedisAnnouncer(url)


def _wake_readers() -> None:
    with _callbacks_lock:
        callbacks = list(_callbacks)
    for callback in callbacks:
        try:
            callback()
        except Exception:  # one broken reader must not fail the writer that already committed
            log.exception("a change-log wake-up failed")


class RedisWakeups:
    """Calls this process's `on_commit` callbacks when another process announces changes through
    Redis: the background work (webhooks, alarms) runs apart from the API workers that take pushes."""

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _listen(self) -> None:
        import redis

        while not self._stop.is_set():
            try:
                with redis.Redis.from_url(self.redis_url, socket_connect_timeout=2) as client, client.pubsub(
                    ignore_subscribe_messages=True
                ) as pubsub:
                    pubsub.subscribe(CHANNEL)
                    while not self._stop.is_set():
                        if pubsub.get_message(timeout=1.0) is not None:
                            _wake_readers()
            except Exception as error:  # the readers poll meanwhile
                log.warning("change wake-ups through Redis lost (%s); retrying in 5 s", error)
                self._stop.wait(5)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._listen, name="change wake-ups", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_LOGGED, False):
        announce()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_LOGGED, None)


class ChangeLogPruner:
    """Forgets, every `interval_s`, the changes older than the retention (ICITY_CHANGE_RETENTION_H)."""

    def __init__(self, database_url: str | None = None, interval_s: float = 600) -> None:
        self.database_url = database_url
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        from icity.db.engine import write_transaction

        before = utcnow() - timedelta(hours=get_settings().change_retention_h)
        with write_transaction(self.database_url) as session:
            return prune(session, before)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # the next round tries again
                log.exception("pruning the change log failed")

    def start(self) -> None:
        from icity.db.engine import background_thread

        self._thread = background_thread(self._run, name="change log pruner")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
