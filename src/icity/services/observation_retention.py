"""How long each IS's observation history is kept, and the history's upkeep.

An IS's `observation_retention_days` (None: keep everything, the default) says how many days of
observations it keeps. The upkeep (`ObservationUpkeep`, a background task of `icity worker` /
`icity serve`) runs at start and then hourly:

- on PostgreSQL, creates the monthly partitions of the current month and the next
  MONTHS_AHEAD (rows whose month still has none land in the DEFAULT partition meanwhile);
- drops a whole month's partition when every observation in it is expired: it holds rows only of
  IS whose retention ends after the month (cheap: no DELETE, no bloat to vacuum);
- DELETEs the expired rows of each IS with a retention from what is left (SQLite: the only way).

A partition holds every IS's rows, so a month is dropped only when no IS still needs it.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db import partitions
from icity.db.models import InformationSystem, utcnow
from icity.errors import FieldProblem, invalid
from icity.services.access import Principal, administered_system

log = logging.getLogger(__name__)

MONTHS_AHEAD = 2  # partitions ready this many months ahead: a worker stopped for weeks loses no write
MAX_RETENTION_DAYS = 36_500


def set_retention(session: Session, principal: Principal, system_id: str, days: Any) -> InformationSystem:
    """Set how many days of observations the IS keeps (None: everything). The expired rows go at
    the upkeep's next run."""
    system = administered_system(session, principal, system_id)
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_RETENTION_DAYS):
        raise invalid(
            [FieldProblem("observationRetentionDays", f"a whole number of days from 1 to {MAX_RETENTION_DAYS:,}, or null to keep everything; got {days!r}")]
        )
    system.observation_retention_days = days
    session.flush()
    return system


def retention_dict(system: InformationSystem) -> dict[str, Any]:
    return {"informationSystem": system.id, "observationRetentionDays": system.observation_retention_days}


def apply_retention(session: Session, now: datetime | None = None) -> dict[str, Any]:
    """Drop the partitions and delete the rows that every retention has expired; what went."""
    now = now or utcnow()
    connection = session.connection()
    cutoffs = {
        system_id: now - timedelta(days=days)
        for system_id, days in session.execute(
            select(InformationSystem.id, InformationSystem.observation_retention_days).where(
                InformationSystem.observation_retention_days.is_not(None)
            )
        )
    }
    dropped: list[str] = []
    if cutoffs and partitions.is_partitioned(connection):
        for partition in partitions.month_partitions(connection):
            # the IS whose every row in this month has expired
            expired = [system_id for system_id, cutoff in cutoffs.items() if partitions.naive_utc(cutoff) >= partition.end]
            if expired and not partitions.holds_rows_of_other_systems(connection, partition, expired):
                partitions.drop(connection, partition)
                dropped.append(partition.name)
    deleted = {system_id: partitions.delete_expired(connection, system_id, cutoff) for system_id, cutoff in cutoffs.items()}
    return {"droppedPartitions": dropped, "deleted": {key: count for key, count in deleted.items() if count}}


def upkeep(session: Session, now: datetime | None = None) -> dict[str, Any] | None:
    """One round: partitions ahead, then retention. None when another worker is doing it."""
    now = now or utcnow()
    connection = session.connection()
    created: list[str] = []
    if partitions.is_partitioned(connection):
        if not partitions.lock(connection):
            return None
        created = [p.name for p in partitions.create_ahead(connection, now, MONTHS_AHEAD)]
    return {"createdPartitions": created, **apply_retention(session, now)}


class ObservationUpkeep:
    """Runs `upkeep` at start, then every `interval_s`."""

    def __init__(self, database_url: str | None = None, interval_s: float = 3600) -> None:
        self.database_url = database_url
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> dict[str, Any] | None:
        from icity.db.engine import write_transaction

        with write_transaction(self.database_url) as session:
            done = upkeep(session)
        if done and (done["createdPartitions"] or done["droppedPartitions"] or done["deleted"]):
            log.info("observation history upkeep: %s", done)
        return done

    def _run(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:  # the next round tries again
                log.exception("the observation history's upkeep failed")
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> None:
        from icity.db.engine import background_thread

        self._thread = background_thread(self._run, name="observation history upkeep")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
