"""The platform admin's developer approvals: accounts waiting for approval, approved
developers (to suspend) and suspended ones (to reinstate). services/accounts decides
which decision applies to which account and tells the developer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.access_schemas import ReasonIn
from icity.api.deps import SessionDep, TransactionDep
from icity.api.schemas import RowId
from icity.errors import ICityError
from icity.services import accounts
from icity.services.access import Principal, require_admin
from icity.web import session as web_session
from icity.web.forms import first_problem
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

SECTION_SIZE = 100  # accounts per section; the approved ones page on with a cursor
# what a redirect after a decision says (a fixed text per outcome: nothing from the URL is shown)
DONE = {
    "approve": "The account is approved: its owner is told by message and mail, and can now create apps and keys.",
    "refuse": "The account is refused: its owner is told why by mail.",
    "suspend": "The account is suspended: its sessions and API keys stopped working, and its owner is told why.",
}


def _approvals_page(
    request: Request, session: Session, viewer: Principal, *, status_code: int = 200, error: str | None = None,
    error_user: int | None = None, posted_reason: str = "",
):  # fmt: skip
    require_admin(viewer)

    def developers(status: str, cursor: str | None = None):
        return accounts.list_users(session, viewer, status=status, role="developer", limit=SECTION_SIZE, cursor=cursor)

    return render(
        request,
        "accounts_admin/developers.html",
        status_code=status_code,
        pending=developers("pending"),
        approved=developers("approved", request.query_params.get("approved_cursor") or None),
        suspended=developers("suspended"),
        error=error,
        error_user=error_user,
        posted_reason=posted_reason,
        done=DONE.get(request.query_params.get("done", "")),
    )


@router.get("/admin/developers")
def approvals_page(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _approvals_page(request, session, viewer)


@router.post("/admin/developers/{user_id}/{decision}", dependencies=[Depends(web_session.check_csrf)])
def decide(
    request: Request,
    user_id: RowId,
    decision: Literal["approve", "refuse", "suspend"],
    viewer: ViewerDep,
    session: TransactionDep,
    reason: Annotated[str, Form()] = "",
):
    require_admin(viewer)
    try:
        # a reason is checked as the API checks it; a missing one is left to the service,
        # which refuses a refusal or a suspension without one in words the admin acts on
        given = ReasonIn.model_validate({"reason": reason}).reason if reason.strip() else None
        accounts.decide_user(session, viewer, user_id, decision, given)
    except ValidationError as error:
        return _approvals_page(
            request, session, viewer, status_code=400, error=first_problem(error, {"reason": "Reason"}), error_user=user_id,
            posted_reason=reason,
        )  # fmt: skip
    except ICityError as error:
        session.rollback()  # a refused decision writes nothing
        return _approvals_page(
            request, session, viewer, status_code=error.status, error=error.detail, error_user=user_id, posted_reason=reason
        )
    return RedirectResponse(f"/admin/developers?done={decision}", status_code=303)
