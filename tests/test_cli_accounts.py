"""`icity admin|user|access`: the platform admin's terminal, against a database of its own."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from icity.cli import app
from icity.config import get_settings
from icity.db.engine import new_session, transaction
from icity.db.models import AccessRequest, AuditEvent, User
from icity.services import mail
from tests import people

runner = CliRunner()


@pytest.fixture
def url(network_copy, tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("ICITY_DATABASE_URL", network_copy)
    monkeypatch.setenv("ICITY_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield network_copy
    get_settings.cache_clear()


def icity(*args: str):
    return runner.invoke(app, list(args))


def test_the_first_admin_approves_a_developer_and_decides_an_access_request(url):
    created = icity("admin", "create", "--email", "Admin@Icity.example", "--name", "Coordinator", "--password", "a long passphrase")
    assert created.exit_code == 0, created.output
    with transaction(url) as session:
        ada = people.person(session, "ada@dev.example", status="pending")
        app, _ = people.app_with_key(session, ada)
        request_id = people.grant(session, app, "alpha/parking", status="pending").id

    listed = icity("user", "list", "--status", "pending")
    assert "ada@dev.example" in listed.output and "admin@icity.example" not in listed.output
    assert icity("user", "approve", "ada@dev.example").exit_code == 0
    assert "alpha/parking" in icity("access", "list").output
    assert icity("access", "approve", str(request_id)).exit_code == 0

    with new_session(url) as session:
        assert session.scalar(select(User.status).where(User.email == "ada@dev.example")) == "approved"
        assert session.get(AccessRequest, request_id).status == "approved"
        [approval] = mail.latest(session, limit=1, to="ada@dev.example")
        assert "approved" in approval.subject and approval.sent_at is not None
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "cli")))
    assert {"user.created", "user.approved", "access.approved"} <= actions


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("user", "approve", "nobody@dev.example"), "No user with email"),
        (("user", "create", "--email", "x@y.example", "--name", "X", "--role", "city_admin", "--password", "a long passphrase"), "at least one city"),
        (("access", "refuse", "999", "--reason", "no"), "No access request"),
    ],
)
def test_refusals_are_explained_and_exit_non_zero(url, args, message):
    result = icity(*args)
    assert result.exit_code == 1
    assert message in result.output
