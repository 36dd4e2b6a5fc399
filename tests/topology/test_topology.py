"""The supported topology, end to end: 2 `icity serve` processes and 2 `icity worker` processes on one
PostgreSQL database, with Redis and the MQTT broker of this machine. Harvests, HTTP and MQTT pushes,
webhooks and SSE clients run while one worker is killed with SIGKILL; afterwards every acknowledged
observation is stored once, every harvest ran once per schedule tick, every webhook was delivered
(again only for what the dead worker had sent, with the same delivery id), and every SSE client on
either API process saw every change.

Run by `make test-topology` (CI: after the PostgreSQL run); not part of `make test`."""

from __future__ import annotations

import os
import signal
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from itertools import count

import httpx
import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, func, select, text

from icity.db.engine import dispose, transaction
from icity.db.migrate import upgrade
from icity.db.models import Change, Delivery, HarvestRun, Observation, ProviderToken, Subscription
from icity.realtime.mqtt import publish_properties
from icity.services import catalogue, entity_store, provider_tokens
from icity.services.access import CLI
from tests import people
from tests.api.test_streams import EventReader
from tests.connectors.feed_server import Feed, FeedServer
from tests.network import build_network
from tests.servers import start_server
from tests.sources import add_system, csv, set_source
from tests.topology.world import Database, Receiver, environment, start_worker, stop, wait_for

pytestmark = pytest.mark.topology

AIR = "alpha/air"
DEVICES = {f"aq-{i}": entity_store.entity_urn("AirQualityObserved", "alpha", f"s{i}") for i in range(5)}
HARVESTED = [f"alpha/harvested-{n}" for n in range(3)]
T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
_seconds = count(1)


def next_time() -> datetime:
    return T0 + timedelta(seconds=next(_seconds))


class Traffic:
    """Pushes over HTTP (to both API processes) and MQTT; keeps what was acknowledged."""

    def __init__(self, bases: list[str], token: str) -> None:
        self.bases = bases
        self.token = token
        self.acknowledged: dict[tuple[str, datetime], float] = {}  # (entity, observedAt) → no2
        self.published: dict[tuple[str, datetime], float] = {}
        self.mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.mqtt.connect("127.0.0.1", 1883)
        self.mqtt.loop_start()

    def push_http(self, batches: int) -> None:
        for n in range(batches):
            measures = [(device, next_time(), float(n + i)) for i, device in enumerate(DEVICES)]
            body = {"measures": [{"device": d, "observedAt": at.isoformat(), "values": {"no2": v}} for d, at, v in measures]}
            response = httpx.post(
                f"{self.bases[n % len(self.bases)]}/api/v1/information-systems/{AIR}/observations",
                json=body, headers={"Authorization": f"Bearer {self.token}"}, timeout=30,
            )  # fmt: skip
            assert response.status_code == 200, response.text
            self.acknowledged.update({(DEVICES[d], at): v for d, at, v in measures})

    def publish_mqtt(self, messages: int) -> None:
        infos = []
        for n in range(messages):
            device, at, value = f"aq-{n % len(DEVICES)}", next_time(), 100.0 + n
            payload = orjson.dumps({"no2": value, "TimeInstant": at.isoformat()})
            infos.append(self.mqtt.publish(f"icity/{AIR}/{device}/attrs", payload, qos=1, properties=publish_properties(self.token)))
            self.published[(DEVICES[device], at)] = value
        for info in infos:
            info.wait_for_publish(30)  # the broker acknowledged it

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()


def stored(url: str, keys) -> dict[tuple[str, datetime], list[float]]:
    with transaction(url) as session:
        rows = session.execute(
            select(Observation.entity_id, Observation.observed_at, Observation.value_number).where(
                Observation.entity_id.in_(DEVICES.values()), Observation.attribute == "no2", Observation.observed_at > T0
            )
        ).all()
    found: dict[tuple[str, datetime], list[float]] = {}
    for entity_id, observed_at, value in rows:
        found.setdefault((entity_id, observed_at.astimezone(timezone.utc) if observed_at.tzinfo else observed_at.replace(tzinfo=timezone.utc)), []).append(value)
    return {key: found.get(key, []) for key in keys}


def all_stored(url: str, expected: dict) -> bool:
    return all(values == [expected[key]] for key, values in stored(url, expected).items())


def build_world(url: str, feeds: FeedServer, hook: str) -> dict:
    with transaction(url) as session:
        build_network(session)
    for n, system in enumerate(HARVESTED):
        add_system(url, system.split("/")[1])
        body = csv("Sants", "Gràcia").replace(b";24/11", f" {n};24/11".encode())
        set_source(url, feeds.serve(f"/{system.replace('/', '-')}.csv", Feed(body, "text/csv")), schedule="1m", system=system)
    with transaction(url) as session:
        developer = people.person(session, "dev@topology.example")
        app, key = people.app_with_key(session, developer, "Topology", plan="partner")
        provider = catalogue.add_provider(session, AIR, name="Air network")
        for device, entity in DEVICES.items():
            catalogue.add_device(session, AIR, local_id=device, provider_id=provider.id, entity_id=entity)
        token = provider_tokens.create_token(session, CLI, AIR, provider.id)["token"]
        stream = Subscription(app_id=app.id, status="active", information_system_id=AIR)
        webhook = Subscription(app_id=app.id, status="active", information_system_id=AIR, endpoint=hook, secret="s3cret")
        session.add_all([stream, webhook])
        session.flush()
        world = {"key": key, "token": token, "stream": stream.id, "webhook": webhook.id}
    dispose(url)
    return world


def test_two_servers_and_two_workers_lose_nothing_when_a_worker_is_killed(tmp_path):
    database = Database()
    feeds, receiver = FeedServer(), Receiver()
    processes, readers, traffic = [], [], None
    try:
        upgrade(database.url)
        world = build_world(database.url, feeds, receiver.start())
        env = environment(database.url, tmp_path)
        servers = [start_server(database.url, tmp_path / f"serve-{n}", redis_url=env["ICITY_REDIS_URL"],
                                mqtt_url=env["ICITY_MQTT_URL"], secret_key=env["ICITY_SECRET_KEY"]) for n in range(2)]  # fmt: skip
        processes += [server for server, _ in servers]
        bases = [base for _, base in servers]
        # each worker with its own stable ICITY_WORKER_ID (persistent MQTT session), as a supervisor runs it
        run = os.urandom(4).hex()
        worker_envs = [{**env, "ICITY_WORKER_ID": f"topology-{run}-{n}"} for n in range(2)]
        workers = [start_worker(worker_envs[n], tmp_path / f"worker-{n}.log") for n in range(2)]
        processes += workers
        receiver.senders = [worker.pid for worker in workers]

        # SSE clients, two on each API process, before any change
        events_url = "{}/api/v1/subscriptions/%d/events" % world["stream"]
        readers = [EventReader(events_url.format(base), {"X-API-Key": world["key"]}) for base in bases for _ in range(2)]
        assert all(reader.status == 200 for reader in readers)
        with transaction(database.url) as session:
            first_change = session.scalar(select(func.coalesce(func.max(Change.id), 0)))

        traffic = Traffic(bases, world["token"])
        # a worker is subscribed once a message is stored (before that the broker drops them)
        probe = wait_for(lambda: _probe_stored(traffic, database.url), 60, "a worker subscribed to the broker")
        assert probe

        # --- both workers alive: pushes, MQTT, harvests; the first worker to send a webhook is killed
        # while its requests are held unanswered
        traffic.push_http(10)
        assert receiver.victim_chosen.wait(60), "no webhook request arrived"
        victim = receiver.victim
        # MQTT messages in flight at the kill: the provider token's row is locked, so both workers take
        # their share of the messages (the broker acknowledged every one to the publisher) and wait to
        # commit them; the victim dies holding its share, unstored and unacknowledged to the broker
        with holding_the_token(database.url) as waiting:
            traffic.publish_mqtt(50)
            wait_for(lambda: waiting() >= 2, 60, "both workers were storing MQTT messages")
            os.kill(victim, signal.SIGKILL)
            slot = [w.pid for w in workers].index(victim)
            workers[slot].wait(30)
        sent_by_the_dead = {r.delivery_id for r in receiver.snapshot() if r.sender_pid == victim}
        receiver.released.set()
        # the survivor stores its share; the victim's waits in its session at the broker (Mosquitto does
        # not give a dead member's messages to another) until a supervisor restarts it under the same id
        wait_for(lambda: _stored_count(database.url, traffic.published) > 0, 60, "the survivor stored its share")
        waiting_for_the_restart = len(traffic.published) - _stored_count(database.url, traffic.published)
        workers[slot] = start_worker(worker_envs[slot], tmp_path / f"worker-{slot}-restarted.log")
        processes.append(workers[slot])
        receiver.senders.append(workers[slot].pid)
        wait_for(lambda: all_stored(database.url, traffic.published), 60, "the MQTT observations of the killed worker were stored")


        # --- one worker left: more of everything
        traffic.push_http(10)
        traffic.publish_mqtt(50)
        wait_for(lambda: all_stored(database.url, traffic.published), 60, "the MQTT observations sent after the kill were stored")

        # every acknowledged observation stored, once, with its value
        assert stored(database.url, traffic.acknowledged) == {key: [value] for key, value in traffic.acknowledged.items()}
        assert stored(database.url, traffic.published) == {key: [value] for key, value in traffic.published.items()}

        # every webhook delivered; a delivery sent twice only if the dead worker had sent it, with the same id
        wait_for(lambda: _deliveries_settled(database.url, world["webhook"]), 120, "every webhook delivery was delivered")
        with transaction(database.url) as session:
            deliveries = dict(session.execute(select(Delivery.id, Delivery.status).where(Delivery.subscription_id == world["webhook"])).all())
        assert deliveries and set(deliveries.values()) == {"delivered"}
        times = Counter(r.delivery_id for r in receiver.snapshot())
        assert set(times) == set(deliveries)
        assert {delivery for delivery, n in times.items() if n > 1} <= sent_by_the_dead
        assert sent_by_the_dead and all(times[delivery] >= 2 for delivery in sent_by_the_dead)  # taken over

        # every harvest ran, once per schedule tick (1 minute apart at least), whichever worker ran it
        wait_for(lambda: _harvested(database.url), 90, "every scheduled harvest ran")
        with transaction(database.url) as session:
            runs = session.execute(select(HarvestRun.information_system_id, HarvestRun.started_at, HarvestRun.status)).all()
        for system in HARVESTED:
            started = sorted(at for system_id, at, _ in runs if system_id == system)
            assert all(later - earlier >= timedelta(seconds=59) for earlier, later in zip(started, started[1:])), started

        # every SSE client, on either API process, saw every change of the IS
        with transaction(database.url) as session:
            changes = set(session.scalars(select(Change.id).where(Change.id > first_change, Change.information_system_id == AIR)))
        assert changes
        for reader in readers:
            seen: set[int] = set()
            def saw_everything(reader=reader, seen=seen) -> bool:
                while not reader.events.empty():
                    seen.add(reader.events.get().id)
                return changes <= seen
            wait_for(saw_everything, 60, f"an SSE client saw every change ({len(changes - seen)} missing)")
        print(
            f"\ntopology: {len(traffic.acknowledged)} HTTP + {len(traffic.published)} MQTT observations stored once "
            f"({waiting_for_the_restart} MQTT not yet stored when the killed worker was restarted); "
            f"{len(runs)} harvest runs of {len(HARVESTED)} sources; {len(deliveries)} webhook deliveries, "
            f"{sum(times.values()) - len(times)} sent again (all {len(sent_by_the_dead)} the killed worker had sent); "
            f"{len(readers)} SSE clients saw all {len(changes)} changes"
        )
    finally:
        for reader in readers:
            reader.close()
        if traffic is not None:
            traffic.close()
        for process in processes:
            stop(process)
        receiver.close()
        feeds.close()
        dispose(database.url)
        database.drop()


@contextmanager
def holding_the_token(url: str):
    """Lock the IS's provider tokens (every push updates its token's last use) until the block ends;
    yields: how many other connections to the database wait for a lock."""
    engine = create_engine(url)
    with engine.connect() as holder:
        holder.execute(select(ProviderToken.id).where(ProviderToken.information_system_id == AIR).with_for_update())
        with engine.connect() as watcher:
            def waiting() -> int:
                return watcher.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")
                ).scalar_one()
            yield waiting
        holder.rollback()
    engine.dispose()


def _stored_count(url: str, expected: dict) -> int:
    return sum(1 for values in stored(url, expected).values() if values)


def _probe_stored(traffic: Traffic, url: str) -> bool:
    """Publish a probe (not counted as acknowledged traffic) and see whether it was stored."""
    traffic.publish_mqtt(1)
    key, value = traffic.published.popitem()
    try:
        return wait_for(lambda: stored(url, [key])[key] == [value], 2, "probe")
    except AssertionError:
        return False


def _deliveries_settled(url: str, subscription_id: int) -> bool:
    """Every change of the IS is in the outbox, and no delivery is still to be sent."""
    with transaction(url) as session:
        last_change = session.scalar(select(func.max(Change.id)).where(Change.information_system_id == AIR))
        position = session.get(Subscription, subscription_id).position
        statuses = set(session.scalars(select(Delivery.status).where(Delivery.subscription_id == subscription_id)))
    return position >= (last_change or 0) and bool(statuses) and statuses <= {"delivered", "dead", "withheld"}


def _harvested(url: str) -> bool:
    with transaction(url) as session:
        done = set(session.scalars(select(HarvestRun.information_system_id).where(HarvestRun.status == "succeeded")))
    return set(HARVESTED) <= done
