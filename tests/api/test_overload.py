"""Under load the server slows down or says "busy" (503 with Retry-After), and recovers by itself:
it never hangs. Requests and background work have connections of their own; every wait for a
connection, the SQLite write lock or a turn is bounded; SIGTERM ends the server in a bounded time."""

from __future__ import annotations

import signal
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.config import get_settings
from icity.db.engine import as_background, dispose, get_engine, sqlite_writer_lock, transaction
from icity.db.models import Observation
from icity.services import catalogue, entity_store, provider_tokens
from icity.services.access import CLI
from tests import people
from tests.connectors.feed_server import Feed
from tests.databases import POSTGRES_URL
from tests.servers import start_server, stop_server
from tests.sources import CONNECTOR, MAPPING, csv

NEW_SYSTEM = {"slug": "aire", "name": "Aire", "category": "environment", "entityTypes": ["AirQualityObserved"]}

SYSTEM = "alpha/air"
DEVICES = 5
T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
sqlite_only = pytest.mark.skipif(bool(POSTGRES_URL), reason="the writer lock is SQLite's")


@pytest.fixture
def settings(monkeypatch):
    """Set ICITY_* settings for this test (read again by the app and the engines made after)."""

    def set_(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"ICITY_{name.upper()}", value)
        get_settings.cache_clear()

    yield set_
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def world(network_copy: str) -> dict:
    """Devices of alpha/air with a provider token, and an app key to read with."""
    with transaction(network_copy) as session:
        operator = catalogue.add_provider(session, SYSTEM, name="Operator")
        for d in range(DEVICES):
            catalogue.add_device(
                session, SYSTEM, local_id=f"dev-{d}", provider_id=operator.id,
                entity_id=entity_store.entity_urn("AirQualityObserved", "alpha", f"s{d}"),
            )  # fmt: skip
        token = provider_tokens.create_token(session, CLI, SYSTEM, operator.id)["token"]
        _app, key = people.app_with_key(session, people.person(session, "load@example.org"), "Load", plan="partner")
    dispose(network_copy)  # PostgreSQL: a server gets the connections
    return {"url": network_copy, "push": {"Authorization": f"Bearer {token}"}, "read": {"X-API-Key": key}}


def batch(second: int) -> dict:
    at = (T0 + timedelta(seconds=second)).isoformat()
    return {"measures": [{"device": f"dev-{d}", "observedAt": at, "values": {"no2": 20.0 + d}} for d in range(DEVICES)]}


def stored_since_t0(url: str) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(Observation).where(Observation.observed_at >= T0))


PUSH = f"/api/v1/information-systems/{SYSTEM}/observations"


def assert_busy(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["type"].endswith("/overloaded")


@pytest.mark.postgres_ok
def test_concurrent_pushes_and_reads_on_few_threads_all_get_an_answer(world, tmp_path):
    """Pushes once waited on the request threads for the SQLite write lock, or for the rows another
    push had locked (PostgreSQL), while the push holding them waited for a thread to commit: with
    2 threads, 3 pushes at once hung the server."""
    server, base = start_server(world["url"], tmp_path, threads="2")
    acknowledged, answers, failures = [], [], []
    seconds = iter(range(1_000_000))
    lock = threading.Lock()

    def client(kind: str) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(8):
                try:
                    if kind == "push":
                        with lock:
                            second = next(seconds)
                        response = http.post(PUSH, json=batch(second), headers=world["push"])
                        if response.status_code == 200:
                            with lock:
                                acknowledged.append(response.json()["observations"])
                    else:
                        response = http.get("/api/v1/entities?type=AirQualityObserved&limit=50", headers=world["read"])
                    answers.append(response.status_code)
                except httpx.HTTPError as error:
                    failures.append(repr(error))

    try:
        threads = [threading.Thread(target=client, args=(kind,)) for kind in ["push"] * 8 + ["read"] * 8]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures[:3]
        assert set(answers) <= {200, 503} and answers.count(200) > len(answers) // 2
        assert sum(acknowledged) == stored_since_t0(world["url"])  # every acknowledged observation stored
        assert httpx.get(f"{base}/api/v1/cities", timeout=30).status_code == 200  # and it serves on
    finally:
        stop_server(server)


@sqlite_only
def test_a_push_that_does_not_get_the_write_lock_in_time_is_answered_503_and_stores_nothing(world, settings):
    settings(db_lock_timeout_s="0.2")
    client = TestClient(create_app(world["url"]))
    writer = sqlite_writer_lock(world["url"])
    writer.acquire()  # another writer of this process holds the database
    try:
        assert_busy(client.post(PUSH, json=batch(1), headers=world["push"]))
    finally:
        writer.release()
    assert stored_since_t0(world["url"]) == 0
    assert client.post(PUSH, json=batch(1), headers=world["push"]).status_code == 200  # recovered


@pytest.mark.postgres_ok
def test_a_request_that_gets_no_connection_in_time_is_answered_503_then_served_again(world, settings):
    settings(max_requests_in_flight="1", db_pool_timeout_s="0.2")
    dispose(world["url"])  # pools made again with these settings
    client = TestClient(create_app(world["url"]))
    engine = get_engine(world["url"])
    held = [engine.connect() for _ in range(2)]  # the whole request pool: 1 in flight, room for 2
    try:
        assert_busy(client.get("/api/v1/cities", headers=world["read"]))
    finally:
        for connection in held:
            connection.close()
    assert client.get("/api/v1/cities", headers=world["read"]).status_code == 200


@pytest.mark.postgres_ok
def test_background_work_cannot_take_the_connections_of_requests(world, settings):
    settings(db_background_pool_size="1", max_requests_in_flight="1", db_pool_timeout_s="0.5")
    dispose(world["url"])
    background_engine = as_background(get_engine)(world["url"])
    assert background_engine is not get_engine(world["url"])
    held = [background_engine.connect() for _ in range(2)]  # background work's whole pool, busy
    try:
        response = TestClient(create_app(world["url"])).get("/api/v1/cities", headers=world["read"])
        assert response.status_code == 200, response.text
    finally:
        for connection in held:
            connection.close()


@sqlite_only
def test_requests_beyond_the_ones_in_flight_wait_their_turn_then_get_503(world, settings):
    settings(max_requests_in_flight="1", request_queue_timeout_s="0.3", db_lock_timeout_s="20")
    client = TestClient(create_app(world["url"]))
    writer = sqlite_writer_lock(world["url"])
    writer.acquire()
    pushed: list[httpx.Response] = []
    pusher = threading.Thread(target=lambda: pushed.append(client.post(PUSH, json=batch(2), headers=world["push"])))
    pusher.start()  # in flight: waits for the write lock, holding the one turn
    try:
        for _ in range(100):  # until the push is in flight
            busy = client.get("/api/v1/cities", headers=world["read"])
            if busy.status_code == 503:
                break
        assert_busy(busy)
    finally:
        writer.release()
    pusher.join(timeout=30)
    assert pushed[0].status_code == 200, pushed[0].text
    assert client.get("/api/v1/cities", headers=world["read"]).status_code == 200


def test_sigterm_ends_the_server_within_its_shutdown_bound_even_with_a_request_under_way(network_copy, tmp_path, feeds):
    """uvicorn's graceful shutdown waited for every request under way, however long: a server whose
    requests hung could only be killed. Here a preview reads a source that answers after 60 s."""
    with transaction(network_copy) as session:
        admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",)).headers
    dispose(network_copy)
    slow_source = feeds.serve("/slow.csv", Feed(csv("Sants"), "text/csv", delay_s=60))
    server, base = start_server(network_copy, tmp_path, shutdown_timeout_s="1", harvest_timeout_s="90")
    try:
        created = httpx.post(f"{base}/api/v1/cities/alpha/information-systems", json=NEW_SYSTEM, headers=admin, timeout=60)
        assert created.status_code == 201, created.text
        preview = {"connector": {**CONNECTOR, "url": slow_source}, "mapping": MAPPING}

        def ask_for_a_preview() -> None:
            try:
                httpx.post(f"{base}/api/v1/information-systems/alpha/aire/preview", json=preview, headers=admin, timeout=90)
            except httpx.HTTPError:  # cut by the shutdown
                pass

        threading.Thread(target=ask_for_a_preview, daemon=True).start()
        time.sleep(1)  # the preview is under way, waiting for the source
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=20) is not None  # 1 s of grace, not the source's 60
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
