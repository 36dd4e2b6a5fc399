"""Push over MQTT, against the real Mosquitto on 127.0.0.1:1883: providers publish JSON
attributes with their token as an MQTT 5 user property; what is valid is stored like an
HTTP push, what is not is counted on its device and blocks nothing else.

Each test subscribes under a topic prefix of its own, so parallel runs never see each
other's messages."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import Device, Entity, Observation
from icity.realtime.mqtt import publish_properties
from icity.services import catalogue, entity_store, provider_tokens
from icity.services.access import CLI
from icity.services.mqtt_ingest import MqttIngest
from tests.network import air

pytestmark = pytest.mark.postgres_ok

BROKER = "mqtt://127.0.0.1:1883"
SYSTEM = "alpha/air"
S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module", autouse=True)
def broker() -> None:
    """The real Mosquitto of this machine (.ci/run starts it): a missing broker fails, it is not skipped."""
    assert _broker_up(), "no MQTT broker answers on 127.0.0.1:1883: start Mosquitto (`mosquitto -d`)"


class Publisher:
    """A provider's gateway: publishes under the test's prefix with its token."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.max_queued_messages_set(0)
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()

    def send(self, device: str, payload, token: str | None, system: str = SYSTEM) -> mqtt.MQTTMessageInfo:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        properties = publish_properties(token) if token else None
        return self.client.publish(f"{self.prefix}/{system}/{device}/attrs", body, qos=1, properties=properties)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def provider(network_copy: str) -> dict:
    """alpha/air's operator with devices aq-00 (→ s0), aq-01 (→ s1) and aq-orphan (no entity); its token."""
    with transaction(network_copy) as session:
        operator = catalogue.add_provider(session, SYSTEM, name="Xarxa de qualitat de l'aire")
        catalogue.add_device(session, SYSTEM, local_id="aq-00", provider_id=operator.id, entity_id=S0)
        catalogue.add_device(
            session, SYSTEM, local_id="aq-01", provider_id=operator.id,
            entity_id=entity_store.entity_urn("AirQualityObserved", "alpha", "s1"),
        )  # fmt: skip
        catalogue.add_device(session, SYSTEM, local_id="aq-orphan", provider_id=operator.id)
        token = provider_tokens.create_token(session, CLI, SYSTEM, operator.id, "gateway")
    return {"url": network_copy, "token": token["token"], "token_id": token["id"], "provider_id": operator.id}


@pytest.fixture
def running(provider: dict) -> Iterator[Callable[..., tuple[MqttIngest, Publisher]]]:
    """Start a consumer (and a publisher) under a fresh topic prefix; both stopped afterwards."""
    started: list[tuple[MqttIngest, Publisher]] = []

    def start(**options) -> tuple[MqttIngest, Publisher]:
        prefix = f"icity-test-{uuid.uuid4().hex[:10]}"
        consumer = MqttIngest(BROKER, provider["url"], prefix=prefix, **options)
        consumer.start()
        assert consumer.wait_subscribed(10), "the consumer did not subscribe"
        publisher = Publisher(prefix)
        started.append((consumer, publisher))
        return consumer, publisher

    yield start
    for consumer, publisher in started:
        publisher.close()
        consumer.stop()


def wait_until(condition: Callable[[], object], timeout_s: float = 20.0, what: Callable[[], str] | None = None) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout_s} s" + (f": {what()}" if what else ""))


def history(url: str, entity_id: str = S0) -> int:
    with new_session(url) as session:
        return session.scalar(select(func.count()).select_from(Observation).where(Observation.entity_id == entity_id))


def entity(url: str, entity_id: str = S0) -> Entity:
    with new_session(url) as session:
        return session.get(Entity, entity_id)


def device(url: str, local_id: str) -> Device:
    with new_session(url) as session:
        return session.scalar(select(Device).where(Device.information_system_id == SYSTEM, Device.local_id == local_id))


def test_a_published_message_is_stored_like_a_push(provider, running):
    url = provider["url"]
    consumer, publisher = running()
    before = history(url)
    sent_at = datetime.now(timezone.utc)
    publisher.send("aq-00", {"no2": 41.2, "pm10": 18}, provider["token"]).wait_for_publish(5)
    wait_until(lambda: history(url) == before + 2)
    stored = entity(url)
    assert (stored.attributes["no2"], stored.attributes["pm10"]) == (41.2, 18)
    assert sent_at - timedelta(seconds=1) <= stored.observed_at <= datetime.now(timezone.utc)  # the time of receipt
    assert device(url, "aq-00").last_seen_at == stored.observed_at
    latest = TestClient(create_app(url)).get(f"/api/v1/entities/{S0}").json()
    assert latest["no2"] == 41.2
    assert consumer.stats["stored"] == 1 and consumer.stats["rejected"] == 0


def test_time_instant_is_the_observation_time(provider, running):
    url = provider["url"]
    _, publisher = running()
    at = (datetime.now(timezone.utc) - timedelta(hours=1)).replace(microsecond=0)
    local = at.astimezone(timezone(timedelta(hours=2))).isoformat()  # …+02:00
    publisher.send("aq-00", {"no2": 12.5, "TimeInstant": local}, provider["token"])
    wait_until(lambda: entity(url).observed_at == at)
    assert entity(url).attributes["no2"] == 12.5
    with new_session(url) as session:
        row = session.scalar(select(Observation).where(Observation.entity_id == S0, Observation.observed_at == at))
    assert row is not None and row.attribute == "no2" and row.value_number == 12.5
    # an older observation joins the history only
    older = at - timedelta(hours=1)
    publisher.send("aq-00", {"no2": 99, "TimeInstant": older.isoformat()}, provider["token"])

    def stored_older() -> bool:
        with new_session(url) as session:
            return session.scalar(select(Observation.value_number).where(Observation.entity_id == S0, Observation.observed_at == older)) == 99

    wait_until(stored_older)
    assert entity(url).attributes["no2"] == 12.5 and entity(url).observed_at == at


def test_malformed_messages_are_counted_and_the_good_ones_around_them_stored(provider, running):
    url = provider["url"]
    consumer, publisher = running()
    token = provider["token"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    before = history(url)
    bad = [
        b"not json",
        b"[41.2]",
        {"NO2": 1.0},
        {"no2": "high"},
        {"no2": 1.0, "TimeInstant": "yesterday"},
        {"no2": 1.0, "TimeInstant": "2026-11-25T10:00:00"},  # no zone
        {"no2": 1.0, "TimeInstant": (now + timedelta(hours=2)).isoformat()},  # the future
        {},
    ]
    publisher.send("aq-00", {"no2": 20.0, "TimeInstant": (now - timedelta(minutes=3)).isoformat()}, token)
    for payload in bad:
        publisher.send("aq-00", payload, token)
    publisher.send("aq-01", {"no2": 1.0, "pm10": "x"}, token)
    publisher.send("aq-orphan", {"no2": 1.0}, token)  # reports into no entity
    publisher.send("aq-99", {"no2": 1.0}, token)  # no such device
    publisher.send("aq-00", {"no2": 21.0, "TimeInstant": (now - timedelta(minutes=1)).isoformat()}, token)
    publisher.send("aq-01", {"no2": 22.0}, token)

    wait_until(lambda: consumer.stats["rejected"] == len(bad) + 3)
    wait_until(lambda: history(url) == before + 2)
    # the counters of rejections are written after the consumer counts them: wait for them too
    wait_until(lambda: device(url, "aq-00").rejected_messages == len(bad))
    assert entity(url).attributes["no2"] == 21.0
    assert entity(url, entity_store.entity_urn("AirQualityObserved", "alpha", "s1")).attributes["no2"] == 22.0
    assert device(url, "aq-00").rejected_messages == len(bad)
    assert device(url, "aq-01").rejected_messages == 1 and "pm10" in device(url, "aq-01").last_rejection
    assert device(url, "aq-orphan").rejected_messages == 1
    assert consumer.stats["unknown_device"] == 1

    listed = TestClient(create_app(url)).get("/api/v1/information-systems/alpha/air/devices").json()["items"]
    aq00 = next(item for item in listed if item["id"] == "aq-00")
    assert aq00["rejectedMessages"] == len(bad) and aq00["lastRejection"] and aq00["lastRejectionAt"]


def test_each_kind_of_bad_payload_gives_its_reason(provider, running):
    url = provider["url"]
    consumer, publisher = running()
    cases = {
        b"not json": "not JSON",
        b'"text"': "JSON object",
        b'{"NO2": 1}': "NO2",
        b'{"no2": "high"}': "no2",
        b'{"no2": 1, "TimeInstant": "2026-11-25T10:00:00"}': "TimeInstant",
        b'{"no2": 1, "TimeInstant": "2999-01-01T00:00:00Z"}': "TimeInstant",
        b'{"no2": 1, "TimeInstant": "0001-01-01T00:00:00+14:00"}': "TimeInstant",
        b'{"name": ' + b'{"a": ' * 300 + b"1" + b"}" * 301: "levels deep",
        b'{"name": "a\\u0000b"}': "NUL",
    }
    for count, (payload, expected) in enumerate(cases.items(), start=1):
        publisher.send("aq-00", payload, provider["token"])
        wait_until(lambda: device(url, "aq-00").rejected_messages == count)
        assert expected in device(url, "aq-00").last_rejection, (payload, device(url, "aq-00").last_rejection)
    assert consumer.stats["stored"] == 0


def test_only_a_live_token_of_the_topics_system_is_accepted(provider, running):
    url = provider["url"]
    with transaction(url) as session:
        beta = catalogue.add_provider(session, "beta/air", name="beta operator")
        beta_token = provider_tokens.create_token(session, CLI, "beta/air", beta.id)["token"]
    consumer, publisher = running(token_ttl_s=0.5)
    before = history(url)
    publisher.send("aq-00", {"no2": 1.0}, None)  # no token
    publisher.send("aq-00", {"no2": 2.0}, "icp_notatokenatall")
    publisher.send("aq-00", {"no2": 3.0}, provider["token"][:-2] + "xx")  # the right prefix, a wrong secret
    publisher.send("aq-00", {"no2": 4.0}, beta_token)  # another IS's token
    publisher.send("aq-00", {"no2": 5.0}, provider["token"], system="beta/air")  # alpha's token, beta's topic
    wait_until(lambda: consumer.stats["rejected"] == 5)
    assert device(url, "aq-00").rejected_messages == 4
    assert "not one of alpha/air" in device(url, "aq-00").last_rejection
    assert history(url) == before

    publisher.send("aq-00", {"no2": 6.0}, provider["token"])
    wait_until(lambda: history(url) == before + 1)
    with transaction(url) as session:
        provider_tokens.revoke_token(session, CLI, SYSTEM, provider["token_id"])
    time.sleep(0.6)  # the cached lookup expires
    publisher.send("aq-00", {"no2": 7.0}, provider["token"])
    wait_until(lambda: device(url, "aq-00").rejected_messages == 5)
    assert "revoked" in device(url, "aq-00").last_rejection
    assert history(url) == before + 1 and entity(url).attributes["no2"] == 6.0


def test_a_burst_from_twenty_devices_is_stored_whole(provider, running):
    url = provider["url"]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    entities = [entity_store.entity_urn("AirQualityObserved", "alpha", f"m{i:02}") for i in range(20)]
    with transaction(url) as session:
        entity_store.upsert_entities(
            session, SYSTEM, [air("alpha", f"m{i:02}", 2.0 + i * 0.01, 41.0, 10.0, now - timedelta(days=1)) for i in range(20)]
        )
        for i, entity_id in enumerate(entities):
            catalogue.add_device(session, SYSTEM, local_id=f"burst-{i:02}", provider_id=provider["provider_id"], entity_id=entity_id)
    consumer, publisher = running()
    with new_session(url) as session:
        before = session.scalar(select(func.count()).select_from(Observation).where(Observation.entity_id.in_(entities)))
    per_device = 100
    infos = []
    for n in range(per_device):
        at = (now - timedelta(seconds=per_device - n)).isoformat()
        for i in range(20):
            infos.append(publisher.send(f"burst-{i:02}", {"no2": float(n), "TimeInstant": at}, provider["token"]))
    for info in infos:
        info.wait_for_publish(30)

    def stored() -> bool:
        with new_session(url) as session:
            count = session.scalar(select(func.count()).select_from(Observation).where(Observation.entity_id.in_(entities)))
        return count == before + 20 * per_device

    wait_until(stored, timeout_s=60, what=lambda: f"all stored; consumer: {dict(consumer.stats)}")
    assert consumer.stats["stored"] == 20 * per_device and consumer.stats["rejected"] == 0
    assert consumer.tokens.lookups == 1  # one lookup of the token for the whole burst
    assert all(entity(url, entity_id).attributes["no2"] == per_device - 1 for entity_id in entities)


def test_a_value_or_time_a_city_cannot_use_is_a_rejected_message_with_its_reason(provider, running):
    url = provider["url"]
    consumer, publisher = running()
    cases = {
        b'{"no2": NaN}': "not JSON",
        b'{"no2": 1e999}': "not JSON",  # orjson refuses non-finite numbers as it reads
        b'{"airQualityLevel": "good\\u0000"}': "airQualityLevel",
        b'{"no2": 1, "TimeInstant": "1000-01-01T00:00:00Z"}': "TimeInstant",
    }
    for count, (payload, expected) in enumerate(cases.items(), start=1):
        publisher.send("aq-00", payload, provider["token"])
        wait_until(lambda: device(url, "aq-00").rejected_messages == count)
        assert expected in device(url, "aq-00").last_rejection, (payload, device(url, "aq-00").last_rejection)
    assert consumer.stats["stored"] == 0


def test_messages_taken_but_not_stored_by_a_killed_consumer_come_back_to_it_and_are_stored_once(provider):
    """A consumer with a stable client id (ICITY_WORKER_ID) acknowledges a message only once it is
    stored: one that dies with messages queued gets them again from the broker when it comes back."""
    url, prefix = provider["url"], f"icity-test-{uuid.uuid4().hex[:10]}"
    client_id = f"icity-ingest-test-{uuid.uuid4().hex[:10]}"
    before = history(url)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    dying = MqttIngest(BROKER, url, prefix=prefix, client_id=client_id, session_expiry_s=60)
    dying.broker.start()  # receives, but its worker never stores: every message stays queued
    assert dying.wait_subscribed(10)
    publisher = Publisher(prefix)
    try:
        for n in range(3):
            at = (now - timedelta(seconds=10 - n)).isoformat()
            publisher.send("aq-00", {"no2": float(n), "TimeInstant": at}, provider["token"]).wait_for_publish(5)
        wait_until(lambda: dying.stats["received"] == 3)
        # killed as by SIGKILL: the network loop stops and the socket closes, without a DISCONNECT
        dying.broker._client.loop_stop()
        dying.broker._client.socket().close()
        assert history(url) == before

        restarted = MqttIngest(BROKER, url, prefix=prefix, client_id=client_id, session_expiry_s=60)
        restarted.start()
        try:
            wait_until(lambda: history(url) == before + 3, what=lambda: f"consumer: {dict(restarted.stats)}")
            publisher.send("aq-00", {"no2": 9.0, "TimeInstant": now.isoformat()}, provider["token"]).wait_for_publish(5)
            wait_until(lambda: history(url) == before + 4)
            assert restarted.stats["received"] == 4  # the 3 again, then the new one; nothing more (all acknowledged)
            assert entity(url).attributes["no2"] == 9.0
        finally:
            restarted.stop()  # a clean stop ends the session at the broker
    finally:
        publisher.close()
