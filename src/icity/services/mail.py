"""Outgoing mail through an outbox.

A mail is queued in the transaction of the action that causes it, so a
rolled-back action sends nothing. After commit it is delivered: by SMTP when
ICITY_SMTP_URL is set, otherwise written as an .eml file to <var_dir>/outbox/.
A failed delivery stays in the outbox and `icity outbox send` tries again.
"""

from __future__ import annotations

import smtplib
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.config import Settings, get_settings
from icity.db.engine import transaction
from icity.db.models import OutboxMail
from icity.errors import not_found

QUEUED = "icity.queued_mail_ids"  # key in Session.info: mails this transaction queued


def queue(session: Session, to: str, subject: str, body: str) -> OutboxMail:
    mail = OutboxMail(to_address=to, subject=subject, body=body)
    session.add(mail)
    session.flush()
    session.info.setdefault(QUEUED, []).append(mail.id)
    return mail


def queued_ids(session: Session) -> list[int]:
    """The ids of the mails queued in this session since the last call."""
    return session.info.pop(QUEUED, [])


def as_email(mail: OutboxMail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Date"] = mail.created_at.strftime("%a, %d %b %Y %H:%M:%S +0000")
    message["Message-ID"] = f"<outbox-{mail.id}@icity>"
    message.set_content(mail.body)
    return message


def _send_smtp(message: EmailMessage, url: str) -> None:
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    smtp_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with smtp_class(parts.hostname or "localhost", parts.port or (465 if secure else 25), timeout=10) as smtp:
        if not secure and parts.port == 587:
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)


def _write_file(message: EmailMessage, mail: OutboxMail, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = mail.created_at.strftime("%Y%m%dT%H%M%S")
    (folder / f"{stamp}-{mail.id:06d}.eml").write_bytes(bytes(message))


def outbox_folder(settings: Settings | None = None) -> Path:
    settings = settings or get_settings()
    return settings.var_dir / "outbox"


def deliver(ids: list[int] | None = None, database_url: str | None = None) -> int:
    """Deliver these mails (default: every unsent one); the number delivered."""
    settings = get_settings()
    delivered = 0
    with transaction(database_url) as session:
        statement = select(OutboxMail).where(OutboxMail.sent_at.is_(None)).order_by(OutboxMail.id)
        if ids is not None:
            statement = statement.where(OutboxMail.id.in_(ids))
        for mail in session.scalars(statement):
            message = as_email(mail, settings)
            mail.attempts += 1
            try:
                if settings.smtp_url:
                    _send_smtp(message, settings.smtp_url)
                else:
                    _write_file(message, mail, outbox_folder(settings))
            except (OSError, smtplib.SMTPException) as error:
                mail.last_error = f"{type(error).__name__}: {error}"
                continue
            mail.sent_at = datetime.now(timezone.utc)
            mail.last_error = None
            delivered += 1
    return delivered


def latest(session: Session, limit: int = 20, to: str | None = None) -> list[OutboxMail]:
    statement = select(OutboxMail).order_by(OutboxMail.id.desc()).limit(limit)
    if to:
        statement = statement.where(OutboxMail.to_address == to.lower())
    return list(session.scalars(statement))


def get_mail(session: Session, mail_id: int) -> OutboxMail:
    mail = session.get(OutboxMail, mail_id)
    if mail is None:
        raise not_found("mail", str(mail_id))
    return mail


def unsent(session: Session) -> list[OutboxMail]:
    """Mails not delivered yet, oldest first."""
    return list(session.scalars(select(OutboxMail).where(OutboxMail.sent_at.is_(None)).order_by(OutboxMail.id)))
