"""The catalogue across cities and the page of one information system."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.access_schemas import AccessRequestIn
from icity.api.deps import SessionDep, TransactionDep
from icity.api.schemas import RowId
from icity.config import get_settings
from icity.datamodels import get_registry
from icity.datamodels.measures import units_of
from icity.errors import ICityError
from icity.services import access_requests, apps, catalogue, cities, entities, offers, owners, readings
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.forms import blank_as_none
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
ENTITIES_SHOWN = 500  # on the IS page's map; the table shows the first TABLE_ROWS
TABLE_ROWS = 25


@router.get("/catalogue")
def catalogue_page(
    request: Request,
    viewer: ViewerDep,
    session: SessionDep,
    city: str | None = None,
    category: str | None = None,
    accessPolicy: str | None = None,  # noqa: N803 — the API's parameter names
    entityType: str | None = None,  # noqa: N803
    q: str | None = None,
    publisher: str | None = None,
    cursor: str | None = None,
):
    chosen = {
        "city": blank_as_none(city),
        "category": blank_as_none(category),
        "accessPolicy": blank_as_none(accessPolicy),
        "entityType": blank_as_none(entityType),
        "q": (q or "").strip(),
        "publisher": blank_as_none(publisher),
    }
    page = catalogue.list_systems(
        session,
        viewer,
        city=chosen["city"],
        category=chosen["category"],
        access_policy=chosen["accessPolicy"],
        entity_type=chosen["entityType"],
        text=chosen["q"] or None,
        publisher=chosen["publisher"],
        limit=PAGE_SIZE,
        cursor=blank_as_none(cursor),
    )
    network = cities.list_cities(session, level="all", limit=1000, cursor=None).items
    categories = catalogue.list_categories(session)
    return render(
        request,
        "catalogue.html",
        systems=page.items,
        next_cursor=page.next_cursor,
        chosen=chosen,
        cities=network,
        city_names={c["id"]: c["name"] for c in network},
        owners=owners.list_owners(session, viewer),  # publishers besides the cities
        categories=categories,
        category_names={c["id"]: c["name"] for c in categories},
        policies=catalogue.ACCESS_POLICIES,
        entity_types=catalogue.offered_entity_types(session, viewer),
    )


def _data_models(entity_types: list[str], provided: set[str], properties_out: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each entity type's attributes, as the Smart Data Models describe them (with the unit the
    model gives, else the one the system declares); those the system's entities carry (`provided`) first."""
    registry = get_registry()
    models = []
    for entity_type in entity_types:
        model = registry.get(entity_type)
        units = units_of(entity_type, properties_out)
        attributes = [] if model is None else [
            {"name": a.name, "description": a.description, "units": units.get(a.name), "types": sorted(a.types),
             "provided": a.name in provided}
            for a in sorted(model.attributes.values(), key=lambda a: (a.name not in provided, a.name))
        ]  # fmt: skip
        models.append({"type": entity_type, "subject": model.subject if model else "", "attributes": attributes})
    return models


def _developer_keys(session: Session, viewer: Principal) -> tuple[list[dict], list[dict]]:
    """The signed-in developer's active apps and their usable keys (prefixes only: secrets are never stored)."""
    if not (viewer.kind == "user" and viewer.is_developer and viewer.approved):
        return [], []
    own_apps = apps.list_apps(session, viewer, status="active", limit=100, cursor=None).items
    keys = [
        {"app": app["name"], **key}
        for app in own_apps
        for key in apps.list_keys(session, viewer, app["id"])
        if key["active"]
    ]
    return own_apps, keys


def _system_page(request: Request, session: Session, viewer: Principal, system_id: str, **extra: Any):
    system = catalogue.get_system(session, viewer, system_id)
    shown: list[dict] = []
    total = 0
    if system["canRead"]:
        page = entities.query_entities(
            session, viewer, entities.EntityQuery(information_system=system_id, limit=ENTITIES_SHOWN, count=True)
        )
        shown, total = page.items, page.total or 0
    own_apps, keys = _developer_keys(session, viewer)
    requests = []
    if own_apps:
        requests = access_requests.list_requests(
            session, viewer, status=None, system_id=system_id, app_id=None, limit=100, cursor=None
        ).items
    offer = offers.offer_summary(session, system_id)
    accepted_apps = []
    if own_apps and offer["current"] and offer["current"]["priced"]:
        accepted = offers.accepting_apps(session, [a["id"] for a in own_apps], system_id, offer["current"]["version"])
        accepted_apps = [a["name"] for a in own_apps if a["id"] in accepted]
    return render(
        request,
        "information_system.html",
        offer=offer,
        accepted_apps=accepted_apps,
        system=system,
        city=cities.get_city_row(session, system["city"]),
        category=dict((c["id"], c["name"]) for c in catalogue.list_categories(session)).get(system["category"]),
        data_models=_data_models(system["entityTypes"], {name for entity in shown for name in entity}, system["propertiesOut"]),
        entities=shown,
        entities_total=total,
        table_rows=TABLE_ROWS,
        points=[{"id": e["id"], "type": e["type"], "location": e["location"]} for e in shown if e.get("location")],
        gis_layers=readings.gis_layers(session, viewer, [system["city"]]),
        own_apps=own_apps,
        keys=keys,
        access_requests=requests,
        # on an open IS a request is only for commands (they act on the physical world)
        commands_need_request=system["accessPolicy"] != "approval" and access_requests.accepts_commands(session, system_id),
        public_url=get_settings().public_url.rstrip("/"),
        **extra,
    )


@router.get("/information-systems/{city_id}/{slug}")
def system_page(
    request: Request, city_id: str, slug: str, viewer: ViewerDep, session: SessionDep, requested: bool = False, offer_accepted: bool = False
):
    return _system_page(request, session, viewer, f"{city_id}/{slug}", requested=requested, offer_accepted=offer_accepted)


@router.post("/information-systems/{city_id}/{slug}/access-requests", dependencies=[Depends(web_session.check_csrf)])
def request_access(
    request: Request,
    city_id: str,
    slug: str,
    viewer: ViewerDep,
    session: TransactionDep,
    app: Annotated[RowId, Form()],
    purpose: Annotated[str, Form()],
    offer_version: Annotated[int | None, Form()] = None,
):
    system_id = f"{city_id}/{slug}"
    try:  # the API's checks of the request, then the service's
        body = AccessRequestIn.model_validate({"app": app, "informationSystem": system_id, "purpose": purpose})
    except ValidationError:
        return _system_page(
            request, session, viewer, system_id, status_code=400,
            request_error="Say in a sentence or two (10 characters or more) what the app will do with the data.",
        )  # fmt: skip
    try:
        access_requests.request_access(
            session, viewer, app_id=body.app, system_id=system_id, purpose=body.purpose, offer_version=offer_version
        )
    except ICityError as error:
        session.rollback()  # a refused request writes nothing
        return _system_page(request, session, viewer, system_id, status_code=error.status, request_error=error.detail)
    return RedirectResponse(f"/information-systems/{system_id}?requested=1", status_code=303)


@router.post("/information-systems/{city_id}/{slug}/offer-acceptances", dependencies=[Depends(web_session.check_csrf)])
def accept_offer(
    request: Request,
    city_id: str,
    slug: str,
    viewer: ViewerDep,
    session: TransactionDep,
    app: Annotated[RowId, Form()],
    version: Annotated[int, Form()],
    agree: Annotated[str, Form()] = "",
):
    system_id = f"{city_id}/{slug}"
    if agree != "yes":
        return _system_page(request, session, viewer, system_id, status_code=400, offer_error="Tick the box to accept the offer's terms.")
    try:
        offers.accept_offer(session, viewer, app, system_id, version)
    except ICityError as error:
        session.rollback()  # a refused acceptance writes nothing
        return _system_page(request, session, viewer, system_id, status_code=error.status, offer_error=error.detail)
    return RedirectResponse(f"/information-systems/{system_id}?offer_accepted=1", status_code=303)
