"""An infrastructure owner's `approval` IS sits behind the same access rules as a city's: nothing of
it reaches a caller without a grant for it, through any filter, geo query, count, download, history
or standard door, and every path reaches it with one (so each check can fail). The city where it
lies reads it no more than any other city: the owner, not the city, decides who may."""

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from icity.services import entity_store
from tests import people
from tests.network import ALPHA_STATION_LAT, ALPHA_STATION_LON0, T0
from tests.world import OWNER_IS, World, build_world

pytestmark = pytest.mark.postgres_ok

CHARGER = entity_store.entity_urn("EVChargingStation", "alpha", "c0")
MARK = "EVChargingStation:alpha:c"
CSV_LINE = "2024-05-01T00:00:00+00:00,2.0"  # c0's one observation, in a history download
READERS = ("charger_app", "owner_admin", "platform_admin")
# `granted` holds a grant for the city's parking IS, not for the owner's; alpha's admins do not read it either
NON_READERS = ("anonymous", "unapproved", "developer", "granted", "other_city_admin", "owning_city_admin")
HERE = f"{ALPHA_STATION_LAT},{ALPHA_STATION_LON0}"
BBOX = f"{ALPHA_STATION_LON0 - 0.001},{ALPHA_STATION_LAT - 0.001},{ALPHA_STATION_LON0 + 0.001},{ALPHA_STATION_LAT + 0.001}"
WINDOW = {"from": T0.replace(hour=0).isoformat(), "to": T0.replace(hour=12).isoformat()}

QUERIES = [
    ("/api/v1/entities", {"limit": "1000"}),
    ("/api/v1/entities", {"type": "EVChargingStation"}),
    ("/api/v1/entities", {"city": "alpha", "limit": "1000"}),
    ("/api/v1/entities", {"informationSystem": OWNER_IS}),
    ("/api/v1/entities", {"category": "energy"}),
    ("/api/v1/entities", {"bbox": BBOX}),
    ("/api/v1/entities", {"near": f"{HERE},10"}),
    ("/api/v1/entities", {"q": "capacity>=0"}),
    ("/api/v1/where-can-app-run", {"entityTypes": "EVChargingStation"}),
    (f"/api/v1/entities/{CHARGER}", {}),
    (f"/api/v1/entities/{CHARGER}/history", {"attribute": "availableCapacity", **WINDOW}),
    (f"/api/v1/entities/{CHARGER}/history.csv", {"attribute": "availableCapacity", **WINDOW}),
    (f"/api/v1/information-systems/{OWNER_IS}/download.csv", {}),
    ("/ngsi-ld/v1/entities", {"type": "EVChargingStation"}),
    (f"/ngsi-ld/v1/entities/{CHARGER}", {}),
]


@pytest.fixture(scope="module")
def world(databases, network_url):
    url = databases.copy(network_url)
    with transaction(url) as session:
        world = build_world(session)
        entity_store.upsert_entities(session, OWNER_IS, [
            {"id": entity_store.entity_urn("EVChargingStation", "alpha", f"c{i}"), "type": "EVChargingStation",
             "location": {"type": "Point", "coordinates": [ALPHA_STATION_LON0, ALPHA_STATION_LAT]}, "capacity": 4, "availableCapacity": i}
            for i in range(2)
        ])  # fmt: skip
        entity_store.add_observations(session, [entity_store.observation_row(CHARGER, "availableCapacity", T0, 2.0)])
        developer = people.person(session, "dev@chargers.example")
        app, key = people.app_with_key(session, developer, "Charge map", plan="partner")
        people.grant(session, app, OWNER_IS)
    world.keys["charger_app"] = {"X-API-Key": key}
    return TestClient(create_app(url)), world


def call(world, role, path, params):
    client, people_ = world
    return client.get(path, params=params, headers=World.headers(people_, role, "key"))


@pytest.mark.parametrize(("path", "params"), QUERIES, ids=lambda v: str(v) if isinstance(v, dict) else v)
def test_nothing_of_an_owners_approval_is_reaches_a_caller_without_a_grant(world, path, params):
    for role in READERS:
        response = call(world, role, path, params)
        assert response.status_code == 200, (role, response.text[:300])
        assert any(mark in response.text for mark in (MARK, OWNER_IS, CSV_LINE)), (role, response.text[:300])
    for role in NON_READERS:
        response = call(world, role, path, params)
        text = response.text
        if response.status_code == 404:  # it may echo the id the caller sent, nothing more
            text = text.replace(CHARGER, "").replace(OWNER_IS, "")
        elif response.status_code in (401, 403):  # the IS is listed: its data are said to be not readable
            assert "not readable" in text, (role, text)
            text = text.replace(OWNER_IS, "")
        else:
            assert response.status_code == 200, (role, response.status_code)
        assert MARK not in text and OWNER_IS not in text and CSV_LINE not in text, (role, text[:300])
        assert "availableCapacity" not in text, role


def test_counts_never_include_the_owners_entities_without_a_grant(world):
    totals = {role: call(world, role, "/api/v1/entities", {"city": "alpha", "count": "true"}).json()["totalCount"] for role in (*READERS, *NON_READERS)}
    assert totals["charger_app"] == totals["developer"] + 2, totals
    assert totals["owner_admin"] == totals["developer"] + 2, totals  # its own, besides what any approved user reads
