"""The app portal: certified apps and the cities where each works, filterable by city."""

from __future__ import annotations

from fastapi import APIRouter, Request

from icity.api.deps import SessionDep
from icity.services import app_portal, cities
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

EVERY_CITY = 1000  # the network is a few dozen cities


@router.get("/apps")
def portal_page(request: Request, viewer: ViewerDep, session: SessionDep, city: str | None = None):
    city = city or None  # the form's "All cities" sends an empty value
    members = cities.list_cities(session, level=None, limit=EVERY_CITY, cursor=None).items
    listed = app_portal.portal_apps(session, city=city)
    return render(
        request,
        "app_portal/index.html",
        apps=listed,
        priced_data=app_portal.priced_data_of(session, [a["id"] for a in listed]),
        cities=sorted(members, key=lambda c: c["name"]),
        chosen_city=next((c for c in members if c["id"] == city), None),
        city=city,
    )
