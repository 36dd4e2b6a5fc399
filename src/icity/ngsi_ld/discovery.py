"""Discovery: the types and attributes of the entities a caller can read (CIM 009 5.7.5–5.7.10), and
the platform's own @contexts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.deps import PrincipalDep, SessionDep
from icity.api.responses import JSONResponse
from icity.ngsi_ld.contexts import core_context_document, icity_context_document, shown_name, stored_name
from icity.ngsi_ld.errors import resource_not_found
from icity.ngsi_ld.http import LinkContext, Tenant, accepted, answer
from icity.ngsi_ld.representation import default_kind
from icity.services import entities

router = APIRouter(tags=["NGSI-LD"])
LD_JSON = "application/ld+json"


def _summaries(session, principal, tenant):
    return entities.type_summaries(
        session, principal, city=tenant[0], information_system=tenant[1], default_kind=default_kind
    )


@router.get("/types", summary="Available entity types (CIM 009 5.7.5, 5.7.6)")
def list_types(
    request: Request, session: SessionDep, principal: PrincipalDep, context: LinkContext, tenant: Tenant,
    details: Annotated[bool, Query()] = False,
):  # fmt: skip
    media_type = accepted(request, allow_geo=False)
    summaries = _summaries(session, principal, tenant)
    names = sorted(summaries)
    if not details:
        body = {"id": "urn:ngsi-ld:EntityTypeList:icity", "type": "EntityTypeList", "typeList": [shown_name(n, context) for n in names]}
        return answer(body, media_type, context)
    body = [
        {
            "id": _type_iri(name),
            "type": "EntityType",
            "typeName": shown_name(name, context),
            "attributeNames": sorted(shown_name(a, context) for a in summaries[name].attributes),
        }
        for name in names
    ]
    return answer(body, media_type, context)


def _type_iri(name: str) -> str:
    from icity.ngsi_ld.contexts import platform_context

    return platform_context().expand(name)


@router.get("/types/{type_name}", summary="Details of an entity type (CIM 009 5.7.7)")
def type_details(
    type_name: str, request: Request, session: SessionDep, principal: PrincipalDep, context: LinkContext, tenant: Tenant
):
    media_type = accepted(request, allow_geo=False)
    name = stored_name(type_name, context)
    summary = _summaries(session, principal, tenant).get(name)
    if summary is None:
        raise resource_not_found(f"No readable entity of type {type_name}")
    body = {
        "id": _type_iri(name),
        "type": "EntityTypeInfo",
        "typeName": shown_name(name, context),
        "entityCount": summary.count,
        "attributeDetails": [
            {"id": _type_iri(attribute), "type": "Attribute", "attributeName": shown_name(attribute, context),
             "attributeTypes": sorted(kinds)}
            for attribute, kinds in sorted(summary.attributes.items())
        ],  # fmt: skip
    }
    return answer(body, media_type, context)


def _attributes(summaries):
    found: dict[str, dict] = {}
    for summary in summaries.values():
        for attribute, kinds in summary.attributes.items():
            entry = found.setdefault(attribute, {"count": 0, "kinds": set(), "types": set()})
            entry["count"] += summary.count
            entry["kinds"] |= kinds
            entry["types"].add(summary.type)
    return found


@router.get("/attributes", summary="Available attributes (CIM 009 5.7.8, 5.7.9)")
def list_attributes(
    request: Request, session: SessionDep, principal: PrincipalDep, context: LinkContext, tenant: Tenant,
    details: Annotated[bool, Query()] = False,
):  # fmt: skip
    media_type = accepted(request, allow_geo=False)
    found = _attributes(_summaries(session, principal, tenant))
    if not details:
        body = {"id": "urn:ngsi-ld:AttributeList:icity", "type": "AttributeList",
                "attributeList": sorted(shown_name(a, context) for a in found)}  # fmt: skip
        return answer(body, media_type, context)
    body = [_attribute_body(name, entry, context) for name, entry in sorted(found.items())]
    return answer(body, media_type, context)


def _attribute_body(name: str, entry: dict, context) -> dict:
    return {
        "id": _type_iri(name),
        "type": "Attribute",
        "attributeName": shown_name(name, context),
        "attributeCount": entry["count"],
        "attributeTypes": sorted(entry["kinds"]),
        "typeNames": sorted(shown_name(t, context) for t in entry["types"]),
    }


@router.get("/attributes/{attribute}", summary="Details of an attribute (CIM 009 5.7.10)")
def attribute_details(
    attribute: str, request: Request, session: SessionDep, principal: PrincipalDep, context: LinkContext, tenant: Tenant
):
    media_type = accepted(request, allow_geo=False)
    name = stored_name(attribute, context)
    entry = _attributes(_summaries(session, principal, tenant)).get(name)
    if entry is None:
        raise resource_not_found(f"No readable entity has the attribute {attribute}")
    return answer(_attribute_body(name, entry, context), media_type, context)


@router.get("/contexts/icity.jsonld", summary="iCity's @context: the core and every Smart Data Models term")
def icity_context():
    return JSONResponse(icity_context_document(), media_type=LD_JSON)


@router.get("/contexts/ngsi-ld-core-context.jsonld", summary="The NGSI-LD core @context, as built in")
def core_context():
    return JSONResponse(core_context_document(), media_type=LD_JSON)
