"""No entity of an `approval` IS reaches a caller without a grant, through any
filter, geo query, sort, count, format, aggregation, history or error message;
and every one of those paths does reach it with a grant (so each check can fail).

The parking entities of alpha/parking sit exactly where alpha's public air
station s0 is (tests/network.py), so geographic queries cannot miss them.
"""

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from tests.network import ALPHA_STATION_LAT, ALPHA_STATION_LON0, T0
from tests.world import APPROVAL_IS, PARKING, World, build_world

pytestmark = pytest.mark.postgres_ok

MARK = "OffStreetParking:alpha:p"  # in the id of every parking entity
NON_READERS = ("anonymous", "unapproved", "developer", "other_city_admin")
READERS = ("granted", "owning_city_admin", "platform_admin")
HERE = f"{ALPHA_STATION_LAT},{ALPHA_STATION_LON0}"
BBOX = f"{ALPHA_STATION_LON0 - 0.001},{ALPHA_STATION_LAT - 0.001},{ALPHA_STATION_LON0 + 0.001},{ALPHA_STATION_LAT + 0.001}"
GEOJSON = {"Accept": "application/geo+json"}
WINDOW = {"from": (T0.replace(hour=0)).isoformat(), "to": T0.replace(hour=12).isoformat()}

# (path, params, extra headers); each reaches the parking entities with a grant
QUERIES = [
    ("/api/v1/entities", {"limit": "1000"}, {}),
    ("/api/v1/entities", {"type": "OffStreetParking"}, {}),
    ("/api/v1/entities", {"city": "alpha", "limit": "1000"}, {}),
    ("/api/v1/entities", {"informationSystem": APPROVAL_IS}, {}),
    ("/api/v1/entities", {"category": "transport-mobility"}, {}),
    ("/api/v1/entities", {"bbox": BBOX}, {}),
    ("/api/v1/entities", {"near": f"{HERE},10"}, {}),
    ("/api/v1/entities", {"near": f"{HERE},10", "sort": "distance"}, {}),
    ("/api/v1/entities", {"q": "availableSpotNumber>=0"}, {}),
    ("/api/v1/entities", {"q": "availableSpotNumber==10,11,12"}, {}),
    ("/api/v1/entities", {"city": "alpha", "sort": "-observedAt", "limit": "1000"}, {}),
    ("/api/v1/entities", {"type": "OffStreetParking", "count": "true"}, {}),
    ("/api/v1/entities", {"bbox": BBOX}, GEOJSON),
    ("/api/v1/entities", {"near": f"{HERE},10"}, GEOJSON),
    ("/api/v1/where-can-app-run", {"entityTypes": "OffStreetParking"}, {}),
    ("/api/v1/information-systems/alpha/parking/devices", {}, {}),
    (f"/api/v1/entities/{PARKING}", {}, {}),
    (f"/api/v1/entities/{PARKING}/history", {"attribute": "availableSpotNumber", **WINDOW}, {}),
    (f"/api/v1/entities/{PARKING}/history", {"attribute": "availableSpotNumber", "aggregate": "avg", "interval": "1h", **WINDOW}, {}),
    (f"/api/v1/entities/{PARKING}/history", {"attribute": "availableSpotNumber", "aggregate": "count", "interval": "1d", **WINDOW}, {}),
]
COUNTED = [
    {"bbox": BBOX, "count": "true"},
    {"near": f"{HERE},10", "count": "true"},
    {"city": "alpha", "count": "true"},
    {"q": "availableSpotNumber>=0", "count": "true"},
]


@pytest.fixture(scope="module")
def world(databases, network_url):
    url = databases.copy(network_url)
    with transaction(url) as session:
        world = build_world(session)
    return TestClient(create_app(url)), world


def call(world, role, path, params, extra):
    client, people = world
    return client.get(path, params=params, headers={**World.headers(people, role, "key"), **extra})


@pytest.mark.parametrize(("path", "params", "extra"), QUERIES, ids=lambda v: str(v) if isinstance(v, dict) else v)
def test_nothing_of_an_approval_is_reaches_a_caller_without_a_grant(world, path, params, extra):
    for role in READERS:
        response = call(world, role, path, params, extra)
        assert response.status_code == 200 and (MARK in response.text or APPROVAL_IS in response.text), role
    for role in NON_READERS:
        response = call(world, role, path, params, extra)
        text = response.text
        if response.status_code == 404:  # it may echo the id the caller sent, nothing more
            assert response.json()["title"] == "Not found"
            text = text.replace(PARKING, "").replace(APPROVAL_IS, "")
        elif response.status_code in (401, 403):  # the IS is listed: its data are said to be not readable
            assert path.endswith("/devices") and "are not readable to you" in response.json()["detail"], text
            text = text.replace(APPROVAL_IS, "")
        else:
            assert response.status_code == 200, role
        assert MARK not in text and APPROVAL_IS not in text, (role, text[:300])
        assert "availableSpotNumber\":" not in text, role


@pytest.mark.parametrize("params", COUNTED, ids=str)
def test_counts_never_include_what_the_caller_cannot_read(world, params):
    totals = {role: call(world, role, "/api/v1/entities", params, {}).json()["totalCount"] for role in (*READERS, *NON_READERS)}
    # the same caller with and without the grant differ by the three parking entities only
    assert totals["granted"] == totals["developer"] + 3, totals
    assert totals["unapproved"] == totals["anonymous"], totals
    assert totals["other_city_admin"] == totals["developer"], totals


def test_a_hidden_entity_is_answered_like_one_that_does_not_exist(world):
    missing = PARKING.replace(":p0", ":p999")
    for role in NON_READERS:
        for suffix, params in (("", {}), ("/history", {"attribute": "availableSpotNumber"})):
            hidden = call(world, role, f"/api/v1/entities/{PARKING}{suffix}", params, {})
            absent = call(world, role, f"/api/v1/entities/{missing}{suffix}", params, {})
            assert hidden.status_code == absent.status_code == 404
            assert hidden.json()["detail"].replace(PARKING, "?") == absent.json()["detail"].replace(missing, "?")


def test_the_catalogue_lists_the_approval_is_without_its_data(world):
    for role in NON_READERS:
        body = call(world, role, "/api/v1/information-systems/alpha/parking", {}, {}).json()
        assert body["canRead"] is False and body["providers"] == []
    for role in READERS:
        assert call(world, role, "/api/v1/information-systems/alpha/parking", {}, {}).json()["canRead"] is True


def test_the_devices_of_a_listed_is_are_said_not_readable_rather_than_missing(world):
    """The catalogue lists the approval IS to everyone: its devices are refused with the reason, not a 404."""
    path = "/api/v1/information-systems/alpha/parking/devices"
    anonymous = call(world, "anonymous", path, {}, {})
    assert anonymous.status_code == 401 and anonymous.headers["content-type"].startswith("application/problem+json")
    assert "The data of alpha/parking are not readable to you" in anonymous.json()["detail"]
    developer = call(world, "developer", path, {}, {})
    assert developer.status_code == 403
    assert "access request the city approved" in developer.json()["detail"]
    assert call(world, "anonymous", "/api/v1/information-systems/alpha/nowhere/devices", {}, {}).status_code == 404
