"""Consumption: GET /entities, GET /entities/{id}, POST /entityOperations/query (CIM 009 5.7)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from icity.api.deps import PrincipalDep, ReadSessionDep
from icity.api.middleware import served
from icity.ngsi_ld.contexts import Context, stored_name
from icity.ngsi_ld.errors import bad_request_data, resource_not_found
from icity.ngsi_ld.http import GEO_JSON, MAX_LIMIT, Body, LinkContext, Tenant, accepted, answer, body_context, paging
from icity.ngsi_ld.representation import CONCISE, NORMALIZED, SIMPLIFIED, View, feature, render
from icity.services import entities

router = APIRouter(tags=["NGSI-LD"])

FORMATS = {"normalized": NORMALIZED, "keyValues": SIMPLIFIED, "simplified": SIMPLIFIED, "concise": CONCISE}
OPTIONS = {"keyValues", "simplified", "concise", "normalized", "sysAttrs", "count", "noOverwrite", "replace", "update"}
TYPE_TOKEN = re.compile(r"[^,;|()]+")


def view_of(context: Context, options: str | None, format_: str | None, attrs: frozenset[str] | None) -> View:
    chosen = [o.strip() for o in (options or "").split(",") if o.strip()]
    unknown = [o for o in chosen if o not in OPTIONS]
    if unknown:
        raise bad_request_data(f"options: '{unknown[0]}' is not an option ({', '.join(sorted(OPTIONS))})", param="options")
    forms = {FORMATS[o] for o in chosen if o in FORMATS}
    if format_ is not None:
        if format_ not in FORMATS:
            raise bad_request_data(f"format must be one of {', '.join(FORMATS)}", param="format")
        forms = {FORMATS[format_]}
    if len(forms) > 1:
        raise bad_request_data("options: choose one representation (keyValues, concise or normalized)", param="options")
    return View(context, forms.pop() if forms else NORMALIZED, attrs, "sysAttrs" in chosen)


def attribute_names(text: str | list[str] | None, context: Context, param: str = "attrs") -> frozenset[str] | None:
    names = text.split(",") if isinstance(text, str) else text
    if names is None:
        return None
    stored = [stored_name(n.strip(), context) for n in names if isinstance(n, str) and n.strip()]
    if not stored:
        raise bad_request_data(f"{param} names no attribute", param=param)
    return frozenset(stored)


def type_selection(text: str, context: Context) -> tuple[str, ...]:
    """The types a type selection (`A,B`, `A|B`, `(A;B)`) admits; each entity here has one type, so an
    AND of two different types admits none (an empty tuple)."""
    if not text.strip():
        raise bad_request_data("type names no type", param="type")
    admitted: list[str] = []
    for alternative in re.split(r"[,|]", text.replace("(", "").replace(")", "")):
        terms = {stored_name(t.strip(), context) for t in alternative.split(";") if t.strip()}
        if not terms:
            raise bad_request_data(f"type: cannot read '{text}'", param="type")
        if len(terms) == 1:
            admitted.append(terms.pop())
    return tuple(dict.fromkeys(admitted))


def entity_match(
    context: Context,
    tenant: tuple[str | None, str | None],
    *,
    ids: list[str] | None,
    id_pattern: str | None,
    types: str | None,
    attrs: frozenset[str] | None,
    q: str | None,
    geo: Any,
    geoproperty: str | None,
    limit: int,
    offset: int,
    count: bool,
    with_times: bool = False,
) -> entities.EntityMatch:
    from icity.ngsi_ld.query_language import parse_q

    pattern = None
    if id_pattern is not None:
        try:
            pattern = re.compile(id_pattern)
        except re.error as error:
            raise bad_request_data(f"idPattern is not a regular expression: {error}", param="idPattern") from None
    expression = parse_q(q, lambda term: stored_name(term, context)) if q else None
    admitted = type_selection(types, context) if types is not None else ()
    return entities.EntityMatch(
        ids=tuple(ids or ()),
        id_pattern=pattern,
        types=admitted,
        nothing=types is not None and not admitted,
        city=tenant[0],
        information_system=tenant[1],
        attributes_any=tuple(sorted(attrs)) if attrs else (),
        expression=expression,
        geo=geo,
        geo_attribute=stored_name(geoproperty, context) if geoproperty else "location",
        offset=offset,
        limit=limit,
        count=count,
        with_times=with_times,
    )


def _respond(request: Request, rows: list[Any], total: int | None, view: View, media_type: str, geometry_property: str | None) -> Any:
    bodies = [render(row, view) for row in rows]
    served(request, (row.information_system_id for row in rows))
    headers = {"NGSILD-Results-Count": str(total)} if total is not None else {}
    if media_type == GEO_JSON:
        collection = {"type": "FeatureCollection", "features": [feature(b, geometry_property or "location", view) for b in bodies]}
        return answer(collection, GEO_JSON, view.context, headers=headers)
    return answer(bodies, media_type, view.context, headers=headers)


@router.get("/entities", summary="Query entities (CIM 009 5.7.2)")
def query_entities(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    context: LinkContext,
    tenant: Tenant,
    id: Annotated[str | None, Query(description="Entity ids, comma-separated.")] = None,
    idPattern: Annotated[str | None, Query()] = None,
    type: Annotated[str | None, Query(description="Entity types (type selection language).")] = None,
    attrs: Annotated[str | None, Query()] = None,
    pick: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query(description="NGSI-LD query language.")] = None,
    georel: Annotated[str | None, Query()] = None,
    geometry: Annotated[str | None, Query()] = None,
    coordinates: Annotated[str | None, Query()] = None,
    geoproperty: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int | None, Query()] = None,
    count: Annotated[bool, Query()] = False,
    options: Annotated[str | None, Query()] = None,
    format: Annotated[str | None, Query()] = None,
    local: Annotated[bool, Query()] = False,
):
    from icity.ngsi_ld.geo_query import parse_geo_query

    media_type = accepted(request)
    projection = attribute_names(attrs or pick, context, "attrs" if attrs else "pick") if (attrs or pick) else None
    if not any((id, idPattern, type, attrs, pick, q, georel, local)):
        raise bad_request_data("Select entities: give at least one of id, idPattern, type, attrs, q or georel")
    limit_, offset_ = paging(limit, offset, count)
    geo = parse_geo_query(georel, geometry, coordinates)
    view = view_of(context, options, format, projection)
    match = entity_match(
        context, tenant, ids=[i.strip() for i in id.split(",") if i.strip()] if id else None, id_pattern=idPattern,
        types=type, attrs=attribute_names(attrs, context) if attrs else None, q=q, geo=geo, geoproperty=geoproperty,
        limit=limit_, offset=offset_, count=count, with_times=view.sys_attrs,
    )  # fmt: skip
    if limit_ == 0:
        matched = entities.match_entities(session, principal, match)
        return _respond(request, [], matched.total, view, media_type, geoproperty)
    matched = entities.match_entities(session, principal, match)
    return _respond(request, matched.rows, matched.total, view, media_type, geoproperty)


@router.get("/entities/{entity_id}", summary="Retrieve an entity (CIM 009 5.7.1)")
def retrieve_entity(
    entity_id: str,
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    context: LinkContext,
    tenant: Tenant,
    attrs: Annotated[str | None, Query()] = None,
    pick: Annotated[str | None, Query()] = None,
    type: Annotated[str | None, Query()] = None,
    options: Annotated[str | None, Query()] = None,
    format: Annotated[str | None, Query()] = None,
    geometryProperty: Annotated[str | None, Query()] = None,
):
    media_type = accepted(request)
    _check_uri(entity_id)
    projection = attribute_names(attrs or pick, context) if (attrs or pick) else None
    admitted = type_selection(type, context) if type else ()
    match = entities.EntityMatch(
        ids=(entity_id,), types=admitted, nothing=bool(type) and not admitted, city=tenant[0],
        information_system=tenant[1], limit=1, with_times=True,
    )  # fmt: skip
    rows = entities.match_entities(session, principal, match).rows
    if not rows:
        raise resource_not_found(f"No entity with id {entity_id} (or you may not read it)")
    view = view_of(context, options, format, projection)
    body = render(rows[0], view)
    served(request, [rows[0].information_system_id])
    if media_type == GEO_JSON:
        return answer(feature(body, geometryProperty or "location", view), GEO_JSON, context)
    return answer(body, media_type, context)


def _check_uri(entity_id: str) -> None:
    if ":" not in entity_id or any(c.isspace() for c in entity_id):
        raise bad_request_data(f"'{entity_id}' is not a URI: entity ids are URIs, e.g. urn:ngsi-ld:Type:local-id", param="id")


@router.post("/entityOperations/query", summary="Query entities with a Query in the body (CIM 009 5.7.2)")
def query_in_body(
    request: Request,
    body: Body,
    session: ReadSessionDep,
    principal: PrincipalDep,
    tenant: Tenant,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int | None, Query()] = None,
    count: Annotated[bool, Query()] = False,
    options: Annotated[str | None, Query()] = None,
    format: Annotated[str | None, Query()] = None,
):
    from icity.ngsi_ld.geo_query import parse_geo_query_body

    media_type = accepted(request, allow_geo=False)
    context = body_context(request, body)
    if not isinstance(body, dict) or body.get("type") != "Query":
        raise bad_request_data('The body is a Query: {"type": "Query", "entities": [{"type": "..."}], "q": "...", ...}')
    selectors = body.get("entities") or [{}]
    if not isinstance(selectors, list) or not all(isinstance(s, dict) for s in selectors):
        raise bad_request_data("entities is a list of {id, idPattern, type} selectors", param="entities")
    attrs = attribute_names(body.get("attrs"), context) if body.get("attrs") is not None else None
    q, geo = body.get("q"), parse_geo_query_body(body.get("geoQ")) if body.get("geoQ") is not None else None
    if not (body.get("entities") or attrs or q or geo):
        raise bad_request_data("Select entities: give entities, attrs, q or geoQ")
    limit_, offset_ = paging(limit, offset, count)
    # each selector is one query; their union, in id order, is paged
    found: dict[str, Any] = {}
    for selector in selectors:
        match = entity_match(
            context, tenant, ids=[selector["id"]] if isinstance(selector.get("id"), str) else None,
            id_pattern=selector.get("idPattern"), types=selector.get("type"), attrs=attrs, q=q, geo=geo,
            geoproperty=(body.get("geoQ") or {}).get("geoproperty"), limit=MAX_LIMIT * 10, offset=0, count=False,
            with_times=True,
        )  # fmt: skip
        for row in entities.match_entities(session, principal, match).rows:
            found.setdefault(row.id, row)
    rows = [found[key] for key in sorted(found)]
    view = view_of(context, options, format, attrs)
    return _respond(request, rows[offset_: offset_ + limit_], len(rows) if count else None, view, media_type, None)
