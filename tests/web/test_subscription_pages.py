"""The developer's subscription pages over HTTP (no browser): a developer creates, lists,
pauses, resumes and deletes their apps' subscriptions and retries a dead letter through the
same services as the API; another developer sees none of it; a refused form re-renders with
the problem and writes nothing; a form without its CSRF token is refused. The browser
journey (live stream, dead letter) is in test_subscription_journeys.py."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import Delivery, Subscription
from icity.config import get_settings
from icity.services import entity_store, webhooks
from tests import network, people
from tests.web.test_app_pages import csrf


def closed_port() -> int:
    """A port of 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Site:
    url: str
    tokens: dict[str, str]
    app_id: int

    def client(self, role: str | None = None) -> TestClient:
        client = TestClient(create_app(self.url), follow_redirects=False)
        if role is not None:
            client.cookies.set("icity_session", self.tokens[role])
        return client

    def subscriptions(self) -> list[Subscription]:
        with new_session(self.url) as session:
            return list(session.scalars(select(Subscription).order_by(Subscription.id)))


@pytest.fixture
def site(network_copy: str) -> Site:
    with transaction(network_copy) as session:
        ada = people.person(session, "ada@dev.example")
        bob = people.person(session, "bob@other.example")
        app, _ = people.app_with_key(session, ada, "BreatheEasy")
        return Site(network_copy, {"ada": ada.token, "bob": bob.token}, app.id)


def form(site: Site, client: TestClient, **fields) -> dict[str, str]:
    page = client.get("/dashboard/subscriptions")
    assert page.status_code == 200, page.text
    return {"csrf_token": csrf(page.text), "app": str(site.app_id), "delivery": "stream", **fields}


def create(site: Site, client: TestClient, **fields) -> int:
    answer = client.post("/dashboard/subscriptions", data=form(site, client, **fields))
    assert answer.status_code == 303, answer.text
    return int(re.match(r"/dashboard/subscriptions/(\d+)\?done=created$", answer.headers["location"]).group(1))


def test_a_developer_creates_a_stream_only_subscription_with_the_form(site):
    ada = site.client("ada")
    assert "None yet" in ada.get("/dashboard/subscriptions").text
    subscription_id = create(
        site, ada, name="NO2 alerts", entity_types="AirQualityObserved", city="alpha", information_system="alpha/air",
        q="no2>40", bbox="2.0,41.0,2.5,41.6", attributes="no2, airQualityLevel", throttling_s="60",
        expires_at=(datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"),
        endpoint="https://ignored.example/hook",  # stream only: the URL left in the field is not used
    )  # fmt: skip
    [stored] = site.subscriptions()
    assert stored.id == subscription_id and stored.app_id == site.app_id and stored.name == "NO2 alerts"
    assert stored.entity_types == ["AirQualityObserved"] and stored.information_system_id == "alpha/air"
    assert stored.q == "no2>40" and stored.area == {"bbox": [2.0, 41.0, 2.5, 41.6]}
    assert stored.attributes == ["no2", "airQualityLevel"] and stored.throttling_s == 60
    assert stored.endpoint is None and stored.expires_at is not None

    page = ada.get(f"/dashboard/subscriptions/{subscription_id}?done=created")
    assert page.status_code == 200 and "The subscription is created" in page.text
    assert "stream only" in page.text and f'data-url="/api/v1/subscriptions/{subscription_id}/events"' in page.text
    listed = ada.get("/dashboard/subscriptions").text
    assert f'data-subscription="{subscription_id}"' in listed and "NO2 alerts" in listed


def test_a_webhook_subscription_shows_its_secret_once(site, private_networks):
    ada = site.client("ada")
    answer = ada.post("/dashboard/subscriptions", data=form(site, ada, delivery="webhook", endpoint="http://127.0.0.1:9/hook"))
    assert answer.status_code == 200
    [stored] = site.subscriptions()
    assert stored.endpoint == "http://127.0.0.1:9/hook"
    assert stored.secret in answer.text  # in this answer only
    assert stored.secret not in ada.get(f"/dashboard/subscriptions/{stored.id}").text


def test_pause_resume_and_delete(site):
    ada = site.client("ada")
    subscription_id = create(site, ada)
    token = csrf(ada.get(f"/dashboard/subscriptions/{subscription_id}").text)

    paused = ada.post(f"/dashboard/subscriptions/{subscription_id}/pause", data={"csrf_token": token})
    assert paused.headers["location"] == f"/dashboard/subscriptions/{subscription_id}?done=paused"
    assert site.subscriptions()[0].status == "paused"
    page = ada.get(f"/dashboard/subscriptions/{subscription_id}").text
    assert 'data-testid="live-off"' in page and "Resume" in page

    ada.post(f"/dashboard/subscriptions/{subscription_id}/resume", data={"csrf_token": token})
    assert site.subscriptions()[0].status == "active"

    deleted = ada.post(f"/dashboard/subscriptions/{subscription_id}/delete", data={"csrf_token": token})
    assert deleted.headers["location"] == "/dashboard/subscriptions?done=deleted"
    assert site.subscriptions() == []


def test_a_dead_letter_is_retried_from_the_delivery_log(site, private_networks, monkeypatch):
    monkeypatch.setenv("ICITY_WEBHOOK_MAX_ATTEMPTS", "1")  # the first failure makes the dead letter
    get_settings.cache_clear()
    ada = site.client("ada")
    ada.post("/dashboard/subscriptions", data=form(site, ada, delivery="webhook", endpoint=f"http://127.0.0.1:{closed_port()}/hook"))
    [subscription] = site.subscriptions()
    with transaction(site.url) as session:  # a change of an IS the app reads (public)
        entity_store.upsert_entities(session, "alpha/air", [network.air("alpha", "s1", 2.1, 41.4, 77.0, datetime.now(timezone.utc))])
    dispatcher = webhooks.WebhookDispatcher(site.url)
    try:
        assert dispatcher.run_once()["dead"] == 1  # nothing listens on that port
    finally:
        dispatcher.close()
    page = ada.get(f"/dashboard/subscriptions/{subscription.id}").text
    [delivery_id] = re.findall(r'data-delivery="(\d+)" data-status="dead"', page)
    assert "dead letter" in page and "Connect" in page

    bob = site.client("bob")
    refused = bob.post(f"/dashboard/subscriptions/{subscription.id}/deliveries/{delivery_id}/retry", data={"csrf_token": csrf(bob.get("/dashboard").text)})
    assert refused.status_code == 404

    retried = ada.post(f"/dashboard/subscriptions/{subscription.id}/deliveries/{delivery_id}/retry", data={"csrf_token": csrf(page)})
    assert retried.headers["location"] == f"/dashboard/subscriptions/{subscription.id}?done=retried#deliveries"
    with new_session(site.url) as session:
        delivery = session.get(Delivery, int(delivery_id))
        assert delivery.status == "pending" and delivery.attempts == 0

    again = ada.post(f"/dashboard/subscriptions/{subscription.id}/deliveries/{delivery_id}/retry", data={"csrf_token": csrf(page)})
    assert again.status_code == 409 and "only a dead letter is retried" in again.text


def test_another_developer_can_neither_see_nor_touch_them(site):
    subscription_id = create(site, site.client("ada"), name="Ada's own")
    bob = site.client("bob")
    listing = bob.get("/dashboard/subscriptions")
    assert listing.status_code == 200 and "Ada&#39;s own" not in listing.text and "Ada's own" not in listing.text
    assert bob.get(f"/dashboard/subscriptions/{subscription_id}").status_code == 404
    token = csrf(listing.text)
    for action in ("pause", "resume", "delete"):
        assert bob.post(f"/dashboard/subscriptions/{subscription_id}/{action}", data={"csrf_token": token}).status_code == 404
    # nor subscribe Ada's app
    refused = bob.post("/dashboard/subscriptions", data={"csrf_token": token, "app": str(site.app_id), "delivery": "stream"})
    assert refused.status_code == 404
    [stored] = site.subscriptions()
    assert stored.status == "active" and stored.name == "Ada's own"
    assert site.client().get("/dashboard/subscriptions").status_code == 303  # anonymous: sign in first


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"delivery": "webhook", "endpoint": "ftp://files.example/x"}, "Webhook URL: endpoint must be an http:// or https:// URL"),
        ({"bbox": "2.5,41.0,2.0"}, "Area (bbox)"),
        ({"entity_types": "AirQualityObserved", "attributes": "no2, colour"}, "Attributes ([1]): &#39;colour&#39; is not an attribute"),
        ({"expires_at": "2020-01-01T00:00"}, "Expires at: expiresAt must be in the future"),
        ({"entity_types": "NoSuchType"}, "Entity types ([0])"),
        ({"q": "no2>>"}, "Condition (q)"),
    ],
)
def test_a_bad_field_re_renders_the_form_with_the_problem_and_writes_nothing(site, fields, shown):
    ada = site.client("ada")
    answer = ada.post("/dashboard/subscriptions", data=form(site, ada, name="Kept in the form", **fields))
    assert answer.status_code in (400, 422), answer.text
    assert 'data-testid="form-errors"' in answer.text and shown in answer.text
    assert 'value="Kept in the form"' in answer.text  # what was typed is still there
    assert site.subscriptions() == []


def test_forms_without_the_csrf_token_are_refused(site):
    ada = site.client("ada")
    subscription_id = create(site, ada)
    refused = ada.post("/dashboard/subscriptions", data={"app": str(site.app_id), "delivery": "stream", "csrf_token": "forged"})
    assert refused.status_code == 403
    assert ada.post(f"/dashboard/subscriptions/{subscription_id}/delete", data={}).status_code == 403
    assert ada.post(f"/dashboard/subscriptions/{subscription_id}/pause", data={"csrf_token": "x"}).status_code == 403
    with new_session(site.url) as session:
        assert session.scalar(select(func.count()).select_from(Subscription)) == 1
        assert session.scalar(select(Subscription.status)) == "active"


def test_the_live_views_stream_follows_the_same_access_rules_with_the_session_cookie(site):
    """The live view reads /api/v1/subscriptions/{id}/events with the portal's session cookie:
    another developer's cookie finds no such subscription, no cookie is asked to authenticate,
    and a paused subscription's stream is refused, as with a key."""
    ada = site.client("ada")
    subscription_id = create(site, ada)
    events = f"/api/v1/subscriptions/{subscription_id}/events"
    assert site.client("bob").get(events).status_code == 404
    assert site.client().get(events).status_code == 401
    ada.post(f"/dashboard/subscriptions/{subscription_id}/pause", data={"csrf_token": csrf(ada.get("/dashboard").text)})
    paused = ada.get(events)
    assert paused.status_code == 409 and "paused" in paused.json()["detail"]
