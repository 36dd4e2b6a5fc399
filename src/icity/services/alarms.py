"""Alarm rules and the alarms they raise.

A city admin sets rules on an IS: a `threshold` rule watches a numeric attribute of its
entities (above or below a value, for at least a duration), a `silent` rule watches its
devices (nothing received past their declared reporting period). The evaluator
(services/alarm_evaluator.py) keeps one Alarm per rule and entity — pending, raised or
cleared — and writes each raise and clear to the change log as a Smart Data Models
`Alert`, so that subscriptions selecting type Alert are told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.datamodels.registry import CORE_KEYS
from icity.datamodels.identifiers import entity_urn
from icity.db.models import Alarm, AlarmRule, Device, Entity, InformationSystem, utcnow
from icity.errors import FieldProblem, bad_parameter, conflict, invalid, not_found
from icity.services import audit, changes
from icity.services.access import Principal, administered_system
from icity.services.catalogue import get_readable_system
from icity.services.entities import entity_body
from icity.services.entity_store import served_types
from icity.services.pagination import Page, SortKey, keyset_page, parse_datetime

KINDS = ("threshold", "silent")
OPERATORS = ("above", "below")
SEVERITIES = ("informational", "low", "medium", "high", "critical")  # the Smart Data Models Alert's
STATES = ("pending", "raised", "cleared")
NOTE_MAX = 2000
# The Alert model's `category` for the alarms of an IS of each category; the model has none
# for the others (e-government, tourism, WiFi…), so their Alerts carry no category.
ALERT_CATEGORIES = {"environment": "environment", "sensor-data": "environment", "transport-mobility": "traffic"}
# What a rule says besides its kind; a threshold rule needs these, a silent rule has none of them
THRESHOLD_FIELDS = ("entityType", "attribute", "operator", "threshold")


# --- Rules -----------------------------------------------------------------------------


def rule_dict(rule: AlarmRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "informationSystem": rule.information_system_id,
        "name": rule.name,
        "kind": rule.kind,
        "entityType": rule.entity_type,
        "attribute": rule.attribute,
        "operator": rule.operator,
        "threshold": rule.threshold,
        "durationS": rule.duration_s,
        "severity": rule.severity,
        "enabled": rule.enabled,
        "createdAt": rule.created_at.isoformat(),
    }


def create_rule(session: Session, principal: Principal, system_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A new rule (fields named as the API names them: kind, entityType, attribute…)."""
    system = administered_system(session, principal, system_id)
    checked = _checked(session, system, fields)
    rule = AlarmRule(information_system_id=system.id, created_by=principal.user_id, **checked)
    session.add(rule)
    session.flush()
    audit.record(session, principal, "alarm_rule.created", "alarm_rule", rule.id, city_id=system.city_id, owner_id=system.owner_id, details=rule_dict(rule))
    return rule_dict(rule)


def list_rules(session: Session, principal: Principal, system_id: str) -> list[dict[str, Any]]:
    system = administered_system(session, principal, system_id)
    rules = session.scalars(select(AlarmRule).where(AlarmRule.information_system_id == system.id).order_by(AlarmRule.id))
    return [rule_dict(rule) for rule in rules]


def get_rule(session: Session, principal: Principal, system_id: str, rule_id: int) -> dict[str, Any]:
    system = administered_system(session, principal, system_id)
    return rule_dict(_rule_of(session, system, rule_id))


def replace_rule(
    session: Session, principal: Principal, system_id: str, rule_id: int, fields: dict[str, Any]
) -> dict[str, Any]:
    """The rule takes the new fields. Its pending alarms start again under the new condition;
    raised ones stay until the next observation judges them by it, or are cleared if the
    rule is now disabled (nothing would judge them any more)."""
    system = administered_system(session, principal, system_id)
    rule = _rule_of(session, system, rule_id)
    for name, value in _checked(session, system, fields).items():
        setattr(rule, name, value)
    session.execute(delete(Alarm).where(Alarm.rule_id == rule.id, Alarm.state == "pending"))
    if not rule.enabled:
        _clear_raised(session, rule, system, "the rule was disabled")
    audit.record(session, principal, "alarm_rule.changed", "alarm_rule", rule.id, city_id=system.city_id, owner_id=system.owner_id, details=rule_dict(rule))
    return rule_dict(rule)


def delete_rule(session: Session, principal: Principal, system_id: str, rule_id: int) -> None:
    """The rule and its alarms go; those still raised are cleared first, so that subscribers
    of Alerts are not left with an alarm that never ends."""
    system = administered_system(session, principal, system_id)
    rule = _rule_of(session, system, rule_id)
    _clear_raised(session, rule, system, "the rule was deleted")
    audit.record(session, principal, "alarm_rule.deleted", "alarm_rule", rule.id, city_id=system.city_id, owner_id=system.owner_id, details=rule_dict(rule))
    session.delete(rule)
    session.flush()


def _clear_raised(session: Session, rule: AlarmRule, system: InformationSystem, why: str) -> None:
    for alarm in session.scalars(select(Alarm).where(Alarm.rule_id == rule.id, Alarm.state == "raised")).all():
        clear(session, rule, system, alarm, utcnow(), place_of(session, rule, alarm), why)


def _rule_of(session: Session, system: InformationSystem, rule_id: int) -> AlarmRule:
    rule = session.get(AlarmRule, rule_id)
    if rule is None or rule.information_system_id != system.id:
        raise not_found("alarm rule", str(rule_id))
    return rule


def _checked(session: Session, system: InformationSystem, fields: dict[str, Any]) -> dict[str, Any]:
    """The rule's columns from the API's fields; 422 naming every field that is wrong."""
    problems: list[FieldProblem] = []
    if not isinstance(fields.get("name"), str) or not fields["name"].strip():
        problems.append(FieldProblem("name", "give the rule a name: it names its alarms' Alerts"))
    kind = fields.get("kind")
    if kind not in KINDS:
        problems.append(FieldProblem("kind", f"one of {', '.join(KINDS)}"))
    severity = fields.get("severity", "medium")
    if severity not in SEVERITIES:
        problems.append(FieldProblem("severity", f"one of {', '.join(SEVERITIES)} (the Smart Data Models Alert severities)"))
    duration = fields.get("durationS", 0)
    if not isinstance(duration, int) or isinstance(duration, bool) or duration < 0:
        problems.append(FieldProblem("durationS", "a whole number of seconds, 0 or more"))
    if kind == "threshold":
        _check_threshold(session, system, fields, problems)
    elif kind == "silent":
        for name in THRESHOLD_FIELDS:
            if fields.get(name) is not None:
                problems.append(FieldProblem(name, "a silent rule watches devices, not attributes: leave it out"))
    if problems:
        raise invalid(problems)
    return {
        "name": fields["name"],
        "kind": kind,
        "entity_type": fields.get("entityType"),
        "attribute": fields.get("attribute"),
        "operator": fields.get("operator"),
        "threshold": fields.get("threshold"),
        "duration_s": duration,
        "severity": severity,
        "enabled": fields.get("enabled", True),
    }


def _check_threshold(session: Session, system: InformationSystem, fields: dict[str, Any], problems: list[FieldProblem]) -> None:
    operator, threshold = fields.get("operator"), fields.get("threshold")
    if operator not in OPERATORS:
        problems.append(FieldProblem("operator", f"one of {', '.join(OPERATORS)}"))
    if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
        problems.append(FieldProblem("threshold", "a number"))
    served = served_types(session, system.id)
    entity_type, attribute = fields.get("entityType"), fields.get("attribute")
    if entity_type is not None and entity_type not in served:
        serves = ", ".join(sorted(served)) or "no entity type"
        problems.append(FieldProblem("entityType", f"'{entity_type}' is not served by {system.id}: it serves {serves}"))
        return
    if not attribute:
        problems.append(FieldProblem("attribute", "name the numeric attribute to watch"))
        return
    registry = get_registry()
    watched = [entity_type] if entity_type else sorted(served)
    specs = {name: model.attributes.get(attribute) for name in watched if (model := registry.get(name)) is not None}
    having = {name: spec for name, spec in specs.items() if spec is not None}
    if not having:
        types = " or ".join(watched) or "any type the IS serves"
        problems.append(FieldProblem("attribute", f"'{attribute}' is not an attribute of {types}"))
    elif not all(spec.numeric for spec in having.values()):
        wrong = ", ".join(f"{name} ({' or '.join(sorted(spec.types))})" for name, spec in having.items() if not spec.numeric)
        problems.append(FieldProblem("attribute", f"'{attribute}' is not numeric in {wrong}: only numbers have a threshold"))


# --- Raising and clearing, and the Alert each is told as ------------------------------------


@dataclass(frozen=True)
class Place:
    """Where an alarm is: its entity's (or device's) location, so that area subscriptions select it."""

    location: dict[str, Any] | None = None
    lon: float | None = None
    lat: float | None = None


def place_of(session: Session, rule: AlarmRule, alarm: Alarm) -> Place:
    """The watched entity's place, or for a silent device its own point (else its entity's)."""
    entity_id = alarm.entity_id
    if rule.kind == "silent":
        device = session.scalar(
            select(Device).where(Device.information_system_id == rule.information_system_id, Device.local_id == alarm.entity_id)
        )
        if device is not None and device.lon is not None:
            return Place({"type": "Point", "coordinates": [device.lon, device.lat]}, device.lon, device.lat)
        entity_id = device.entity_id if device is not None else None
    entity = session.get(Entity, entity_id) if entity_id else None
    return Place(entity.location, entity.lon, entity.lat) if entity is not None else Place()


def raise_alarm(
    session: Session, rule: AlarmRule, system: InformationSystem, alarm: Alarm, at: datetime, value: Any, place: Place
) -> None:
    alarm.state, alarm.raised_at, alarm.cleared_at, alarm.value = "raised", at, None, value
    # a raise starts an episode: an acknowledgement of the one before (cleared since) is not of this one
    alarm.acknowledged_at = alarm.acknowledged_by = alarm.acknowledged_by_email = alarm.acknowledgement_note = None
    _tell(session, rule, system, alarm, place, _description(rule, alarm, value))


def clear(
    session: Session, rule: AlarmRule, system: InformationSystem, alarm: Alarm, at: datetime, place: Place, why: str
) -> None:
    alarm.state, alarm.cleared_at = "cleared", at
    _tell(session, rule, system, alarm, place, why)


def _description(rule: AlarmRule, alarm: Alarm, value: Any) -> str:
    if rule.kind == "silent":
        return f"device {alarm.entity_id} silent: nothing received since {alarm.since.isoformat()} (its reporting period)"
    held = f" for {rule.duration_s} s" if rule.duration_s else ""
    return f"{rule.attribute} {rule.operator} {rule.threshold:g}{held} at {alarm.entity_id}: {value}"


def _tell(session: Session, rule: AlarmRule, system: InformationSystem, alarm: Alarm, place: Place, description: str) -> None:
    """Store the alarm's Alert entity in the rule's IS (read as its other entities are: by
    whoever may read the IS) and write the raise or clear to the change log."""
    body = alert_body(rule, system, alarm, place, description)
    _store_alert(session, body, place)
    changes.record(session, [changes.change_row(body, place.lon, place.lat, kind="alarm")])


def _store_alert(session: Session, body: dict[str, Any], place: Place) -> None:
    attributes = {key: value for key, value in body.items() if key not in CORE_KEYS}
    observed_at = datetime.fromisoformat(body["observedAt"]) if body["observedAt"] else None
    entity = session.get(Entity, body["id"])
    if entity is None:
        entity = Entity(id=body["id"], type="Alert", city_id=body["city"], information_system_id=body["informationSystem"])
        session.add(entity)
    entity.attributes, entity.observed_at = attributes, observed_at
    entity.location, entity.lon, entity.lat = place.location, place.lon, place.lat
    entity.modified_at, entity.retired_at = utcnow(), None


def alert_body(rule: AlarmRule, system: InformationSystem, alarm: Alarm, place: Place, description: str) -> dict[str, Any]:
    """The alarm as a Smart Data Models `Alert`. `alarmState` (raised | cleared) is iCity's
    own, beside the model's attributes: the model tells an ended alert only by `validTo`."""
    data: dict[str, Any] = {"rule": rule.id, "kind": rule.kind}
    if rule.kind == "threshold":
        data.update(attribute=rule.attribute, operator=rule.operator, threshold=rule.threshold, value=alarm.value)
    attributes: dict[str, Any] = {
        "name": rule.name,
        "severity": rule.severity,
        "alertSource": alarm.entity_id,
        "dateIssued": _iso(alarm.raised_at),
        "validFrom": alarm.since.isoformat(),
        "description": description,
        "data": data,
        "alarmState": alarm.state,
    }
    if system.category_id in ALERT_CATEGORIES:
        attributes["category"] = ALERT_CATEGORIES[system.category_id]
    if alarm.state == "cleared":
        attributes["validTo"] = _iso(alarm.cleared_at)
    told_at = alarm.cleared_at if alarm.state == "cleared" else alarm.raised_at
    return entity_body(
        alert_id(system.city_id, rule.id, alarm.entity_id), "Alert", system.city_id, system.id,
        attributes, place.location, told_at, utcnow(),
    )  # fmt: skip


# --- Alarms ----------------------------------------------------------------------------


def alert_id(city_id: str, rule_id: int, watched: str) -> str:
    """The Alert entity of a rule's alarm on an entity (its local part) or a device."""
    local = watched.split(":", 4)[-1] if watched.startswith("urn:ngsi-ld:") else watched
    return entity_urn("Alert", city_id, f"{rule_id}-{local}")


def alarm_dict(alarm: Alarm, rule: AlarmRule, city_id: str) -> dict[str, Any]:
    return {
        "id": alarm.id,
        "rule": rule.id,
        "ruleName": rule.name,
        "severity": rule.severity,
        "entity": alarm.entity_id,
        "alert": alert_id(city_id, rule.id, alarm.entity_id),
        "state": alarm.state,
        "since": alarm.since.isoformat(),
        "raisedAt": _iso(alarm.raised_at),
        "clearedAt": _iso(alarm.cleared_at),
        "value": alarm.value,
        "acknowledgement": acknowledgement_dict(alarm),
    }


def acknowledgement_dict(alarm: Alarm) -> dict[str, Any] | None:
    if alarm.acknowledged_at is None:
        return None
    return {"by": alarm.acknowledged_by_email, "at": alarm.acknowledged_at.isoformat(), "note": alarm.acknowledgement_note}


def acknowledge(session: Session, principal: Principal, system_id: str, alarm_id: int, note: Any) -> dict[str, Any]:
    """An operator of the IS says they have seen the alarm and what they do about it. An alarm is
    acknowledged once per episode: while raised, or once cleared if nobody had yet; a pending
    one has not happened yet. It stays acknowledged when it clears, and a new raise starts a
    new episode that needs its own acknowledgement (see raise_alarm)."""
    system = administered_system(session, principal, system_id)
    alarm, rule = _alarm_of(session, system, alarm_id)
    if not isinstance(note, str) or not note.strip():
        raise invalid([FieldProblem("note", "say what you saw or are doing about it: the note is kept with the alarm")])
    if len(note) > NOTE_MAX:
        raise invalid([FieldProblem("note", f"at most {NOTE_MAX} characters")])
    if alarm.state == "pending":
        raise conflict(f"Alarm {alarm.id} is pending: it is acknowledged once it is raised.", param="state")
    if alarm.acknowledged_at is not None:
        raise conflict(
            f"Alarm {alarm.id} was already acknowledged by {alarm.acknowledged_by_email} at {alarm.acknowledged_at.isoformat()}."
        )
    alarm.acknowledged_at, alarm.acknowledged_by = utcnow(), principal.user_id
    alarm.acknowledged_by_email, alarm.acknowledgement_note = principal.email, note.strip()
    session.flush()
    audit.record(
        session, principal, "alarm.acknowledged", "alarm", alarm.id, city_id=system.city_id, owner_id=system.owner_id,
        details={"rule": rule.id, "entity": alarm.entity_id, "state": alarm.state, "note": alarm.acknowledgement_note},
    )  # fmt: skip
    return alarm_dict(alarm, rule, system.city_id)


def _alarm_of(session: Session, system: InformationSystem, alarm_id: int) -> tuple[Alarm, AlarmRule]:
    row = session.execute(
        select(Alarm, AlarmRule)
        .join(AlarmRule, AlarmRule.id == Alarm.rule_id)
        .where(Alarm.id == alarm_id, AlarmRule.information_system_id == system.id)
    ).first()
    if row is None:
        raise not_found("alarm", str(alarm_id))
    return row[0], row[1]


def list_alarms(
    session: Session,
    principal: Principal,
    system_id: str,
    *,
    state: str | None,
    limit: int,
    cursor: str | None,
    acknowledged: bool | None = None,
) -> Page[dict[str, Any]]:
    """The alarms of an IS's rules, the latest to start first; to whoever may read its data."""
    system = get_readable_system(session, principal, system_id)
    statement = select(Alarm, AlarmRule).join(AlarmRule, AlarmRule.id == Alarm.rule_id).where(
        AlarmRule.information_system_id == system.id
    )
    if state is not None:
        if state not in STATES:
            raise bad_parameter("state", f"state is one of {', '.join(STATES)}")
        statement = statement.where(Alarm.state == state)
    if acknowledged is not None:
        statement = statement.where(Alarm.acknowledged_at.is_not(None) if acknowledged else Alarm.acknowledged_at.is_(None))
    keys = [SortKey(Alarm.since, descending=True, parse=parse_datetime), SortKey(Alarm.id, descending=True)]
    rows, next_cursor = keyset_page(
        statement.add_columns(Alarm.since, Alarm.id), keys, "-since", limit, cursor, lambda s: session.execute(s).all()
    )
    return Page([alarm_dict(row[0], row[1], system.city_id) for row in rows], next_cursor)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
