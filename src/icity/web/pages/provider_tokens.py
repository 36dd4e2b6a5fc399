"""An IS's provider tokens under /manage: issue one (its secret shown once, with the exact curl and
mosquitto_pub lines that push with it), list them, revoke one. The services decide who may
(services/provider_tokens.py: the IS's publisher admins, the platform admin) and audit it."""

from __future__ import annotations

import json
import shlex
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.api.schemas import RowId
from icity.config import get_settings
from icity.errors import ICityError
from icity.services import catalogue, devices, provider_tokens
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.forms import first_problem
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

MANAGE = "/manage/information-systems"
DONE = {"revoked": "The token is revoked: its next push is refused (over MQTT, within 30 s)."}


def _page(request: Request, session: Session, viewer: Principal, system_id: str, status_code: int = 200, **extra: Any):
    tokens = provider_tokens.list_tokens(session, viewer, system_id)  # refuses who does not manage it
    return render(
        request,
        "manage/provider_tokens.html",
        status_code=status_code,
        system=catalogue.get_system(session, viewer, system_id),
        tokens=tokens,
        providers=catalogue.list_providers(session, viewer, system_id),
        done=DONE.get(request.query_params.get("done", "")),
        **extra,
    )


@router.get(MANAGE + "/{city_id}/{slug}/provider-tokens")
def tokens_page(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _page(request, session, viewer, f"{city_id}/{slug}")


@router.post(MANAGE + "/{city_id}/{slug}/provider-tokens", dependencies=[Depends(web_session.check_csrf)])
def issue_token(
    request: Request,
    city_id: str,
    slug: str,
    viewer: ViewerDep,
    session: TransactionDep,
    provider: Annotated[str, Form()] = "",
    provider_name: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
):
    system_id = f"{city_id}/{slug}"
    try:
        token = provider_tokens.issue_token(
            session, viewer, system_id, int(provider) if provider.isdigit() else None, provider_name, name.strip()[:200]
        )
    except ICityError as error:
        session.rollback()
        if error.status in (401, 403, 404) and not error.param:
            raise
        return _page(request, session, viewer, system_id, error.status, error=first_problem(error))
    # answered here, not after a redirect: the secret exists only in this answer
    return _page(request, session, viewer, system_id, new_token=token, lines=push_lines(session, viewer, system_id, token["token"]))


@router.post(MANAGE + "/{city_id}/{slug}/provider-tokens/{token_id}/revoke", dependencies=[Depends(web_session.check_csrf)])
def revoke_token(request: Request, city_id: str, slug: str, token_id: RowId, viewer: ViewerDep, session: TransactionDep):
    system_id = f"{city_id}/{slug}"
    try:
        provider_tokens.revoke_token(session, viewer, system_id, token_id)
    except ICityError as error:
        session.rollback()
        if error.status in (401, 403):
            raise
        return _page(request, session, viewer, system_id, error.status, error=first_problem(error))
    return RedirectResponse(f"{MANAGE}/{system_id}/provider-tokens?done=revoked", status_code=303)


def push_lines(session: Session, viewer: Principal, system_id: str, token: str) -> dict[str, Any]:
    """The curl line that pushes over HTTP, and the mosquitto_pub line for MQTT when the platform
    listens to a broker: as the README documents them, for one of the IS's devices."""
    device, attribute, value = _example(session, viewer, system_id)
    settings = get_settings()
    body = {"measures": [{"device": device, "observedAt": "__NOW__", "values": {attribute: value}}]}
    now = '"$(date -u +%Y-%m-%dT%H:%M:%SZ)"'
    data = json.dumps(body).replace('"__NOW__"', '"\'' + now + '\'"')  # the shell puts the time of sending
    url = f"{settings.public_url}/api/v1/information-systems/{system_id}/observations"
    curl = (
        f"curl -sf -X POST {shlex.quote(url)} \\\n  -H {shlex.quote('Authorization: Bearer ' + token)} "
        f"-H 'Content-Type: application/json' \\\n  -d '{data}'"
    )
    mqtt = None
    if settings.mqtt_url:
        broker = urlsplit(settings.mqtt_url)
        payload = json.dumps({attribute: value, "TimeInstant": "__NOW__"}).replace('"__NOW__"', '"\'' + now + '\'"')
        mqtt = (
            f"mosquitto_pub -h {broker.hostname} -p {broker.port or 1883} -V 5 -q 1 "
            f"-D publish user-property authorization {shlex.quote('Bearer ' + token)} \\\n"
            f"  -t icity/{system_id}/{device}/attrs \\\n  -m '{payload}'"
        )
    return {"device": device, "attribute": attribute, "curl": curl, "mqtt": mqtt}


def _example(session: Session, viewer: Principal, system_id: str) -> tuple[str, str, Any]:
    """A device of the IS that reports into an entity, one of that entity's numeric attributes and
    a plausible value of it (its latest, a little changed, so that a try shows on the chart)."""
    for device in devices.list_devices(session, viewer, system_id):
        if device["entity"]:
            shown = devices.get_device(session, viewer, system_id, device["id"])
            if shown["charts"]:
                attribute = sorted(shown["charts"])[0]
                latest = shown["latest"][attribute]
                return device["id"], attribute, latest + 1 if isinstance(latest, int) else round(latest * 1.1 + 0.1, 2)
    return "<device>", "<attribute>", 0
