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


@pytest.mark.parametrize(
    ("raw_value", "path"),
    [
        ("NaN", "measures[0].values.no2"),
        ("Infinity", "measures[0].values.no2"),
        ("-Infinity", "measures[0].values.no2"),
        ("1e999", "measures[0].values.no2"),
        (str(2**70), "measures[0].values.no2"),
        ('"ok\\u0000"', "measures[0].values.airQualityLevel"),
        ('"bell\\u0007"', "measures[0].values.airQualityLevel"),
    ],
    ids=["nan", "infinity", "minus-infinity", "beyond-double", "beyond-2**53", "nul", "bell"],
)
def test_a_value_a_city_cannot_use_is_refused_with_its_path(pushed, raw_value, path):
    client, token, url = pushed
    before = stored(url)
    name = path.rsplit(".", 1)[1]
    body = f'{{"measures": [{{"device": "aq-00", "observedAt": "{NOW.isoformat()}", "values": {{"{name}": {raw_value}}}}}]}}'
    response = client.post(PUSH, content=body, headers={**token, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["path"] for error in response.json()["errors"]] == [path]
    assert stored(url) == before


def test_tabs_and_line_breaks_in_text_are_usable(pushed):
    client, token, _ = pushed
    response = client.post(PUSH, json={"measures": [measure({"airQualityLevel": "good\tnow\r\n"})]}, headers=token)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00Z", "1000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"])
def test_an_observation_before_1970_is_refused_with_a_reason(pushed, at):
    client, token, url = pushed
    before = stored(url)
    response = client.post(PUSH, json={"measures": [{"device": "aq-00", "observedAt": at, "values": {"no2": 1.0}}]}, headers=token)
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["path"] == "measures[0].observedAt" and "1970-01-01" in error["detail"]
    assert stored(url) == before


def test_the_accepted_window_is_a_setting(pushed, monkeypatch):
    from icity.config import get_settings

    client, token, url = pushed
    monkeypatch.setenv("ICITY_OBSERVED_SINCE", "2000-01-01T00:00:00Z")
    monkeypatch.setenv("ICITY_OBSERVED_AHEAD_MIN", "120")
    get_settings.cache_clear()
    try:
        old = {"device": "aq-00", "observedAt": "1999-12-31T23:00:00Z", "values": {"no2": 1.0}}
        assert client.post(PUSH, json={"measures": [old]}, headers=token).status_code == 422
        ahead = measure({"no2": 2.0}, NOW + timedelta(minutes=90))
        assert client.post(PUSH, json={"measures": [ahead]}, headers=token).status_code == 200
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_the_first_observation_accepted_in_the_window_is_stored_and_read_back(pushed):
    client, token, url = pushed
    at = "1970-01-01T00:00:00Z"
    assert client.post(PUSH, json={"measures": [{"device": "aq-00", "observedAt": at, "values": {"no2": 7.5}}]}, headers=token).status_code == 200
    history = client.get(f"/api/v1/entities/{S0}/history", params={"attribute": "no2", "from": at, "to": "1970-01-02T00:00:00Z"})
    assert history.status_code == 200, history.text
    assert "7.5" in history.text


def test_a_corrected_measurement_replaces_the_history_row(pushed):
    client, token, url = pushed
    at = NOW - timedelta(minutes=1)
    assert client.post(PUSH, json={"measures": [measure({"no2": 41.2}, at)]}, headers=token).status_code == 200
    history, _, _ = stored(url)
    corrected = client.post(PUSH, json={"measures": [measure({"no2": 99.9}, at)]}, headers=token)
    assert corrected.status_code == 200, corrected.text
    after, attributes, _ = stored(url)
    assert attributes["no2"] == 99.9 and after == history
    with transaction(url) as session:
        values = session.scalars(
            select(Observation.value_number).where(Observation.entity_id == S0, Observation.attribute == "no2", Observation.observed_at == at)
        ).all()
    assert values == [99.9]


def test_a_push_keeps_the_models_own_time_in_step(pushed):
    client, token, _ = pushed
    assert client.post(PUSH, json={"measures": [measure({"no2": 41.2})]}, headers=token).status_code == 200
    entity = client.get(f"/api/v1/entities/{S0}").json()
    assert entity["dateObserved"] == entity["observedAt"]
    given = "2020-01-01T00:00:00Z"
    later = measure({"no2": 40.0, "dateObserved": given}, NOW + timedelta(seconds=1))
    assert client.post(PUSH, json={"measures": [later]}, headers=token).status_code == 200
    assert client.get(f"/api/v1/entities/{S0}").json()["dateObserved"] == given
