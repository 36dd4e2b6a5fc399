"""Harmonised entities: filtered lists (JSON or GeoJSON), single entities, history."""

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, ReadSessionDep
from icity.api.middleware import served
from icity.api.responses import GEO_JSON, JSONResponse, json_page
from icity.api.schemas import EntityPublic, History, Page, Problem
from icity.services import entities, filters

router = APIRouter(tags=["entities"])

BAD_PARAMETER = {400: {"model": Problem, "description": "A parameter is malformed; `param` names it."}}


def feature(item: dict[str, Any]) -> dict[str, Any]:
    """An entity as a GeoJSON Feature: its location the geometry (null where it has none), the rest its properties."""
    properties = {k: v for k, v in item.items() if k not in ("id", "location")}
    return {"type": "Feature", "id": item["id"], "geometry": item["location"], "properties": properties}


def feature_collection(page: dict[str, Any]) -> dict[str, Any]:
    features = [feature(item) for item in page["items"]]
    body: dict[str, Any] = {"type": "FeatureCollection", "features": features, "nextCursor": page["nextCursor"]}
    if "totalCount" in page:
        body["totalCount"] = page["totalCount"]
    return body


@router.get(
    "/entities",
    response_model=Page[EntityPublic],
    summary="Query harmonised entities across cities",
    description=(
        "Filters combine with AND. Send `Accept: application/geo+json` for a GeoJSON FeatureCollection. "
        "The same query returns the same shape in every city: that is what makes apps portable."
    ),
    responses={**BAD_PARAMETER, 200: {"content": {GEO_JSON: {}}}},
)
def list_entities(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    type: Annotated[str | None, Query(description="Smart Data Model type.", examples=["AirQualityObserved"])] = None,
    city: Annotated[str | None, Query(examples=["barcelona"])] = None,
    information_system: Annotated[str | None, Query(alias="informationSystem", examples=["barcelona/air-quality"])] = None,
    category: Annotated[str | None, Query(examples=["environment"])] = None,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat (WGS84)", examples=["2.15,41.37,2.20,41.40"])] = None,
    near: Annotated[str | None, Query(description="lat,lon,radius in metres", examples=["41.3874,2.1686,500"])] = None,
    q: Annotated[
        str | None,
        Query(description="Attribute filters joined by `;` with ==, !=, >, >=, <, <= (`==a,b` means any of)", examples=["no2>40;airQualityLevel==moderate"]),
    ] = None,
    observed_from: Annotated[str | None, Query(alias="observedFrom", description="observedAt ≥ this (ISO 8601)", examples=["2024-05-01T00:00:00Z"])] = None,
    observed_to: Annotated[str | None, Query(alias="observedTo", description="observedAt < this (ISO 8601)", examples=["2024-05-02T00:00:00Z"])] = None,
    sort: Annotated[str, Query(description=", ".join(entities.SORTS))] = "id",
    count: Annotated[bool, Query(description="Also return totalCount.")] = False,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
):
    query = entities.EntityQuery(
        type=type,
        city=city,
        information_system=information_system,
        category=category,
        bbox=filters.parse_bbox(bbox) if bbox is not None else None,
        near=filters.parse_near(near) if near is not None else None,
        conditions=tuple(filters.parse_q(q, type)) if q else (),
        observed_from=filters.parse_time("observedFrom", observed_from) if observed_from else None,
        observed_to=filters.parse_time("observedTo", observed_to) if observed_to else None,
        sort=sort,
        limit=limit,
        cursor=cursor,
        count=count,
    )
    page = entities.query_entities(session, principal, query).as_dict()
    served(request, (item["informationSystem"] for item in page["items"]))
    if accept and GEO_JSON in accept:
        return json_page(feature_collection(page), request, media_type=GEO_JSON)
    return json_page(page, request)


@router.get(
    "/entities/{entity_id}",
    response_model=EntityPublic,
    summary="One entity's current state",
    responses={404: {"model": Problem, "description": "No such entity (or not readable by you)"}},
)
def get_entity(entity_id: str, request: Request, session: ReadSessionDep, principal: PrincipalDep):
    entity = entities.get_entity(session, principal, entity_id)
    served(request, [entity["informationSystem"]])
    return JSONResponse(entity)


@router.get(
    "/entities/{entity_id}/history",
    response_model=History,
    summary="History of an entity's time-varying attributes, raw or aggregated",
    description="Without `aggregate`: raw values, paginated. With `aggregate` and `interval`: one value per time bucket (UTC-aligned).",
    responses={**BAD_PARAMETER, 404: {"model": Problem}},
)
def entity_history(
    entity_id: str,
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    attribute: Annotated[str | None, Query(examples=["no2"])] = None,
    start: Annotated[str | None, Query(alias="from", description="observedAt ≥ this (ISO 8601)", examples=["2024-05-01T00:00:00Z"])] = None,
    end: Annotated[str | None, Query(alias="to", description="observedAt < this (ISO 8601)", examples=["2024-05-08T00:00:00Z"])] = None,
    aggregate: Annotated[str | None, Query(description=", ".join(entities.AGGREGATES), examples=["avg"])] = None,
    interval: Annotated[str | None, Query(description="Bucket length: 15m, 1h, 1d…", examples=["1h"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    body = entities.entity_history(
        session,
        principal,
        entity_id,
        attribute=attribute,
        start=filters.parse_time("from", start) if start else None,
        end=filters.parse_time("to", end) if end else None,
        aggregate=aggregate,
        interval_s=filters.parse_interval(interval) if interval else None,
        limit=limit,
        cursor=cursor,
    )
    served(request, [body["informationSystem"]])
    return JSONResponse(body)
