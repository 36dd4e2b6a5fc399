"""Device commands (properties IN): declared by the city, sent by apps, tracked to their end.

A device that accepts commands declares each with a JSON Schema (Draft 2020-12) of its
parameters object, and where commands go: its HTTP endpoint (`command_url`) or, without
one, the MQTT broker (``icity/<city>/<is>/<device>/cmd``). Commands act on the physical
world, so only apps holding an approved access request for the IS send them, whatever
its policy (a public policy lets anyone read, not command), besides the IS's city
admins and the platform admin.

A command goes pending → sent → acknowledged | failed | expired. `CommandDispatcher`
(services/command_dispatcher.py) delivers it and records the device's answer with the
functions at the end of this module; this module holds the rules, the dispatcher the I/O.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

from jsonschema import Draft202012Validator
from sqlalchemy import event, false, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from icity.config import get_settings
from icity.db.models import AccessRequest, App, Command, Device, InformationSystem, utcnow
from icity.errors import FieldProblem, authentication_required, bad_parameter, forbidden, invalid, not_found
from icity.services import audit
from icity.services.access import Principal, administered_system, readable_systems
from icity.services.authentication import principal_of_app
from icity.services.catalogue import device_dict
from icity.services.command_declarations import declaration_problems
from icity.services.pagination import Page, SortKey, keyset_page

MAX_TTL_S = 86_400  # a command waits at most a day for its device
STATUSES = ("pending", "sent", "acknowledged", "failed", "expired")
OPEN_STATUSES = ("pending", "sent")


# --- declaring ---------------------------------------------------------------------------


def declare(
    session: Session, principal: Principal, system_id: str, local_id: str, commands: list[dict[str, Any]], command_url: str | None
) -> dict[str, Any]:
    """Replace the commands a device accepts and where they go (the IS's city admins, the platform admin)."""
    system = administered_system(session, principal, system_id)
    device = _device(session, system.id, local_id)
    problems = declaration_problems(commands, command_url)
    if problems:
        raise invalid(problems)
    device.commands = [{"parameters": {"type": "object"}, **command} for command in commands]
    device.command_url = command_url
    audit.record(
        session, principal, "device.commands_declared", "device", f"{system.id}/{local_id}", city_id=system.city_id, owner_id=system.owner_id,
        details={"commands": [command["name"] for command in commands], "commandUrl": command_url},
    )  # fmt: skip
    session.flush()
    return device_dict(device)


def managed_device(session: Session, principal: Principal, system_id: str, local_id: str) -> dict[str, Any]:
    """A device of an IS the caller manages, as the API shows it (its declared commands with it)."""
    system = administered_system(session, principal, system_id)
    return device_dict(_device(session, system.id, local_id))


# --- sending -----------------------------------------------------------------------------


def send(
    session: Session,
    principal: Principal,
    system_id: str,
    local_id: str,
    name: str,
    parameters: dict[str, Any],
    expires_in_s: int | None = None,
) -> dict[str, Any]:
    """Queue a command for the device: checked against its declaration, delivered by the dispatcher."""
    system, device = _readable_device(session, principal, system_id, local_id)
    _require_command_right(session, principal, system)
    declared = next((c for c in device.commands or [] if isinstance(c, dict) and c.get("name") == name), None)
    if declared is None:
        names = ", ".join(c["name"] for c in device.commands or [] if isinstance(c, dict) and "name" in c) or "none"
        raise invalid([FieldProblem("command", f"{device.local_id} accepts no command '{name}' (it accepts: {names})")])
    ttl = get_settings().command_ttl_s if expires_in_s is None else expires_in_s
    if not 1 <= ttl <= MAX_TTL_S:
        raise invalid([FieldProblem("expiresInS", f"between 1 and {MAX_TTL_S} seconds")])
    problems = parameter_problems(declared.get("parameters", {"type": "object"}), parameters)
    if problems:
        raise invalid(problems)
    now = utcnow()
    command = Command(
        device_id=device.id,
        information_system_id=system.id,
        app_id=principal.app_id if principal.kind == "app" else None,
        name=name,
        parameters=parameters,
        status="pending",
        created_at=now,
        expires_at=now + timedelta(seconds=ttl),
        attempts=0,
        next_attempt_at=now,
    )
    session.add(command)
    session.flush()
    audit.record(
        session, principal, "command.sent", "command", command.id, city_id=system.city_id, owner_id=system.owner_id,
        details={"device": f"{system.id}/{device.local_id}", "command": name},
    )  # fmt: skip
    session.info[_CREATED] = True
    return command_dict(command, device.local_id)


def parameter_problems(schema: dict[str, Any], parameters: dict[str, Any]) -> list[FieldProblem]:
    """Every way `parameters` breaks the declared schema, each with its path (parameters.x[0]…)."""
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    problems = []
    for error in sorted(validator.iter_errors(parameters), key=lambda e: list(map(str, e.absolute_path))):
        path = "parameters" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.append(FieldProblem(path, error.message))
    return problems


def _require_command_right(session: Session, principal: Principal, system: InformationSystem) -> None:
    if principal.manages(system):
        return
    if principal.kind != "app":
        raise forbidden("Apps send commands with their API key (X-API-Key); a developer's session does not.")
    if not _holds_grant(session, principal.app_id, system.id):
        raise forbidden(
            f"Commands act on the physical world: your app needs an approved access request for {system.id}, "
            "whatever its access policy (POST /api/v1/access-requests).",
            code="no-grant",
        )


def _holds_grant(session: Session, app_id: int | None, system_id: str) -> bool:
    approved = select(AccessRequest.id).where(
        AccessRequest.app_id == app_id,
        AccessRequest.information_system_id == system_id,
        AccessRequest.status == "approved",
    )
    return session.scalar(approved) is not None


# --- reading -----------------------------------------------------------------------------


def get_command(session: Session, principal: Principal, system_id: str, local_id: str, command_id: int) -> dict[str, Any]:
    system, device = _readable_device(session, principal, system_id, local_id)
    command = session.scalar(
        select(Command).where(Command.id == command_id, Command.device_id == device.id, _visible(principal, system))
    )
    if command is None:
        raise not_found("command", str(command_id))
    return command_dict(command, device.local_id)


def list_commands(
    session: Session,
    principal: Principal,
    system_id: str,
    local_id: str,
    *,
    status: str | None = None,
    limit: int,
    cursor: str | None,
) -> Page[dict[str, Any]]:
    """The device's commands the caller may see (its app's, its organisation's; all for admins), newest first."""
    system, device = _readable_device(session, principal, system_id, local_id)
    statement = select(Command).where(Command.device_id == device.id, _visible(principal, system))
    if status is not None:
        if status not in STATUSES:
            raise bad_parameter("status", f"status is one of {', '.join(STATUSES)}")
        statement = statement.where(Command.status == status)
    rows, next_cursor = keyset_page(
        statement.add_columns(Command.id), [SortKey(Command.id, descending=True)], "newest", limit, cursor,
        lambda s: session.execute(s).all(),
    )  # fmt: skip
    return Page([command_dict(row[0], device.local_id) for row in rows], next_cursor)


def _visible(principal: Principal, system: InformationSystem) -> ColumnElement[bool]:
    if principal.manages(system):
        return true()
    if principal.kind == "app":
        return Command.app_id == principal.app_id
    if principal.organisation_id is not None:
        return Command.app_id.in_(select(App.id).where(App.organisation_id == principal.organisation_id))
    return false()


def command_dict(command: Command, device: str) -> dict[str, Any]:
    return {
        "id": command.id,
        "informationSystem": command.information_system_id,
        "device": device,
        "command": command.name,
        "parameters": command.parameters,
        "app": command.app_id,
        "status": command.status,
        "result": command.result,
        "error": command.error,
        "attempts": command.attempts or 0,
        "createdAt": command.created_at.isoformat(),
        "sentAt": command.sent_at.isoformat() if command.sent_at else None,
        "completedAt": command.completed_at.isoformat() if command.completed_at else None,
        "expiresAt": command.expires_at.isoformat(),
    }


def _readable_device(session: Session, principal: Principal, system_id: str, local_id: str) -> tuple[InformationSystem, Device]:
    if principal.kind == "anonymous":
        raise authentication_required("Commands need an app's API key (X-API-Key) or an admin's session.")
    system = session.scalar(select(InformationSystem).where(InformationSystem.id == system_id, readable_systems(principal)))
    if system is None:
        raise not_found("information system", system_id)
    return system, _device(session, system.id, local_id)


def _device(session: Session, system_id: str, local_id: str) -> Device:
    device = session.scalar(select(Device).where(Device.information_system_id == system_id, Device.local_id == local_id))
    if device is None:
        raise not_found("device", f"{system_id}/{local_id}")
    return device


# --- delivery: what the dispatcher records -------------------------------------------------


def expire_due(session: Session, now: datetime | None = None) -> int:
    """Pending or sent commands past their expiry → expired. Returns how many."""
    now = now or utcnow()
    reasons = {
        "pending": "not delivered to the device before it expired",
        "sent": "the device did not answer before it expired",
    }
    expired = 0
    for status, reason in reasons.items():
        expired += session.execute(
            update(Command)
            .where(Command.status == status, Command.expires_at <= now)
            .values(status="expired", completed_at=now, error=reason)
            .execution_options(synchronize_session=False)
        ).rowcount
    return expired


def due(session: Session, now: datetime, limit: int, channel: str) -> list[tuple[Command, Device]]:
    """Pending commands whose delivery is due, of the devices reached over `channel` (http | mqtt)."""
    statement = (
        select(Command, Device)
        .join(Device, Device.id == Command.device_id)
        .where(Command.status == "pending", Command.next_attempt_at <= now, Command.expires_at > now)
        .order_by(Command.next_attempt_at, Command.id)
        .limit(limit)
    )
    over_http = Device.command_url.is_not(None)
    statement = statement.where(over_http if channel == "http" else Device.command_url.is_(None))
    return [(row[0], row[1]) for row in session.execute(statement)]


def no_longer_allowed(session: Session, command: Command) -> str | None:
    """Why the app that sent the command may no longer have it delivered (its grant revoked,
    the app withdrawn), checked before each attempt; None while it may."""
    if command.app_id is None:
        return None  # sent by an admin of the city
    app = principal_of_app(session, command.app_id)
    if app is None:
        return "the app that sent it was withdrawn before it was delivered"
    if not _holds_grant(session, command.app_id, command.information_system_id):
        return f"the app's access to {command.information_system_id} was revoked before it was delivered"
    return None


def claim(session: Session, command: Command, now: datetime, lease_s: float) -> bool:
    """Take the command for one delivery attempt, unless another dispatcher took it first."""
    taken = session.execute(
        update(Command)
        .where(Command.id == command.id, Command.status == "pending", Command.next_attempt_at <= now)
        .values(next_attempt_at=now + timedelta(seconds=lease_s), attempts=Command.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    return taken == 1


def mark_sent(session: Session, command_id: int, now: datetime | None = None) -> None:
    """Published to the broker: the device's reply is awaited (unless it already came)."""
    session.execute(
        update(Command)
        .where(Command.id == command_id, Command.status == "pending")
        .values(status="sent", sent_at=now or utcnow(), error=None)
        .execution_options(synchronize_session=False)
    )


def retry_later(session: Session, command_id: int, error: str, at: datetime) -> None:
    """The attempt failed in a way that may pass (5xx, network): try again at `at`, until expiry."""
    session.execute(
        update(Command)
        .where(Command.id == command_id, Command.status == "pending")
        .values(next_attempt_at=at, error=error[:2000])
        .execution_options(synchronize_session=False)
    )


def complete(
    session: Session, command_id: int, *, result: Any = None, error: str | None = None, delivered: bool = True
) -> bool:
    """The device answered: acknowledged with its result, or failed with its error (or, not
    `delivered`, failed before reaching it). False when the command had already ended."""
    now = utcnow()
    command = session.get(Command, command_id, with_for_update=session.get_bind().dialect.name == "postgresql")
    if command is None or command.status not in OPEN_STATUSES:
        return False
    command.status = "failed" if error is not None else "acknowledged"
    command.result = result
    command.error = error[:2000] if error is not None else None
    if delivered:
        command.sent_at = command.sent_at or now
    command.completed_at = now
    return True


def awaited_by_reply(session: Session, system_id: str, local_id: str, command_id: int | None, name: str | None) -> Command | str:
    """The command a device's reply answers: by its commandId, else the oldest sent one of that
    name; or why there is none."""
    statement = (
        select(Command)
        .join(Device, Device.id == Command.device_id)
        .where(Device.information_system_id == system_id, Device.local_id == local_id)
    )
    if command_id is not None:
        command = session.scalar(statement.where(Command.id == command_id))
        if command is None:
            return f"no command {command_id} was sent to {local_id}"
        if name is not None and name != command.name:
            return f"command {command_id} is '{command.name}', not '{name}'"
        if command.status not in OPEN_STATUSES:
            return f"command {command_id} is already {command.status}"
        return command
    if name is None:
        return 'a reply names its command, {"<command>": <result>, "commandId": <id>}'
    command = session.scalar(
        statement.where(Command.name == name, Command.status == "sent").order_by(Command.sent_at, Command.id).limit(1)
    )
    return command if command is not None else f"no '{name}' command of {local_id} awaits a reply"


# --- waking the dispatchers of this process -------------------------------------------------

_CREATED = "icity.command_created"  # session.info flag: this transaction queued a command
_wakers: set[threading.Event] = set()
_wakers_lock = threading.Lock()


def add_waker(wake: threading.Event) -> None:
    """`wake` is set after each commit in this process that queued a command."""
    with _wakers_lock:
        _wakers.add(wake)


def remove_waker(wake: threading.Event) -> None:
    with _wakers_lock:
        _wakers.discard(wake)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_CREATED, False):
        with _wakers_lock:
            for wake in _wakers:
                wake.set()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CREATED, None)
