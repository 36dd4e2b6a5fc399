"""Writing entities one by one, each with its own outcome: create, replace, merge, drop attributes, delete.

For APIs that address entities individually (the NGSI-LD door): a batch stores the entities
that pass and names the ones that do not, where a push or a harvest is all or nothing. Every
write still goes through the entity store's one write path (entity_store.write_checked), so
history, the change log, alarms and subscriptions see it exactly as they see a push.

Who writes: a provider token into its own IS; a city admin, or the platform admin, into an IS
they administer. Nobody else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from icity.db.models import Entity, InformationSystem, InformationSystemEntityType, utcnow
from icity.errors import FieldProblem, ICityError, authentication_required, bad_parameter, conflict, forbidden, invalid, not_found
from icity.datamodels.registry import OPEN
from icity.services import changes, entity_store
from icity.services.entities import entity_body
from icity.services.access import Principal, managers_of


@dataclass
class EntityWrite:
    """One entity to write: its payload as entity_store.check_entity takes it, its attribute
    details (Entity.details; None for a name drops them), attributes to drop."""

    payload: dict[str, Any]
    details: dict[str, Any | None] = field(default_factory=dict)
    remove: tuple[str, ...] = ()


@dataclass
class Outcome:
    entity_id: str
    error: ICityError | None = None
    created: bool = False


def writable_system(session: Session, principal: Principal, system_id: str | None) -> InformationSystem:
    """The IS `principal` writes into: a provider token's own, or the one named, if they administer it."""
    if principal.kind == "anonymous":
        raise authentication_required(
            "Writing entities needs a provider token of the IS (icp_…), or a city admin's session naming the IS."
        )
    if principal.kind == "provider":
        if system_id is not None and system_id != principal.system_id:
            raise forbidden(f"This provider token writes into {principal.system_id}, not {system_id}.")
        system = session.get(InformationSystem, principal.system_id)
    elif principal.kind == "user" and (principal.is_admin or principal.is_publisher_admin):
        if system_id is None:
            raise bad_parameter("tenant", "Name the information system to write into (city/slug).")
        system = session.get(InformationSystem, system_id)
        if system is not None and not principal.manages(system):
            raise forbidden(f"Only {managers_of(system)} and the platform admin write into {system_id}.")
    else:
        raise forbidden("Only a provider token of an IS, or the admins of its publisher, write entities into it.")
    if system is None:
        raise not_found("information system", system_id or "")
    return system


def existing_ids(session: Session, ids: list[str]) -> dict[str, str]:
    """Of these ids, those of stored, unretired entities → their IS."""
    rows = session.execute(
        select(Entity.id, Entity.information_system_id).where(Entity.id.in_(ids), Entity.retired_at.is_(None))
    )
    return {row.id: row.information_system_id for row in rows}


def write_entities(
    session: Session,
    system: InformationSystem,
    writes: list[EntityWrite],
    *,
    replace: bool = False,
    require: str | None = None,  # "new": must not exist; "existing": must exist
) -> list[Outcome]:
    """Check each entity on its own, then store those that pass in one go; an outcome per entity."""
    served = entity_store.served_types(session, system.id)
    ids = [w.payload.get("id") for w in writes if isinstance(w.payload.get("id"), str)]
    stored = existing_ids(session, ids)
    outcomes: list[Outcome] = []
    accepted: list[dict[str, Any]] = []
    seen: set[str] = set()
    for write in writes:
        entity_id = write.payload.get("id")
        outcome = Outcome(str(entity_id))
        outcomes.append(outcome)
        owner = stored.get(entity_id) if isinstance(entity_id, str) else None
        if require == "new" and (owner is not None or entity_id in seen):
            outcome.error = conflict(f"An entity with id {entity_id} already exists.")
            continue
        if require == "existing" and owner is None:
            outcome.error = not_found("entity", str(entity_id))
            continue
        if owner is not None and owner != system.id:
            outcome.error = forbidden(f"{entity_id} belongs to another information system ({owner}).")
            continue
        checked, problems = entity_store.check_entity(
            write.payload, system.city_id, served, validation=system.validation, derive_times=False
        )
        if problems:
            outcome.error = invalid([FieldProblem(p.path.removeprefix("[0]."), p.detail) for p in problems])
            continue
        checked["details"] = write.details
        checked["remove"] = write.remove
        outcome.created = owner is None and entity_id not in seen
        seen.add(entity_id)
        accepted.append(checked)
    if accepted:
        if system.validation == OPEN:
            _serve_types(session, system, {item["type"] for item in accepted} - served)
        entity_store.write_checked(session, system.id, system.city_id, accepted, replace=replace)
    return outcomes


def _serve_types(session: Session, system: InformationSystem, new_types: set[str]) -> None:
    """An open IS serves the types written into it (the catalogue lists them)."""
    for entity_type in sorted(new_types):
        session.add(InformationSystemEntityType(information_system_id=system.id, entity_type=entity_type))
    session.flush()


def delete_entities(session: Session, system: InformationSystem, ids: list[str]) -> list[Outcome]:
    """Retire these entities of `system` (their history stays); an outcome per id."""
    stored = existing_ids(session, ids)
    outcomes = []
    retire = []
    for entity_id in ids:
        owner = stored.get(entity_id)
        if owner is None:
            outcomes.append(Outcome(entity_id, not_found("entity", entity_id)))
        elif owner != system.id:
            outcomes.append(Outcome(entity_id, forbidden(f"{entity_id} belongs to another information system ({owner}).")))
        else:
            outcomes.append(Outcome(entity_id))
            retire.append(entity_id)
    if retire:
        now = utcnow()
        if changes.listening(session, system.id, system.city_id):
            _log_deletions(session, retire, now)
        session.execute(update(Entity).where(Entity.id.in_(retire)).values(retired_at=now, modified_at=now))
    return outcomes


def _log_deletions(session: Session, ids: list[str], now: datetime) -> None:
    """A deletion is a change too (kind `deletion`: the entity as it was), for those who asked to be told."""
    rows = []
    for entity in session.scalars(select(Entity).where(Entity.id.in_(ids))):
        body = entity_body(entity.id, entity.type, entity.city_id, entity.information_system_id, entity.attributes,
                           entity.location, entity.observed_at, now)  # fmt: skip
        altered = changes.alterations(None, entity.attributes, deleted=True)
        rows.append(changes.change_row(body, entity.lon, entity.lat, kind="deletion", details=entity.details, altered=altered))
    changes.record(session, rows)


def raise_first(outcomes: list[Outcome]) -> Outcome:
    """The single outcome of a one-entity write, raising its error."""
    outcome = outcomes[0]
    if outcome.error is not None:
        raise outcome.error
    return outcome


def record_history(session: Session, system: InformationSystem, entity_id: str, entity_type: str,
                   observations: list[tuple[str, datetime, Any]]) -> None:  # fmt: skip
    """Store past values (attribute, time, value) of an entity of `system` as its history, each checked
    as a write of that value at that time would be; one problem refuses them all."""
    _check_history(session, system, entity_id, entity_type, observations)
    entity_store.add_observations(
        session, [entity_store.observation_row(entity_id, name, observed_at, value) for name, observed_at, value in observations]
    )


def correct_history(session: Session, system: InformationSystem, entity_id: str, entity_type: str, name: str,
                    observed_at: datetime, value: Any) -> bool:  # fmt: skip
    """Replace the value an entity of `system` observed at one time, checked as a write of it would be;
    False if nothing was observed then."""
    _check_history(session, system, entity_id, entity_type, [(name, observed_at, value)])
    return entity_store.correct_observation(session, entity_id, name, observed_at, value)


def _check_history(session: Session, system: InformationSystem, entity_id: str, entity_type: str,
                   observations: list[tuple[str, datetime, Any]]) -> None:  # fmt: skip
    served = entity_store.served_types(session, system.id)
    problems: list[FieldProblem] = []
    for index, (name, observed_at, value) in enumerate(observations):
        payload = {"id": entity_id, "type": entity_type, name: value, "observedAt": observed_at.isoformat()}
        _, found = entity_store.check_entity(payload, system.city_id, served, validation=system.validation, derive_times=False)
        problems += [FieldProblem(f"{name}[{index}]{p.path.removeprefix('[0].').removeprefix(name)}", p.detail) for p in found]
    if problems:
        raise invalid(problems, detail=f"{len(problems)} problem(s); first: {problems[0].path}: {problems[0].detail}")


def owned_entity(session: Session, system: InformationSystem, entity_id: str) -> None:
    """Refuse unless `entity_id` is a stored entity of `system`."""
    owner = existing_ids(session, [entity_id]).get(entity_id)
    if owner is None:
        raise not_found("entity", entity_id)
    if owner != system.id:
        raise forbidden(f"{entity_id} belongs to another information system ({owner}).")


def delete_with_history(session: Session, system: InformationSystem, entity_id: str) -> None:
    """Retire an entity of `system` and delete its history (a retired entity otherwise keeps it)."""
    raise_first(delete_entities(session, system, [entity_id]))
    entity_store.delete_history(session, entity_id)
