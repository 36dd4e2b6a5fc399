"""The developer dashboard: apps and their certification, API keys (a new secret is
shown once, in the answer to the form that made it, and never stored), access
requests, messages, and usage per app and IS. Every action is a service call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.access_schemas import AppIn
from icity.api.deps import SessionDep, TransactionDep
from icity.api.schemas import RowId
from icity.errors import ICityError
from icity.services import access_requests, apps, certification, messages
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.forms import problems
from icity.web.charts import usage_chart
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

USAGE_DAYS = 30
MESSAGES_SHOWN = 20
# what a redirect after a form says (a fixed text per outcome: nothing from the URL is shown)
DONE = {
    "created": "Your app is created. Create a key for it, and submit it for certification to list it in the app portal.",
    "submitted": "Submitted: the network coordinator reviews it against the checklist and tells you the outcome.",
    "revoked": "The key is revoked: the next request with it is refused.",
    "read": "Marked as read.",
}


def _dashboard(request: Request, session: Session, viewer: Principal, status_code: int = 200, **extra: Any):
    if not (viewer.is_developer and viewer.approved):
        return render(request, "developer/not_developer.html", status_code=status_code)
    own_apps = apps.list_apps(session, viewer, status="active", limit=100, cursor=None).items
    for app in own_apps:
        app["keys"] = apps.list_keys(session, viewer, app["id"])
        app["certificationDetail"] = certification.get_certification(session, viewer, app["id"])
    return render(
        request,
        "developer/dashboard.html",
        status_code=status_code,
        apps=own_apps,
        requests=access_requests.list_requests(
            session, viewer, status=None, system_id=None, app_id=None, limit=100, cursor=None, newest_first=True
        ).items,
        inbox=messages.inbox(session, viewer, limit=MESSAGES_SHOWN),
        usage_chart=usage_chart(session, viewer, USAGE_DAYS),
        usage_days=USAGE_DAYS,
        done=DONE.get(request.query_params.get("done", "")),
        **extra,
    )


@router.get("/dashboard")
def dashboard(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _dashboard(request, session, viewer)


def _refused(request: Request, session: Session, viewer: Principal, error: ICityError, **extra: Any):
    session.rollback()  # a refused action writes nothing
    return _dashboard(request, session, viewer, status_code=error.status, error=error.detail, **extra)


# the app form's labels, by the API field each fills
FIELD_LABELS = {
    "name": "Name", "description": "Description", "entityTypes": "Entity types", "functionalities": "Functionalities",
    "advantages": "Advantages", "platforms": "Download or launch link",
}  # fmt: skip


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/dashboard/apps", dependencies=[Depends(web_session.check_csrf)])
def create_app(
    request: Request,
    viewer: ViewerDep,
    session: TransactionDep,
    name: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    entity_types: Annotated[str, Form()] = "",
    functionalities: Annotated[str, Form()] = "",
    advantages: Annotated[str, Form()] = "",
    platform: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
):
    posted = {
        "name": name, "description": description, "entity_types": entity_types, "functionalities": functionalities,
        "advantages": advantages, "platform": platform, "url": url,
    }  # fmt: skip
    try:
        body = AppIn.model_validate(
            {
                "name": name,
                "description": description.strip(),
                "entityTypes": [t.strip() for t in entity_types.split(",") if t.strip()],
                "functionalities": _lines(functionalities),
                "advantages": _lines(advantages),
                "platforms": [{"platform": platform.strip() or "web", "url": url.strip()}] if url.strip() else [],
            }
        )
        created = apps.create_app(session, viewer, body.model_dump(mode="json"))
    except ValidationError as error:
        return _dashboard(request, session, viewer, status_code=400, app_error="; ".join(problems(error, FIELD_LABELS)), posted=posted)
    except ICityError as error:
        return _refused(request, session, viewer, error, posted=posted)
    return RedirectResponse(f"/dashboard?done=created#app-{created['id']}", status_code=303)


@router.post("/dashboard/apps/{app_id}/submission", dependencies=[Depends(web_session.check_csrf)])
def submit_app(request: Request, app_id: RowId, viewer: ViewerDep, session: TransactionDep, note: Annotated[str, Form()] = ""):
    try:
        certification.submit(session, viewer, app_id, note[:2000])
    except ICityError as error:
        return _refused(request, session, viewer, error)
    return RedirectResponse(f"/dashboard?done=submitted#app-{app_id}", status_code=303)


@router.post("/dashboard/apps/{app_id}/keys", dependencies=[Depends(web_session.check_csrf)])
def create_key(request: Request, app_id: RowId, viewer: ViewerDep, session: TransactionDep, name: Annotated[str, Form()] = ""):
    try:
        key = apps.create_key(session, viewer, app_id, name.strip()[:100])
    except ICityError as error:
        return _refused(request, session, viewer, error)
    # answered here, not after a redirect: the secret exists only in this answer
    return _dashboard(request, session, viewer, new_key={"app": app_id, **key})


@router.post("/dashboard/apps/{app_id}/keys/{key_id}/rotate", dependencies=[Depends(web_session.check_csrf)])
def rotate_key(request: Request, app_id: RowId, key_id: RowId, viewer: ViewerDep, session: TransactionDep):
    try:
        key = apps.rotate_key(session, viewer, app_id, key_id, None)
    except ICityError as error:
        return _refused(request, session, viewer, error)
    return _dashboard(request, session, viewer, new_key={"app": app_id, **key})


@router.post("/dashboard/apps/{app_id}/keys/{key_id}/revoke", dependencies=[Depends(web_session.check_csrf)])
def revoke_key(request: Request, app_id: RowId, key_id: RowId, viewer: ViewerDep, session: TransactionDep):
    try:
        apps.revoke_key(session, viewer, app_id, key_id)
    except ICityError as error:
        return _refused(request, session, viewer, error)
    return RedirectResponse(f"/dashboard?done=revoked#app-{app_id}", status_code=303)
