"""The `icity` command line."""

from datetime import date
from typing import Annotated

import typer

from icity.config import get_settings
from icity.errors import ICityError

app = typer.Typer(help="iCity: open a city's information systems through one harmonised API.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo city network.", no_args_is_help=True)
city_app = typer.Typer(help="Cities of the network.", no_args_is_help=True)
is_app = typer.Typer(help="Information systems.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(city_app, name="city")
app.add_typer(is_app, name="is")


def _fail(error: ICityError) -> None:
    typer.secho(f"error: {error.detail}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default: ICITY_HOST")] = None,
    port: Annotated[int | None, typer.Option(help="Default: ICITY_PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="Default: ICITY_WORKERS")] = None,
) -> None:
    """Serve the API (and its docs at /docs)."""
    from icity.server import serve as run_server

    settings = get_settings()
    code = run_server(host or settings.host, port or settings.port, workers or settings.workers)
    raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    from icity.db.migrate import current_revision, upgrade

    upgrade()
    typer.echo(f"database at revision {current_revision()}")


@demo_app.command("load")
def demo_load(
    today: Annotated[str | None, typer.Option(help="Reference date of the synthetic history (YYYY-MM-DD).")] = None,
) -> None:
    """Load the demo city network (does nothing if it is already loaded)."""
    from icity.db.engine import analyze, transaction
    from icity.demo import is_loaded, load_demo

    with transaction() as session:
        if is_loaded(session):
            typer.echo("demo network already loaded")
            return
        counts = load_demo(session, date.fromisoformat(today) if today else None)
    analyze()
    typer.echo("demo network loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@city_app.command("set-level")
def city_set_level(
    city: str,
    level: str,
    evidence_kind: Annotated[str, typer.Option(help="letter_of_commitment, technical_trial, first_opened_is, consortium_agreement, withdrawal")],
    evidence: Annotated[str, typer.Option(help="What proves it: document, date, signatories.")],
    effective_on: Annotated[str, typer.Option(help="YYYY-MM-DD")] = date.today().isoformat(),
    recorded_by: Annotated[str, typer.Option()] = "cli",
) -> None:
    """Move a city to another level of involvement (kept in its history)."""
    from icity.db.engine import transaction
    from icity.services import cities

    try:
        with transaction() as session:
            cities.change_level(
                session,
                city,
                to_level=level,
                effective_on=date.fromisoformat(effective_on),
                evidence_kind=evidence_kind,
                evidence=evidence,
                recorded_by=recorded_by,
            )
    except ICityError as error:
        _fail(error)
    typer.echo(f"{city} is now at level {level}")


@is_app.command("set-status")
def is_set_status(system: Annotated[str, typer.Argument(help="<city>/<slug>")], status: str) -> None:
    """Move an information system to draft, trial, open or retired."""
    from icity.db.engine import transaction
    from icity.services import catalogue

    try:
        with transaction() as session:
            catalogue.set_status(session, system, status)
    except ICityError as error:
        _fail(error)
    typer.echo(f"{system} is now {status}")


if __name__ == "__main__":
    app()
