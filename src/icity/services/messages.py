"""Messages to developers: an inbox per user, each also sent by mail."""

from __future__ import annotations

from sqlalchemy.orm import Session

from icity.db.models import Message, User
from icity.services import mail


def notify(session: Session, recipient: User, subject: str, body: str, sender_id: int | None = None) -> Message:
    """Put a message in `recipient`'s inbox and mail it to them."""
    message = Message(recipient_id=recipient.id, sender_id=sender_id, subject=subject, body=body)
    session.add(message)
    mail.queue(session, recipient.email, subject, body)
    session.flush()
    return message
