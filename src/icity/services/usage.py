"""Usage metering: calls, errors and bytes out per app × information system × UTC day.

Requests never write to the database: each worker keeps its calls in memory
(`UsageMeter.record` appends one to a list) and a background thread adds them
up and flushes the sums every few seconds, and once more at shutdown, as
upserts that add to the stored counters — so any number of workers and flushes
add up exactly, on SQLite and PostgreSQL alike.

Who sees what (`usage_report`): a developer the apps of their organisation, a
city admin the use of its own cities' information systems (by app), the
platform admin everything.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from icity.db.engine import background_thread, transaction
from icity.db.models import ApiKey, App, InformationSystem, UsageDay
from icity.errors import bad_parameter, forbidden
from icity.services.access import Principal, administered_systems, require_user
from icity.services.pagination import SortKey, keyset_page

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0
NO_SYSTEM = ""  # the information system of calls that served no IS data (catalogue, cities, errors)


@dataclass
class Counters:
    calls: int = 0
    errors: int = 0
    bytes_out: int = 0


def split_bytes(total: int, parts: int) -> list[int]:
    """`total` shared between `parts` as evenly as whole bytes allow, adding up exactly."""
    share, extra = divmod(total, parts)
    return [share + (1 if i < extra else 0) for i in range(parts)]


Call = tuple[int, "int | None", "list[str] | None", int, int, "datetime | float"]


class UsageMeter:
    """A worker's metered calls, waiting to be flushed to `usage_daily`.

    A request only appends its call to a list (under a lock held for that
    append): the sums per app × IS × day are made by the flush, off the
    request's path."""

    def __init__(self, database_url: str):
        self.database_url = database_url
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        # sums of a flush that failed, written by the next one
        self._pending: dict[tuple[int, str, date], Counters] = {}
        self._keys_used: dict[int, datetime] = {}
        self._flush_lock = threading.Lock()  # one flush at a time: the periodic one and the final one
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- the request path: in memory only ------------------------------------

    def record(
        self,
        app_id: int,
        key_id: int | None,
        systems: list[str] | None,
        status: int,
        bytes_out: int,
        at: datetime | None = None,
    ) -> None:
        """One call of an app's key, which served `systems` (distinct IS ids;
        none: it counts under no IS)."""
        call = (app_id, key_id, systems, status, bytes_out, at or time.time())
        with self._lock:
            self._calls.append(call)

    # ---- sums ----------------------------------------------------------------

    @staticmethod
    def _add_up(
        calls: list[Call], sums: dict[tuple[int, str, date], Counters], keys_used: dict[int, datetime]
    ) -> None:
        """Each call counts once for each IS it served, its bytes split between
        them; the UTC day is the call's."""
        for app_id, key_id, systems, status, bytes_out, at in calls:
            when = at if isinstance(at, datetime) else datetime.fromtimestamp(at, timezone.utc)
            day = when.astimezone(timezone.utc).date()
            served = systems or [NO_SYSTEM]
            shares = split_bytes(bytes_out, len(served)) if len(served) > 1 else [bytes_out]
            error = 1 if status >= 400 else 0
            for system_id, share in zip(served, shares):
                counters = sums.get((app_id, system_id, day))
                if counters is None:
                    counters = sums[(app_id, system_id, day)] = Counters()
                counters.calls += 1
                counters.errors += error
                counters.bytes_out += share
            if key_id is not None and (key_id not in keys_used or keys_used[key_id] < when):
                keys_used[key_id] = when

    def pending(self) -> dict[tuple[int, str, date], Counters]:
        """The sums not written yet."""
        with self._lock:
            calls = list(self._calls)
            sums = {k: Counters(v.calls, v.errors, v.bytes_out) for k, v in self._pending.items()}
        self._add_up(calls, sums, {})
        return sums

    # ---- flushing ------------------------------------------------------------

    def flush(self) -> int:
        """Add the sums gathered since the last flush to the database; returns
        the number of rows written. Sums that fail to be written are kept for
        the next flush, so nothing is counted twice or lost."""
        with self._flush_lock:
            with self._lock:
                calls, self._calls = self._calls, []
                pending, self._pending = self._pending, {}
                keys_used, self._keys_used = self._keys_used, {}
            self._add_up(calls, pending, keys_used)
            if not pending and not keys_used:
                return 0
            try:
                with transaction(self.database_url) as session:
                    write_usage(session, pending, keys_used)
            except Exception:
                self._restore(pending, keys_used)
                raise
            return len(pending)

    def _restore(self, pending: dict[tuple[int, str, date], Counters], keys_used: dict[int, datetime]) -> None:
        with self._lock:
            for key, counters in pending.items():
                current = self._pending.setdefault(key, Counters())
                current.calls += counters.calls
                current.errors += counters.errors
                current.bytes_out += counters.bytes_out
            for key_id, at in keys_used.items():
                if self._keys_used.get(key_id) is None or self._keys_used[key_id] < at:
                    self._keys_used[key_id] = at

    def start(self, every_s: float = FLUSH_SECONDS) -> None:
        """Flush every `every_s` seconds from a background thread until `stop`."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = background_thread(self._run, every_s, name="icity-usage-flush")
        self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            try:
                self.flush()
            except Exception:  # the database may be briefly away: the sums wait for the next flush
                log.exception("usage flush failed; the sums are kept for the next one")

    def stop(self) -> None:
        """Stop the background thread and flush what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        try:
            self.flush()
        except Exception:
            log.exception("usage flush at shutdown failed: the calls since the last flush are not recorded")


def _insert_for(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"usage metering has no upsert for {dialect}")


def write_usage(
    session: Session, pending: dict[tuple[int, str, date], Counters], keys_used: dict[int, datetime]
) -> None:
    """Add `pending` to the stored counters and move the keys' `last_used_at` forward."""
    if pending:
        # an app deleted since its calls were counted cannot take usage rows any more
        existing = set(session.scalars(select(App.id).where(App.id.in_({app_id for app_id, _, _ in pending}))))
        # rows in primary-key order: concurrent flushes of several workers lock them
        # in the same order and cannot deadlock
        rows = [
            {
                "app_id": app_id,
                "information_system_id": system_id,
                "day": day,
                "calls": c.calls,
                "errors": c.errors,
                "bytes_out": c.bytes_out,
            }
            for (app_id, system_id, day), c in sorted(pending.items())
            if app_id in existing
        ]
        if rows:
            insert = _insert_for(session)(UsageDay)
            session.execute(
                insert.on_conflict_do_update(
                    index_elements=[UsageDay.app_id, UsageDay.information_system_id, UsageDay.day],
                    set_={
                        "calls": UsageDay.calls + insert.excluded.calls,
                        "errors": UsageDay.errors + insert.excluded.errors,
                        "bytes_out": UsageDay.bytes_out + insert.excluded.bytes_out,
                    },
                ),
                rows,
            )
    for key_id, at in sorted(keys_used.items()):
        session.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < at))
            .values(last_used_at=at)
        )


# ---- reading ---------------------------------------------------------------------


def _parse_day(param: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad_parameter(param, f"{param} must be a date, YYYY-MM-DD") from None


def _visible_rows(principal: Principal):
    """SQL condition on UsageDay ⋈ App: the rows this principal may see."""
    require_user(principal)
    if not principal.approved:
        raise forbidden(
            "Your account is not approved yet: usage is shown once a platform admin approved it.",
            code="account-not-approved",
        )
    if principal.is_admin:
        return None
    if principal.is_publisher_admin:
        own_systems = select(InformationSystem.id).where(administered_systems(principal))
        return UsageDay.information_system_id.in_(own_systems)
    if principal.is_developer and principal.organisation_id is not None:
        return App.organisation_id == principal.organisation_id
    raise forbidden("Only developers, publishers' admins and the platform admin see usage.")


def usage_report(
    session: Session,
    principal: Principal,
    *,
    app_id: int | None = None,
    system_id: str | None = None,
    city: str | None = None,
    start: str | None = None,
    end: str | None = None,
    limit: int,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Usage rows (app × IS × day, newest day first) the principal may see, with
    the totals of every matching row (not only this page's)."""
    visible = _visible_rows(principal)
    first, last = _parse_day("from", start), _parse_day("to", end)
    if first and last and first > last:
        raise bad_parameter("from", "from must be on or before to")
    conditions = [] if visible is None else [visible]
    if app_id is not None:
        conditions.append(UsageDay.app_id == app_id)
    if system_id is not None:
        conditions.append(UsageDay.information_system_id == system_id)
    if city is not None:
        conditions.append(
            UsageDay.information_system_id.in_(select(InformationSystem.id).where(InformationSystem.city_id == city))
        )
    if first is not None:
        conditions.append(UsageDay.day >= first)
    if last is not None:
        conditions.append(UsageDay.day <= last)
    where = and_(*conditions) if conditions else None

    joined = select(UsageDay, App.name).join(App, App.id == UsageDay.app_id)
    totals_query = select(
        func.coalesce(func.sum(UsageDay.calls), 0),
        func.coalesce(func.sum(UsageDay.errors), 0),
        func.coalesce(func.sum(UsageDay.bytes_out), 0),
    ).join(App, App.id == UsageDay.app_id)
    if where is not None:
        joined, totals_query = joined.where(where), totals_query.where(where)
    keys = [
        SortKey(UsageDay.day, True, date.fromisoformat),
        SortKey(UsageDay.app_id),
        SortKey(UsageDay.information_system_id),
    ]
    rows, next_cursor = keyset_page(
        joined.add_columns(*(k.expression for k in keys)),
        keys,
        "usage",
        limit,
        cursor,
        lambda s: session.execute(s).all(),
    )
    calls, errors, bytes_out = session.execute(totals_query).one()
    return {
        "items": [
            {
                "app": usage.app_id,
                "appName": app_name,
                "informationSystem": usage.information_system_id or None,
                "day": usage.day.isoformat(),
                "calls": usage.calls,
                "errors": usage.errors,
                "bytesOut": usage.bytes_out,
            }
            for usage, app_name, *_ in rows
        ],
        "nextCursor": next_cursor,
        "totals": {"calls": int(calls), "errors": int(errors), "bytesOut": int(bytes_out)},
    }

