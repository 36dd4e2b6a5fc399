"""Downloads (GET …/download.csv|geojson, GET /entities/{id}/history.csv) against the API's own answers
on the test network (tests/network.py): the same entities and values, the same access rules, metered."""

import csv
import io
import json
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import UsageDay
from icity.services import catalogue, downloads, entity_store
from icity.services.access import ANONYMOUS
from tests import people
from tests.network import HISTORY_HOURS

pytestmark = pytest.mark.postgres_ok

S0 = "urn:ngsi-ld:AirQualityObserved:alpha:s0"
P0 = "urn:ngsi-ld:OffStreetParking:alpha:p0"
FIXED = ["id", "type", "observedAt", "latitude", "longitude"]
CORE = {"id", "type", "city", "informationSystem", "location", "observedAt", "modifiedAt"}


def download(client, system, extension, **headers):
    return client.get(f"/api/v1/information-systems/{system}/download.{extension}", headers=headers)


def api_entities(client, system, **headers):
    body = client.get("/api/v1/entities", params={"informationSystem": system, "limit": 1000}, headers=headers).json()
    assert body["nextCursor"] is None
    return body["items"]


def parse_csv(response):
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.text, newline="")))


def cell_value(cell, api_value):
    """A cell read back as the API's value: strings as they are, anything else from its JSON text."""
    if cell == "":
        return None
    return cell if isinstance(api_value, str) else json.loads(cell)


def representative_point(location):
    if location["type"] == "Point":
        return location["coordinates"][1], location["coordinates"][0]
    positions = [p for ring in location["coordinates"] for p in ring]
    lons, lats = [p[0] for p in positions], [p[1] for p in positions]
    return (min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2


@pytest.mark.parametrize("system", ["alpha/air", "beta/poi", "gamma/air"])
def test_csv_holds_every_entity_and_attribute_the_api_gives(api, system):
    response = download(api, system, "csv")
    header, *rows = parse_csv(response)
    city, slug = system.split("/")
    assert response.headers["content-disposition"] == f'attachment; filename="{city}-{slug}.csv"'
    items = api_entities(api, system)
    attributes = sorted({name for item in items for name in item} - CORE)
    assert header == FIXED + attributes  # the attributes its entities hold, sorted
    assert [row[0] for row in rows] == [item["id"] for item in items]  # id order, every one
    for row, item in zip(rows, items, strict=True):
        cells = dict(zip(header, row, strict=True))
        assert (cells["type"], cells["observedAt"] or None) == (item["type"], item["observedAt"])
        latitude, longitude = representative_point(item["location"])
        assert (float(cells["latitude"]), float(cells["longitude"])) == pytest.approx((latitude, longitude))
        for name in attributes:
            assert cell_value(cells[name], item.get(name)) == item.get(name), (item["id"], name)


def test_nested_values_are_json_text(api):
    header, *rows = parse_csv(download(api, "beta/poi", "csv"))
    categories = [dict(zip(header, row))["category"] for row in rows]
    assert categories == ['["aquarium"]', '["park"]']


@pytest.mark.parametrize("system", ["alpha/air", "beta/poi"])
def test_geojson_is_the_api_feature_collection_whole(api, system):
    response = download(api, system, "geojson")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-disposition"] == f'attachment; filename="{system.replace("/", "-")}.geojson"'
    paged = api.get(
        "/api/v1/entities", params={"informationSystem": system, "limit": 1000}, headers={"Accept": "application/geo+json"}
    ).json()
    body = response.json()
    assert set(body) == {"type", "features"} and body["type"] == "FeatureCollection"
    assert body["features"] == paged["features"]
    assert all(feature["geometry"]["type"] in ("Point", "Polygon") for feature in body["features"])


def test_an_entity_without_location_has_a_null_geometry(network_copy):
    with transaction(network_copy) as session:
        catalogue.create_information_system(
            session, city_id="beta", slug="places", name="Places", category="tourism-culture",
            entity_types=["PointOfInterest"], access_policy="public", licence="CC-BY-4.0",
        )  # fmt: skip
        catalogue.set_status(session, "beta/places", "open")
        entity_store.upsert_entities(session, "beta/places", [
            {"id": "urn:ngsi-ld:PointOfInterest:beta:nowhere", "type": "PointOfInterest", "name": "Nowhere"}
        ])  # fmt: skip
    client = TestClient(create_app(network_copy))
    features = download(client, "beta/places", "geojson").json()["features"]
    assert [(f["id"], f["geometry"], f["properties"]["name"]) for f in features] == [
        ("urn:ngsi-ld:PointOfInterest:beta:nowhere", None, "Nowhere")
    ]
    header, row = parse_csv(download(client, "beta/places", "csv"))
    assert dict(zip(header, row)) == {"id": "urn:ngsi-ld:PointOfInterest:beta:nowhere", "type": "PointOfInterest",
                                      "observedAt": "", "latitude": "", "longitude": "", "name": "Nowhere"}  # fmt: skip


def test_an_empty_system_gives_a_header_and_an_empty_collection(network_copy):
    with transaction(network_copy) as session:
        catalogue.create_information_system(
            session, city_id="alpha", slug="bikes", name="Bikes", category="transport-mobility",
            entity_types=["BikeHireDockingStation"], access_policy="public", licence="CC-BY-4.0",
        )  # fmt: skip
        catalogue.set_status(session, "alpha/bikes", "trial")
    client = TestClient(create_app(network_copy))
    assert download(client, "alpha/bikes", "csv").text == "id,type,observedAt,latitude,longitude\r\n"
    assert download(client, "alpha/bikes", "geojson").json() == {"type": "FeatureCollection", "features": []}


def test_chunks_follow_one_another_without_gap_or_repeat(network_url):
    chunks = list(downloads.entity_chunks(network_url, "alpha/air", downloads.TABLE_COLUMNS, size=3))
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    assert [r.id for c in chunks for r in c] == sorted(f"urn:ngsi-ld:AirQualityObserved:alpha:s{i}" for i in range(10))
    exact = list(downloads.entity_chunks(network_url, "gamma/air", size=2))  # the last chunk full: one more read
    assert [len(c) for c in exact] == [2]


# ---- access: as the IS's other data routes (its devices, providers) answer ----------------------


@pytest.fixture(scope="module")
def callers(databases, network_url):
    url = databases.copy(network_url)
    with transaction(url) as session:
        developer = people.person(session, "dl-dev@dev.example")
        pending = people.person(session, "dl-pending@dev.example", status="pending")
        _, no_grant_key = people.app_with_key(session, developer, "No grant", plan="partner")
        granted_app, granted_key = people.app_with_key(session, developer, "Granted", plan="partner")
        people.grant(session, granted_app, "alpha/parking")
        waiting_app, waiting_key = people.app_with_key(session, developer, "Waiting", plan="partner")
        people.grant(session, waiting_app, "alpha/parking", status="pending")
        headers = {
            "anonymous": {},
            "pending developer": pending.headers,
            "developer session": developer.headers,
            "key without grant": {"X-API-Key": no_grant_key},
            "key with a pending request": {"X-API-Key": waiting_key},
            "key with approval": {"X-API-Key": granted_key},
        }
    return TestClient(create_app(url)), headers


ACCESS = [
    # IS, caller, status: the registered IS reads with any approved account; the approval IS with a granted app
    ("alpha/noise", "anonymous", 401),
    ("alpha/noise", "pending developer", 403),
    ("alpha/noise", "key without grant", 200),
    ("alpha/parking", "anonymous", 401),
    ("alpha/parking", "key without grant", 403),
    ("alpha/parking", "key with a pending request", 403),
    ("alpha/parking", "developer session", 200),  # through the organisation's granted app
    ("alpha/parking", "key with approval", 200),
    ("gamma/wifi", "key with approval", 404),  # a draft: not even listed
    ("alpha/agenda", "anonymous", 404),  # retired
    ("nowhere/at-all", "anonymous", 404),
]


@pytest.mark.parametrize(("system", "caller", "status"), ACCESS)
@pytest.mark.parametrize("extension", ["csv", "geojson"])
def test_downloads_are_refused_as_the_system_data_are(callers, system, caller, status, extension):
    client, headers = callers
    response = download(client, system, extension, **headers[caller])
    devices = client.get(f"/api/v1/information-systems/{system}/devices", headers=headers[caller])
    assert (response.status_code, devices.status_code) == (status, status), response.text
    entities = api_entities(client, system, **headers[caller]) if not system.startswith("nowhere") else []
    if status == 200:
        assert len(parse_csv(download(client, system, "csv", **headers[caller]))) == len(entities) + 1 > 1
    else:
        assert response.headers["content-type"] == "application/problem+json"
        assert entities == []  # the entities endpoint shows this caller nothing of it either


def test_history_csv_is_refused_as_the_history_is(callers):
    client, headers = callers
    for caller in ("anonymous", "key without grant", "key with a pending request", "key with approval"):
        params = {"attribute": "availableSpotNumber"}
        csv_response = client.get(f"/api/v1/entities/{quote(P0)}/history.csv", params=params, headers=headers[caller])
        json_response = client.get(f"/api/v1/entities/{quote(P0)}/history", params=params, headers=headers[caller])
        assert csv_response.status_code == json_response.status_code, caller
        assert csv_response.status_code == (200 if caller == "key with approval" else 404)


# ---- metering ----------------------------------------------------------------------------------


def test_a_download_with_a_key_is_metered_with_its_bytes(network_copy):
    with transaction(network_copy) as session:
        developer = people.person(session, "dl-meter@dev.example")
        app, key = people.app_with_key(session, developer, "Meter", plan="partner")
        app_id = app.id
    application = create_app(network_copy)
    client = TestClient(application)
    sent = [download(client, "alpha/air", extension, **{"X-API-Key": key}) for extension in ("csv", "geojson")]
    sent.append(client.get(f"/api/v1/entities/{quote(S0)}/history.csv", params={"attribute": "no2"}, headers={"X-API-Key": key}))
    refused = download(client, "alpha/parking", "csv", **{"X-API-Key": key})
    anonymous = download(client, "alpha/air", "csv")
    application.state.usage_meter.flush()

    assert [r.status_code for r in sent] == [200, 200, 200] and refused.status_code == 403 and anonymous.status_code == 200
    today = datetime.now(timezone.utc).date()
    with new_session(network_copy) as session:
        rows = session.scalars(select(UsageDay).where(UsageDay.day == today, UsageDay.app_id == app_id)).all()
        usage = {r.information_system_id: (r.calls, r.errors, r.bytes_out) for r in rows}
    assert usage["alpha/air"] == (3, 0, sum(len(r.content) for r in sent))
    assert "alpha/parking" not in usage  # a refused call served no IS: counted apart, with no data
    assert response_has_rate_limit_headers(sent[0])


def response_has_rate_limit_headers(response) -> bool:
    return any(name.lower().startswith("ratelimit") for name in response.headers)


# ---- history as CSV ----------------------------------------------------------------------------

WINDOW = {"from": "2024-04-01T06:00:00Z", "to": "2024-04-02T18:00:00Z"}


def history_pages(client, entity_id, **params):
    values, cursor = [], None
    while True:
        page = client.get(
            f"/api/v1/entities/{quote(entity_id)}/history", params={**params, "limit": 1000, **({"cursor": cursor} if cursor else {})}
        ).json()
        values += page["values"]
        cursor = page["nextCursor"]
        if not cursor:
            return values


@pytest.mark.parametrize("window", [WINDOW, {}], ids=["a range", "everything"])
def test_history_csv_equals_the_json_history(api, window):
    response = api.get(f"/api/v1/entities/{quote(S0)}/history.csv", params={"attribute": "no2", **window})
    header, *rows = parse_csv(response)
    assert response.headers["content-disposition"] == 'attachment; filename="AirQualityObserved-alpha-s0-no2.csv"'
    assert header == ["observedAt", "value", "unitCode"]
    values = history_pages(api, S0, attribute="no2", **window)
    # the 48 h of history, and the entity's current value (observed at T0) when unbounded
    assert len(values) == (36 * 6 if window else HISTORY_HOURS * 6 + 1)
    assert [(row[0], float(row[1]), row[2]) for row in rows] == [(v["observedAt"], v["value"], "") for v in values]


def test_history_chunks_follow_one_another(network_url):
    with new_session(network_url) as session:
        plan = downloads.history_download(session, ANONYMOUS, S0, "no2", None, None)
    chunks = list(downloads.history_chunks(network_url, plan, size=100))
    assert [len(c) for c in chunks] == [100, 100, HISTORY_HOURS * 6 + 1 - 200]
    times = [t for c in chunks for t, _ in c]
    assert times == sorted(set(times))


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"attribute": "no2", "from": "2024-05-02T00:00:00Z", "to": "2024-05-01T00:00:00Z"}, "from"),
        ({"attribute": "no2", "from": "May 1st"}, "from"),
        ({"attribute": "no2", "to": "tomorrow"}, "to"),
        ({"attribute": "nitrogen"}, "attribute"),
        ({}, "attribute"),
        ({"attribute": "no2", "limit": "10"}, "limit"),  # a download is whole: no pages
    ],
)
def test_bad_history_csv_parameters_are_the_history_api_problems(api, params, param):
    response = api.get(f"/api/v1/entities/{quote(S0)}/history.csv", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == param
    if "limit" not in params and params:
        assert api.get(f"/api/v1/entities/{quote(S0)}/history", params=params).json()["param"] == param


def test_history_csv_of_a_hidden_entity_is_404(api):
    response = api.get("/api/v1/entities/urn:ngsi-ld:NoiseLevelObserved:alpha:n0/history.csv", params={"attribute": "LAeq"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
