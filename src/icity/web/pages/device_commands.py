"""A device's commands for those who manage its IS: the commands it declares, each with a form
generated from its parameters' JSON Schema, and the history of those sent, newest first, which
the page follows to acknowledged / failed / expired by polling a small JSON view of itself.
Sending is services/commands.send, as POST /api/v1/…/devices/{device}/commands."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.errors import ICityError
from icity.services import catalogue, commands
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.forms import problems
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render
from icity.web.schema_forms import fields_of, parameters_of

router = APIRouter(include_in_schema=False)

HISTORY_SHOWN = 50
LABELS = {"parameters": "Parameters", "command": "Command", "expiresInS": "Expires in"}
DONE = {"sent": "The command is queued for the device: its status below follows it."}
PAGE = "/manage/information-systems/{city_id}/{slug}/devices/{local_id}/commands"


def _page(
    request: Request, session: Session, viewer: Principal, system_id: str, local_id: str, status_code: int = 200, **extra: Any
):
    device = commands.managed_device(session, viewer, system_id, local_id)  # refuses whoever does not manage the IS
    system = catalogue.get_system(session, viewer, system_id)
    history = commands.list_commands(session, viewer, system_id, local_id, limit=HISTORY_SHOWN, cursor=None).items
    declared = [
        {**command, "fields": fields_of(command.get("parameters", {}))}
        for command in device["commands"] or []
        if isinstance(command, dict) and "name" in command
    ]
    return render(
        request,
        "manage/commands.html",
        status_code=status_code,
        system=system,
        device=device,
        declared=declared,
        history=history,
        following=any(command["status"] in commands.OPEN_STATUSES for command in history),
        done=DONE.get(request.query_params.get("done", "")),
        **extra,
    )


@router.get(PAGE)
def commands_page(request: Request, city_id: str, slug: str, local_id: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _page(request, session, viewer, f"{city_id}/{slug}", local_id)


@router.get(f"{PAGE}/history.json")
def history_json(request: Request, city_id: str, slug: str, local_id: str, viewer: ViewerDep, session: SessionDep):
    """What the page polls while a command is on its way: the history as the API shows it."""
    if viewer.kind != "user":
        return JSONResponse({"detail": "Sign in first."}, status_code=401)
    system_id = f"{city_id}/{slug}"
    try:
        commands.managed_device(session, viewer, system_id, local_id)
        history = commands.list_commands(session, viewer, system_id, local_id, limit=HISTORY_SHOWN, cursor=None).items
    except ICityError as error:
        return JSONResponse({"detail": error.detail}, status_code=error.status)
    return JSONResponse({"items": history})


@router.post(f"{PAGE}/{{name}}", dependencies=[Depends(web_session.check_csrf)])
def send_command(request: Request, city_id: str, slug: str, local_id: str, name: str, viewer: ViewerDep, session: TransactionDep):
    system_id = f"{city_id}/{slug}"
    posted = {key: value for key, value in request.state.form.items() if isinstance(value, str)}
    try:
        device = commands.managed_device(session, viewer, system_id, local_id)
        declared = next((c for c in device["commands"] or [] if isinstance(c, dict) and c.get("name") == name), {})
        parameters = parameters_of(declared.get("parameters", {}), posted)
        commands.send(session, viewer, system_id, local_id, name, parameters)
    except ICityError as error:
        session.rollback()
        if error.status in (401, 403, 404):
            raise  # not theirs to command: the error page, as for a GET
        return _page(
            request, session, viewer, system_id, local_id, error.status,
            errors=problems(error, LABELS), refused=name, posted=posted,
        )  # fmt: skip
    return RedirectResponse(f"{PAGE.format(city_id=city_id, slug=slug, local_id=local_id)}?done=sent#history", status_code=303)
