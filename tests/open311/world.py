"""A city whose incident IS has iCity as its back end (alpha), one whose requests are restricted
(beta, policy `approval`), their people and keys: what the Open311 tests start from."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from icity.services import catalogue, entity_store
from icity.services.service_types import service_entity
from tests import people
from tests.ngsi_ld.real_servers import open_city

POTHOLE = {
    "service_code": "pothole", "service_name": "Pothole in the road", "description": "A hole in the road surface",
    "keywords": "road, hole", "group": "Roads", "type": "realtime",
    "attributes": [
        {"variable": True, "code": "depth", "datatype": "singlevaluelist", "required": True, "order": 1,
         "datatype_description": "How deep it is", "description": "Depth of the hole",
         "values": [{"key": "shallow", "name": "Under 5 cm"}, {"key": "deep", "name": "5 cm or more"}]},
        {"variable": True, "code": "lanes", "datatype": "number", "required": False, "order": 2,
         "datatype_description": None, "description": "Lanes blocked"},
    ],
}  # fmt: skip
GRAFFITI = {"service_code": "graffiti", "service_name": "Graffiti", "description": None, "keywords": None,
            "group": "Cleaning", "type": "realtime", "attributes": []}  # fmt: skip


def request_entity(city: str, number: int, code: str, status: str, requested: datetime) -> dict:
    stamp = requested.isoformat().replace("+00:00", "Z")
    return {
        "id": entity_store.entity_urn("service_requests", city, f"r{number}"), "type": "service_requests",
        "location": {"type": "Point", "coordinates": [2.1 + number / 100, 41.4]}, "observedAt": stamp,
        "service_request_id": f"R-{number}", "status": status, "service_code": code,
        "service_name": "Pothole in the road" if code == "pothole" else "Graffiti", "description": f"Report {number}",
        "requested_datetime": stamp, "updated_datetime": stamp, "address_string": f"Carrer {number}",
    }  # fmt: skip


@dataclass
class Open311World:
    key: str  # a developer's app key (reads alpha's public IS; not beta's)
    granted_key: str  # an app key granted beta/incidents
    admin: people.Person  # alpha's city admin
    other_admin: people.Person  # beta's city admin
    platform_admin: people.Person
    developer: people.Person


def incident_system(session: Session, city: str, policy: str = "public", connector: dict | None = None) -> str:
    system = catalogue.create_information_system(
        session, city_id=city, slug="incidents", name=f"{city} incidents", category="e-government",
        entity_types=["service_requests", "services"], access_policy=policy, licence="CC-BY-4.0", connector=connector,
    )  # fmt: skip
    catalogue.set_status(session, system.id, "open")
    return system.id


def build(session: Session, now: datetime | None = None) -> Open311World:
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    open_city(session, "alpha", "Alpha")
    open_city(session, "beta", "Beta", [2.3, 41.3, 2.4, 41.4])
    open_city(session, "gamma", "Gamma", [2.5, 41.3, 2.6, 41.4])  # no incident IS
    for city, policy in (("alpha", "public"), ("beta", "approval")):
        system_id = incident_system(session, city, policy)
        entities = [service_entity(city, POTHOLE), service_entity(city, GRAFFITI)]
        entities += [
            request_entity(city, 1, "pothole", "open", now - timedelta(days=2)),
            request_entity(city, 2, "graffiti", "closed", now - timedelta(days=10)),
            request_entity(city, 3, "pothole", "closed", now - timedelta(days=120)),  # outside the default window
        ]
        entity_store.upsert_entities(session, system_id, entities)
    developer = people.person(session, "dev@example.com")
    app, key = people.app_with_key(session, developer, "Reporter")
    granted_owner = people.person(session, "granted@example.com")
    granted_app, granted_key = people.app_with_key(session, granted_owner, "Granted reporter")
    people.grant(session, granted_app, "beta/incidents")
    return Open311World(
        key=key, granted_key=granted_key,
        admin=people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",)),
        other_admin=people.person(session, "admin@beta.example", role="city_admin", cities=("beta",)),
        platform_admin=people.person(session, "root@example.com", role="admin"),
        developer=developer,
    )  # fmt: skip


def matrix_incidents(session: Session, granted_app_id: int) -> None:
    """alpha/incidents for the authorisation matrix: policy `approval`, granted to the matrix's granted app."""
    from icity.db.models import App

    system_id = incident_system(session, "alpha", "approval")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    entity_store.upsert_entities(session, system_id, [
        service_entity("alpha", POTHOLE), request_entity("alpha", 1, "pothole", "open", now - timedelta(days=1)),
    ])  # fmt: skip
    people.grant(session, session.get(App, granted_app_id), system_id)
