"""`icity outbox`: list the latest mails, show one whole, send the unsent again —
run through Typer's CliRunner against a database of its own."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from icity.cli import app
from icity.config import get_settings
from icity.db.engine import transaction
from icity.services import mail

LINK = "http://127.0.0.1:8000/api/v1/auth/verify?token=" + "t0k3n" * 30

runner = CliRunner()


@pytest.fixture
def configured(db_url, tmp_path, monkeypatch) -> str:
    """The CLI's settings point at this test's database and var folder."""
    monkeypatch.setenv("ICITY_DATABASE_URL", db_url)
    monkeypatch.setenv("ICITY_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("ICITY_SMTP_URL", raising=False)
    get_settings.cache_clear()  # settings are read once per process
    yield db_url
    get_settings.cache_clear()


def queue(url: str, to: str, subject: str, body: str) -> int:
    with transaction(url) as session:
        return mail.queue(session, to, subject, body).id


def icity(*args: str):
    return runner.invoke(app, ["outbox", *args])


def test_an_empty_outbox_says_so(configured):
    result = icity()
    assert result.exit_code == 0, result.output
    assert "the outbox is empty" in result.output


def test_plain_outbox_lists_the_latest_mails_newest_first_sent_or_pending(configured):
    welcome = queue(configured, "ada@partner.example", "Verify your email", f"Open {LINK}\n")
    approved = queue(configured, "bob@partner.example", "Your account is approved", "Welcome.\n")
    mail.deliver([welcome], configured)

    result = icity()

    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines() if line.strip()[:1].isdigit()]
    assert [line[0] for line in lines] == [str(approved), str(welcome)]
    assert "bob@partner.example" in lines[0] and lines[0][-1] == "[pending]"
    assert "ada@partner.example" in lines[1] and lines[1][-1] == "[sent]"
    assert "Verify your email" in result.output
    assert "icity outbox show <id>" in result.output

    only_ada = icity("--to", "ada@partner.example", "--limit", "5")
    assert "ada@partner.example" in only_ada.output and "bob@partner.example" not in only_ada.output


def test_show_prints_one_mail_whole_so_its_link_can_be_copied(configured):
    mail_id = queue(configured, "ada@partner.example", "Verify your email", f"Hello Ada,\n\nOpen {LINK}\nwithin 48 hours.\n")

    result = icity("show", str(mail_id))

    assert result.exit_code == 0, result.output
    assert "To: ada@partner.example" in result.output
    assert "Subject: Verify your email" in result.output
    assert "Status: pending" in result.output
    assert f"Open {LINK}" in result.output.splitlines()  # on one line, unbroken
    assert result.output.endswith("within 48 hours.\n")


def test_show_of_an_unknown_mail_fails_with_a_message(configured):
    result = icity("show", "999")
    assert result.exit_code == 1
    assert "No mail with id '999'" in result.output


def test_send_delivers_the_unsent_mails_to_the_outbox_folder(configured, tmp_path):
    queue(configured, "ada@partner.example", "one", "1\n")
    queue(configured, "bob@partner.example", "two", "2\n")

    result = icity("send")

    assert result.exit_code == 0, result.output
    assert "2 delivered" in result.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2
    listing = icity().output
    assert listing.count("[sent]") == 2 and "[pending" not in listing
    assert icity("send").output.startswith("0 delivered")


def test_send_reports_the_mails_still_failing_and_exits_non_zero(configured, monkeypatch):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ICITY_SMTP_URL", f"smtp://127.0.0.1:{port}")
    get_settings.cache_clear()
    mail_id = queue(configured, "ada@partner.example", "Verify your email", "link\n")

    result = icity("send")

    assert result.exit_code == 1
    assert "0 delivered" in result.output
    assert f"{mail_id}" in result.output and "still pending: ConnectionRefusedError" in result.output
    assert "[pending (1 attempts)]" in icity().output
