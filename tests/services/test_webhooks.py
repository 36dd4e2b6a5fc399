"""Webhook delivery to a real receiver on 127.0.0.1: retries with backoff, signatures, dead
letters, order per entity, selection and projection, throttling, expiry, and access checked
again at delivery. Changes come from real pushes through the API."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from icity.app import create_app
from icity.config import get_settings
from icity.db.engine import new_session, transaction
from icity.db.models import Delivery, Subscription
from icity.services import catalogue, changes, entity_store, provider_tokens, webhooks
from icity.services.access import CLI
from icity.services.selectors import IDENTITY
from tests import people

pytestmark = pytest.mark.postgres_ok

S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")  # lon 2.10, lat 41.38
S1 = entity_store.entity_urn("AirQualityObserved", "alpha", "s1")  # lon 2.11, lat 41.38
P0 = entity_store.entity_urn("OffStreetParking", "alpha", "p0")
MAX_ATTEMPTS = 4


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def entity(self) -> dict:
        return self.json["data"][0]


@dataclass
class Receiver:
    """An app's webhook endpoint: answers 500 to the first `failures` requests (only those about
    `failing_entity`, when set), then 200; keeps every request."""

    failures: int = 0
    failing_entity: str | None = None
    failure_body: bytes = b""  # what it answers with a 500
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received = Received({k.lower(): v for k, v in self.headers.items()}, body)
                receiver.requests.append(received)
                about = received.entity["id"] if received.json["data"] else None
                failing = receiver.failures > 0 and receiver.failing_entity in (None, about)
                if failing:
                    receiver.failures -= 1
                answer = receiver.failure_body if failing else b""
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/icity"

    def values(self, entity_id: str, attribute: str = "no2") -> list:
        """What the receiver was told about one entity, in the order it was told, answered 200 or not."""
        return [r.entity[attribute] for r in self.requests if r.json["data"] and r.entity["id"] == entity_id]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class City:
    client: TestClient
    url: str
    key: dict[str, str]  # the developer's app's API key
    air: dict[str, str]  # provider token headers of alpha/air
    parking: dict[str, str]  # provider token headers of alpha/parking
    admin: dict[str, str]  # alpha's city admin
    grant_id: int
    dispatcher: webhooks.WebhookDispatcher
    clock: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1))

    def push(self, device: str, values: dict, into: str = "air") -> None:
        """One observation, a minute after the previous one (so each moves its entity: one change)."""
        self.clock += timedelta(minutes=1)
        system, headers = ("alpha/air", self.air) if into == "air" else ("alpha/parking", self.parking)
        batch = {"measures": [{"device": device, "observedAt": self.clock.isoformat(), "values": values}]}
        response = self.client.post(f"/api/v1/information-systems/{system}/observations", json=batch, headers=headers)
        assert response.status_code == 200 and response.json()["entitiesUpdated"] == 1, response.text

    def subscribe(self, receiver: Receiver, **fields) -> dict:
        response = self.client.post("/api/v1/subscriptions", json={"endpoint": receiver.url, **fields}, headers=self.key)
        assert response.status_code == 201, response.text
        return response.json()

    def deliveries(self, subscription: dict, **params) -> list[dict]:
        response = self.client.get(f"/api/v1/subscriptions/{subscription['id']}/deliveries", params=params, headers=self.key)
        assert response.status_code == 200, response.text
        return response.json()["items"]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def city(network_copy: str, monkeypatch):
    monkeypatch.setenv("ICITY_WEBHOOK_PRIVATE_NETWORKS", "true")  # the receivers listen on 127.0.0.1
    monkeypatch.setenv("ICITY_WEBHOOK_BACKOFF_S", "0")  # retries are due at once, unless a test says otherwise
    monkeypatch.setenv("ICITY_WEBHOOK_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    monkeypatch.setenv("ICITY_WEBHOOK_TIMEOUT_S", "2")
    get_settings.cache_clear()
    with transaction(network_copy) as session:
        air = catalogue.add_provider(session, "alpha/air", name="Xarxa")
        catalogue.add_device(session, "alpha/air", local_id="aq-00", provider_id=air.id, entity_id=S0)
        catalogue.add_device(session, "alpha/air", local_id="aq-01", provider_id=air.id, entity_id=S1)
        air_token = provider_tokens.create_token(session, CLI, "alpha/air", air.id, "gateway")["token"]
        gate = catalogue.add_provider(session, "alpha/parking", name="Parking operator")
        catalogue.add_device(session, "alpha/parking", local_id="gate-1", provider_id=gate.id, entity_id=P0)
        parking_token = provider_tokens.create_token(session, CLI, "alpha/parking", gate.id, "gate")["token"]
        developer = people.person(session, "dev@breathe.example")
        app, key = people.app_with_key(session, developer, "BreatheEasy", plan="partner")
        grant = people.grant(session, app, "alpha/parking")
        admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
    dispatcher = webhooks.WebhookDispatcher(network_copy)
    yield City(
        TestClient(create_app(network_copy)), network_copy, {"X-API-Key": key},
        {"Authorization": f"Bearer {air_token}"}, {"Authorization": f"Bearer {parking_token}"},
        admin.headers, grant.id, dispatcher,
    )  # fmt: skip
    dispatcher.close()
    get_settings.cache_clear()


def test_failed_attempts_are_retried_until_delivered_with_a_verifiable_signature(city: City, receiver: Receiver):
    receiver.failures = 2
    subscription = city.subscribe(receiver, entityTypes=["AirQualityObserved"])
    city.push("aq-00", {"no2": 33.0})
    totals = city.dispatcher.run_once()
    assert (totals["queued"], totals["failed"], totals["delivered"]) == (1, 2, 1)
    assert len(receiver.requests) == 3
    first, last = receiver.requests[0], receiver.requests[-1]
    assert first.body == last.body and first.headers["x-icity-delivery"] == last.headers["x-icity-delivery"]
    assert last.headers["content-type"] == "application/json"
    assert webhooks.verify(subscription["secret"], last.headers["x-icity-signature"], last.body)
    assert not webhooks.verify(subscription["secret"], last.headers["x-icity-signature"], last.body.replace(b"33.0", b"3.0"))
    assert not webhooks.verify("whsec_another", last.headers["x-icity-signature"], last.body)
    body = last.json
    assert body["type"] == "Notification" and body["id"].startswith("urn:ngsi-ld:Notification:")
    assert body["subscriptionId"] == subscription["id"] and body["data"][0]["id"] == S0 and body["data"][0]["no2"] == 33.0
    [logged] = city.deliveries(subscription)
    assert logged["status"] == "delivered" and logged["attempts"] == 3 and logged["lastStatusCode"] == 200
    assert logged["entityId"] == S0 and logged["deliveredAt"] is not None


def test_a_failure_waits_the_backoff_doubling_each_time(city: City, receiver: Receiver, monkeypatch):
    monkeypatch.setenv("ICITY_WEBHOOK_BACKOFF_S", "30")
    get_settings.cache_clear()
    assert [webhooks.backoff_s(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert webhooks.backoff_s(30) == webhooks.MAX_BACKOFF_S
    receiver.failures = 1
    subscription = city.subscribe(receiver)
    city.push("aq-00", {"no2": 33.0})
    before = datetime.now(timezone.utc)
    assert city.dispatcher.run_once()["failed"] == 1
    [logged] = city.deliveries(subscription)
    assert logged["status"] == "pending" and logged["lastStatusCode"] == 500 and "HTTP 500" in logged["lastError"]
    wait = datetime.fromisoformat(logged["nextAttemptAt"]) - before
    assert timedelta(seconds=29) <= wait <= timedelta(seconds=40)
    assert city.dispatcher.run_once()["delivered"] == 0 and len(receiver.requests) == 1  # not due yet


def test_a_dead_letter_after_the_last_attempt_is_retried_on_request(city: City, receiver: Receiver):
    receiver.failures = MAX_ATTEMPTS
    subscription = city.subscribe(receiver)
    city.push("aq-00", {"no2": 33.0})
    assert city.dispatcher.run_once()["dead"] == 1
    assert len(receiver.requests) == MAX_ATTEMPTS
    [dead] = city.deliveries(subscription, status="dead")
    assert dead["attempts"] == MAX_ATTEMPTS and dead["nextAttemptAt"] is None
    # a dead letter no longer holds back the entity's later changes
    city.push("aq-00", {"no2": 34.0})
    assert city.dispatcher.run_once()["delivered"] == 1
    assert receiver.values(S0)[-1] == 34.0
    retried = city.client.post(f"/api/v1/subscriptions/{subscription['id']}/deliveries/{dead['id']}/retry", headers=city.key)
    assert retried.status_code == 200 and retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    assert city.dispatcher.run_once()["delivered"] == 1
    assert receiver.values(S0)[-1] == 33.0
    assert {d["status"] for d in city.deliveries(subscription)} == {"delivered"}
    again = city.client.post(f"/api/v1/subscriptions/{subscription['id']}/deliveries/{dead['id']}/retry", headers=city.key)
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"


def test_each_entity_is_told_its_changes_in_order(city: City, receiver: Receiver, monkeypatch):
    monkeypatch.setenv("ICITY_WEBHOOK_BACKOFF_S", "1.5")  # longer than a round of sends
    get_settings.cache_clear()
    receiver.failures, receiver.failing_entity = 1, S0  # s0's first change fails once
    city.subscribe(receiver)
    for value in (1.0, 2.0, 3.0):
        city.push("aq-00", {"no2": value})
        city.push("aq-01", {"no2": value + 10})
    city.dispatcher.run_once()
    # s1 is not held back by s0; s0's later changes wait for its first
    assert receiver.values(S1) == [11.0, 12.0, 13.0]
    assert receiver.values(S0) == [1.0]
    time.sleep(1.6)
    assert city.dispatcher.run_once()["delivered"] == 3
    assert receiver.values(S0) == [1.0, 1.0, 2.0, 3.0]


def test_only_the_selected_changes_are_sent_with_the_chosen_attributes(city: City, receiver: Receiver):
    city.subscribe(
        receiver,
        entityTypes=["AirQualityObserved"],
        q="no2>50",
        area={"near": "41.38,2.11,300"},  # s1 only: s0 is 835 m away
        attributes=["no2"],
    )
    city.push("aq-00", {"no2": 90.0})  # outside the area
    city.push("aq-01", {"no2": 40.0})  # q does not hold
    city.push("aq-01", {"no2": 70.0, "pm10": 12.0})
    city.push("gate-1", {"availableSpotNumber": 3}, into="parking")  # another type
    assert city.dispatcher.run_once()["delivered"] == 1
    [received] = receiver.requests
    assert received.entity["id"] == S1 and received.entity["no2"] == 70.0
    assert set(received.entity) <= {*IDENTITY, "no2"}


def test_a_bounding_box_and_a_city_select_too(city: City, receiver: Receiver):
    city.subscribe(receiver, city="alpha", area={"bbox": "2.095,41.37,2.105,41.39"})  # around s0
    city.push("aq-00", {"no2": 20.0})
    city.push("aq-01", {"no2": 21.0})
    city.dispatcher.run_once()
    assert [r.entity["id"] for r in receiver.requests] == [S0]


def test_throttling_sends_one_request_per_period_with_the_latest_state(city: City, receiver: Receiver):
    subscription = city.subscribe(receiver, throttlingS=3600)
    city.push("aq-00", {"no2": 1.0})
    assert city.dispatcher.run_once()["delivered"] == 1
    city.push("aq-00", {"no2": 2.0})
    city.push("aq-00", {"no2": 3.0})  # replaces 2.0, which has not been tried yet
    city.dispatcher.run_once()
    assert receiver.values(S0) == [1.0]
    pending = city.deliveries(subscription, status="pending")
    assert len(pending) == 1
    with transaction(city.url) as session:  # the period passes
        session.execute(
            update(Subscription).where(Subscription.id == subscription["id"])
            .values(last_notified_at=datetime.now(timezone.utc) - timedelta(hours=2))
        )  # fmt: skip
    assert city.dispatcher.run_once()["delivered"] == 1
    assert receiver.values(S0) == [1.0, 3.0]


def test_an_expired_subscription_gets_nothing(city: City, receiver: Receiver):
    subscription = city.subscribe(receiver, expiresAt=(datetime.now(timezone.utc) + timedelta(hours=1)).isoformat())
    city.push("aq-00", {"no2": 1.0})
    with transaction(city.url) as session:
        session.execute(
            update(Subscription).where(Subscription.id == subscription["id"])
            .values(expires_at=datetime.now(timezone.utc) - timedelta(seconds=1))
        )  # fmt: skip
    assert city.dispatcher.run_once()["queued"] == 0
    assert receiver.requests == [] and city.deliveries(subscription) == []


def test_a_paused_subscription_is_told_only_what_changes_after_it_resumes(city: City, receiver: Receiver):
    subscription = city.subscribe(receiver)
    path = f"/api/v1/subscriptions/{subscription['id']}"
    assert city.client.patch(path, json={"status": "paused"}, headers=city.key).json()["status"] == "paused"
    city.push("aq-00", {"no2": 1.0})
    city.dispatcher.run_once()
    assert city.client.patch(path, json={"status": "active"}, headers=city.key).json()["status"] == "active"
    city.push("aq-00", {"no2": 2.0})
    city.dispatcher.run_once()
    assert receiver.values(S0) == [2.0]


def test_a_grant_revoked_after_subscribing_stops_the_data(city: City, receiver: Receiver):
    subscription = city.subscribe(receiver, informationSystem="alpha/parking")
    city.push("gate-1", {"availableSpotNumber": 5}, into="parking")
    assert city.dispatcher.run_once()["delivered"] == 1  # granted: told
    revoked = city.client.post(f"/api/v1/access-requests/{city.grant_id}/revoke", json={"reason": "Licence ended."}, headers=city.admin)
    assert revoked.status_code == 200
    city.push("gate-1", {"availableSpotNumber": 6}, into="parking")
    city.dispatcher.run_once()
    assert receiver.values(P0, "availableSpotNumber") == [5]
    assert len(city.deliveries(subscription)) == 1


def test_a_grant_revoked_between_queueing_and_sending_withholds_the_delivery(city: City, receiver: Receiver):
    subscription = city.subscribe(receiver, informationSystem="alpha/parking")
    city.push("gate-1", {"availableSpotNumber": 5}, into="parking")
    assert webhooks.fill_outbox(city.url) == 1
    city.client.post(f"/api/v1/access-requests/{city.grant_id}/revoke", json={"reason": "Licence ended."}, headers=city.admin)
    assert city.dispatcher.run_once()["withheld"] == 1
    assert receiver.requests == []
    [withheld] = city.deliveries(subscription)
    assert withheld["status"] == "withheld" and withheld["attempts"] == 0 and "alpha/parking" in withheld["lastError"]
    with new_session(city.url) as session:  # the data is not kept for an app that may not read it
        assert session.scalar(select(Delivery.payload).where(Delivery.id == withheld["id"])) == {}


def test_an_unreachable_endpoint_counts_as_a_failed_attempt(city: City):
    closed = Receiver()
    closed.close()  # nothing listens on its port any more
    subscription = city.subscribe(closed)
    city.push("aq-00", {"no2": 1.0})
    assert city.dispatcher.run_once()["dead"] == 1
    [dead] = city.deliveries(subscription)
    assert dead["lastStatusCode"] is None and "Connect" in dead["lastError"]


def test_a_started_dispatcher_is_woken_by_a_commit(city: City, receiver: Receiver):
    dispatcher = webhooks.WebhookDispatcher(city.url, poll_s=60)  # it would not poll within the test
    city.subscribe(receiver)
    dispatcher.start()
    try:
        time.sleep(0.2)  # its first round (nothing to do) is over
        city.push("aq-00", {"no2": 7.0})
        deadline = time.monotonic() + 10
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        dispatcher.stop()
    assert receiver.values(S0) == [7.0]


def test_a_signature_too_old_is_refused():
    body = b'{"type":"Notification"}'
    header = webhooks.signature("whsec_x", 1_700_000_000, body)
    assert webhooks.verify("whsec_x", header, body, now=1_700_000_100)
    assert not webhooks.verify("whsec_x", header, body, now=1_700_001_000)
    assert not webhooks.verify("whsec_x", "v1=abc", body)


def test_finished_deliveries_are_forgotten_after_the_retention(city: City, receiver: Receiver):
    receiver.failures, receiver.failing_entity = MAX_ATTEMPTS, S1
    subscription = city.subscribe(receiver)
    city.push("aq-00", {"no2": 1.0})
    city.push("aq-01", {"no2": 2.0})
    city.dispatcher.run_once()
    assert webhooks.prune(city.url) == 0  # delivered and dead, but recent
    later = datetime.now(timezone.utc) + timedelta(days=get_settings().webhook_log_days, minutes=1)
    assert webhooks.prune(city.url, now=later) == 2
    assert city.deliveries(subscription) == []


PUSH_FROM_ANOTHER_PROCESS = """
import sys
from datetime import datetime, timezone
from icity.db.engine import write_transaction
from icity.services import authentication, ingest

url, token = sys.argv[1:]
with write_transaction(url) as session:
    provider = authentication.principal_for(session, token)
    ingest.push(session, provider, "alpha/air", [ingest.Measure("aq-00", datetime.now(timezone.utc), {"no2": 9.0})])
"""


def test_a_commit_in_another_process_wakes_the_dispatcher_through_redis(city: City, receiver: Receiver, monkeypatch):
    monkeypatch.setenv("ICITY_REDIS_URL", "redis://127.0.0.1:6379/0")
    get_settings.cache_clear()
    city.subscribe(receiver)
    dispatcher = webhooks.WebhookDispatcher(city.url, poll_s=60)
    wakeups = changes.RedisWakeups("redis://127.0.0.1:6379/0")
    dispatcher.start()
    wakeups.start()
    try:
        time.sleep(0.3)  # the Redis subscription is in place
        token = city.air["Authorization"].removeprefix("Bearer ")
        subprocess.run([sys.executable, "-c", PUSH_FROM_ANOTHER_PROCESS, city.url, token], check=True, timeout=60)
        deadline = time.monotonic() + 10
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        wakeups.stop()
        dispatcher.stop()
    assert receiver.values(S0) == [9.0]


def test_a_throttled_subscription_holds_back_no_other(city: City, receiver: Receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "SEND_BATCH", 1)  # one throttled delivery would fill each batch
    throttled = Receiver()
    try:
        city.subscribe(throttled, throttlingS=3600)  # subscribed first: its deliveries come first
        city.subscribe(receiver)
        city.push("aq-00", {"no2": 1.0})
        city.push("aq-01", {"no2": 2.0})
        city.dispatcher.run_once()
        assert receiver.values(S0) == [1.0] and receiver.values(S1) == [2.0]
        assert len(throttled.requests) == 1  # one request in its period
    finally:
        throttled.close()


def test_an_endpoint_added_to_a_stream_only_subscription_is_sent_only_later_changes(city: City, receiver: Receiver):
    created = city.client.post("/api/v1/subscriptions", json={"entityTypes": ["AirQualityObserved"]}, headers=city.key)
    assert created.status_code == 201 and created.json()["endpoint"] is None
    city.push("aq-00", {"no2": 1.0})  # told to its streams only
    city.push("aq-01", {"no2": 2.0})
    assert city.dispatcher.run_once()["queued"] == 0
    path = f"/api/v1/subscriptions/{created.json()['id']}"
    assert city.client.patch(path, json={"endpoint": receiver.url}, headers=city.key).status_code == 200
    city.push("aq-00", {"no2": 3.0})
    assert city.dispatcher.run_once()["delivered"] == 1
    assert receiver.values(S0) == [3.0] and receiver.values(S1) == []


def test_what_a_failing_endpoint_answers_is_not_kept_only_its_status(city: City, receiver: Receiver):
    receiver.failures, receiver.failure_body = MAX_ATTEMPTS, b'{"internal": "db password hunter2"}'
    subscription = city.subscribe(receiver)
    city.push("aq-00", {"no2": 1.0})
    assert city.dispatcher.run_once()["dead"] == 1
    [dead] = city.deliveries(subscription)
    assert dead["lastStatusCode"] == 500 and dead["lastError"] == "HTTP 500 Internal Server Error"


def test_an_endpoint_that_resolves_to_a_private_address_by_send_time_is_not_sent_to(
    city: City, receiver: Receiver, monkeypatch
):
    subscription = city.subscribe(receiver)  # allowed while ICITY_WEBHOOK_PRIVATE_NETWORKS is set
    monkeypatch.setenv("ICITY_WEBHOOK_PRIVATE_NETWORKS", "false")  # as if DNS now answered 127.0.0.1
    get_settings.cache_clear()
    city.push("aq-00", {"no2": 1.0})
    assert city.dispatcher.run_once()["dead"] == 1
    assert receiver.requests == []
    [dead] = city.deliveries(subscription)
    assert dead["attempts"] == MAX_ATTEMPTS and dead["lastStatusCode"] is None
    assert dead["lastError"].startswith("not sent: 127.0.0.1 is a private, loopback")
    refused = city.client.post("/api/v1/subscriptions", json={"endpoint": receiver.url}, headers=city.key)
    assert refused.status_code == 422 and refused.json()["param"] == "endpoint"
