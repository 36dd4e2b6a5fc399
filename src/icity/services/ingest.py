"""Push: a provider's observations for the devices of its IS, over HTTP (and MQTT).

A batch is checked whole first — every device known, every attribute one of its
entity type's, every value of the right type — and refused with every problem's
path, writing nothing; then, in one transaction, the history rows are appended
(one per device attribute and time: a different value for the same time replaces it, as a
correction) and
each entity's current state moves to its latest observation. The caller commits
before acknowledging, so an acknowledged observation is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.datamodels.registry import CORE_KEYS
from icity.db.bulk import update_many
from icity.db.models import Device, Entity, InformationSystem, ProviderToken, utcnow
from icity.errors import FieldProblem, authentication_required, forbidden, invalid, not_found
from icity.services import changes
from icity.services.access import Principal
from icity.services.entities import entity_body
from icity.services.entity_store import add_observations, observation_row, observation_window

MAX_OBSERVATIONS = 10_000  # per request: one value of one attribute at one time is one observation


@dataclass(frozen=True, slots=True)
class Measure:
    """What one device observed at one time: attribute → value, named as its Smart Data Model names them."""

    device: str
    observed_at: datetime
    values: dict[str, Any]


def require_provider_of(principal: Principal, system_id: str) -> None:
    if principal.kind == "anonymous":
        raise authentication_required("Push with a provider token (icp_…) as `Authorization: Bearer`: the city's admins issue it.")
    if principal.kind != "provider" or principal.system_id != system_id:
        raise forbidden(f"Only a provider token of {system_id} pushes observations into it.")


def push(session: Session, principal: Principal, system_id: str, measures: list[Measure]) -> dict[str, Any]:
    """Store a batch of measures (all or nothing); what was stored, counted."""
    require_provider_of(principal, system_id)
    city_id = session.scalar(select(InformationSystem.city_id).where(InformationSystem.id == system_id))
    if city_id is None:
        raise not_found("information system", system_id)
    targets = _check(session, system_id, measures)
    now = utcnow()
    history = [
        observation_row(targets[measure.device].entity_id, name, measure.observed_at, value)
        for measure in measures
        for name, value in measure.values.items()
    ]
    add_observations(session, history)
    updated = _move_current_state(session, system_id, city_id, measures, targets, now)
    _mark_seen(session, measures, targets)
    session.execute(update(ProviderToken).where(ProviderToken.id == principal.key_id).values(last_used_at=now))
    return {"observations": len(history), "devices": len({m.device for m in measures}), "entitiesUpdated": updated}


# Built once, the lists bound as expanding parameters: a batch names hundreds of devices and
# entities, and `in_(list)` coerces each value into its own bound parameter every time.
_DEVICES = (  # each device with its entity's type (None: no entity, or none stored)
    select(Device.id, Device.local_id, Device.entity_id, Device.last_seen_at, Device.reporting_period_s, Entity.type)
    .outerjoin(Entity, Entity.id == Device.entity_id)
    .where(Device.information_system_id == bindparam("system"), Device.local_id.in_(bindparam("names", expanding=True)))
)
_CURRENT = select(Entity.id, Entity.attributes, Entity.observed_at, Entity.retired_at).where(
    Entity.id.in_(bindparam("ids", expanding=True))
)
_CURRENT_TO_LOG = _CURRENT.add_columns(Entity.type, Entity.location, Entity.lon, Entity.lat, Entity.details)  # what a change shows


def _check(session: Session, system_id: str, measures: list[Measure]) -> dict[str, Any]:
    """device local id → its row (id, entity_id, last_seen_at, reporting_period_s); 422 with every problem's path."""
    count = sum(len(measure.values) for measure in measures)
    if count > MAX_OBSERVATIONS:
        raise invalid([FieldProblem("measures", f"at most {MAX_OBSERVATIONS:,} observations a request, got {count:,}")])
    names = sorted({measure.device for measure in measures})
    devices, types = {}, {}
    for row in session.execute(_DEVICES, {"system": system_id, "names": names}):
        devices[row.local_id] = row
        if row.type is not None:
            types[row.entity_id] = row.type
    registry = get_registry()
    window = observation_window()
    problems: list[FieldProblem] = []
    for index, measure in enumerate(measures):
        path = f"measures[{index}]"
        device = devices.get(measure.device)
        if device is None:
            problems.append(FieldProblem(f"{path}.device", f"{system_id} has no device '{measure.device}'"))
            continue
        entity_type = types.get(device.entity_id or "")
        if entity_type is None:
            problems.append(FieldProblem(f"{path}.device", f"device '{measure.device}' reports into no entity"))
            continue
        outside = window.problem_with(measure.observed_at)
        if outside:
            problems.append(FieldProblem(f"{path}.observedAt", outside))
        if not measure.values:
            problems.append(FieldProblem(f"{path}.values", "give at least one attribute"))
        reserved = sorted(set(measure.values) & CORE_KEYS)
        for name in reserved:
            problems.append(FieldProblem(f"{path}.values.{name}", f"'{name}' is not an observed attribute"))
        values = {name: value for name, value in measure.values.items() if name not in CORE_KEYS}
        problems += registry.get(entity_type).validate(values, prefix=f"{path}.values.")
    if problems:
        first = problems[0]
        raise invalid(problems, detail=f"{len(problems)} problem(s); first: {first.path}: {first.detail}")
    return devices


def _move_current_state(
    session: Session, system_id: str, city_id: str, measures: list[Measure], targets: dict[str, Any], now: datetime
) -> int:
    """Each entity takes the values of its observations at or after its current time (older
    ones only join the history), and the change goes to the change log if anyone listens;
    returns how many entities changed."""
    by_entity: dict[str, list[Measure]] = {}
    for measure in measures:
        by_entity.setdefault(targets[measure.device].entity_id, []).append(measure)
    rows, logged = [], []
    log_changes = changes.listening(session, system_id, city_id)
    current = session.execute(_CURRENT_TO_LOG if log_changes else _CURRENT, {"ids": list(by_entity)}).all()
    registry = get_registry()
    for entity in current:
        merged, latest = dict(entity.attributes), entity.observed_at
        measures_of = by_entity[entity.id]
        time_names = registry.get(targets[measures_of[0].device].type).observation_times
        for measure in sorted(measures_of, key=lambda m: m.observed_at):
            if latest is None or measure.observed_at >= latest:
                merged.update(measure.values)
                latest = measure.observed_at
                for name in time_names:  # the model's own time moves with observedAt unless given
                    if name not in measure.values:
                        merged[name] = measure.observed_at.isoformat()
        if merged != entity.attributes or latest != entity.observed_at or entity.retired_at is not None:
            rows.append({"id": entity.id, "attributes": merged, "observed_at": latest, "modified_at": now, "retired_at": None})
            if log_changes:
                body = entity_body(
                    entity.id, entity.type, city_id, system_id, merged, entity.location, latest, now
                )
                before = entity.attributes if entity.retired_at is None else None
                altered = changes.alterations(before, merged, details_before=entity.details, details_after=entity.details)
                logged.append(changes.change_row(body, entity.lon, entity.lat, details=entity.details, altered=altered))
    if rows:
        update_many(session, Entity, rows)  # UPDATE … WHERE id = ? for each
    changes.record(session, logged)
    return len(rows)


def _mark_seen(session: Session, measures: list[Measure], targets: dict[str, Any]) -> None:
    latest: dict[str, datetime] = {}
    for measure in measures:
        if measure.device not in latest or measure.observed_at > latest[measure.device]:
            latest[measure.device] = measure.observed_at
    rows = []
    for name, seen in latest.items():
        device = targets[name]
        if device.last_seen_at is None or seen > device.last_seen_at:
            silent_after = Device.silent_after_seen(seen, device.reporting_period_s)
            rows.append({"id": device.id, "last_seen_at": seen, "silent_after": silent_after})
    update_many(session, Device, rows)

