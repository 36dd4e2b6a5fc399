"""Providers push observations over HTTP with a token of their IS; bad batches are refused
whole with every problem's path and write nothing; devices that stop reporting are silent."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import transaction
from icity.db.models import Entity, Observation
from icity.services import catalogue, entity_store, provider_tokens
from icity.services.access import CLI
from tests import people

pytestmark = pytest.mark.postgres_ok

SYSTEM = "alpha/air"
PUSH = "/api/v1/information-systems/alpha/air/observations"
S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def pushed(network_copy: str):
    """A client, the headers of a provider token of alpha/air, and the database URL."""
    with transaction(network_copy) as session:
        operator = catalogue.add_provider(session, SYSTEM, name="Xarxa de qualitat de l'aire")
        catalogue.add_device(
            session, SYSTEM, local_id="aq-00", provider_id=operator.id, entity_id=S0, reporting_period_s=3600
        )
        catalogue.add_device(session, SYSTEM, local_id="aq-orphan", provider_id=operator.id)
        token = provider_tokens.create_token(session, CLI, SYSTEM, operator.id, "gateway")["token"]
    return TestClient(create_app(network_copy)), {"Authorization": f"Bearer {token}"}, network_copy


def measure(values: dict, at: datetime = NOW, device: str = "aq-00") -> dict:
    return {"device": device, "observedAt": at.isoformat(), "values": values}


def stored(url: str) -> tuple[int, dict, datetime]:
    with transaction(url) as session:
        history = session.scalar(select(func.count()).select_from(Observation).where(Observation.entity_id == S0))
        entity = session.get(Entity, S0)
        return history, dict(entity.attributes), entity.observed_at


def test_a_batch_is_stored_and_moves_the_current_state(pushed):
    client, token, url = pushed
    history, _, _ = stored(url)
    batch = {"measures": [measure({"no2": 31.5, "pm10": 12.0}, NOW - timedelta(minutes=10)), measure({"no2": 33.0})]}
    response = client.post(PUSH, json=batch, headers=token)
    assert response.status_code == 200, response.text
    assert response.json() == {"observations": 3, "devices": 1, "entitiesUpdated": 1}
    after, attributes, observed_at = stored(url)
    assert after == history + 3
    assert (attributes["no2"], attributes["pm10"], observed_at) == (33.0, 12.0, NOW)
    latest = client.get(f"/api/v1/entities/{S0}").json()
    assert latest["no2"] == 33.0


def test_sending_the_same_observations_again_stores_nothing_new(pushed):
    client, token, url = pushed
    batch = {"measures": [measure({"no2": 33.0})]}
    assert client.post(PUSH, json=batch, headers=token).status_code == 200
    before = stored(url)
    again = client.post(PUSH, json=batch, headers=token)
    assert again.status_code == 200 and again.json()["entitiesUpdated"] == 0
    assert stored(url) == before


def test_an_older_observation_joins_the_history_only(pushed):
    client, token, url = pushed
    client.post(PUSH, json={"measures": [measure({"no2": 33.0})]}, headers=token)
    history, attributes, observed_at = stored(url)
    late = client.post(PUSH, json={"measures": [measure({"no2": 99.0}, NOW - timedelta(hours=2))]}, headers=token)
    assert late.json()["entitiesUpdated"] == 0
    assert stored(url) == (history + 1, attributes, observed_at)


@pytest.mark.parametrize(
    ("batch", "status", "paths"),
    [
        ({"measures": [measure({"no2": 1.0}, device="aq-99")]}, 422, {"measures[0].device"}),
        ({"measures": [measure({"no2": 1.0}, device="aq-orphan")]}, 422, {"measures[0].device"}),
        ({"measures": [measure({"NO2": 1.0})]}, 422, {"measures[0].values.NO2"}),
        ({"measures": [measure({"no2": "high"})]}, 422, {"measures[0].values.no2"}),
        ({"measures": [measure({"no2": 1.0}, NOW + timedelta(hours=1))]}, 422, {"measures[0].observedAt"}),
        ({"measures": [measure({"location": {"type": "Point", "coordinates": [0, 0]}})]}, 422, {"measures[0].values.location"}),
        ({"measures": [measure({"no2": 1.0}), measure({"pm10": "x"})]}, 422, {"measures[1].values.pm10"}),
        ({"measures": [{"device": "aq-00", "observedAt": "2026-11-24T10:00:00", "values": {"no2": 1}}]}, 400, {"measures.0.observedAt"}),
        ({"measures": []}, 400, {"measures"}),
        ({"measures": [measure({"no2": 1.0})] * 10_001}, 422, {"measures"}),
    ],
    ids=["unknown-device", "device-without-entity", "unknown-attribute", "wrong-type", "future", "core-key",
         "second-measure", "naive-time", "empty", "too-many"],
)  # fmt: skip
def test_a_bad_batch_is_refused_whole_and_stores_nothing(pushed, batch, status, paths):
    client, token, url = pushed
    before = stored(url)
    response = client.post(PUSH, json=batch, headers=token)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {error["path"] for error in body.get("errors", [])} >= paths or body.get("param") in paths
    assert stored(url) == before


def test_only_a_live_token_of_the_system_pushes(pushed, network_copy: str):
    client, token, url = pushed
    batch = {"measures": [measure({"no2": 1.0})]}
    assert client.post(PUSH, json=batch).status_code == 401
    assert client.post("/api/v1/information-systems/beta/air/observations", json=batch, headers=token).status_code == 403
    with transaction(url) as session:
        admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
    assert client.post(PUSH, json=batch, headers=admin.headers).status_code == 403  # an admin is not a provider
    tokens = client.get("/api/v1/information-systems/alpha/air/provider-tokens", headers=admin.headers).json()
    revoked = client.delete(f"/api/v1/information-systems/alpha/air/provider-tokens/{tokens[0]['id']}", headers=admin.headers)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    refused = client.post(PUSH, json=batch, headers=token)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_a_token_is_shown_once_and_stored_as_a_digest(pushed):
    client, _, url = pushed
    with transaction(url) as session:
        admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
    providers = client.get("/api/v1/information-systems/alpha/air/providers", headers=admin.headers).json()
    created = client.post(
        "/api/v1/information-systems/alpha/air/provider-tokens", json={"provider": providers[-1]["id"]}, headers=admin.headers
    )
    assert created.status_code == 201 and created.json()["token"].startswith("icp_")
    listed = client.get("/api/v1/information-systems/alpha/air/provider-tokens", headers=admin.headers).json()
    assert all("token" not in item for item in listed)
    wrong = client.post(
        "/api/v1/information-systems/alpha/air/provider-tokens", json={"provider": 999_999}, headers=admin.headers
    )
    assert wrong.status_code == 400 and wrong.json()["param"] == "provider"


def test_a_device_that_stops_reporting_is_silent(pushed):
    client, token, url = pushed
    devices = "/api/v1/information-systems/alpha/air/devices"
    assert client.get(devices, params={"silent": "true"}).json()["items"][0]["id"] == "aq-00"  # never heard from
    client.post(PUSH, json={"measures": [measure({"no2": 1.0}, NOW - timedelta(minutes=30))]}, headers=token)
    listed = {device["id"]: device for device in client.get(devices).json()["items"]}
    assert listed["aq-00"]["silent"] is False and listed["aq-00"]["lastSeenAt"] is not None
    assert "aq-00" not in {d["id"] for d in client.get(devices, params={"silent": "true"}).json()["items"]}
    client.post(PUSH, json={"measures": [measure({"no2": 1.0}, NOW - timedelta(hours=3))]}, headers=token)  # older: no change
    assert {d["id"] for d in client.get(devices, params={"silent": "false"}).json()["items"]} >= {"aq-00", "aq-orphan"}
