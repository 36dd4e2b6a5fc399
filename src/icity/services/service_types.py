"""A city's service types (GeoReport v2 services and their definitions), in iCity's terms.

They are entities of type ``services`` (the Smart Data Model's name for Open311_ServiceType) in the
city's incident IS: service_code, service_name, description, keywords, group, ``open311:type``,
``open311:metadata`` and ``attributes`` (the definition's attributes a report must give). An IS
harvested from the city's own Open311 server that declares none reads them through from that server
at request time: the list is small, changes rarely, and the upstream decides what a report it takes
may carry (a harvested copy could drift from it).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.connectors import open311_source
from icity.connectors.base import SourceError
from icity.db.models import Entity, InformationSystem
from icity.errors import not_found
from icity.services import entity_store
from icity.services.service_requests import unavailable, upstream, upstream_source

SERVICE_TYPE = "services"

def declared_services(session: Session, system_id: str) -> list[dict[str, Any]]:
    """The `services` entities of the IS, as GeoReport service objects with their definition's attributes."""
    rows = session.scalars(
        select(Entity.attributes)
        .where(Entity.information_system_id == system_id, Entity.type == SERVICE_TYPE, Entity.retired_at.is_(None))
        .order_by(Entity.id)
    ).all()
    return [_service(attributes) for attributes in rows if attributes.get("service_code")]


def _service(attributes: dict[str, Any]) -> dict[str, Any]:
    definition = [a for a in attributes.get("attributes") or [] if isinstance(a, dict)]
    keywords = attributes.get("keywords")
    return {
        "service_code": str(attributes["service_code"]),
        "service_name": attributes.get("service_name") or attributes.get("name") or str(attributes["service_code"]),
        "description": attributes.get("description"),
        "metadata": bool(attributes.get("open311:metadata", bool(definition))),
        "type": attributes.get("open311:type") or "realtime",
        "keywords": ", ".join(keywords) if isinstance(keywords, list) else keywords,
        "group": attributes.get("group"),
        "attributes": sorted(definition, key=lambda a: (a.get("order") is None, a.get("order") or 0, str(a.get("code")))),
    }


def services(session: Session, system: InformationSystem) -> list[dict[str, Any]]:
    """The city's service types: those its IS declares, else (harvested IS) its Open311 server's own."""
    declared = declared_services(session, system.id)
    connector = upstream(system)
    if declared or connector is None:
        return declared
    config, request = upstream_source(connector)
    try:
        listed = open311_source.read_services(config, request)
    except SourceError as error:
        raise unavailable(f"{system.city_id}'s Open311 server did not give its services: {error.detail}") from None
    # GeoReport's own `metadata` and `type` are the model's `open311:metadata` and `open311:type`
    return [
        _service({**item, "open311:metadata": bool(item.get("metadata")), "open311:type": item.get("type")})
        for item in listed if item.get("service_code") is not None
    ]  # fmt: skip


def service(session: Session, system: InformationSystem, service_code: str) -> dict[str, Any]:
    """One service type with its definition's attributes; 404 when the city has none of that code."""
    found = next((s for s in services(session, system) if s["service_code"] == service_code), None)
    if found is None:
        raise not_found("service", service_code, param="service_code")
    connector = upstream(system)
    if connector is not None and found["metadata"] and not found["attributes"]:
        config, request = upstream_source(connector)
        try:
            definition = open311_source.read_definition(config, request, service_code) or {}
        except SourceError as error:
            raise unavailable(f"{system.city_id}'s Open311 server did not give the definition: {error.detail}") from None
        found = {**found, "attributes": [a for a in definition.get("attributes") or [] if isinstance(a, dict)]}
    return found


def service_definition(service: dict[str, Any]) -> dict[str, Any]:
    return {"service_code": service["service_code"], "attributes": service["attributes"]}


def service_entity(city_id: str, service: dict[str, Any]) -> dict[str, Any]:
    """A `services` entity declaring one service type (GeoReport fields; `attributes` its definition)."""
    body = {
        "id": entity_store.entity_urn(SERVICE_TYPE, city_id, service["service_code"]),
        "type": SERVICE_TYPE,
        "service_code": service["service_code"],
        "service_name": service["service_name"],
        "open311:type": service.get("type", "realtime"),
        "open311:metadata": bool(service.get("attributes")),
        "attributes": service.get("attributes") or [],
    }
    body |= {name: service[name] for name in ("description", "keywords", "group") if service.get(name) is not None}
    return body
