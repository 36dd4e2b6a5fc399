"""Harvest runs: read an IS's source, map every record, store the entities, record the run.

A run reads the whole source first, mapping and checking record by record into a
staging file on disk, and only then writes, in one transaction. So a source that
fails half-way (an HTML page, a truncated file, a 500) leaves the data as it was,
a slow source holds no database lock while it trickles in, and memory stays flat
whatever the size of the source: records are streamed, staged and written in batches.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

import orjson
from sqlalchemy import exists, func, select, text, update
from sqlalchemy.orm import Session

from icity.connectors import SourceError
from icity.db.engine import analyze, transaction, write_transaction
from icity.db.models import Entity, HarvestRun, InformationSystem, utcnow
from icity.errors import ICityError, bad_parameter, conflict, not_found
from icity.services import entity_store, schedules, sources
from icity.services.harvest_leases import RUN_LEASE, LeaseLost, fail_abandoned_runs, leased
from icity.services.access import Principal, administered_system
from icity.services.pagination import Page, SortKey, keyset_page, parse_datetime

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
RUN_STATUSES = ("running", "succeeded", "unchanged", "failed")
SUCCESSES = ("succeeded", "unchanged")
ANALYZE_AFTER = 5000  # entities created by one run; the planner's statistics are refreshed after that


# ----------------------------------------------------------------------------- starting a run


def start_run(session: Session, principal: Principal, system_id: str, trigger: str = "manual") -> dict[str, Any]:
    """Record a new run of an IS whose source is set up; ``execute_run`` does the reading."""
    system = administered_system(session, principal, system_id)
    sources.stored_source(session, system)  # a setup that no longer holds is refused now, not in the background
    fail_abandoned_runs(session, system.id)
    running = session.scalar(
        select(HarvestRun.id).where(HarvestRun.information_system_id == system.id, HarvestRun.status == "running")
    )
    if running is not None:
        raise conflict(f"Run {running} of {system.id} is still running; wait for it to finish.")
    run = HarvestRun(
        information_system_id=system.id, trigger=trigger, status="running", rejections=[], lease_until=utcnow() + RUN_LEASE
    )
    session.add(run)
    session.flush()
    return run_dict(run)


def run_now(system_id: str, principal: Principal, trigger: str = "cli", database_url: str | None = None) -> dict[str, Any]:
    """Start and execute a run in this thread (the CLI, the scheduler's threads)."""
    with transaction(database_url) as session:
        run_id = start_run(session, principal, system_id, trigger)["id"]
    return execute_run(run_id, database_url)


# ----------------------------------------------------------------------------- executing a run


@dataclass
class _Staged:
    """What reading the source gave, before anything is written."""

    fetched: int = 0
    rejected: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None


def execute_run(run_id: int, database_url: str | None = None) -> dict[str, Any]:
    """Read, map, stage, then write in one transaction; the run row says how it went.

    Never raises for a bad source: the run is recorded as failed with the reason,
    and the entities stay as they were.
    """
    with transaction(database_url) as session:
        run = session.get(HarvestRun, run_id)
        if run is None:
            raise not_found("harvest run", str(run_id))
        if run.status != "running":  # taken as abandoned before it began (its lease ended): not run twice
            return run_dict(run)
        run.lease_until = utcnow() + RUN_LEASE
        system = session.get(InformationSystem, run.information_system_id)
        etag, last_modified = _validators(session, system)
        try:
            source = sources.stored_source(session, system)
        except ICityError as error:
            source, setup_error = None, error.detail
    if source is None:
        return _finish_failed(run_id, f"The source's setup is not valid: {setup_error}", database_url)
    try:
        with leased(run_id, database_url), tempfile.TemporaryFile() as staging:
            staged = _stage(source, staging, etag, last_modified)
            staging.seek(0)
            return _write(run_id, source, staged, staging, database_url)
    except LeaseLost:  # taken as abandoned meanwhile (its lease could not be renewed): nothing written
        log.warning("harvest run %s of %s lost its lease; its writes were rolled back", run_id, source.system_id)
        with transaction(database_url) as session:
            return run_dict(session.get(HarvestRun, run_id))
    except (SourceError, ICityError) as error:  # a bad source, or entities the platform refuses to store
        return _finish_failed(run_id, error.detail, database_url)
    except Exception as error:  # a bug must not kill the scheduler's thread, and the run must not stay 'running'
        log.exception("harvest run %s of %s failed", run_id, source.system_id)
        return _finish_failed(run_id, f"Internal error while harvesting: {type(error).__name__}: {error}", database_url)


def _validators(session: Session, system: InformationSystem) -> tuple[str | None, str | None]:
    """The ETag / Last-Modified of the last good run — unless the setup changed since (then read again)."""
    last = session.scalars(
        select(HarvestRun)
        .where(
            HarvestRun.information_system_id == system.id,
            HarvestRun.status.in_(SUCCESSES),
            HarvestRun.started_at >= system.updated_at,
        )
        .order_by(HarvestRun.started_at.desc(), HarvestRun.id.desc())
        .limit(1)
    ).first()
    return (last.etag, last.last_modified) if last else (None, None)


def _stage(source: sources.Source, staging: IO[bytes], etag: str | None, last_modified: str | None) -> _Staged:
    """Read and map every record; write accepted entities (and the ids of rejected ones) to ``staging``."""
    staged = _Staged()
    with sources.read_source(source, etag, last_modified) as reading:
        for outcome in sources.outcomes(source, reading.records):
            staged.fetched += 1
            if outcome.entity is not None:
                staging.write(b"E" + orjson.dumps(outcome.entity) + b"\n")
                continue
            staged.rejected += 1
            if len(staged.rejections) < sources.LISTED_REJECTIONS:
                staged.rejections.append(sources.rejection(outcome))
            if outcome.entity_id:
                # Its entity is still in the source, only this version is refused: keep it, do not retire it.
                staging.write(b"S" + orjson.dumps(outcome.entity_id) + b"\n")
        staged.not_modified, staged.etag, staged.last_modified = reading.not_modified, reading.etag, reading.last_modified
    return staged


def _staged_batches(staging: IO[bytes]) -> Iterator[tuple[list[dict[str, Any]], list[str]]]:
    entities: list[dict[str, Any]] = []
    seen: list[str] = []
    for line in staging:
        if line[:1] == b"E":
            entity = orjson.loads(line[1:])
            if entity["observed_at"] is not None:
                entity["observed_at"] = datetime.fromisoformat(entity["observed_at"])
            entities.append(entity)
        else:
            seen.append(orjson.loads(line[1:]))
        if len(entities) + len(seen) >= BATCH_SIZE:
            yield entities, seen
            entities, seen = [], []
    if entities or seen:
        yield entities, seen


def _write(
    run_id: int, source: sources.Source, staged: _Staged, staging: IO[bytes], database_url: str | None
) -> dict[str, Any]:
    counts = {"created": 0, "updated": 0, "unchanged": 0, "retired": 0}
    with write_transaction(database_url) as session:
        system = session.get(InformationSystem, source.system_id)
        retire = system.retire_missing and not staged.not_modified
        if retire:
            _reset_seen(session)
        for entities, seen in _staged_batches(staging):
            if entities:
                for name, count in entity_store.write_checked(session, source.system_id, source.city_id, entities).items():
                    counts[name] += count
            if retire:
                _mark_seen(session, [entity["id"] for entity in entities] + seen)
            session.expunge_all()  # the written entities are not needed again: keep memory flat
        if retire:
            counts["retired"] = _retire_unseen(session, source.system_id)
        run = session.get(HarvestRun, run_id, with_for_update=True)
        if run.status != "running":
            raise LeaseLost  # rolls the whole write back: the run that took over writes instead
        run.status = "unchanged" if staged.not_modified else "succeeded"
        run.finished_at = utcnow()
        run.fetched, run.rejected, run.rejections = staged.fetched, staged.rejected, staged.rejections
        run.created, run.updated, run.unchanged, run.retired = (
            counts["created"], counts["updated"], counts["unchanged"], counts["retired"]
        )
        run.etag, run.last_modified = staged.etag, staged.last_modified
        result = run_dict(run)
    if counts["created"] >= ANALYZE_AFTER:
        analyze(database_url)
    return result


# The ids met in this run, in a temporary table (one per connection) rather than a Python set,
# so that retiring the rest takes one statement and no memory that grows with the source.
def _reset_seen(session: Session) -> None:
    session.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS harvest_seen (id VARCHAR(300) PRIMARY KEY)"))
    session.execute(text("DELETE FROM harvest_seen"))


def _mark_seen(session: Session, ids: list[str]) -> None:
    if ids:
        session.execute(
            text("INSERT INTO harvest_seen (id) VALUES (:id) ON CONFLICT DO NOTHING"), [{"id": i} for i in ids]
        )


def _retire_unseen(session: Session, system_id: str) -> int:
    now = utcnow()
    result = session.execute(
        update(Entity)
        .where(
            Entity.information_system_id == system_id,
            Entity.retired_at.is_(None),
            # NOT EXISTS, not NOT IN: PostgreSQL can only run NOT IN over an unanalysed temporary table as a
            # subplan scanned once per entity (minutes at 100,000 rows); NOT EXISTS is an anti-join on its key
            ~exists(select(text("1")).select_from(text("harvest_seen")).where(text("harvest_seen.id = entities.id"))),
        )
        .values(retired_at=now, modified_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def _finish_failed(run_id: int, error: str, database_url: str | None) -> dict[str, Any]:
    with transaction(database_url) as session:
        run = session.get(HarvestRun, run_id)
        run.status = "failed"
        run.finished_at = utcnow()
        run.error = error
        return run_dict(run)


# ----------------------------------------------------------------------------- reading runs and health


def run_dict(run: HarvestRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "informationSystem": run.information_system_id,
        "trigger": run.trigger,
        "status": run.status,
        "startedAt": run.started_at.isoformat() if run.started_at else None,
        "finishedAt": run.finished_at.isoformat() if run.finished_at else None,
        "fetched": run.fetched or 0,
        "created": run.created or 0,
        "updated": run.updated or 0,
        "unchanged": run.unchanged or 0,
        "rejected": run.rejected or 0,
        "retired": run.retired or 0,
        "error": run.error,
        "rejections": run.rejections or [],
    }


def list_runs(
    session: Session, principal: Principal, system_id: str, *, status: str | None = None, limit: int, cursor: str | None
) -> Page:
    system = administered_system(session, principal, system_id)
    statement = select(HarvestRun).where(HarvestRun.information_system_id == system.id)
    if status is not None:
        if status not in RUN_STATUSES:
            raise bad_parameter("status", f"status must be one of {', '.join(RUN_STATUSES)}")
        statement = statement.where(HarvestRun.status == status)
    keys = [SortKey(HarvestRun.started_at, descending=True, parse=parse_datetime), SortKey(HarvestRun.id, descending=True)]
    rows, next_cursor = keyset_page(
        statement.add_columns(HarvestRun.started_at, HarvestRun.id),
        keys,
        "-startedAt",
        limit,
        cursor,
        lambda s: session.execute(s).all(),
    )
    return Page([run_dict(row[0]) for row in rows], next_cursor)


def get_run(session: Session, principal: Principal, system_id: str, run_id: int) -> dict[str, Any]:
    system = administered_system(session, principal, system_id)
    run = session.get(HarvestRun, run_id)
    if run is None or run.information_system_id != system.id:
        raise not_found("harvest run", str(run_id))
    return run_dict(run)


def health(session: Session, system: InformationSystem, now: datetime | None = None) -> dict[str, Any]:
    """How the connector is doing: last success, failures since, how old the data is, when it runs next."""
    now = now or utcnow()
    last = session.scalars(
        select(HarvestRun)
        .where(HarvestRun.information_system_id == system.id)
        .order_by(HarvestRun.started_at.desc(), HarvestRun.id.desc())
        .limit(1)
    ).first()
    last_success = session.scalars(
        select(HarvestRun)
        .where(HarvestRun.information_system_id == system.id, HarvestRun.status.in_(SUCCESSES))
        .order_by(HarvestRun.started_at.desc(), HarvestRun.id.desc())
        .limit(1)
    ).first()
    failures = select(func.count()).where(
        HarvestRun.information_system_id == system.id, HarvestRun.status == "failed"
    )
    if last_success is not None:
        failures = failures.where(HarvestRun.started_at > last_success.started_at)
    consecutive_failures = session.scalar(failures) or 0
    freshness = (now - last_success.finished_at).total_seconds() if last_success and last_success.finished_at else None
    next_run_at = None
    if system.connector and system.schedule:
        next_run_at = schedules.next_run(system.schedule, last.started_at) if last else now
    if not system.connector:
        state = "not-configured"
    elif last is None:
        state = "never-run"
    elif consecutive_failures:
        state = "failing"
    elif system.schedule and freshness is not None and freshness > 2 * schedules.period(system.schedule, now).total_seconds():
        state = "stale"
    else:
        state = "healthy"
    return {
        "state": state,
        "lastRun": run_dict(last) if last else None,
        "lastSuccessAt": last_success.finished_at.isoformat() if last_success and last_success.finished_at else None,
        "consecutiveFailures": consecutive_failures,
        "freshnessSeconds": round(freshness) if freshness is not None else None,
        "nextRunAt": next_run_at.isoformat() if next_run_at else None,
    }


def source_view(session: Session, system: InformationSystem) -> dict[str, Any]:
    """An IS's source setup with its health, as city admins see it."""
    return {
        "informationSystem": system.id,
        "connector": system.connector,
        "mapping": system.mapping,
        "usesStandardMapping": system.connector is not None and system.mapping is None,
        "schedule": system.schedule,
        "retireMissing": system.retire_missing,
        "health": health(session, system),
    }


def get_source(session: Session, principal: Principal, system_id: str) -> dict[str, Any]:
    return source_view(session, administered_system(session, principal, system_id))


# ----------------------------------------------------------------------------- what is due


def due_systems(session: Session, now: datetime | None = None, only: str | None = None) -> list[str]:
    """IS with a connector and a schedule whose next run time has come (never run: at once);
    ``only``: that IS alone, if it is due."""
    now = now or utcnow()
    last_started = select(HarvestRun.information_system_id, func.max(HarvestRun.started_at).label("started_at"))
    if only is not None:
        last_started = last_started.where(HarvestRun.information_system_id == only)
    last_started = last_started.group_by(HarvestRun.information_system_id).subquery()
    query = (
        select(InformationSystem.id, InformationSystem.schedule, last_started.c.started_at)
        .outerjoin(last_started, last_started.c.information_system_id == InformationSystem.id)
        .where(
            InformationSystem.schedule.is_not(None),  # set only with a connector (a JSON null would pass IS NOT NULL)
            InformationSystem.status != "retired",
        )
        .order_by(InformationSystem.id)
    )
    if only is not None:
        query = query.where(InformationSystem.id == only)
    rows = session.execute(query).all()
    return [
        system_id
        for system_id, schedule, started_at in rows
        if started_at is None or schedules.next_run(schedule, started_at) <= now
    ]



# The scheduled run of one IS is claimed under a lock on that IS, so that of several schedulers
# (`icity worker` processes, `icity serve`) reading the same database, one only starts each tick's run.
_SCHEDULE_LOCK = 0x1C17_5C4E  # advisory lock class (PostgreSQL); the IS's id hash is the object


def claim_scheduled_run(
    system_id: str, principal: Principal, now: datetime | None = None, database_url: str | None = None
) -> int | None:
    """Record the scheduled run of ``system_id`` and return its id — or None when it is not due any
    more (another scheduler started this tick's run) or a run of it is still going.

    The check and the new run row are one transaction holding a lock on the IS: on PostgreSQL an
    advisory transaction lock, on SQLite the database's write lock (BEGIN IMMEDIATE), so the second
    claimer sees the first one's run and finds the IS not due."""
    try:
        with write_transaction(database_url) as session:
            if session.get_bind().dialect.name == "postgresql":
                session.execute(
                    text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:system_id))"),
                    {"lock_class": _SCHEDULE_LOCK, "system_id": system_id},
                )
            # a run a killed worker left running ends as failed, and this tick's run starts again
            abandoned = fail_abandoned_runs(session, system_id)  # leases are on the real clock, not the tick's
            if not abandoned and system_id not in due_systems(session, now, only=system_id):
                return None
            return start_run(session, principal, system_id, trigger="schedule")["id"]
    except ICityError as error:  # a run started by hand is still going; the setup no longer holds
        log.info("scheduled harvest of %s not started: %s", system_id, error.detail)
        return None
