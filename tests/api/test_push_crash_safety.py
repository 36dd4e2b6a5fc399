"""Crash safety of push: the server is killed with SIGKILL in the middle of a stream of
HTTP batches and restarted; every acknowledged observation is stored, and the batch
that was under way is stored whole or not at all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import func, select

from icity.db.engine import get_engine, transaction
from icity.db.models import Observation
from icity.services import catalogue, entity_store, provider_tokens
from icity.services.access import CLI

pytestmark = pytest.mark.postgres_ok

SYSTEM = "alpha/air"
DEVICES = 20
T0 = datetime(2026, 11, 24, tzinfo=timezone.utc)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, port: int, tmp_path) -> subprocess.Popen:
    env = {
        **os.environ,
        "ICITY_DATABASE_URL": url,
        "ICITY_VAR_DIR": str(tmp_path),
        "ICITY_PORT": str(port),
        "ICITY_BACKGROUND_IN_SERVER": "false",
    }
    env.pop("ICITY_MQTT_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "icity.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


def batch(number: int) -> dict:
    """Batch `number`: every device's five values at its own second, so it can be counted apart."""
    at = (T0 + timedelta(seconds=number)).isoformat()
    values = {"no2": 20.0 + number % 7, "pm10": 11.0, "pm25": 7.5, "o3": 30.0, "co": 0.3}
    return {"measures": [{"device": f"dev-{d:02d}", "observedAt": at, "values": values} for d in range(DEVICES)]}


BATCH_ROWS = DEVICES * 5


def stored_per_batch(url: str) -> dict[int, int]:
    with transaction(url) as session:
        rows = session.execute(
            select(Observation.observed_at, func.count()).where(Observation.observed_at >= T0).group_by(Observation.observed_at)
        ).all()
    return {int((at - T0).total_seconds()): count for at, count in rows}


def test_acknowledged_batches_survive_a_kill_and_no_batch_is_half_stored(network_copy: str, tmp_path):
    url = network_copy
    with transaction(url) as session:
        operator = catalogue.add_provider(session, SYSTEM, name="Operator")
        entities = [
            {
                "id": entity_store.entity_urn("AirQualityObserved", "alpha", f"dev-{d:02d}"),
                "type": "AirQualityObserved",
                "location": {"type": "Point", "coordinates": [2.1 + d / 1000, 41.38]},
            }
            for d in range(DEVICES)
        ]
        entity_store.upsert_entities(session, SYSTEM, entities)
        for d, entity in enumerate(entities):
            catalogue.add_device(session, SYSTEM, local_id=f"dev-{d:02d}", provider_id=operator.id, entity_id=entity["id"])
        token = provider_tokens.create_token(session, CLI, SYSTEM, operator.id)["token"]
    get_engine(url).dispose()  # PostgreSQL: the server gets the connections

    port = free_port()
    server = start_server(url, port, tmp_path)
    acknowledged: list[int] = []
    stop = threading.Event()

    def stream() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}, timeout=10) as client:
            number = 0
            while not stop.is_set():
                number += 1
                try:
                    response = client.post("/api/v1/information-systems/alpha/air/observations", json=batch(number))
                except httpx.HTTPError:
                    return  # the server died under this batch
                assert response.status_code == 200, response.text
                acknowledged.append(number)

    sender = threading.Thread(target=stream)
    sender.start()
    while len(acknowledged) < 20:
        time.sleep(0.01)
    server.send_signal(signal.SIGKILL)  # in the middle of the stream
    server.wait()
    stop.set()
    sender.join(timeout=30)

    server = start_server(url, port, tmp_path)  # the database recovers on restart
    try:
        stored = stored_per_batch(url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert acknowledged, "no batch was acknowledged"
    assert all(stored.get(number) == BATCH_ROWS for number in acknowledged), "an acknowledged batch was lost"
    assert all(count == BATCH_ROWS for count in stored.values()), f"a batch was half stored: {stored}"
    assert set(stored) <= set(acknowledged) | {max(acknowledged) + 1}  # at most the batch under way besides
