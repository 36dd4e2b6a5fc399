"""Subscriptions through the API: who creates, reads and changes them; every bad field is a
problem+json naming it and writes nothing; the delivery log pages and filters; a dead letter
is re-queued. (Delivery itself is tested in tests/services/test_webhooks.py.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.config import get_settings
from icity.db.engine import new_session, transaction
from icity.db.models import Delivery, Organisation, Subscription
from icity.services import catalogue, entity_store, provider_tokens, webhooks
from icity.services.access import CLI
from tests import people

pytestmark = pytest.mark.postgres_ok

S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
CLOSED_PORT = "http://127.0.0.1:9/hooks"  # the discard port: nothing listens, every attempt fails
PUSH = "/api/v1/information-systems/alpha/air/observations"
NO2 = {"entityTypes": ["AirQualityObserved"], "q": "no2>40", "endpoint": "https://app.example/hooks"}


@dataclass
class Setting:
    client: TestClient
    url: str
    key: dict[str, str]  # the app's key
    developer: dict[str, str]  # a developer of the app's organisation
    colleague: dict[str, str]  # another developer of the same organisation
    stranger: dict[str, str]  # a developer of another organisation
    stranger_key: dict[str, str]
    admin: dict[str, str]  # the platform admin
    city_admin: dict[str, str]
    app_id: int
    stranger_app_id: int
    token: dict[str, str]  # provider token of alpha/air

    def create(self, body: dict, headers: dict | None = None):
        return self.client.post("/api/v1/subscriptions", json=body, headers=self.key if headers is None else headers)

    def count(self) -> int:
        with new_session(self.url) as session:
            return session.scalar(select(func.count()).select_from(Subscription))


@pytest.fixture
def setting(network_copy: str) -> Setting:
    with transaction(network_copy) as session:
        developer = people.person(session, "dev@breathe.example")
        organisation = session.get(Organisation, developer.user.organisation_id)
        colleague = people.person(session, "colleague@breathe.example", org=organisation)
        stranger = people.person(session, "dev@other.example")
        app, key = people.app_with_key(session, developer, "BreatheEasy", plan="partner")
        stranger_app, stranger_key = people.app_with_key(session, stranger, "Other", plan="partner")
        admin = people.person(session, "admin@icity.example", role="admin")
        city_admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        operator = catalogue.add_provider(session, "alpha/air", name="Xarxa")
        catalogue.add_device(session, "alpha/air", local_id="aq-00", provider_id=operator.id, entity_id=S0)
        token = provider_tokens.create_token(session, CLI, "alpha/air", operator.id, "gateway")["token"]
    return Setting(
        TestClient(create_app(network_copy)), network_copy, {"X-API-Key": key}, developer.headers, colleague.headers,
        stranger.headers, {"X-API-Key": stranger_key}, admin.headers, city_admin.headers, app.id, stranger_app.id,
        {"Authorization": f"Bearer {token}"},
    )  # fmt: skip


def test_an_app_key_subscribes_and_the_secret_is_shown_once(setting: Setting):
    body = {**NO2, "name": "NO2 alerts", "area": {"near": "41.38,2.11,300"}, "attributes": ["no2"], "throttlingS": 60}
    created = setting.create(body)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["secret"].startswith("whsec_") and answer["app"] == setting.app_id
    assert answer["area"] == {"near": "41.38,2.11,300"} and answer["q"] == "no2>40" and answer["status"] == "active"
    one = setting.client.get(f"/api/v1/subscriptions/{answer['id']}", headers=setting.key).json()
    listed = setting.client.get("/api/v1/subscriptions", headers=setting.key).json()["items"]
    assert "secret" not in one and [item["id"] for item in listed] == [answer["id"]] and "secret" not in listed[0]
    assert one == {key: value for key, value in answer.items() if key != "secret"}


def test_a_developer_subscribes_an_app_of_their_organisation(setting: Setting):
    created = setting.create({**NO2, "appId": setting.app_id}, setting.developer)
    assert created.status_code == 201 and created.json()["app"] == setting.app_id
    missing = setting.create(NO2, setting.developer)
    assert missing.status_code == 400 and missing.json()["param"] == "appId"
    assert setting.create({**NO2, "appId": setting.stranger_app_id}, setting.developer).status_code == 404
    assert setting.create({**NO2, "appId": setting.stranger_app_id}).status_code == 400  # a key subscribes its own app
    assert setting.create(NO2, setting.city_admin).status_code == 403
    assert setting.create(NO2, {}).status_code == 401
    setting.client.delete(f"/api/v1/apps/{setting.app_id}", headers=setting.developer)
    withdrawn = setting.create({**NO2, "appId": setting.app_id}, setting.developer)
    assert withdrawn.status_code == 409 and setting.count() == 1


FUTURE = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
PAST = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()


@pytest.mark.parametrize(
    ("body", "status", "path"),
    [
        ({"entityTypes": ["AirQualityObservd"]}, 422, "entityTypes[0]"),
        ({"q": "no2>high"}, 422, "q"),
        ({"entityTypes": ["AirQualityObserved"], "q": "NO2>40"}, 422, "q"),
        ({"area": {"bbox": "2.1,41.3,2.2"}}, 422, "area.bbox"),
        ({"area": {"near": "41.38,2.11,0"}}, 422, "area.near"),
        ({"area": {"bbox": "2.1,41.3,2.2,41.4", "near": "41.38,2.11,300"}}, 422, "area"),
        ({"area": {"circle": "41.38,2.11,300"}}, 400, "area.circle"),
        ({"entityTypes": ["AirQualityObserved"], "attributes": ["no2", "colour"]}, 422, "attributes[1]"),
        ({"attributes": ["no 2"]}, 422, "attributes[0]"),
        ({"throttlingS": -1}, 422, "throttlingS"),
        ({"throttlingS": "often"}, 400, "throttlingS"),
        ({"expiresAt": PAST}, 422, "expiresAt"),
        ({"expiresAt": "2030-01-01T00:00:00"}, 400, "expiresAt"),
        ({"endpoint": "ftp://app.example/hooks"}, 422, "endpoint"),
        ({"endpoint": "app.example/hooks"}, 422, "endpoint"),
        ({"endpoint": CLOSED_PORT}, 422, "endpoint"),  # without ICITY_WEBHOOK_PRIVATE_NETWORKS
        ({"endpoint": "http://localhost:8000/hooks"}, 422, "endpoint"),
        ({"endpoint": "http://169.254.169.254/latest/meta-data/"}, 422, "endpoint"),
        ({"endpoint": "http://10.0.0.7/hooks"}, 422, "endpoint"),
        ({"endpoint": "http://[::ffff:127.0.0.1]/hooks"}, 422, "endpoint"),
        ({"city": "atlantis"}, 422, "city"),
        ({"city": "beta", "informationSystem": "alpha/air"}, 422, "informationSystem"),
        ({"informationSystem": "gamma/wifi"}, 404, None),  # a draft: unknown to the app
        ({"informationSystem": "nowhere/none"}, 404, None),
        ({"colour": "blue"}, 400, "colour"),
    ],
    ids=["unknown-type", "q-not-a-number", "q-unknown-attribute", "bbox-three-numbers", "near-radius-0", "bbox-and-near",
         "unknown-area", "unknown-attribute", "attribute-name", "negative-throttling", "throttling-not-a-number",
         "expiry-past", "expiry-naive", "endpoint-ftp", "endpoint-no-scheme", "endpoint-loopback",
         "endpoint-localhost", "endpoint-metadata-service", "endpoint-private", "endpoint-mapped-loopback", "unknown-city", "system-of-another-city",
         "draft-system", "unknown-system", "unknown-field"],
)  # fmt: skip
def test_a_bad_subscription_is_refused_and_nothing_is_written(setting: Setting, body, status, path):
    response = setting.create({"endpoint": "https://app.example/hooks", **body})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    if path is not None:
        problem = response.json()
        assert problem["param"] == path or path in {error["path"] for error in problem.get("errors", [])}
    assert setting.count() == 0


def test_only_the_app_its_organisation_and_the_platform_admin_see_a_subscription(setting: Setting):
    subscription = setting.create(NO2).json()
    path = f"/api/v1/subscriptions/{subscription['id']}"
    for headers in (setting.key, setting.developer, setting.colleague, setting.admin):
        assert setting.client.get(path, headers=headers).status_code == 200
    for headers in (setting.stranger, setting.stranger_key, setting.city_admin):
        assert setting.client.get(path, headers=headers).status_code == 404
        assert setting.client.patch(path, json={"status": "paused"}, headers=headers).status_code == 404
        assert setting.client.get(f"{path}/deliveries", headers=headers).status_code == 404
        assert setting.client.delete(path, headers=headers).status_code == 404
        assert setting.client.get("/api/v1/subscriptions", headers=headers).json()["items"] == []
    assert setting.client.get(path).status_code == 401
    assert [s["id"] for s in setting.client.get("/api/v1/subscriptions", headers=setting.admin).json()["items"]] == [subscription["id"]]
    assert setting.client.get("/api/v1/subscriptions", params={"status": "paused"}, headers=setting.key).json()["items"] == []
    assert setting.client.get("/api/v1/subscriptions", params={"status": "sleeping"}, headers=setting.key).status_code == 400
    assert setting.client.get("/api/v1/subscriptions", params={"app": setting.stranger_app_id}, headers=setting.admin).json()["items"] == []


def test_a_change_is_checked_like_a_creation_and_refused_whole(setting: Setting):
    subscription = setting.create({**NO2, "area": {"bbox": "2.0,41.3,2.2,41.5"}}).json()
    path = f"/api/v1/subscriptions/{subscription['id']}"
    before = setting.client.get(path, headers=setting.key).json()
    # the q of AirQualityObserved is not one of NoiseLevelObserved: the whole change is refused
    refused = setting.client.patch(path, json={"name": "noise", "entityTypes": ["NoiseLevelObserved"]}, headers=setting.key)
    assert refused.status_code == 422 and refused.json()["param"] == "q"
    assert setting.client.patch(path, json={"endpoint": "mailto:me@app.example"}, headers=setting.key).status_code == 422
    internal = setting.client.patch(path, json={"endpoint": CLOSED_PORT}, headers=setting.key)
    assert internal.status_code == 422 and internal.json()["param"] == "endpoint" and "127.0.0.1" in internal.json()["detail"]
    assert setting.client.patch(path, json={"status": "sleeping"}, headers=setting.key).status_code == 400
    assert setting.client.get(path, headers=setting.key).json() == before
    changed = setting.client.patch(
        path, json={"entityTypes": ["NoiseLevelObserved"], "q": "LAeq>=65", "area": None, "attributes": ["LAeq"]}, headers=setting.key
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["entityTypes"], after["q"], after["area"], after["attributes"]) == (["NoiseLevelObserved"], "LAeq>=65", None, ["LAeq"])
    expiring = setting.client.patch(path, json={"expiresAt": FUTURE}, headers=setting.key).json()
    assert expiring["expiresAt"] is not None
    assert setting.client.patch(path, json={"expiresAt": None}, headers=setting.key).json()["expiresAt"] is None


def test_deleting_a_subscription_deletes_its_delivery_log(setting: Setting, monkeypatch, private_networks):
    subscription = setting.create({"endpoint": CLOSED_PORT}).json()
    dead = _dead_letters(setting, monkeypatch, 1)
    assert len(dead) == 1
    path = f"/api/v1/subscriptions/{subscription['id']}"
    assert setting.client.delete(path, headers=setting.developer).status_code == 204
    assert setting.client.get(path, headers=setting.key).status_code == 404
    with new_session(setting.url) as session:
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0


def test_the_delivery_log_pages_and_filters_and_retries_dead_letters(setting: Setting, monkeypatch, private_networks):
    subscription = setting.create({"endpoint": CLOSED_PORT}).json()
    _dead_letters(setting, monkeypatch, 3)
    deliveries = f"/api/v1/subscriptions/{subscription['id']}/deliveries"
    first = setting.client.get(deliveries, params={"limit": 2}, headers=setting.key)
    assert first.status_code == 200 and len(first.json()["items"]) == 2 and 'rel="next"' in first.headers["link"]
    rest = setting.client.get(deliveries, params={"limit": 2, "cursor": first.json()["nextCursor"]}, headers=setting.key).json()
    ids = [d["id"] for d in first.json()["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3 and rest["nextCursor"] is None  # newest first
    assert all(d["status"] == "dead" and d["attempts"] == 1 and d["lastError"] for d in first.json()["items"])
    assert setting.client.get(deliveries, params={"status": "delivered"}, headers=setting.key).json()["items"] == []
    assert setting.client.get(deliveries, params={"status": "lost"}, headers=setting.key).status_code == 400
    retry = f"{deliveries}/{ids[-1]}/retry"
    retried = setting.client.post(retry, headers=setting.developer)
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert setting.client.post(retry, headers=setting.key).status_code == 409  # pending: not a dead letter
    assert setting.client.post(f"{deliveries}/999999/retry", headers=setting.key).status_code == 404
    assert len(setting.client.get(deliveries, params={"status": "pending"}, headers=setting.key).json()["items"]) == 1


def _dead_letters(setting: Setting, monkeypatch, count: int) -> list[dict]:
    """Push `count` changes of s0 and let the dispatcher fail each once (one attempt allowed)."""
    monkeypatch.setenv("ICITY_WEBHOOK_MAX_ATTEMPTS", "1")
    get_settings.cache_clear()
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    for minute in range(count):
        measure = {"device": "aq-00", "observedAt": (start + timedelta(minutes=minute)).isoformat(), "values": {"no2": 50.0 + minute}}
        pushed = setting.client.post(PUSH, json={"measures": [measure]}, headers=setting.token)
        assert pushed.status_code == 200, pushed.text
    dispatcher = webhooks.WebhookDispatcher(setting.url)
    try:
        assert dispatcher.run_once()["dead"] == count
    finally:
        dispatcher.close()
        get_settings.cache_clear()
    with new_session(setting.url) as session:
        return [{"id": d.id} for d in session.scalars(select(Delivery).where(Delivery.status == "dead"))]
