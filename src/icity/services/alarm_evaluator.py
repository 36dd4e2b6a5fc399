"""The alarm evaluator: judges what comes in against the alarm rules.

- Threshold rules read the change log from the cursor "alarms": an entity whose value
  meets the condition gets a pending alarm since its observation time, raised once the
  condition has held for the rule's duration — judged by observation times (a later
  observation still meeting it), or, when no later observation comes, by the clock; a
  value back on the right side drops a pending alarm and clears a raised one.
- Silent rules are judged by the clock: a device past its reporting period (by the rule's
  duration) raises; heard again, it clears.

Each pass runs in one write transaction that also moves the cursor, so an alarm is
judged once for each change even when `icity serve` and `icity worker` both evaluate:
the cursor row is locked (SQLite: the write lock) for the length of the pass.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from icity.db.engine import background_thread, write_transaction
from icity.db.models import Alarm, AlarmRule, Change, Cursor, Device, Entity, InformationSystem, utcnow
from icity.services import changes
from icity.services.alarms import Place, clear, place_of, raise_alarm

log = logging.getLogger(__name__)

CURSOR = "alarms"
BATCH = 1000  # changes judged in one transaction


class AlarmEvaluator:
    def __init__(self, database_url: str | None = None, poll_s: float = 5.0) -> None:
        self.database_url = database_url
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self._unregister = None

    def run_once(self, now: datetime | None = None) -> dict[str, int]:
        """Judge every change not judged yet, then what the clock decides; what happened, counted."""
        now = now or utcnow()
        tally: Counter[str] = Counter()
        while True:
            with write_transaction(self.database_url) as session:
                read = judge_changes(session, tally)
            if read < BATCH:
                break
        with write_transaction(self.database_url) as session:
            _locked_cursor(session)
            judge_by_clock(session, now, tally)
        return {"changes": tally["changes"], "raised": tally["raised"], "cleared": tally["cleared"]}

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a database hiccup must not end the evaluation
                log.exception("alarm evaluation failed; trying again in %s s", self.poll_s)
            self._wake.wait(self.poll_s)  # a commit that logged changes wakes it sooner
            self._wake.clear()

    def start(self) -> None:
        self._unregister = changes.on_commit(self._wake.set)
        self._loop = background_thread(self.run_forever, name="alarm evaluator")
        self._loop.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._unregister is not None:
            self._unregister()
        if self._loop is not None:
            self._loop.join()


def _locked_cursor(session: Session) -> Cursor:
    cursor = session.scalar(select(Cursor).where(Cursor.name == CURSOR).with_for_update())
    if cursor is None:
        cursor = Cursor(name=CURSOR, position=0)
        session.add(cursor)
        session.flush()
    return cursor


def _enabled_rules(session: Session, kind: str) -> list[tuple[AlarmRule, InformationSystem]]:
    rows = session.execute(
        select(AlarmRule, InformationSystem)
        .join(InformationSystem, InformationSystem.id == AlarmRule.information_system_id)
        .where(AlarmRule.enabled.is_(True), AlarmRule.kind == kind)
        .order_by(AlarmRule.id)
    )
    return [(rule, system) for rule, system in rows]


# --- Threshold rules, by the change log ------------------------------------------------


def judge_changes(session: Session, tally: Counter[str]) -> int:
    """Judge the next batch of changes and move the cursor past them; how many were read."""
    cursor = _locked_cursor(session)
    batch = changes.read_since(session, cursor.position, BATCH)
    if not batch:
        return 0
    rules: dict[str, list[tuple[AlarmRule, InformationSystem]]] = {}
    for rule, system in _enabled_rules(session, "threshold"):
        rules.setdefault(system.id, []).append((rule, system))
    judged = [
        (change, rule, system)
        for change in batch
        if change.kind == "entity"
        for rule, system in rules.get(change.information_system_id, ())
        if rule.entity_type in (None, change.entity_type)
    ]
    alarms = _alarms_of({(rule.id, change.entity_id) for change, rule, _ in judged}, session)
    for change, rule, system in judged:
        _judge(session, rule, system, change, alarms, tally)
    cursor.position = batch[-1].id
    tally["changes"] += len(batch)
    return len(batch)


def _alarms_of(keys: set[tuple[int, str]], session: Session) -> dict[tuple[int, str], Alarm]:
    if not keys:
        return {}
    found = session.scalars(select(Alarm).where(tuple_(Alarm.rule_id, Alarm.entity_id).in_(sorted(keys))))
    return {(alarm.rule_id, alarm.entity_id): alarm for alarm in found}


def _judge(
    session: Session,
    rule: AlarmRule,
    system: InformationSystem,
    change: Change,
    alarms: dict[tuple[int, str], Alarm],
    tally: Counter[str],
) -> None:
    value = change.entity.get(rule.attribute)
    if not _is_number(value):
        return  # the entity does not say (yet): nothing to judge
    at = _observed_at(change)
    key = (rule.id, change.entity_id)
    alarm = alarms.get(key)
    place = Place(change.entity.get("location"), change.lon, change.lat)
    if holds(rule, value):
        if alarm is None:
            alarm = alarms[key] = Alarm(rule_id=rule.id, entity_id=change.entity_id, state="pending", since=at, value=value)
            session.add(alarm)
            session.flush()
        elif alarm.state == "cleared":  # a new episode
            alarm.state, alarm.since, alarm.raised_at, alarm.cleared_at, alarm.value = "pending", at, None, None, value
        if alarm.state == "pending" and at >= alarm.since + timedelta(seconds=rule.duration_s):
            raise_alarm(session, rule, system, alarm, at, value, place)
            tally["raised"] += 1
    elif alarm is not None and alarm.state == "pending":
        del alarms[key]
        session.delete(alarm)
        session.flush()  # before a new pending alarm of the same entity in this batch
    elif alarm is not None and alarm.state == "raised":
        why = f"{rule.attribute} {value} is no longer {rule.operator} {rule.threshold:g} at {alarm.entity_id}"
        clear(session, rule, system, alarm, at, place, why)
        tally["cleared"] += 1


def holds(rule: AlarmRule, value: float) -> bool:
    return value > rule.threshold if rule.operator == "above" else value < rule.threshold


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _observed_at(change: Change) -> datetime:
    observed = change.entity.get("observedAt")
    return datetime.fromisoformat(observed) if observed else change.at


# --- By the clock: pending alarms whose duration has passed, silent devices ------------


def judge_by_clock(session: Session, now: datetime, tally: Counter[str]) -> None:
    _raise_due(session, now, tally)
    for rule, system in _enabled_rules(session, "silent"):
        _judge_devices(session, rule, system, now, tally)


def _raise_due(session: Session, now: datetime, tally: Counter[str]) -> None:
    """Raise the pending alarms that have held for their duration with no observation since
    to say so, if the entity's value still meets the condition; raised as of when it had held."""
    pending = session.execute(
        select(Alarm, AlarmRule, InformationSystem)
        .join(AlarmRule, AlarmRule.id == Alarm.rule_id)
        .join(InformationSystem, InformationSystem.id == AlarmRule.information_system_id)
        .where(Alarm.state == "pending", AlarmRule.enabled.is_(True), AlarmRule.kind == "threshold")
    ).all()
    for alarm, rule, system in pending:
        due = alarm.since + timedelta(seconds=rule.duration_s)
        if due > now:
            continue
        entity = session.get(Entity, alarm.entity_id)
        if entity is None or entity.retired_at is not None:
            continue
        value = entity.attributes.get(rule.attribute)
        if _is_number(value) and holds(rule, value):
            raise_alarm(session, rule, system, alarm, due, value, Place(entity.location, entity.lon, entity.lat))
            tally["raised"] += 1


def _judge_devices(session: Session, rule: AlarmRule, system: InformationSystem, now: datetime, tally: Counter[str]) -> None:
    """Raise for each device silent for longer than the rule's duration; clear those heard again."""
    grace = timedelta(seconds=rule.duration_s)
    alarms = {alarm.entity_id: alarm for alarm in session.scalars(select(Alarm).where(Alarm.rule_id == rule.id))}
    silent = session.scalars(
        select(Device).where(
            Device.information_system_id == system.id,
            Device.reporting_period_s > 0,
            Device.silent_after < now - grace,  # never heard from: no time to be silent since
        )
    ).all()
    for device in silent:
        alarm = alarms.get(device.local_id)
        if alarm is not None and alarm.state == "raised":
            if alarm.since == device.silent_after:
                continue
            # heard from between two passes, and silent again since: this is a new silence
            why = f"device {alarm.entity_id} reported again"
            clear(session, rule, system, alarm, device.last_seen_at, place_of(session, rule, alarm), why)
            tally["cleared"] += 1
        if alarm is None:
            alarm = Alarm(rule_id=rule.id, entity_id=device.local_id, state="pending", since=device.silent_after)
            session.add(alarm)
        alarm.since = device.silent_after
        raise_alarm(session, rule, system, alarm, device.silent_after + grace, None, place_of(session, rule, alarm))
        tally["raised"] += 1
    raised = [alarm for alarm in alarms.values() if alarm.state == "raised"]
    if not raised:
        return
    devices = {
        device.local_id: device
        for device in session.scalars(
            select(Device).where(Device.information_system_id == system.id, Device.local_id.in_([a.entity_id for a in raised]))
        )
    }
    for alarm in raised:
        device = devices.get(alarm.entity_id)
        if device is None or not device.reporting_period_s:
            why = f"device {alarm.entity_id} no longer declares a reporting period"
            clear(session, rule, system, alarm, now, place_of(session, rule, alarm), why)
        elif device.silent_after is not None and device.silent_after >= now:
            heard = max(device.last_seen_at or now, alarm.raised_at or now)
            clear(session, rule, system, alarm, heard, place_of(session, rule, alarm), f"device {alarm.entity_id} reports again")
        else:
            continue
        tally["cleared"] += 1
