"""A city admin opens an IS through the API: register it, set up its source from a CSV URL,
preview, harvest, watch its health; bad inputs get problem+json and write nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import transaction
from icity.db.models import AuditEvent, HarvestRun, InformationSystem
from tests import people
from tests.connectors.feed_server import Feed, FeedServer
from tests.sources import CONNECTOR, MAPPING, csv

pytestmark = pytest.mark.postgres_ok

BASE = "/api/v1/information-systems/alpha/aire"
NEW_SYSTEM = {
    "slug": "aire",
    "name": "Qualitat de l'aire",
    "category": "environment",
    "entityTypes": ["AirQualityObserved"],
    "licence": "CC-BY-4.0",
    "provider": "Ajuntament d'Alpha",
}


@pytest.fixture
def admin(network_copy: str) -> tuple[TestClient, dict[str, str]]:
    """A client on a writable network and the headers of alpha's city admin."""
    with transaction(network_copy) as session:
        person = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        headers = person.headers
    return TestClient(create_app(network_copy)), headers


def problem_paths(response) -> set[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return {error["path"] for error in response.json().get("errors", [])}


def count(url: str, model) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_a_city_opens_an_information_system_from_a_csv_url(admin, feeds: FeedServer, network_copy: str):
    client, headers = admin
    created = client.post("/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=headers)
    assert created.status_code == 201, created.text
    assert (created.json()["id"], created.json()["status"]) == ("alpha/aire", "draft")

    url = feeds.serve("/api-aire.csv", Feed(csv("Sants", "Broken", "Gràcia"), "text/csv"))
    preview = client.post(f"{BASE}/preview", json={"connector": {**CONNECTOR, "url": url}, "mapping": MAPPING}, headers=headers)
    assert preview.status_code == 200, preview.text
    assert (preview.json()["valid"], preview.json()["rejected"]) == (2, 1)
    assert preview.json()["rejections"][0]["record"] == 2

    setup = {"connector": {**CONNECTOR, "url": url}, "mapping": MAPPING, "schedule": "15m"}
    stored = client.put(f"{BASE}/source", json=setup, headers=headers)
    assert stored.status_code == 200, stored.text
    assert stored.json()["health"]["state"] == "never-run"

    started = client.post(f"{BASE}/harvests", headers=headers)
    assert started.status_code == 202
    run = client.get(started.headers["Location"], headers=headers).json()  # the test client ran the background task
    assert (run["status"], run["created"], run["rejected"]) == ("succeeded", 2, 1)

    opened = client.put(f"{BASE}/status", json={"status": "open"}, headers=headers)
    assert opened.status_code == 200, opened.text
    names = {entity["name"] for entity in client.get("/api/v1/entities", params={"informationSystem": "alpha/aire"}).json()["items"]}
    assert names == {"Sants", "Gràcia"}
    health = client.get(f"{BASE}/source", headers=headers).json()["health"]
    assert (health["state"], health["consecutiveFailures"], health["lastRun"]["id"]) == ("healthy", 0, run["id"])
    with transaction(network_copy) as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == "alpha/aire")))
    assert actions >= {"system.registered", "system.status_changed"}


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({**NEW_SYSTEM, "slug": "Aire Lliure"}, {"slug"}),
        ({**NEW_SYSTEM, "entityTypes": ["AirQualityReading"]}, {"entityTypes[0]"}),
        ({**NEW_SYSTEM, "category": "weather"}, {"category"}),
        ({**NEW_SYSTEM, "colour": "blue"}, {"colour"}),
    ],
    ids=["slug", "entity-type", "category", "unknown-field"],
)
def test_a_bad_registration_is_refused_and_writes_nothing(admin, network_copy: str, body, paths):
    client, headers = admin
    before = count(network_copy, InformationSystem)
    response = client.post("/api/v1/cities/alpha/information-systems", json=body, headers=headers)
    assert response.status_code in (400, 422)
    assert problem_paths(response) >= paths or response.json().get("param") in paths
    assert count(network_copy, InformationSystem) == before


def test_registering_the_same_slug_twice_is_a_conflict(admin):
    client, headers = admin
    assert client.post("/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=headers).status_code == 201
    again = client.post("/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=headers)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"


def test_a_bad_source_setup_names_every_problem_and_keeps_the_old_one(admin, feeds: FeedServer):
    client, headers = admin
    client.post("/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=headers)
    url = feeds.serve("/api-aire-keep.csv", Feed(csv("Sants"), "text/csv"))
    assert client.put(f"{BASE}/source", json={"connector": {**CONNECTOR, "url": url}, "mapping": MAPPING}, headers=headers).status_code == 200
    bad = {
        "connector": {"kind": "csv", "url": "ftp://files.example/aire.csv", "encoding": "klingon"},
        "mapping": {**MAPPING, "location": {"x": "X", "y": "Y", "crs": "EPSG:999999"}},
        "schedule": "0 25 * * *",
    }
    response = client.put(f"{BASE}/source", json=bad, headers=headers)
    assert response.status_code == 422
    assert problem_paths(response) == {"connector.url", "connector.encoding", "mapping.location.crs", "schedule"}
    kept = client.get(f"{BASE}/source", headers=headers).json()
    assert kept["connector"]["url"] == url and kept["schedule"] is None


def test_a_mapping_is_needed_unless_the_kind_has_a_standard_one(admin):
    client, headers = admin
    client.post("/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=headers)
    response = client.put(f"{BASE}/source", json={"connector": {**CONNECTOR, "url": "http://127.0.0.1:9/a.csv"}}, headers=headers)
    assert response.status_code == 422
    assert problem_paths(response) == {"mapping"}


def test_previewing_a_source_that_answers_garbage_is_a_502_naming_the_cause(admin, feeds: FeedServer):
    client, headers = admin
    client.post("/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=headers)
    url = feeds.serve("/api-maintenance.csv", Feed(b"<html><body>En manteniment</body></html>", "text/html"))
    response = client.post(f"{BASE}/preview", json={"connector": {**CONNECTOR, "url": url}, "mapping": MAPPING}, headers=headers)
    assert response.status_code == 502
    assert response.json()["type"].endswith("/source-failed") and "HTML page" in response.json()["detail"]


def test_harvesting_without_a_source_is_a_conflict_and_records_no_run(admin, network_copy: str):
    client, headers = admin
    client.post("/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=headers)
    response = client.post(f"{BASE}/harvests", headers=headers)
    assert response.status_code == 409 and response.json()["type"].endswith("/no-connector")
    assert count(network_copy, HarvestRun) == 0


def test_a_failed_run_is_listed_with_its_error(admin, feeds: FeedServer):
    client, headers = admin
    client.post("/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=headers)
    feed = Feed(csv("Sants"), "text/csv")
    url = feeds.serve("/api-aire-fails.csv", feed)
    client.put(f"{BASE}/source", json={"connector": {**CONNECTOR, "url": url}, "mapping": MAPPING}, headers=headers)
    client.post(f"{BASE}/harvests", headers=headers)
    feed.statuses = [403]
    client.post(f"{BASE}/harvests", headers=headers)
    failed = client.get(f"{BASE}/harvests", params={"status": "failed"}, headers=headers).json()["items"]
    assert len(failed) == 1 and "HTTP 403" in failed[0]["error"]
    assert client.get(f"{BASE}/harvests", params={"status": "exploded"}, headers=headers).status_code == 400
    assert client.get(f"{BASE}/source", headers=headers).json()["health"]["consecutiveFailures"] == 1
