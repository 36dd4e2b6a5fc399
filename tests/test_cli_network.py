"""`icity city set-level`: the platform admin changes a level at the terminal, as `cli`
(or the name given), through the same service and checks as the API."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from icity.cli import app
from icity.db.engine import new_session
from icity.db.models import AuditEvent
from icity.services import cities
from tests.snapshots import admin_writes

runner = CliRunner()


def set_level(*args: str):
    return runner.invoke(app, ["city", "set-level", *args])


def test_a_level_set_at_the_terminal_is_kept_and_audited_under_its_recorder(cli_network):
    done = set_level("delta", "pilot", "--evidence-kind", "technical_trial", "--evidence", "Agenda trial",
                     "--effective-on", "2015-02-01", "--recorded-by", "network coordinator")  # fmt: skip
    assert done.exit_code == 0, done.output
    with new_session(cli_network) as session:
        change = cities.get_city(session, "delta")["levelHistory"][-1]
        event = session.scalars(select(AuditEvent).where(AuditEvent.city_id == "delta").order_by(AuditEvent.id.desc())).first()
    assert (change["to"], change["effectiveOn"], change["recordedBy"]) == ("pilot", "2015-02-01", "network coordinator")
    assert (event.action, event.actor) == ("city.level_changed", "network coordinator")


def test_a_refused_level_change_at_the_terminal_says_why_and_writes_nothing(cli_network):
    before = admin_writes(cli_network)
    refused = set_level("gamma", "sig", "--evidence-kind", "letter_of_commitment", "--evidence", "Letter")
    assert refused.exit_code == 1 and "retire them" in refused.output
    assert admin_writes(cli_network) == before
