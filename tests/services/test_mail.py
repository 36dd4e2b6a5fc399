"""The outbox: mail queued in a transaction, delivered after commit to files or
to a real SMTP server (aiosmtpd, started by the test on a free local port)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from icity.config import Settings
from icity.db.engine import new_session, transaction
from icity.db.models import OutboxMail
from icity.services import mail

LINK = "http://127.0.0.1:8000/api/v1/auth/verify?token=" + "x" * 120  # longer than a mail line


def use_settings(monkeypatch, **values) -> Settings:
    settings = Settings(_env_file=None, **values)
    monkeypatch.setattr(mail, "get_settings", lambda: settings)
    return settings


def queue(url: str, to: str = "ada@partner.example", subject: str = "Verify your email", body: str = f"Open {LINK}\n") -> int:
    with transaction(url) as session:
        queued = mail.queue(session, to, subject, body).id
        assert mail.queued_ids(session) == [queued]
    return queued


def stored(url: str, mail_id: int) -> OutboxMail:
    with new_session(url) as session:
        return session.get(OutboxMail, mail_id)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Sink:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def smtp_server(smtp_port) -> Iterator[Sink]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield sink
    controller.stop()


def test_without_smtp_a_mail_is_written_as_an_eml_file_in_the_var_dir(db_url, tmp_path, monkeypatch):
    use_settings(monkeypatch, var_dir=tmp_path / "var", smtp_url=None, mail_from="iCity <no-reply@icity.test>")
    mail_id = queue(db_url)

    assert mail.deliver([mail_id], db_url) == 1

    files = list((tmp_path / "var" / "outbox").glob("*.eml"))
    assert [f.name.endswith(f"-{mail_id:06d}.eml") for f in files] == [True]
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"] == "ada@partner.example"
    assert message["From"] == "iCity <no-reply@icity.test>"
    assert message["Subject"] == "Verify your email"
    assert LINK in message.get_content()  # whole, whatever the transfer encoding
    row = stored(db_url, mail_id)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None


def test_a_sent_mail_is_not_sent_again(db_url, tmp_path, monkeypatch):
    use_settings(monkeypatch, var_dir=tmp_path, smtp_url=None)
    mail_id = queue(db_url)
    assert mail.deliver([mail_id], db_url) == 1
    assert mail.deliver([mail_id], db_url) == 0
    assert mail.deliver(database_url=db_url) == 0
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1


def test_with_smtp_a_mail_goes_to_the_server(db_url, tmp_path, monkeypatch, smtp_server, smtp_port):
    use_settings(monkeypatch, var_dir=tmp_path, smtp_url=f"smtp://127.0.0.1:{smtp_port}", mail_from="no-reply@icity.test")
    mail_id = queue(db_url, to="bob@partner.example", subject="Access to alpha/parking approved", body="Granted.\n")

    assert mail.deliver([mail_id], db_url) == 1

    [(sender, recipients, content)] = smtp_server.received
    assert sender == "no-reply@icity.test" and recipients == ["bob@partner.example"]
    message = email.message_from_bytes(content, policy=email.policy.default)
    assert message["Subject"] == "Access to alpha/parking approved"
    assert message.get_content().strip() == "Granted."
    assert not (tmp_path / "outbox").exists()  # SMTP replaces the files
    assert stored(db_url, mail_id).sent_at is not None


def test_a_failed_delivery_stays_in_the_outbox_and_a_later_delivery_sends_it(db_url, tmp_path, monkeypatch, smtp_port):
    use_settings(monkeypatch, var_dir=tmp_path, smtp_url=f"smtp://127.0.0.1:{smtp_port}")
    mail_id = queue(db_url)

    assert mail.deliver([mail_id], db_url) == 0  # nothing listens on the port yet
    row = stored(db_url, mail_id)
    assert row.sent_at is None and row.attempts == 1
    assert "ConnectionRefusedError" in row.last_error

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        assert mail.deliver(database_url=db_url) == 1  # every unsent mail, as `icity outbox send` does
    finally:
        controller.stop()
    assert [recipients for _, recipients, _ in sink.received] == [["ada@partner.example"]]
    row = stored(db_url, mail_id)
    assert row.sent_at is not None and row.attempts == 2 and row.last_error is None


def test_a_rolled_back_transaction_sends_nothing(db_url, tmp_path, monkeypatch, smtp_server, smtp_port):
    use_settings(monkeypatch, var_dir=tmp_path, smtp_url=f"smtp://127.0.0.1:{smtp_port}")
    with pytest.raises(RuntimeError):
        with transaction(db_url) as session:
            mail.queue(session, "ada@partner.example", "Welcome", "Hello")
            raise RuntimeError("the action failed after queueing its mail")

    assert mail.deliver(database_url=db_url) == 0
    assert smtp_server.received == []
    with new_session(db_url) as session:
        assert session.scalars(select(OutboxMail)).all() == []


def test_latest_lists_newest_first_and_filters_by_address(db_url):
    first = queue(db_url, to="ada@partner.example", subject="one")
    second = queue(db_url, to="bob@partner.example", subject="two")
    third = queue(db_url, to="ada@partner.example", subject="three")
    with new_session(db_url) as session:
        assert [m.id for m in mail.latest(session)] == [third, second, first]
        assert [m.id for m in mail.latest(session, limit=2)] == [third, second]
        assert [m.id for m in mail.latest(session, to="ADA@partner.example")] == [third, first]
        assert [m.id for m in mail.unsent(session)] == [first, second, third]
