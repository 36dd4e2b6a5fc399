"""`icity provider-token create`: a token printed once, stored as a digest, that authenticates its provider."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from icity.cli import app
from icity.db.engine import transaction
from icity.db.models import ProviderToken
from icity.services import authentication, catalogue

runner = CliRunner()


def test_a_provider_token_is_printed_once_and_authenticates(cli_network: str):
    with transaction(cli_network) as session:
        provider_id = catalogue.add_provider(session, "alpha/air", name="Xarxa").id
    result = runner.invoke(app, ["provider-token", "create", "alpha/air", "--provider", str(provider_id), "--name", "gw"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("icp_")
    with transaction(cli_network) as session:
        stored = session.scalars(select(ProviderToken)).one()
        assert token not in (stored.secret_digest, stored.prefix) and stored.name == "gw"
        principal = authentication.principal_for(session, token)
    assert (principal.kind, principal.system_id, principal.provider_id) == ("provider", "alpha/air", provider_id)


def test_a_provider_of_another_system_is_refused(cli_network: str):
    with transaction(cli_network) as session:
        provider_id = catalogue.add_provider(session, "beta/air", name="Rete").id
    result = runner.invoke(app, ["provider-token", "create", "alpha/air", "--provider", str(provider_id)])
    assert result.exit_code == 1 and "has no provider" in result.output
