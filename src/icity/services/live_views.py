"""Portal pages following changes live (the portal's /live/events): which changes a page is
shown, with its visitor's rights, and keeping the change log written while a page is open
(services/changes.listening counts live views as listeners)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from icity.db.models import Change, LiveView, utcnow
from icity.errors import FieldProblem, invalid
from icity.services.access import ANONYMOUS, readable_system_ids
from icity.services.authentication import Credential, principal_for_credential

VIEW_TTL_S = 60  # a view its stream stopped extending (its process died) stops counting after this
KINDS = ("entity", "alarm")


@dataclass(frozen=True)
class LiveFilter:
    """What a page follows: one IS, one entity type, entities or alarms (None: any)."""

    system: str | None = None
    entity_type: str | None = None
    kind: str | None = None

    def __post_init__(self) -> None:
        if self.kind is not None and self.kind not in KINDS:
            raise invalid([FieldProblem("kind", f"kind must be one of {', '.join(KINDS)}")])

    def matches(self, change: Change) -> bool:
        return (
            (self.system is None or change.information_system_id == self.system)
            and (self.entity_type is None or change.entity_type == self.entity_type)
            and (self.kind is None or change.kind == self.kind)
        )


def readable_now(session: Session, credential: Credential | None) -> frozenset[str] | None:
    """The IS the page's visitor may read now: anonymous (no credential) reads public IS; None
    once a signed-in visitor's session has ended (the page is then told nothing more)."""
    principal = ANONYMOUS if credential is None else principal_for_credential(session, credential)
    return None if principal is None else frozenset(readable_system_ids(session, principal))


def shown(changes: list[Change], readable: frozenset[str], wanted: LiveFilter) -> list[Change]:
    return [change for change in changes if change.information_system_id in readable and wanted.matches(change)]


def event_data(change: Change) -> dict[str, Any]:
    """What a page is told of a change: the entity (or Alert) after it, and which attributes changed."""
    attributes = (change.altered or {}).get("attributes")
    changed = sorted(attributes) if attributes is not None else sorted(set(change.entity) - {"id", "type"})
    location = None if change.lon is None else {"type": "Point", "coordinates": [change.lon, change.lat]}
    return {
        "kind": change.kind,
        "id": change.entity_id,
        "type": change.entity_type,
        "informationSystem": change.information_system_id,
        "city": change.city_id,
        "location": location,
        "entity": change.entity,
        "changed": changed,
    }


def open_view(session: Session, system_id: str | None) -> int:
    view = LiveView(information_system_id=system_id, expires_at=utcnow() + timedelta(seconds=VIEW_TTL_S))
    session.add(view)
    session.flush()
    return view.id


def extend_view(session: Session, view_id: int) -> None:
    session.execute(update(LiveView).where(LiveView.id == view_id).values(expires_at=utcnow() + timedelta(seconds=VIEW_TTL_S)))


def close_view(session: Session, view_id: int) -> None:
    session.execute(delete(LiveView).where(LiveView.id == view_id))
