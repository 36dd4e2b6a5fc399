"""The `icity` command line."""

import os
import signal
import sys
import threading
from datetime import date
from typing import Annotated

import typer

from icity.config import get_settings
from icity.db.models import utctoday
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

    # The options act as ICITY_HOST/ICITY_PORT would: the public URL (mails, the demo's feeds) follows them,
    # here and in the worker processes, which read the environment again.
    for name, value in (("ICITY_HOST", host), ("ICITY_PORT", port)):
        if value is not None:
            os.environ[name] = str(value)
    get_settings.cache_clear()
    settings = get_settings()
    code = run_server(
        host or settings.host,
        port or settings.port,
        workers or settings.workers,
        background=settings.background_in_server,
    )
    raise typer.Exit(code)


harvest_app = typer.Typer(help="Harvests: reading information systems' sources.", no_args_is_help=True)
app.add_typer(harvest_app, name="harvest")


@harvest_app.command("run")
def harvest_run(system: Annotated[str, typer.Argument(help="<city>/<slug>")]) -> None:
    """Harvest one information system now and print what the run did."""
    from icity.services import harvest
    from icity.services.access import CLI

    try:
        run = harvest.run_now(system, CLI, trigger="cli")
    except ICityError as error:
        _fail(error)
    typer.echo(_run_line(run))
    for rejection in run["rejections"]:
        typer.echo(f"  record {rejection['record']}: {rejection['reason']}")
    if run["rejected"] > len(run["rejections"]):
        typer.echo(f"  … and {run['rejected'] - len(run['rejections'])} more rejected records")
    if run["status"] == "failed":
        typer.secho(f"error: {run['error']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)


@harvest_app.command("runs")
def harvest_runs(
    system: Annotated[str, typer.Argument(help="<city>/<slug>")],
    limit: Annotated[int, typer.Option(min=1)] = 10,
) -> None:
    """The latest runs of an information system, newest first."""
    from icity.services import harvest
    from icity.services.access import CLI

    page = _as_cli(lambda session: harvest.list_runs(session, CLI, system, limit=limit, cursor=None))
    for run in page.items:
        typer.echo(_run_line(run))


def _run_line(run: dict) -> str:
    counts = ", ".join(
        f"{run[name]} {name}" for name in ("fetched", "created", "updated", "unchanged", "rejected", "retired")
    )
    line = f"run {run['id']} of {run['informationSystem']} ({run['trigger']}, {run['startedAt']}): {run['status']}"
    return f"{line} — {counts}" if run["status"] != "failed" else f"{line} — {run['error']}"


provider_token_app = typer.Typer(help="Provider tokens: what sensor networks push observations with.", no_args_is_help=True)
app.add_typer(provider_token_app, name="provider-token")


@provider_token_app.command("create")
def provider_token_create(
    system: Annotated[str, typer.Argument(help="<city>/<slug>")],
    provider: Annotated[int, typer.Option(help="The provider's id (GET …/providers).")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. the gateway's name.")] = "",
) -> None:
    """Issue a provider token for an information system; it is printed this once."""
    from icity.services import provider_tokens
    from icity.services.access import CLI

    token = _as_cli(lambda session: provider_tokens.create_token(session, CLI, system, provider, name))
    typer.echo(token["token"])


@app.command()
def worker(
    once: Annotated[
        bool, typer.Option(help="Run the harvests due now, wait for them, and exit (from cron; the rest is continuous work).")
    ] = False,
) -> None:
    """Run the platform's background work until interrupted: scheduled harvests (each source in its
    own thread), with ICITY_MQTT_URL the observations pushed to the broker, webhook deliveries,
    alarms, device commands.

    `icity serve` does this too unless ICITY_BACKGROUND_IN_SERVER=false. Several workers may share one
    PostgreSQL database: each scheduled harvest, webhook delivery, alarm evaluation and command is taken by one.
    """
    from icity.background import background_tasks
    from icity.server import show_platform_logs
    from icity.services.scheduler import HarvestScheduler

    show_platform_logs()
    if once:
        scheduler = HarvestScheduler()
        started = scheduler.tick()
        scheduler.wait()
        typer.echo(f"harvested {len(started)} information system(s)")
        return
    tasks = background_tasks(get_settings())
    stopping = threading.Event()
    # a service manager stops the worker with SIGTERM: the tasks still finish what they hold (stop())
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    for task in tasks:
        task.start()
    # said once the SIGTERM handler is in place: a service manager or a test may signal from now on
    typer.echo(f"worker ready: {len(tasks)} task(s) running; SIGTERM or Ctrl-C stops them")
    sys.stdout.flush()
    try:
        stopping.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for task in tasks:
            task.stop()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to the configured database."""
    from icity.db.migrate import current_revision, upgrade

    upgrade()
    typer.echo(f"database at revision {current_revision()}")


@demo_app.command("load")
def demo_load(
    today: Annotated[str | None, typer.Option(help="End of the synthetic history (YYYY-MM-DD: that day's midnight, UTC). Default: now.")] = None,
) -> None:
    """Load the demo city network (does nothing if it is already loaded)."""
    from icity.db.engine import analyze, transaction
    from icity.demo import is_loaded, load_demo
    from icity.services import mail

    with transaction() as session:
        if is_loaded(session):
            typer.echo("demo network already loaded")
            return
        counts = load_demo(session, date.fromisoformat(today) if today else None)
        queued = mail.queued_ids(session)
    # the mails to the demo's partners are delivered as a request's are, once committed (they stayed pending)
    mail.deliver(queued)
    analyze()
    typer.echo("demo network loaded: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@city_app.command("set-level")
def city_set_level(
    city: str,
    level: str,
    evidence_kind: Annotated[str, typer.Option(help="letter_of_commitment, technical_trial, first_opened_is, consortium_agreement, withdrawal")],
    evidence: Annotated[str, typer.Option(help="What proves it: document, date, signatories.")],
    effective_on: Annotated[str, typer.Option(help="YYYY-MM-DD")] = utctoday().isoformat(),
    recorded_by: Annotated[str, typer.Option()] = "cli",
) -> None:
    """Move a city to another level of involvement (kept in its history)."""
    from icity.db.engine import transaction
    from icity.services import audit, cities

    try:
        with transaction() as session:
            cities.change_level(
                session,
                audit.actor_named(recorded_by),
                city,
                to_level=level,
                effective_on=date.fromisoformat(effective_on),
                evidence_kind=evidence_kind,
                evidence=evidence,
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


# ---- accounts and access requests, as the platform admin at the terminal -------------

admin_app = typer.Typer(help="Platform admins.", no_args_is_help=True)
user_app = typer.Typer(help="Accounts: developers, city admins, platform admins.", no_args_is_help=True)
access_app = typer.Typer(help="Access requests to `approval` information systems.", no_args_is_help=True)
app.add_typer(admin_app, name="admin")
app.add_typer(user_app, name="user")
app.add_typer(access_app, name="access")

PASSWORD_ENV = "ICITY_PASSWORD"


def _new_password() -> str:
    """A new password, never from the command line (where it would stay in the shell's history):
    ICITY_PASSWORD when set, else a hidden prompt asked twice at a terminal, else stdin's first line
    (for scripts: `printf '%s\\n' "$PASSWORD" | icity user set-password …`)."""
    import sys

    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        return typer.prompt("Password (10 characters or more)", hide_input=True, confirmation_prompt=True)
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        typer.secho(f"error: give the password at the prompt, on stdin or in {PASSWORD_ENV}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1)
    return line


def _as_cli(action):
    """Run `action(session)` as the platform admin at the terminal; deliver the mail it queued after commit."""
    from icity.db.engine import transaction
    from icity.services import mail

    try:
        with transaction() as session:
            result = action(session)
            queued = mail.queued_ids(session)
    except ICityError as error:
        _fail(error)
    if queued:
        mail.deliver(queued)
    return result


def _user_id(session, email: str) -> int:
    from icity.errors import not_found
    from icity.services import accounts

    user = accounts.user_by_email(session, email)
    if user is None:
        raise not_found("user with email", email)
    return user.id


@admin_app.command("create")
def admin_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
) -> None:
    """Create a platform admin (the first one too); the password is asked for (or read from ICITY_PASSWORD or stdin)."""
    from icity.services import accounts
    from icity.services.access import CLI

    from icity.services.passwords import check_new_password

    password = _new_password()
    _as_cli(lambda s: check_new_password(password) or accounts.create_user(s, CLI, email=email, name=name, password=password, role="admin"))
    typer.echo(f"platform admin {email} created")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[str, typer.Option(help="developer, city_admin, owner_admin or admin")],
    city: Annotated[list[str] | None, typer.Option(help="A city a city admin administers (repeat for several).")] = None,
    organisation: Annotated[str | None, typer.Option(help="A developer's organisation.")] = None,
    owner: Annotated[list[str] | None, typer.Option(help="An infrastructure owner an owner admin acts for (repeat for several).")] = None,
) -> None:
    """Create an approved account of any role; the password is asked for (or read from ICITY_PASSWORD or stdin)."""
    from icity.services import accounts
    from icity.services.access import CLI

    from icity.services.passwords import check_new_password

    password = _new_password()
    _as_cli(
        lambda s: check_new_password(password) or accounts.create_user(
            s, CLI, email=email, name=name, password=password, role=role, cities=city or [], organisation=organisation,
            owners=owner or [],
        )
    )
    typer.echo(f"{role} {email} created")


@user_app.command("set-password")
def user_set_password(email: str) -> None:
    """Set a user's password (asked for, or read from ICITY_PASSWORD or stdin); every session of the user ends."""
    from icity.services import passwords

    password = _new_password()
    _as_cli(lambda s: passwords.set_password(s, email, password))
    typer.echo(f"password of {email} set; their sessions have ended")


@user_app.command("list")
def user_list(status: Annotated[str | None, typer.Option(help="e.g. pending: verified, waiting for approval")] = None) -> None:
    """List accounts."""
    from icity.services import accounts
    from icity.services.access import CLI

    page = _as_cli(lambda s: accounts.list_users(s, CLI, status=status, role=None, limit=1000, cursor=None))
    for user in page.items:
        organisation = (user["organisation"] or {}).get("name", "")
        typer.echo(f"{user['id']:>5}  {user['email']:<32} {user['role']:<11} {user['status']:<10} {organisation}")


def _decide_user(action: str, email: str, reason: str | None) -> None:
    from icity.services import accounts
    from icity.services.access import CLI

    profile = _as_cli(lambda s: accounts.decide_user(s, CLI, _user_id(s, email), action, reason))
    typer.echo(f"{email} is now {profile['status']} (told by message and mail)")


@user_app.command("approve")
def user_approve(email: str) -> None:
    """Approve a developer who verified their email (or reinstate a suspended account)."""
    _decide_user("approve", email, None)


@user_app.command("refuse")
def user_refuse(email: str, reason: Annotated[str, typer.Option(help="Told to the developer.")]) -> None:
    """Refuse a developer account."""
    _decide_user("refuse", email, reason)


@user_app.command("suspend")
def user_suspend(email: str, reason: Annotated[str, typer.Option(help="Told to the user.")]) -> None:
    """Suspend an account: its sessions and API keys stop working at once."""
    _decide_user("suspend", email, reason)


@access_app.command("list")
def access_list(status: Annotated[str | None, typer.Option(help="pending, approved, refused, revoked, withdrawn")] = "pending") -> None:
    """List access requests."""
    from icity.services import access_requests
    from icity.services.access import CLI

    page = _as_cli(lambda s: access_requests.list_requests(s, CLI, status=status, system_id=None, app_id=None, limit=1000, cursor=None))
    for request in page.items:
        typer.echo(f"{request['id']:>5}  {request['informationSystem']:<28} app {request['app']['id']} {request['app']['name']!r:<24} {request['status']:<9} {request['purpose']}")


@access_app.command("approve")
def access_approve(request_id: int) -> None:
    """Approve an access request: the app reads the IS from its next request."""
    from icity.services import access_requests
    from icity.services.access import CLI

    _as_cli(lambda s: access_requests.decide(s, CLI, request_id, "approve"))
    typer.echo(f"access request {request_id} approved")


@access_app.command("refuse")
def access_refuse(request_id: int, reason: Annotated[str, typer.Option(help="Told to the developer.")]) -> None:
    """Refuse an access request."""
    from icity.services import access_requests
    from icity.services.access import CLI

    _as_cli(lambda s: access_requests.decide(s, CLI, request_id, "refuse", reason))
    typer.echo(f"access request {request_id} refused")


@access_app.command("revoke")
def access_revoke(request_id: int, reason: Annotated[str, typer.Option(help="Told to the developer.")]) -> None:
    """Revoke a grant, effective on the app's next request."""
    from icity.services import access_requests
    from icity.services.access import CLI

    _as_cli(lambda s: access_requests.decide(s, CLI, request_id, "revoke", reason))
    typer.echo(f"access request {request_id} revoked")


# ---- outbox: the platform's outgoing mail -------------------------------------------

outbox_app = typer.Typer(
    help="Outgoing mail: list it, show one (to copy a verification link), send the unsent again.",
    invoke_without_command=True,
)
app.add_typer(outbox_app, name="outbox")


def _database_url() -> str:
    # resolved here, not left to the engine cache, so the current settings always apply
    return get_settings().resolved_database_url()


def _mail_state(mail) -> str:
    if mail.sent_at is not None:
        return "sent"
    return f"pending ({mail.attempts} attempts)" if mail.attempts else "pending"


@outbox_app.callback()
def outbox_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest mails.")] = 20,
    to: Annotated[str | None, typer.Option(help="Only the mails to this address.")] = None,
) -> None:
    """List the latest mails, newest first: id, when, to, subject, sent or pending."""
    if ctx.invoked_subcommand is not None:
        return
    from icity.db.engine import new_session
    from icity.services import mail as mail_service

    with new_session(_database_url()) as session:
        mails = mail_service.latest(session, limit=limit, to=to)
    if not mails:
        typer.echo("the outbox is empty")
        return
    for mail in mails:
        when = mail.created_at.strftime("%Y-%m-%d %H:%M:%S")
        typer.echo(f"{mail.id:>6}  {when}  {mail.to_address}  {mail.subject}  [{_mail_state(mail)}]")
    typer.echo("show one whole with: icity outbox show <id>")


@outbox_app.command("show")
def outbox_show(mail_id: Annotated[int, typer.Argument(help="The id from `icity outbox`.")]) -> None:
    """Print one mail whole: headers and the plain text body (links unbroken)."""
    from icity.db.engine import new_session
    from icity.services import mail as mail_service

    try:
        with new_session(_database_url()) as session:
            mail = mail_service.get_mail(session, mail_id)
    except ICityError as error:
        _fail(error)
    typer.echo(f"From: {get_settings().mail_from}")
    typer.echo(f"To: {mail.to_address}")
    typer.echo(f"Subject: {mail.subject}")
    typer.echo(f"Date: {mail.created_at.isoformat()}")
    typer.echo(f"Status: {_mail_state(mail)}" + (f" at {mail.sent_at.isoformat()}" if mail.sent_at else ""))
    if mail.last_error:
        typer.echo(f"Last error: {mail.last_error}")
    typer.echo("")
    typer.echo(mail.body.rstrip("\n"))


@outbox_app.command("send")
def outbox_send() -> None:
    """Try again to deliver every unsent mail (exit code 1 if some still fail)."""
    from icity.db.engine import new_session
    from icity.services import mail as mail_service

    url = _database_url()
    delivered = mail_service.deliver(database_url=url)
    with new_session(url) as session:
        failing = mail_service.unsent(session)
    typer.echo(f"{delivered} delivered")
    for mail in failing:
        typer.secho(f"{mail.id:>6}  {mail.to_address}  still pending: {mail.last_error}", fg=typer.colors.RED, err=True)
    if failing:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    app()
