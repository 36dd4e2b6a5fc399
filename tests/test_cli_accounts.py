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


def icity(*args: str, input: str | None = None):  # noqa: A002 - CliRunner's name
    return runner.invoke(app, list(args), input=input)


def test_the_first_admin_approves_a_developer_and_decides_an_access_request(url):
    created = icity("admin", "create", "--email", "Admin@Icity.example", "--name", "Coordinator", input="a long passphrase\n")
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
        (("user", "create", "--email", "x@y.example", "--name", "X", "--role", "city_admin"), "at least one city"),
        (("access", "refuse", "999", "--reason", "no"), "No access request"),
    ],
)
def test_refusals_are_explained_and_exit_non_zero(url, args, message):
    result = icity(*args, input="a long passphrase\n")
    assert result.exit_code == 1
    assert message in result.output


def _can_log_in(url: str, email: str, password: str) -> bool:
    from icity.errors import ICityError
    from icity.services import accounts

    try:
        with transaction(url) as session:
            accounts.login(session, email, password)
    except ICityError:
        return False
    return True


def test_a_password_is_never_an_argument_but_read_from_stdin_or_icity_password(url, monkeypatch):
    refused = icity("admin", "create", "--email", "a@icity.example", "--name", "A", "--password", "a long passphrase")
    assert refused.exit_code == 2 and "--password" in refused.output  # no such option
    assert icity("admin", "create", "--email", "a@icity.example", "--name", "A", input="stdin passphrase\n").exit_code == 0
    assert _can_log_in(url, "a@icity.example", "stdin passphrase")
    monkeypatch.setenv("ICITY_PASSWORD", "env passphrase")
    created = icity("user", "create", "--email", "b@bcn.example", "--name", "B", "--role", "city_admin", "--city", "alpha")
    assert created.exit_code == 0, created.output
    assert _can_log_in(url, "b@bcn.example", "env passphrase")


def test_set_password_replaces_the_password_and_ends_the_sessions(url):
    from icity.db.models import UserSession

    with transaction(url) as session:
        people.person(session, "ada@dev.example")
    assert _can_log_in(url, "ada@dev.example", people.PASSWORD)
    result = icity("user", "set-password", "ada@dev.example", input="a fresh passphrase\n")
    assert result.exit_code == 0, result.output
    assert not _can_log_in(url, "ada@dev.example", people.PASSWORD)
    with new_session(url) as session:
        assert session.scalar(select(UserSession.user_id)) is None  # the session opened above ended
    assert _can_log_in(url, "ada@dev.example", "a fresh passphrase")
    short = icity("user", "set-password", "ada@dev.example", input="short\n")
    assert short.exit_code == 1 and "10 to 256 characters" in short.output
    unknown = icity("user", "set-password", "nobody@dev.example", input="a fresh passphrase\n")
    assert unknown.exit_code == 1 and "No user" in unknown.output


def test_an_owner_admin_is_created_for_its_owners(url):
    from icity.db.models import InfrastructureOwner, OwnerAdmin, User

    with transaction(url) as session:
        session.add(InfrastructureOwner(id="voltia", name="Voltia", kind="charge_point_operator", country="ES", membership="member"))
    unknown = icity("user", "create", "--email", "o@voltia.example", "--name", "O", "--role", "owner_admin", "--owner", "nope",
                    input="a long passphrase\n")  # fmt: skip
    assert unknown.exit_code == 1 and "No infrastructure owner with id 'nope'" in unknown.output
    created = icity("user", "create", "--email", "o@voltia.example", "--name", "O", "--role", "owner_admin", "--owner", "voltia",
                    input="a long passphrase\n")  # fmt: skip
    assert created.exit_code == 0, created.output
    with new_session(url) as session:
        user = session.scalar(select(User).where(User.email == "o@voltia.example"))
        assert user.role == "owner_admin" and session.get(OwnerAdmin, (user.id, "voltia")) is not None
    assert _can_log_in(url, "o@voltia.example", "a long passphrase")
