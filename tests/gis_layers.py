"""GIS layers added to the test network (tests/network.py) for the map and readings tests:
alpha opens a public street map and a registered cadastre, a third GIS layer stays a draft;
beta opens a public street map of its own. Returns an approved developer's session token."""

from sqlalchemy.orm import Session

from icity.services import catalogue, entity_store
from tests import people

STREETS = {"id": entity_store.entity_urn("Road", "alpha", "ring"), "type": "Road", "name": "Ronda", "roadClass": "primary",
           "location": {"type": "LineString", "coordinates": [[2.15, 41.38], [2.18, 41.40]]}}  # fmt: skip
DISTRICT = {"id": entity_store.entity_urn("OSMBoundary", "alpha", "d1"), "type": "OSMBoundary", "name": "Centre",
            "location": {"type": "Polygon", "coordinates": [[[2.16, 41.38], [2.18, 41.38], [2.18, 41.40], [2.16, 41.38]]]}}  # fmt: skip

DEVELOPER = "ada@dev.example"


def add_gis_layers(session: Session) -> str:
    for city, slug, policy, status, entities in [
        ("alpha", "streets", "public", "open", [STREETS]),
        ("alpha", "cadastre", "registered", "open", [DISTRICT]),
        ("alpha", "plans", "public", "draft", []),
        ("beta", "streets", "public", "trial", []),
    ]:
        catalogue.create_information_system(
            session, city_id=city, slug=slug, name=f"{city} {slug}", category="gis",
            entity_types=["Road", "OSMBoundary"], access_policy=policy,
        )  # fmt: skip
        if status != "draft":
            catalogue.set_status(session, f"{city}/{slug}", status)
        if entities:
            entity_store.upsert_entities(session, f"{city}/{slug}", entities)
    people.person(session, "admin@icity.example", role="admin")
    return people.person(session, DEVELOPER).token
