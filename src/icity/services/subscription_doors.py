"""Standards' doors onto subscriptions (NGSI-LD): what a door tells the subscriptions it made, and
what a change notifies. A door registers itself here (register_door) when its package is imported;
services/subscriptions.py and services/webhooks.py ask it for its filters, bodies and headers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from icity.db.models import Change, Subscription
from icity.services.access import Principal
from icity.services.selectors import IDENTITY


@dataclass(frozen=True)
class ChangedEntity:
    """An entity as a change left it (or, for periodic notifications, as it is): what doors select and render."""

    id: str
    type: str
    information_system_id: str
    attributes: dict[str, Any]
    details: dict[str, Any] | None
    location: dict[str, Any] | None
    observed_at: datetime | None
    modified_at: datetime
    created_at: datetime | None = None


class Door(Protocol):
    """What a standard tells the subscriptions it made."""

    def selects(self, subscription: Subscription) -> Callable[[ChangedEntity], bool]:
        """Its own filters (beyond entity types, city, IS, attributes), as one test."""

    def body(self, subscription: Subscription, entities: list[ChangedEntity]) -> dict[str, Any]:
        """The notification about these entities."""

    def headers(self, subscription: Subscription) -> dict[str, str]:
        """Headers sent with each notification (its media type first)."""

    def current(self, session: Session, principal: Principal, subscription: Subscription) -> list[Any]:
        """The entities it selects now that `principal` may read (rows of services.entities.match_entities)."""


DOORS: dict[str, Door] = {}


def register_door(standard: str, door: Door) -> None:
    DOORS[standard] = door


def changed_entity(change: Change) -> ChangedEntity:
    body = change.entity
    attributes = {name: value for name, value in body.items() if name not in IDENTITY and name != "location"}
    return ChangedEntity(
        id=change.entity_id, type=change.entity_type, information_system_id=change.information_system_id,
        attributes=attributes, details=change.details, location=body.get("location"),
        observed_at=_instant(body.get("observedAt")), modified_at=_instant(body.get("modifiedAt")) or change.at,
    )  # fmt: skip


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def triggered(subscription: Subscription, change: Change) -> bool:
    """Does what this change did notify the subscription? Without triggers: any change but a
    deletion. With watched attributes, only a change of one of them (an entity's deletion aside)."""
    altered = change.altered or {"entity": "updated", "attributes": dict.fromkeys(change.entity, "updated")}
    deleted = change.kind == "deletion"
    triggers = subscription.triggers
    if triggers is None:
        return not deleted
    if deleted:
        return "entity-deleted" in triggers
    watched = subscription.watched_attributes
    attributes = {name: kind for name, kind in altered.get("attributes", {}).items() if watched is None or name in watched}
    if f"entity-{altered.get('entity')}" in triggers and (altered.get("entity") == "created" or attributes):
        return True
    return any(f"attribute-{kind}" in triggers for kind in attributes.values())
