"""The platform admin's certification queue and review form (services/certification decides)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.certification_schemas import ReviewIn
from icity.api.deps import SessionDep, TransactionDep
from icity.api.schemas import RowId
from icity.errors import ICityError
from icity.services import apps, certification
from icity.services.access import Principal, require_admin
from icity.web import session as web_session
from icity.web.forms import first_problem
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

QUEUE_PAGE = 100


@router.get("/admin/certification")
def queue_page(
    request: Request, viewer: ViewerDep, session: SessionDep, cursor: str | None = None, decided: RowId | None = None
):
    if redirect := sign_in_first(request, viewer):
        return redirect
    page = certification.queue(session, viewer, limit=QUEUE_PAGE, cursor=cursor or None)
    return render(
        request,
        "certification/queue.html",
        queue=page.items,
        next_cursor=page.next_cursor,
        decided=apps.get_app(session, viewer, decided) if decided else None,
    )


def _review_page(
    request: Request, session: Session, viewer: Principal, app_id: int, *, probe: bool = False, status_code: int = 200,
    error: str | None = None, posted: dict[str, Any] | None = None,
):  # fmt: skip
    require_admin(viewer)
    return render(
        request,
        "certification/review.html",
        status_code=status_code,
        app=apps.get_app(session, viewer, app_id),
        certification=certification.get_certification(session, viewer, app_id, probe_links=probe),
        probed=probe,
        error=error,
        posted=posted or {},
    )


@router.get("/admin/certification/{app_id}")
def review_page(request: Request, app_id: RowId, viewer: ViewerDep, session: TransactionDep, probe: bool = False):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _review_page(request, session, viewer, app_id, probe=probe)


def _review_body(form: dict[str, str]) -> ReviewIn:
    """The form as the API's review body, so that pages and API accept the same."""
    checklist = {
        check: {
            "passed": {"pass": True, "fail": False}.get(form.get(f"{check}_passed", "")),
            "note": form.get(f"{check}_note", ""),
        }
        for check in certification.CHECKS
    }
    return ReviewIn.model_validate(
        {"decision": form.get("decision"), "comments": form.get("comments") or None, "checklist": checklist}
    )


@router.post("/admin/certification/{app_id}", dependencies=[Depends(web_session.check_csrf)])
def decide(
    request: Request,
    app_id: RowId,
    viewer: ViewerDep,
    session: TransactionDep,
    decision: Annotated[str, Form()] = "",
    comments: Annotated[str, Form()] = "",
    dataUse_passed: Annotated[str, Form()] = "",  # noqa: N803 — named after the checks
    dataUse_note: Annotated[str, Form()] = "",  # noqa: N803
    links_passed: Annotated[str, Form()] = "",
    links_note: Annotated[str, Form()] = "",
    description_passed: Annotated[str, Form()] = "",
    description_note: Annotated[str, Form()] = "",
):
    form = {
        "decision": decision, "comments": comments, "dataUse_passed": dataUse_passed, "dataUse_note": dataUse_note,
        "links_passed": links_passed, "links_note": links_note, "description_passed": description_passed,
        "description_note": description_note,
    }  # fmt: skip
    try:
        body = _review_body(form)
        certification.review(
            session, viewer, app_id, decision=body.decision, comments=body.comments, checklist=body.verdicts()
        )
    except ValidationError as error:
        return _review_page(request, session, viewer, app_id, status_code=400, error=first_problem(error), posted=form)
    except ICityError as error:
        session.rollback()  # a refused decision writes nothing
        return _review_page(request, session, viewer, app_id, status_code=error.status, error=error.detail, posted=form)
    return RedirectResponse(f"/admin/certification?decided={app_id}", status_code=303)
