"""Owners opening IS located in a city: the city's admins see the opening notices of their cities
and object (with a reason) before the deadline, or lift an objection; an owner's admins follow their
own. services/openings decides who sees and may do what, as the API does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.api.owner_schemas import ObjectionIn
from icity.api.schemas import RowId
from icity.errors import ICityError
from icity.services import catalogue, cities, openings
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

PAGE = "/manage/opening-notices"
# what a redirect after a form says (a fixed text per outcome)
DONE = {
    "objected": "The objection is recorded: the system stays closed, and its owner is told why.",
    "lifted": "The objection is lifted: the owner may ask to open the system again.",
}


def _notices(session: Session, viewer: Principal) -> list[dict[str, Any]]:
    """The notices the viewer deals with, each with its IS (name, city, publisher) and what the viewer may do."""
    notices = openings.list_notices(session, viewer)
    for notice in notices:
        system = catalogue.get_system(session, viewer, notice["informationSystem"])
        notice["system"] = system
        notice["cityName"] = cities.get_city_row(session, system["city"]).name
        notice["mayObject"] = viewer.administers(system["city"])  # the city where it lies decides, not the owner
    return notices


def _page(request: Request, session: Session, viewer: Principal, status_code: int = 200, **extra: Any):
    notices = _notices(session, viewer)
    done = request.query_params.get("done", "")
    return render(
        request,
        "manage/opening_notices.html",
        status_code=status_code,
        standing=[n for n in notices if n["status"] in ("pending", "objected")],
        settled=[n for n in notices if n["status"] not in ("pending", "objected")],
        done=DONE.get(done),
        **extra,
    )


@router.get(PAGE)
def notices_page(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _page(request, session, viewer)


@router.post(PAGE + "/{notice_id}/object", dependencies=[Depends(web_session.check_csrf)])
def object_to(request: Request, notice_id: RowId, viewer: ViewerDep, session: TransactionDep, reason: Annotated[str, Form()] = ""):
    try:
        given = ObjectionIn.model_validate({"reason": reason}).reason  # checked as the API checks it
        openings.object_to(session, viewer, notice_id, given)
    except ValidationError:
        return _page(request, session, viewer, 400, error="Say why the city objects: the owner is told.", failed=notice_id)
    except ICityError as error:
        session.rollback()  # a refused objection writes nothing
        return _page(request, session, viewer, error.status, error=error.detail, failed=notice_id)
    return RedirectResponse(f"{PAGE}?done=objected", status_code=303)


@router.post(PAGE + "/{notice_id}/lift", dependencies=[Depends(web_session.check_csrf)])
def lift_objection(request: Request, notice_id: RowId, viewer: ViewerDep, session: TransactionDep):
    try:
        openings.lift_objection(session, viewer, notice_id)
    except ICityError as error:
        session.rollback()
        return _page(request, session, viewer, error.status, error=error.detail, failed=notice_id)
    return RedirectResponse(f"{PAGE}?done=lifted", status_code=303)
