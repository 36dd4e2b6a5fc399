"""Harvest run leases: a running run is renewed by the worker executing it, so that a run a killed
worker left 'running' is known abandoned once its lease ends, recorded failed, and its IS harvested again
(by any worker: services/harvest.claim_scheduled_run, services/scheduler)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from icity.db.engine import background_thread, transaction
from icity.db.models import HarvestRun, InformationSystem, utcnow

log = logging.getLogger(__name__)

STALE_RUNNING = timedelta(hours=1)  # a run 'running' for longer, with no lease (recorded before leases), was cut off
# A running run's lease: the worker executing it renews it every RUN_LEASE / 3 while its process lives;
# a run still 'running' after its lease ended was abandoned (the process was killed) and its IS is free again.
RUN_LEASE = timedelta(seconds=60)


class LeaseLost(Exception):
    """The run was recorded as abandoned while this worker was still executing it."""


def abandoned(now: datetime):
    """A running run whose lease ended (or, recorded before leases, that started over STALE_RUNNING ago)."""
    return and_(
        HarvestRun.status == "running",
        or_(
            HarvestRun.lease_until < now,
            and_(HarvestRun.lease_until.is_(None), HarvestRun.started_at < now - STALE_RUNNING),
        ),
    )


def fail_abandoned_runs(session: Session, system_id: str | None = None) -> list[int]:
    """Record as failed the runs a killed worker left running (of one IS, or all); their ids."""
    now = utcnow()
    query = select(HarvestRun).where(abandoned(now))
    if system_id is not None:
        query = query.where(HarvestRun.information_system_id == system_id)
    runs = session.scalars(query.with_for_update(skip_locked=True)).all()
    for run in runs:
        run.status, run.finished_at = "failed", now
        run.error = (
            f"Abandoned: the worker running it stopped renewing its lease (ended {run.lease_until:%Y-%m-%d %H:%M:%S} UTC); "
            "the process was probably killed. Nothing it read was written."
            if run.lease_until
            else "Abandoned: still running an hour after it started; the process was probably killed."
        )
        log.warning("harvest run %s of %s was abandoned by its worker; recorded as failed", run.id, run.information_system_id)
    session.flush()
    return [run.id for run in runs]


def abandoned_systems(session: Session) -> list[str]:
    """IS with a schedule whose running run was abandoned: their tick's run is to be started again."""
    query = (
        select(HarvestRun.information_system_id)
        .join(InformationSystem, InformationSystem.id == HarvestRun.information_system_id)
        .where(abandoned(utcnow()), InformationSystem.schedule.is_not(None), InformationSystem.status != "retired")
        .distinct()
    )
    return sorted(session.scalars(query))


def renew_lease(run_id: int, database_url: str | None = None) -> bool:
    """Extend a running run's lease; False once it is no longer running (finished, or taken as abandoned)."""
    with transaction(database_url) as session:
        renewed = session.execute(
            update(HarvestRun)
            .where(HarvestRun.id == run_id, HarvestRun.status == "running")
            .values(lease_until=utcnow() + RUN_LEASE)
        ).rowcount
    return bool(renewed)


@contextmanager
def leased(run_id: int, database_url: str | None) -> Iterator[None]:
    """Renew the run's lease every RUN_LEASE / 3 while the block runs (in a thread of its own: a source
    slow to answer, or a long write, still holds it)."""
    done = threading.Event()

    def renew() -> None:
        while not done.wait(RUN_LEASE.total_seconds() / 3):
            try:
                if not renew_lease(run_id, database_url):
                    return
            except Exception:  # a database hiccup: the next renewal may pass; the lease has room for two misses
                log.warning("harvest run %s: could not renew its lease", run_id, exc_info=True)

    renewer = background_thread(renew, name=f"harvest lease {run_id}")
    renewer.start()
    try:
        yield
    finally:
        done.set()
        renewer.join()
