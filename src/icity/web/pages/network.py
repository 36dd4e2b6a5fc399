"""The city network: the home page (map and figures) and each city's page."""

from __future__ import annotations

from fastapi import APIRouter, Request

from icity.api.deps import SessionDep
from icity.services import app_portal, catalogue, cities, figures
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

EVERY_CITY = 1000  # the network is a few dozen cities: one page holds them all


@router.get("/")
def home(request: Request, viewer: ViewerDep, session: SessionDep):
    network = cities.list_cities(session, level="all", limit=EVERY_CITY, cursor=None).items
    return render(
        request,
        "home.html",
        cities=network,
        figures=figures.network_figures(session),
        categories=catalogue.list_categories(session),
    )


@router.get("/cities/{city_id}")
def city_page(request: Request, city_id: str, viewer: ViewerDep, session: SessionDep):
    city = cities.get_city(session, city_id)
    systems = catalogue.list_systems(session, viewer, city=city_id, limit=EVERY_CITY, cursor=None).items
    by_category: dict[str, list[dict]] = {}
    for system in systems:
        if system["status"] in cities.OPEN_STATUSES:
            by_category.setdefault(system["category"], []).append(system)
    return render(
        request,
        "city.html",
        city=city,
        systems_by_category=by_category,
        categories={c["id"]: c["name"] for c in catalogue.list_categories(session)},
        apps=app_portal.portal_apps(session, city=city_id),  # the app portal's own rule of where an app works
    )
