"""The append-only audit log of security-relevant actions.

Events are only ever added (`record`) and read (`list_events`). Nothing in the
code base updates or deletes one, and the ORM refuses to try: see `_refuse_change`.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from icity.db.models import AuditEvent
from icity.errors import bad_parameter, forbidden
from icity.services.access import CLI, Principal, require_any_admin
from icity.services.pagination import Page, SortKey, keyset_page, parse_datetime

# "access.approved", or a whole family with a trailing wildcard: "access.*"
ACTION_FILTER = re.compile(r"^[a-z_]+(\.[a-z_]+)*(\.\*)?$")


def record(
    session: Session,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    city_id: str | None = None,
    owner_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event, e.g. record(session, admin, "user.approved", "user", 12)."""
    session.add(
        AuditEvent(
            actor=actor.label,
            actor_id=actor.user_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            city_id=city_id,
            owner_id=owner_id,
            details=details or {},
        )
    )


def actor_named(label: str) -> Principal:
    """The actor of work done outside a request (command line, demo loader), named
    in the log by `label`."""
    return replace(CLI, email=label)


def _refuse_change(_mapper, _connection, target: AuditEvent) -> None:
    raise RuntimeError(f"audit event {target.id} cannot be changed or deleted: the audit log is append-only")


event.listen(AuditEvent, "before_update", _refuse_change)
event.listen(AuditEvent, "before_delete", _refuse_change)


# ---- reads -----------------------------------------------------------------


def event_dict(row: AuditEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "actor": row.actor,
        "actorId": row.actor_id,
        "action": row.action,
        "targetType": row.target_type,
        "targetId": row.target_id,
        "city": row.city_id,
        "owner": row.owner_id,
        "details": row.details,
    }


def _utc(value: datetime) -> datetime:
    """A time given without an offset is taken as UTC, like every time in iCity."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


def list_events(
    session: Session,
    principal: Principal,
    *,
    action: str | None = None,
    city: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """Events newest first. The platform admin sees every event; a city admin
    those about its own cities (including what owners do with the IS they open
    there); an owner's admin those about its owners (events without a city or
    owner are network-wide and stay with the platform admin). `since` is
    inclusive, `until` exclusive."""
    require_any_admin(principal)
    statement = select(AuditEvent)
    if principal.role == "owner_admin":
        statement = statement.where(AuditEvent.owner_id.in_(sorted(principal.owner_ids)))
    elif not principal.is_admin:
        if city is not None and city not in principal.city_ids:
            mine = ", ".join(sorted(principal.city_ids))
            raise forbidden(f"You see the audit events of the cities you administer ({mine}), not those of '{city}'.")
        statement = statement.where(AuditEvent.city_id.in_(sorted(principal.city_ids)))
    if city is not None:
        statement = statement.where(AuditEvent.city_id == city)
    if action is not None:
        if not ACTION_FILTER.match(action):
            raise bad_parameter("action", "action is an event name such as access.approved, or a family such as access.*")
        if action.endswith(".*"):
            statement = statement.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
        else:
            statement = statement.where(AuditEvent.action == action)
    if since is not None:
        statement = statement.where(AuditEvent.at >= _utc(since))
    if until is not None:
        if since is not None and _utc(until) <= _utc(since):
            raise bad_parameter("to", "to must be later than from")
        statement = statement.where(AuditEvent.at < _utc(until))
    keys = [SortKey(AuditEvent.at, descending=True, parse=parse_datetime), SortKey(AuditEvent.id, descending=True)]
    rows, next_cursor = keyset_page(
        statement.add_columns(AuditEvent.at, AuditEvent.id),
        keys,
        "-at",
        limit,
        cursor,
        lambda s: session.execute(s).all(),
    )
    return Page([event_dict(row[0]) for row in rows], next_cursor)
