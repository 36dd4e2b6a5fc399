"""A city's decisions on access to its `approval` IS — approve, refuse or revoke with a
reason — and the use apps make of its IS. services/access_requests and services/usage
decide who sees and decides what (a city admin: their own cities; the platform admin: all)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.access_schemas import ReasonIn
from icity.api.deps import SessionDep, TransactionDep
from icity.api.schemas import RowId
from icity.errors import ICityError
from icity.services import access_requests
from icity.services.access import Principal, require_any_admin
from icity.web import session as web_session
from icity.web.charts import usage_chart
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

LISTED = 1000
USAGE_DAYS = 30
# the past participle each decision is announced with
DECIDED = {"approve": "approved", "refuse": "refused", "revoke": "revoked"}
REASON_NEEDED = {
    "refuse": "Say why you refuse this request: the developer is told.",
    "revoke": "Say why you revoke this grant: the developer is told.",
}


def _requests_page(request: Request, session: Session, viewer: Principal, status_code: int = 200, **extra: Any):
    require_any_admin(viewer)

    def listed(status: str | None, newest_first: bool = False) -> list[dict[str, Any]]:
        return access_requests.list_requests(
            session, viewer, status=status, system_id=None, app_id=None, limit=LISTED, cursor=None, newest_first=newest_first
        ).items

    decided = request.query_params.get("decided", "")
    return render(
        request,
        "manage/access_requests.html",
        status_code=status_code,
        pending=listed("pending"),  # every one waiting, oldest first: however many were decided before
        approved=listed("approved"),
        closed=[r for r in listed(None, newest_first=True) if r["status"] not in ("pending", "approved")],
        decided=decided if decided in DECIDED.values() else None,
        **extra,
    )


@router.get("/manage/access-requests")
def requests_page(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _requests_page(request, session, viewer)


@router.post("/manage/access-requests/{request_id}/{action}", dependencies=[Depends(web_session.check_csrf)])
def decide(
    request: Request, request_id: RowId, action: str, viewer: ViewerDep, session: TransactionDep, reason: Annotated[str, Form()] = ""
):
    if action not in DECIDED:
        return _requests_page(request, session, viewer, 404, error="There is no such decision: approve, refuse or revoke.")
    try:
        # a refusal or revocation is checked as the API checks it (ReasonIn), then by the service
        given = ReasonIn.model_validate({"reason": reason}).reason if action in REASON_NEEDED else None
        access_requests.decide(session, viewer, request_id, action, given)
    except ValidationError:
        return _requests_page(request, session, viewer, 400, error=REASON_NEEDED[action], failed=request_id)
    except ICityError as error:
        session.rollback()  # a refused decision writes nothing
        return _requests_page(request, session, viewer, error.status, error=error.detail, failed=request_id)
    return RedirectResponse(f"/manage/access-requests?decided={DECIDED[action]}", status_code=303)


@router.get("/manage/usage")
def usage_page(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    require_any_admin(viewer)
    chart = usage_chart(session, viewer, USAGE_DAYS)
    return render(request, "manage/usage.html", usage_chart=chart, usage_days=USAGE_DAYS)
