"""The append-only audit log of security-relevant actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from icity.db.models import AuditEvent
from icity.services.access import Principal


def record(
    session: Session,
    actor: Principal,
    action: str,
    target_type: str,
    target_id: str | int,
    *,
    city_id: str | None = None,
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
            details=details or {},
        )
    )
