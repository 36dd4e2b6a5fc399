"""The data explorer: entities on a map, filtered by type and city; an entity's
attributes and the chart of an attribute's history come from the API (same rules)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from icity.api.deps import SessionDep
from icity.services import catalogue, cities, entities, readings
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

MAX_ON_MAP = 1000  # the API's largest page


@router.get("/explorer")
def explorer_page(request: Request, viewer: ViewerDep, session: SessionDep, type: str | None = None, city: str | None = None):
    chosen = {"type": type or None, "city": city or None}
    page = entities.query_entities(
        session, viewer, entities.EntityQuery(type=chosen["type"], city=chosen["city"], limit=MAX_ON_MAP, count=True)
    )
    types = catalogue.offered_entity_types(session, viewer)
    return render(
        request,
        "explorer.html",
        chosen=chosen,
        entities=page.items,
        total=page.total or 0,
        entity_types=types,
        cities=cities.list_cities(session, level="all", limit=1000, cursor=None).items,
        chart_specs=readings.chart_specs(session, viewer, {(e["informationSystem"], e["type"]) for e in page.items}),
        gis_layers=readings.gis_layers(session, viewer, [chosen["city"]] if chosen["city"] else {e["city"] for e in page.items}),
    )
