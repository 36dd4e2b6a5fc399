"""Temporal consumption: GET /temporal/entities, GET /temporal/entities/{id},
POST /temporal/entityOperations/query (CIM 009 5.7.3, 5.7.4), on services/history.py.

Entities are selected exactly as GET /entities selects them (query.entity_match and
services.entities.match_entities: the caller's access rules), then their history is read.
Time windows are half-open: `before` is t < timeAt, `after` is t ≥ timeAt, `between` is
timeAt ≤ t < endTimeAt, so that before and after split the timeline and `between` periods tile.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from icity.api.deps import PrincipalDep, ReadSessionDep
from icity.api.middleware import served
from icity.errors import ICityError
from icity.ngsi_ld.contexts import Context
from icity.ngsi_ld.errors import bad_request_data, resource_not_found
from icity.ngsi_ld.http import MAX_LIMIT, Body, LinkContext, Tenant, accepted, answer, body_context, link_context, paging, tenant_scope
from icity.ngsi_ld.query import _check_uri, attribute_names, entity_match, type_selection
from icity.ngsi_ld.temporal_representation import (
    AGGREGATED, METHODS, NORMALIZED, TEMPORAL_VALUES, TemporalView, wire_time, aggregated_entity, temporal_entity,
)  # fmt: skip
from icity.services import entities, history
from icity.services.access import Principal
from icity.services.filters import parse_time

router = APIRouter(tags=["NGSI-LD"])

MAX_INSTANCES = 1000  # per attribute in one answer; more: 206 and a Content-Range to continue from
TIMERELS = ("before", "after", "between")
OPTIONS = {TEMPORAL_VALUES, AGGREGATED, "normalized", "count"}
DURATION = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


@dataclass(frozen=True)
class TemporalRequest:
    """What a temporal query asks beyond the entity selection: the window, the form, lastN, aggregation."""

    window: history.TimeWindow
    view: TemporalView
    last: int | None
    period: history.Period


# an instance's createdAt and modifiedAt are both when the platform stored it: a correction stores it again
TIME_PROPERTIES = {None: history.OBSERVED, "observedAt": history.OBSERVED, "createdAt": history.RECORDED,
                   "modifiedAt": history.RECORDED}  # fmt: skip


def time_window(timerel: str | None, time_at: str | None, end_time_at: str | None, timeproperty: str | None,
                attrs: frozenset[str] | None) -> history.TimeWindow:  # fmt: skip
    if timeproperty not in TIME_PROPERTIES:
        raise bad_request_data(f"timeproperty must be one of {', '.join(filter(None, TIME_PROPERTIES))}", param="timeproperty")
    time = TIME_PROPERTIES[timeproperty]
    attributes = tuple(sorted(attrs)) if attrs else ()
    if timerel is None:
        if time_at is not None or end_time_at is not None:
            raise bad_request_data("timeAt and endTimeAt go with timerel (before, after or between)", param="timerel")
        return history.TimeWindow(time=time, attributes=attributes)
    if timerel not in TIMERELS:
        raise bad_request_data(f"timerel must be one of {', '.join(TIMERELS)}", param="timerel")
    if time_at is None:
        raise bad_request_data(f"timerel={timerel} needs timeAt", param="timeAt")
    at = _instant("timeAt", time_at)
    if timerel == "before":
        return history.TimeWindow(time=time, end=at, attributes=attributes)
    if timerel == "after":
        return history.TimeWindow(time=time, start=at, attributes=attributes)
    if end_time_at is None:
        raise bad_request_data("timerel=between needs endTimeAt", param="endTimeAt")
    end = _instant("endTimeAt", end_time_at)
    if end <= at:
        raise bad_request_data("endTimeAt must be after timeAt", param="endTimeAt")
    return history.TimeWindow(time=time, start=at, end=end, attributes=attributes)


def _instant(param: str, text: str) -> datetime:
    try:
        return parse_time(param, text)
    except ICityError:
        raise bad_request_data(f"{param} must be an ISO 8601 date-time with a time zone, e.g. 2024-05-01T00:00:00Z", param=param) from None


def period_of(text: str | None) -> history.Period:
    """An ISO 8601 duration: whole months and years are calendar periods, the rest seconds; 0: the whole window."""
    if text is None:
        return history.Period()
    found = DURATION.match(text)
    if not found or text in ("P", "PT") or text.endswith("T"):
        raise bad_request_data(f"aggrPeriodDuration '{text}' is not an ISO 8601 duration such as PT15M, PT1H, P1D, P1M", param="aggrPeriodDuration")
    years, months, weeks, days, hours, minutes, seconds = (int(part or 0) for part in found.groups())
    months += 12 * years
    seconds += 60 * minutes + 3600 * hours + 86400 * (days + 7 * weeks)
    if months and seconds:
        raise bad_request_data(
            "aggrPeriodDuration: give months (or years) or a fixed duration, not both (calendar months vary in length)",
            param="aggrPeriodDuration",
        )
    return history.Period(seconds=seconds, months=months)


def temporal_request(
    context: Context, window: history.TimeWindow, options: str | None, format_: str | None, last_n: int | None,
    aggr_methods: str | None, aggr_period: str | None,
) -> TemporalRequest:  # fmt: skip
    chosen = [o.strip() for o in (options or "").split(",") if o.strip()]
    unknown = [o for o in chosen if o not in OPTIONS]
    if unknown:
        raise bad_request_data(f"options: '{unknown[0]}' is not an option here ({', '.join(sorted(OPTIONS))})", param="options")
    forms = {o for o in chosen if o in (TEMPORAL_VALUES, AGGREGATED, "normalized")}
    if format_ is not None:
        if format_ not in (TEMPORAL_VALUES, AGGREGATED, NORMALIZED):
            raise bad_request_data(f"format must be one of {NORMALIZED}, {TEMPORAL_VALUES}, {AGGREGATED}", param="format")
        forms = {format_}
    if len(forms) > 1:
        raise bad_request_data("options: choose one representation (temporalValues, aggregatedValues or normalized)", param="options")
    form = forms.pop() if forms else NORMALIZED
    if last_n is not None and last_n < 1:
        raise bad_request_data("lastN must be a positive integer", param="lastN")
    methods: tuple[str, ...] = ()
    if form == AGGREGATED:
        methods = tuple(dict.fromkeys(m.strip() for m in (aggr_methods or "").split(",") if m.strip()))
        if not methods:
            raise bad_request_data(f"options=aggregatedValues needs aggrMethods ({', '.join(METHODS)})", param="aggrMethods")
        wrong = [m for m in methods if m not in METHODS]
        if wrong:
            raise bad_request_data(f"aggrMethods: '{wrong[0]}' is not one of {', '.join(METHODS)}", param="aggrMethods")
    elif aggr_methods is not None or aggr_period is not None:
        raise bad_request_data("aggrMethods and aggrPeriodDuration go with options=aggregatedValues", param="options")
    return TemporalRequest(window, TemporalView(context, form, methods), last_n, period_of(aggr_period))


def _answer(request: Request, session: Session, rows: list[Any], total: int | None, asked: TemporalRequest, media_type: str,
            single: bool = False):  # fmt: skip
    served(request, (row.information_system_id for row in rows))
    ids = [row.id for row in rows]
    headers = {"NGSILD-Results-Count": str(total)} if total is not None else {}
    status = 200
    if asked.view.form == AGGREGATED:
        measures = tuple(METHODS[m] for m in asked.view.methods)
        found = history.aggregate(session, ids, asked.window, measures, asked.period)
        bodies = [aggregated_entity(row, found.get(row.id, {}), asked.view) for row in rows]
    else:
        series = history.observations(session, ids, asked.window, last=asked.last, cap=MAX_INSTANCES)
        bodies = [temporal_entity(row, series.values.get(row.id, {}), asked.view) for row in rows]
        if series.cut:
            status = 206
            headers["Content-Range"] = _content_range(series, asked)
    return answer(bodies[0] if single else bodies, media_type, asked.view.context, status_code=status, headers=headers)


def _content_range(series: history.Series, asked: TemporalRequest) -> str:
    """CIM 009 6.3.10: the time range the cut answer covers completely; back from the end for lastN."""
    if series.complete_from is not None:
        newest = asked.window.end or max(at for attrs in series.values.values() for items in attrs.values() for at, _ in items)
        return f"date-time {wire_time(newest)}-{wire_time(series.complete_from)}/{asked.last}"
    oldest = asked.window.start or min(items[0][0] for attrs in series.values.values() for items in attrs.values() if items)
    return f"date-time {wire_time(oldest)}-{wire_time(series.complete_until)}/*"


@router.get("/temporal/entities", summary="Query the temporal evolution of entities (CIM 009 5.7.4)")
def query_temporal(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    context: LinkContext,
    tenant: Tenant,
    id: Annotated[str | None, Query(description="Entity ids, comma-separated.")] = None,
    idPattern: Annotated[str | None, Query()] = None,
    type: Annotated[str | None, Query(description="Entity types (type selection language).")] = None,
    attrs: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="NGSI-LD query language, on the entities' current values.")] = None,
    georel: Annotated[str | None, Query()] = None,
    geometry: Annotated[str | None, Query()] = None,
    coordinates: Annotated[str | None, Query()] = None,
    geoproperty: Annotated[str | None, Query()] = None,
    timerel: Annotated[str | None, Query(description="before (t < timeAt), after (t ≥ timeAt), between (timeAt ≤ t < endTimeAt).")] = None,
    timeAt: Annotated[str | None, Query()] = None,
    endTimeAt: Annotated[str | None, Query()] = None,
    timeproperty: Annotated[str | None, Query()] = None,
    lastN: Annotated[int | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int | None, Query()] = None,
    count: Annotated[bool, Query()] = False,
    options: Annotated[str | None, Query(description="temporalValues or aggregatedValues; count.")] = None,
    format: Annotated[str | None, Query()] = None,
    aggrMethods: Annotated[str | None, Query(description="totalCount, distinctCount, sum, avg, min, max, stddev, sumsq.")] = None,
    aggrPeriodDuration: Annotated[str | None, Query(description="An ISO 8601 duration: PT15M, PT1H, P1D, P1M; PT0S: the whole window.")] = None,
):
    from icity.ngsi_ld.geo_query import parse_geo_query

    media_type = accepted(request, allow_geo=False)
    if not any((id, idPattern, type, attrs, q, georel)):
        raise bad_request_data("Select entities: give at least one of id, idPattern, type, attrs, q or georel")
    projection = attribute_names(attrs, context) if attrs else None
    count = count or "count" in (options or "").split(",")
    limit_, offset_ = paging(limit, offset, count)
    window = time_window(timerel, timeAt, endTimeAt, timeproperty, projection)
    asked = temporal_request(context, window, options, format, lastN, aggrMethods, aggrPeriodDuration)
    match = entity_match(
        context, tenant, ids=[i.strip() for i in id.split(",") if i.strip()] if id else None, id_pattern=idPattern,
        types=type, attrs=projection, q=q, geo=parse_geo_query(georel, geometry, coordinates), geoproperty=geoproperty,
        limit=limit_, offset=offset_, count=count,
    )  # fmt: skip
    matched = entities.match_entities(session, principal, match)
    return _answer(request, session, matched.rows if limit_ else [], matched.total, asked, media_type)


@router.get("/temporal/entities/{entity_id}", summary="Retrieve the temporal evolution of an entity (CIM 009 5.7.3)")
def retrieve_temporal(
    entity_id: str,
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    attrs: Annotated[str | None, Query()] = None,
    type: Annotated[str | None, Query()] = None,
    timerel: Annotated[str | None, Query()] = None,
    timeAt: Annotated[str | None, Query()] = None,
    endTimeAt: Annotated[str | None, Query()] = None,
    timeproperty: Annotated[str | None, Query()] = None,
    lastN: Annotated[int | None, Query()] = None,
    options: Annotated[str | None, Query()] = None,
    format: Annotated[str | None, Query()] = None,
    aggrMethods: Annotated[str | None, Query()] = None,
    aggrPeriodDuration: Annotated[str | None, Query()] = None,
):
    # the context and tenant read here rather than as dependencies: each sync dependency costs a
    # thread hop, a tenth of this route's time (bench/query.py, query (c))
    context, tenant = link_context(request), tenant_scope(request, session)
    media_type = accepted(request, allow_geo=False)
    _check_uri(entity_id)
    projection = attribute_names(attrs, context) if attrs else None
    window = time_window(timerel, timeAt, endTimeAt, timeproperty, projection)
    asked = temporal_request(context, window, options, format, lastN, aggrMethods, aggrPeriodDuration)
    rows = readable_entity(session, principal, tenant, entity_id, type, context)
    return _answer(request, session, rows, None, asked, media_type, single=True)


def readable_entity(session: Session, principal: Principal, tenant: tuple[str | None, str | None], entity_id: str,
                    type_: str | None, context: Context) -> list[Any]:  # fmt: skip
    admitted = type_selection(type_, context) if type_ else ()
    match = entities.EntityMatch(
        ids=(entity_id,), types=admitted, nothing=bool(type_) and not admitted, city=tenant[0],
        information_system=tenant[1], limit=1,
    )  # fmt: skip
    rows = entities.match_entities(session, principal, match).rows
    if not rows:
        raise resource_not_found(f"No entity with id {entity_id} (or you may not read it)")
    return rows


@router.post("/temporal/entityOperations/query", summary="Query temporal evolution with a Query in the body (CIM 009 5.7.4)")
def query_temporal_in_body(
    request: Request,
    body: Body,
    session: ReadSessionDep,
    principal: PrincipalDep,
    tenant: Tenant,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int | None, Query()] = None,
    count: Annotated[bool, Query()] = False,
    lastN: Annotated[int | None, Query()] = None,
    options: Annotated[str | None, Query()] = None,
    format: Annotated[str | None, Query()] = None,
    aggrMethods: Annotated[str | None, Query()] = None,
    aggrPeriodDuration: Annotated[str | None, Query()] = None,
):
    from icity.ngsi_ld.geo_query import parse_geo_query_body

    media_type = accepted(request, allow_geo=False)
    context = body_context(request, body)
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise bad_request_data('The body is a Query: {"type": "Query", "entities": [{"type": "..."}], "temporalQ": {...}, ...}')
    selectors = body.get("entities") or [{}]
    if not isinstance(selectors, list) or not all(isinstance(s, dict) for s in selectors):
        raise bad_request_data("entities is a list of {id, idPattern, type} selectors", param="entities")
    temporal_q = body.get("temporalQ") or {}
    if not isinstance(temporal_q, dict):
        raise bad_request_data("temporalQ is an object: {timerel, timeAt, endTimeAt, timeproperty}", param="temporalQ")
    attrs = attribute_names(body.get("attrs"), context) if body.get("attrs") is not None else None
    q, geo = body.get("q"), parse_geo_query_body(body.get("geoQ")) if body.get("geoQ") is not None else None
    if not (body.get("entities") or attrs or q or geo):
        raise bad_request_data("Select entities: give entities, attrs, q or geoQ")
    limit_, offset_ = paging(limit, offset, count)
    window = time_window(temporal_q.get("timerel"), temporal_q.get("timeAt"), temporal_q.get("endTimeAt"),
                         temporal_q.get("timeproperty"), attrs)  # fmt: skip
    asked = temporal_request(context, window, options, format, lastN if lastN is not None else temporal_q.get("lastN"),
                             aggrMethods, aggrPeriodDuration)  # fmt: skip
    found: dict[str, Any] = {}
    for selector in selectors:  # each selector is one query; their union, in id order, is paged
        match = entity_match(
            context, tenant, ids=[selector["id"]] if isinstance(selector.get("id"), str) else None,
            id_pattern=selector.get("idPattern"), types=selector.get("type"), attrs=attrs, q=q, geo=geo,
            geoproperty=(body.get("geoQ") or {}).get("geoproperty"), limit=MAX_LIMIT * 10, offset=0, count=False,
        )  # fmt: skip
        for row in entities.match_entities(session, principal, match).rows:
            found.setdefault(row.id, row)
    rows = [found[key] for key in sorted(found)]
    return _answer(request, session, rows[offset_: offset_ + limit_], len(rows) if count else None, asked, media_type)
