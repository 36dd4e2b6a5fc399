"""A city's service requests (Open311 reports) for its admins, where iCity is the city's 311 back end:
the open ones oldest first, each closed or annotated with a note. services/service_requests decides
who sees and changes what (a city admin: their own cities; the platform admin: all)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.errors import ICityError
from icity.services import service_requests
from icity.services.access import Principal, require_any_admin
from icity.web import session as web_session
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)
PAGE = "/manage/service-requests"


def _page(request: Request, session: Session, viewer: Principal, city: str | None, status_code: int = 200, **extra):
    require_any_admin(viewer)
    cities = service_requests.handled_cities(session, viewer)
    if not cities:  # none of the admin's cities has iCity as its 311 back end
        return render(request, "manage/service_requests.html", status_code=status_code, cities=[], city=None, **extra)
    chosen = city if city in cities else cities[0]
    updated = request.query_params.get("updated")
    return render(
        request, "manage/service_requests.html", status_code=status_code, cities=cities, city=chosen,
        open_requests=service_requests.queue(session, viewer, chosen, status="open"),
        closed_requests=service_requests.queue(session, viewer, chosen, status="closed")[-50:][::-1],
        updated=updated, **extra,
    )  # fmt: skip


@router.get(PAGE)
def queue_page(request: Request, viewer: ViewerDep, session: SessionDep, city: str | None = None):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _page(request, session, viewer, city)


@router.post(PAGE + "/{city_id}/{request_id}", dependencies=[Depends(web_session.check_csrf)])
def change_status(
    request: Request,
    city_id: str,
    request_id: str,
    viewer: ViewerDep,
    session: TransactionDep,
    status: Annotated[str, Form()] = "",
    status_notes: Annotated[str, Form()] = "",
    agency_responsible: Annotated[str, Form()] = "",
    expected_datetime: Annotated[str, Form()] = "",
):
    try:
        service_requests.update_status(
            session, viewer, city_id, request_id, status, status_notes.strip() or None, agency_responsible.strip() or None,
            expected_datetime.strip() or None,
        )  # fmt: skip
    except ICityError as error:
        session.rollback()  # a refused change writes nothing
        return _page(request, session, viewer, city_id, error.status, error=error.detail, failed=request_id)
    return RedirectResponse(f"{PAGE}?city={city_id}&updated={request_id}", status_code=303)
