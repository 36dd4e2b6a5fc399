"""Messages to developers: an inbox per user, each message also sent by mail.

Who may send to whom:
- the platform admin: to any user, or to every approved developer at once;
- a city admin: only to developers of organisations whose apps asked for access
  to an information system of one of its cities (whatever became of the request);
- nobody else.
Every user reads their own inbox, and only theirs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.db.models import AccessRequest, App, InformationSystem, Message, User
from icity.errors import ICityError, bad_parameter, forbidden, not_found
from icity.services import mail
from icity.services.access import Principal, administered_systems, require_any_admin, require_user
from icity.services.pagination import Page, SortKey, keyset_page, parse_datetime

SUBJECT_MAX = 300
BODY_MAX = 20_000
RECIPIENTS_MAX = 1000  # per message sent to a list of ids; everyone at once is toAllDevelopers


def notify(session: Session, recipient: User, subject: str, body: str, sender_id: int | None = None) -> Message:
    """Put a message in `recipient`'s inbox and mail it to them."""
    message = Message(recipient_id=recipient.id, sender_id=sender_id, subject=subject, body=body)
    session.add(message)
    mail.queue(session, recipient.email, subject, body)
    session.flush()
    return message


# ---- sending -----------------------------------------------------------------


def _check_text(subject: str, body: str) -> tuple[str, str]:
    subject, body = subject.strip(), body.strip()
    if not 1 <= len(subject) <= SUBJECT_MAX:
        raise bad_parameter("subject", f"subject must be 1 to {SUBJECT_MAX} characters")
    if "\r" in subject or "\n" in subject:
        raise bad_parameter("subject", "subject must be one line")  # it becomes a mail header
    if not 1 <= len(body) <= BODY_MAX:
        raise bad_parameter("body", f"body must be 1 to {BODY_MAX} characters")
    return subject, body


def _developers_of_my_cities(principal: Principal):
    """Ids of developers whose organisation's apps asked for access to an IS of
    one of `principal`'s cities."""
    organisations = (
        select(App.organisation_id)
        .join(AccessRequest, AccessRequest.app_id == App.id)
        .join(InformationSystem, InformationSystem.id == AccessRequest.information_system_id)
        .where(administered_systems(principal))
    )
    return select(User.id).where(User.role == "developer", User.organisation_id.in_(organisations))


def _recipients(session: Session, sender: Principal, to: list[int]) -> list[User]:
    wanted = list(dict.fromkeys(to))  # without repeats, in the order given
    found = {user.id: user for user in session.scalars(select(User).where(User.id.in_(wanted)))}
    if sender.is_admin:
        for index, user_id in enumerate(to):
            if user_id not in found:
                raise bad_parameter(f"to[{index}]", f"there is no user with id {user_id}")
        return [found[user_id] for user_id in wanted]
    # A city admin learns nothing about users outside its reach, not even whether they exist.
    reachable = set(session.scalars(_developers_of_my_cities(sender).where(User.id.in_(wanted))))
    for index, user_id in enumerate(to):
        if user_id not in reachable:
            raise ICityError(
                detail=f"You may message only developers whose apps asked for access to your cities' information "
                f"systems; user {user_id} is not one of them.",
                status=403,
                code="recipient-not-allowed",
                title="Forbidden",
                param=f"to[{index}]",
            )
    return [found[user_id] for user_id in wanted]


def send(
    session: Session,
    sender: Principal,
    *,
    subject: str,
    body: str,
    to: list[int] | None = None,
    to_all_developers: bool = False,
) -> dict[str, Any]:
    """Send one message to each recipient (inbox and mail). All recipients are
    checked before anything is written: one refused recipient refuses the lot."""
    require_any_admin(sender)
    subject, body = _check_text(subject, body)
    if bool(to) == to_all_developers:
        raise bad_parameter("to", "give either `to` (a list of user ids) or `toAllDevelopers: true`, not both")
    if to_all_developers:
        if not sender.is_admin:
            raise forbidden("Only the platform admin messages every developer; list your recipients in `to`.")
        recipients = list(
            session.scalars(
                select(User).where(User.role == "developer", User.status == "approved").order_by(User.id)
            )
        )
    else:
        if len(to) > RECIPIENTS_MAX:
            raise bad_parameter("to", f"at most {RECIPIENTS_MAX} recipients per message")
        recipients = _recipients(session, sender, to)
    sent = [notify(session, user, subject, body, sender_id=sender.user_id) for user in recipients]
    return {"sent": len(sent), "recipients": [user.id for user in recipients], "messageIds": [m.id for m in sent]}


# ---- the inbox -----------------------------------------------------------------


def message_dict(message: Message, sender: User | None) -> dict[str, Any]:
    return {
        "id": message.id,
        "subject": message.subject,
        "body": message.body,
        # null: sent by the platform itself (account decisions, access requests…)
        "sender": None if sender is None else {"id": sender.id, "name": sender.name, "role": sender.role},
        "createdAt": message.created_at.isoformat(),
        "read": message.read_at is not None,
        "readAt": message.read_at.isoformat() if message.read_at else None,
    }


def unread_count(session: Session, user_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(Message).where(Message.recipient_id == user_id, Message.read_at.is_(None))
    )


def inbox(
    session: Session, principal: Principal, *, unread: bool = False, limit: int, cursor: str | None = None
) -> dict[str, Any]:
    """The caller's messages, newest first, with the number still unread."""
    require_user(principal)
    statement = (
        select(Message, User)
        .outerjoin(User, User.id == Message.sender_id)
        .where(Message.recipient_id == principal.user_id)
    )
    if unread:
        statement = statement.where(Message.read_at.is_(None))
    keys = [SortKey(Message.created_at, descending=True, parse=parse_datetime), SortKey(Message.id, descending=True)]
    rows, next_cursor = keyset_page(
        statement.add_columns(Message.created_at, Message.id),
        keys,
        "-createdAt",
        limit,
        cursor,
        lambda s: session.execute(s).all(),
    )
    body = Page([message_dict(row[0], row[1]) for row in rows], next_cursor).as_dict()
    body["unreadCount"] = unread_count(session, principal.user_id)
    return body


def _own_message(session: Session, principal: Principal, message_id: int) -> Message:
    require_user(principal)
    message = session.get(Message, message_id)
    # someone else's message is answered like a missing one: ids reveal nothing
    if message is None or message.recipient_id != principal.user_id:
        raise not_found("message", str(message_id))
    return message


def get_message(session: Session, principal: Principal, message_id: int) -> dict[str, Any]:
    message = _own_message(session, principal, message_id)
    return message_dict(message, session.get(User, message.sender_id) if message.sender_id else None)


def mark_read(session: Session, principal: Principal, message_id: int) -> dict[str, Any]:
    """Mark a message read; marking it again keeps the first reading time."""
    message = _own_message(session, principal, message_id)
    if message.read_at is None:
        message.read_at = datetime.now(timezone.utc)
        session.flush()
    return message_dict(message, session.get(User, message.sender_id) if message.sender_id else None)
