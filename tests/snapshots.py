"""What the platform admin's writes touch, counted, so that a test shows a refused
request wrote nothing by comparing the snapshot before and after it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from icity.db.engine import new_session
from icity.db.models import AuditEvent, City, EngagementAction, LevelChange, Message, OutboxMail, User


def admin_writes(url: str) -> dict[str, Any]:
    """Levels and their history, engagement actions and their next steps, account
    statuses, messages, mail and the audit log."""
    with new_session(url) as session:

        def count(model) -> int:
            return session.scalar(select(func.count()).select_from(model))

        return {
            "levels": dict(session.execute(select(City.id, City.level)).all()),
            "level_changes": count(LevelChange),
            "actions": count(EngagementAction),
            "steps_done": session.scalar(
                select(func.count()).select_from(EngagementAction).where(EngagementAction.next_step_done.is_(True))
            ),
            "statuses": dict(session.execute(select(User.email, User.status)).all()),
            "messages": count(Message),
            "mails": count(OutboxMail),
            "audit": count(AuditEvent),
        }
