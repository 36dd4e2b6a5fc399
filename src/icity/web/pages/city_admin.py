"""The publisher admin's pages: the IS I manage with their connectors' health, and one IS's
page — its status, how its data arrives (its connector's health and harvest runs, what its devices push), "harvest now", its entities on a
map. For city admins (the IS their cities publish), infrastructure owners' admins (the IS their
owners publish, in whichever city they lie) and the platform admin (every IS); the services
refuse everyone else, as the API does."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep, after_response
from icity.api.source_schemas import StatusIn
from icity.errors import ICityError
from icity.services import access_requests, catalogue, cities, data_arrival, entities, harvest, openings, owners
from icity.services.access import Principal, require_any_admin
from icity.web import session as web_session
from icity.web.forms import problems
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

RUNS_SHOWN = 20
ENTITIES_ON_MAP = 500
LISTED = 1000  # IS of a city, pending requests: far more than any city has
# what a redirect after a form says (a fixed text per outcome: nothing from the URL is shown)
DONE = {
    "saved": "The source is saved and its first harvest has started: its runs are below.",
    "harvest": "A harvest has started: this page shows its outcome when you reload it.",
    "status": "The status is changed.",
    "opening": "The city where it lies is told: it opens at the end of the objection period unless the city objects.",
}


def managed_publishers(session: Session, viewer: Principal) -> list[dict[str, str]]:
    """Whom the viewer publishes for, by name: its cities, or its infrastructure owners; every city
    for the platform admin."""
    require_any_admin(viewer)
    if viewer.role == "owner_admin":
        return [{"id": o["id"], "name": o["name"]} for o in owners.list_owners(session, viewer) if o["id"] in viewer.owner_ids]
    return cities.managed_cities(session, viewer)


def _own_systems(session: Session, viewer: Principal) -> list[dict[str, Any]]:
    """The IS the viewer administers, with how their data arrives (the services decide which)."""
    systems = []
    for publisher in managed_publishers(session, viewer):
        # the platform admin: everything in each city; a city admin: what its city publishes, not the
        # owners' IS lying in it (it may object to those, not run them); an owner admin: its owner's
        where = {"city": publisher["id"]} if viewer.is_admin else {"publisher": publisher["id"]}
        systems += catalogue.list_systems(session, viewer, **where, limit=LISTED, cursor=None).items
    for system in systems:
        system["arrival"] = data_arrival.arrival(session, viewer, system["id"], counts=False)
    return systems


@router.get("/manage")
def home(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    systems = _own_systems(session, viewer)
    pending = access_requests.list_requests(
        session, viewer, status="pending", system_id=None, app_id=None, limit=LISTED, cursor=None
    ).items
    notices = openings.list_notices(session, viewer)  # owners opening IS in my cities, or my owners' openings
    return render(
        request,
        "manage/home.html",
        publishers=managed_publishers(session, viewer),
        notices_waiting=sum(1 for n in notices if n["status"] == "pending"),
        systems=systems,
        pending_total=len(pending),
        pending_by_system=Counter(item["informationSystem"] for item in pending),
    )


def _system_page(request: Request, session: Session, viewer: Principal, system_id: str, status_code: int = 200, **extra: Any):
    arrival = data_arrival.arrival(session, viewer, system_id)  # its publisher's admins only
    system = catalogue.get_system(session, viewer, system_id)
    runs = harvest.list_runs(session, viewer, system_id, limit=RUNS_SHOWN, cursor=None).items
    shown = entities.query_entities(
        session, viewer, entities.EntityQuery(information_system=system_id, limit=ENTITIES_ON_MAP, count=True)
    )
    notice = openings.pending_notice(session, system_id) if system["publisher"]["kind"] == "owner" else None
    return render(
        request,
        "manage/system.html",
        status_code=status_code,
        system=system,
        opening_notice=openings.notice_dict(notice) if notice else None,
        city=cities.get_city_row(session, system["city"]),
        source=arrival["harvest"],
        pushed=arrival["push"],
        runs=runs,
        running=any(run["status"] == "running" for run in runs),
        next_statuses=catalogue.NEXT_STATUSES[system["status"]],
        entities_total=shown.total or 0,
        points=[{"id": e["id"], "type": e["type"], "location": e["location"]} for e in shown.items if e.get("location")],
        done=DONE.get(request.query_params.get("done", "")),
        **extra,
    )


@router.get("/manage/information-systems/{city_id}/{slug}")
def system_page(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _system_page(request, session, viewer, f"{city_id}/{slug}")


@router.post("/manage/information-systems/{city_id}/{slug}/harvests", dependencies=[Depends(web_session.check_csrf)])
def harvest_now(request: Request, city_id: str, slug: str, viewer: ViewerDep, session: TransactionDep, tasks: BackgroundTasks):
    system_id = f"{city_id}/{slug}"
    try:
        run = harvest.start_run(session, viewer, system_id, trigger="manual")
    except ICityError as error:
        session.rollback()
        return _system_page(request, session, viewer, system_id, error.status, error=error.detail)
    # read once this transaction is committed, after the answer (as POST /api/v1/…/harvests does)
    after_response(tasks, harvest.execute_run, run["id"], request.app.state.database_url)
    return RedirectResponse(f"/manage/information-systems/{system_id}?done=harvest#runs", status_code=303)


@router.post("/manage/information-systems/{city_id}/{slug}/status", dependencies=[Depends(web_session.check_csrf)])
def change_status(
    request: Request, city_id: str, slug: str, viewer: ViewerDep, session: TransactionDep, status: Annotated[str, Form()] = ""
):
    system_id = f"{city_id}/{slug}"
    try:
        changed = catalogue.change_status(session, viewer, system_id, StatusIn.model_validate({"status": status}).status)
    except (ValidationError, ICityError) as error:
        session.rollback()  # e.g. below level pilot: nothing changes
        code = error.status if isinstance(error, ICityError) else 400
        return _system_page(request, session, viewer, system_id, code, error="; ".join(problems(error, {"status": "Status"})))
    done = "opening" if (changed["openingNotice"] or {}).get("status") == "pending" else "status"
    return RedirectResponse(f"/manage/information-systems/{system_id}?done={done}", status_code=303)
