"""SSE streams of subscriptions, against a real `icity serve` process: events arrive after a push,
a client resuming with Last-Event-ID gets exactly what it missed, in order; access is decided
at delivery; a stream's errors are problem+json. The change feed's own rules (a slow client is
closed, a gone client's queue removed) are checked in process."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest
import uvicorn
from sqlalchemy import delete

from icity.app import create_app
from icity.db.engine import get_engine, transaction
from icity.db.models import ApiKey, App, Organisation, Subscription, User, UserSession
from icity.services import access_requests, catalogue, change_feed, entity_store, provider_tokens
from icity.services.access import CLI
from icity.services.authentication import Credential
from icity.services.secrets import new_api_key
from tests import people
from tests.servers import free_port, start_server, stop_server

pytestmark = pytest.mark.postgres_ok

AIR, PARKING = "alpha/air", "alpha/parking"
S0, S1 = (entity_store.entity_urn("AirQualityObserved", "alpha", f"s{i}") for i in (0, 1))
P0 = entity_store.entity_urn("OffStreetParking", "alpha", "p0")
T0 = datetime.now(timezone.utc).replace(microsecond=0)
EVENT_WAIT_S = 10


# --- A server, and a client reading its streams -------------------------------------------


@dataclass
class Event:
    id: int
    event: str
    data: dict


class EventReader:
    """Reads one SSE stream in a thread; events land in a queue. `ready` is set once the server
    has registered the stream (its first line, `retry:`, came), so what is pushed after it arrives."""

    def __init__(self, url: str, headers: dict[str, str], params: dict | None = None):
        self.events: queue.Queue[Event] = queue.Queue()
        self.ready = threading.Event()
        self.ended = threading.Event()
        self.status: int | None = None
        self.content_type = ""
        self.body = b""
        self._socket: socket.socket | None = None
        self._client = httpx.Client(timeout=httpx.Timeout(10, read=None))
        self._thread = threading.Thread(target=self._read, args=(url, headers, params), daemon=True)
        self._thread.start()
        assert self.ready.wait(10) or self.ended.is_set(), "the stream did not open"

    def _read(self, url: str, headers: dict[str, str], params: dict | None) -> None:
        try:
            with self._client.stream("GET", url, headers=headers, params=params) as response:
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                self.status = response.status_code
                self.content_type = response.headers.get("content-type", "")
                if response.status_code != 200:
                    self.body = response.read()
                    return
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith("retry:"):
                        self.ready.set()
                    elif line == "":
                        if "data" in fields:
                            self.events.put(Event(int(fields["id"]), fields["event"], orjson.loads(fields["data"])))
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(": ")
                        fields[name] = value
        except httpx.HTTPError:
            pass  # closed by close()
        finally:
            self.ended.set()
            self.ready.set()

    def next(self, timeout: float = EVENT_WAIT_S) -> Event:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s") from None

    def take(self, count: int) -> list[Event]:
        return [self.next() for _ in range(count)]

    def quiet(self, seconds: float) -> bool:
        """Did nothing more arrive within `seconds`?"""
        try:
            extra = self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        raise AssertionError(f"an unexpected event: {extra}")

    def close(self) -> None:
        """Hang up, as a browser closing its tab: the reading thread's blocked read ends at once."""
        if self._socket is not None and not self.ended.is_set():
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=10)
        self._client.close()

    def __enter__(self) -> EventReader:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


# --- The world: an app with a grant on alpha/parking, devices pushing into alpha/air and alpha/parking ---


@dataclass
class Streams:
    url: str
    key: dict[str, str]  # the app's API key
    session: dict[str, str]  # a developer of its organisation
    other_key: dict[str, str]  # another organisation's app
    air_token: dict[str, str]
    parking_token: dict[str, str]
    grant: int
    subscriptions: dict[str, int]

    def events_url(self, base: str, name: str) -> str:
        return f"{base}/api/v1/subscriptions/{self.subscriptions[name]}/events"


def subscribe(session, app_id: int, **columns) -> int:
    subscription = Subscription(app_id=app_id, status="active", **columns)
    session.add(subscription)
    session.flush()
    return subscription.id


def build_streams(url: str) -> Streams:
    with transaction(url) as session:
        developer = people.person(session, "dev@streams.example")
        app, key = people.app_with_key(session, developer, "Streams", plan="partner")
        other = people.person(session, "dev@other.example")
        other_app, other_key = people.app_with_key(session, other, "Other", plan="partner")
        grant = people.grant(session, app, PARKING)
        air = catalogue.add_provider(session, AIR, name="Air network")
        for i, entity in enumerate((S0, S1)):
            catalogue.add_device(session, AIR, local_id=f"aq-{i}", provider_id=air.id, entity_id=entity)
        gates = catalogue.add_provider(session, PARKING, name="Parking operator")
        catalogue.add_device(session, PARKING, local_id="gate-0", provider_id=gates.id, entity_id=P0)
        air_token = provider_tokens.create_token(session, CLI, AIR, air.id)["token"]
        parking_token = provider_tokens.create_token(session, CLI, PARKING, gates.id)["token"]
        subscriptions = {
            "air": subscribe(session, app.id, entity_types=["AirQualityObserved"], information_system_id=AIR),
            "no2": subscribe(session, app.id, information_system_id=AIR, attributes=["no2"]),
            "all": subscribe(session, app.id),
            "paused": subscribe(session, app.id, information_system_id=AIR),
            "expiring": subscribe(session, app.id, information_system_id=AIR, expires_at=datetime.now(timezone.utc) + timedelta(seconds=20)),
            "other": subscribe(session, other_app.id, information_system_id=AIR),
        }
        session.get(Subscription, subscriptions["paused"]).status = "paused"
        streams = Streams(
            url=url,
            key={"X-API-Key": key},
            session=developer.headers,
            other_key={"X-API-Key": other_key},
            air_token={"Authorization": f"Bearer {air_token}"},
            parking_token={"Authorization": f"Bearer {parking_token}"},
            grant=grant.id,
            subscriptions=subscriptions,
        )
    get_engine(url).dispose()  # PostgreSQL: the server gets the connections
    return streams


@pytest.fixture(scope="module")
def served(databases, network_url, tmp_path_factory):
    """One server for the module, on a copy of the test network with the streams' world."""
    url = databases.copy(network_url)
    streams = build_streams(url)
    server, base = start_server(url, tmp_path_factory.mktemp("streams"), stream_poll_s="30")
    yield streams, base
    stop_server(server)


_clock = iter(range(1, 1_000_000))


def push(base: str, token: dict[str, str], system: str, *measures: tuple[str, dict]) -> None:
    """Push each (device, values) at its own new second, in one batch."""
    body = {
        "measures": [
            {"device": device, "observedAt": (T0 + timedelta(seconds=next(_clock))).isoformat(), "values": values}
            for device, values in measures
        ]
    }
    response = httpx.post(f"{base}/api/v1/information-systems/{system}/observations", json=body, headers=token, timeout=10)
    assert response.status_code == 200, response.text


def entity_of(event: Event) -> dict:
    assert event.event == "notification"
    [entity] = event.data["data"]
    return entity


# --- Delivery --------------------------------------------------------------------------


def test_a_push_reaches_the_stream_as_one_event_per_changed_entity(served):
    streams, base = served
    with EventReader(streams.events_url(base, "air"), streams.key) as reader:
        assert reader.status == 200 and reader.content_type.startswith("text/event-stream")
        push(base, streams.air_token, AIR, ("aq-0", {"no2": 41.5, "pm10": 12.0}), ("aq-1", {"no2": 17.0}))
        first, second = reader.take(2)
    assert first.id < second.id
    assert first.data["type"] == "Notification" and first.data["subscriptionId"] == streams.subscriptions["air"]
    assert (entity_of(first)["id"], entity_of(first)["no2"], entity_of(first)["pm10"]) == (S0, 41.5, 12.0)
    assert (entity_of(second)["id"], entity_of(second)["no2"]) == (S1, 17.0)


def test_the_attributes_a_subscription_chose_are_all_an_event_shows(served):
    streams, base = served
    with EventReader(streams.events_url(base, "no2"), streams.session) as reader:  # a developer's session works too
        push(base, streams.air_token, AIR, ("aq-0", {"no2": 50.0, "pm10": 13.0}))
        entity = entity_of(reader.next())
    assert entity["no2"] == 50.0 and "pm10" not in entity and "location" not in entity
    assert entity["id"] == S0 and entity["type"] == "AirQualityObserved"


def test_a_client_resuming_with_last_event_id_gets_exactly_the_missed_events_in_order(served):
    streams, base = served
    with EventReader(streams.events_url(base, "air"), streams.key) as reader:
        push(base, streams.air_token, AIR, ("aq-0", {"no2": 1.0}))
        seen = reader.next()
    for value in (2.0, 3.0, 4.0):  # while the client is away
        push(base, streams.air_token, AIR, ("aq-0", {"no2": value}))
    with EventReader(streams.events_url(base, "air"), {**streams.key, "Last-Event-ID": str(seen.id)}) as reader:
        missed = reader.take(3)
        assert reader.quiet(0.5)  # nothing twice
        push(base, streams.air_token, AIR, ("aq-0", {"no2": 5.0}))  # and then live
        live = reader.next()
    assert [entity_of(e)["no2"] for e in missed] == [2.0, 3.0, 4.0]
    assert [e.id for e in missed] == sorted(e.id for e in missed) and missed[0].id > seen.id
    assert entity_of(live)["no2"] == 5.0 and live.id > missed[-1].id
    # the query parameter, for clients that cannot set headers, replays the same
    with EventReader(streams.events_url(base, "air"), streams.key, params={"lastEventId": seen.id}) as reader:
        assert [entity_of(e)["no2"] for e in reader.take(4)] == [2.0, 3.0, 4.0, 5.0]


def test_without_last_event_id_a_stream_starts_at_the_latest_change(served):
    streams, base = served
    push(base, streams.air_token, AIR, ("aq-0", {"no2": 60.0}))
    with EventReader(streams.events_url(base, "air"), streams.key) as reader:
        assert reader.quiet(0.5)
        push(base, streams.air_token, AIR, ("aq-0", {"no2": 61.0}))
        assert entity_of(reader.next())["no2"] == 61.0


def test_each_entity_s_changes_arrive_in_the_order_they_were_made(served):
    streams, base = served
    with EventReader(streams.events_url(base, "air"), streams.key) as reader:
        for round_ in range(10):
            push(base, streams.air_token, AIR, ("aq-0", {"no2": 100.0 + round_}), ("aq-1", {"no2": 200.0 + round_}))
        events = reader.take(20)
    per_entity: dict[str, list[float]] = {}
    for event in events:
        entity = entity_of(event)
        per_entity.setdefault(entity["id"], []).append(entity["no2"])
    assert per_entity == {S0: [100.0 + r for r in range(10)], S1: [200.0 + r for r in range(10)]}
    assert [e.id for e in events] == sorted(e.id for e in events)


def test_a_revoked_grant_stops_its_events_at_once(served):
    streams, base = served
    with EventReader(streams.events_url(base, "all"), streams.key) as reader:
        push(base, streams.parking_token, PARKING, ("gate-0", {"availableSpotNumber": 7}))
        granted = reader.next()
        assert entity_of(granted)["id"] == P0
        with transaction(streams.url) as session:
            access_requests.decide(session, CLI, streams.grant, "revoke", "The licence ended.")
        push(base, streams.parking_token, PARKING, ("gate-0", {"availableSpotNumber": 8}))
        push(base, streams.air_token, AIR, ("aq-1", {"no2": 33.0}))
        after = reader.next()  # the stream goes on, without the parking change
        assert entity_of(after)["id"] == S1
        assert reader.quiet(0.5)
    # nor does a replay show the parking changes: access is decided when sent, not when logged
    with EventReader(streams.events_url(base, "all"), {**streams.key, "Last-Event-ID": str(granted.id - 1)}) as reader:
        assert reader.next().id == after.id
        assert reader.quiet(0.5)


def test_a_stream_ends_when_its_subscription_expires(served):
    streams, base = served
    with transaction(streams.url) as session:
        session.get(Subscription, streams.subscriptions["expiring"]).expires_at = datetime.now(timezone.utc) + timedelta(seconds=2)
    with EventReader(streams.events_url(base, "expiring"), streams.key) as reader:
        assert reader.status == 200
        assert reader.ended.wait(10), "the stream outlived its subscription"
    answer = httpx.get(streams.events_url(base, "expiring"), headers=streams.key)
    assert answer.status_code == 409 and answer.json()["type"].endswith("/subscription-expired")


def test_a_server_told_to_stop_ends_its_streams_instead_of_waiting_for_them(network_copy, tmp_path):
    streams = build_streams(network_copy)
    server, base = start_server(network_copy, tmp_path, workers="2")
    try:
        readers = [EventReader(streams.events_url(base, "air"), streams.key) for _ in range(4)]  # on both workers
        stopped_at = time.monotonic()
        server.terminate()
        server.wait(timeout=10)
        assert time.monotonic() - stopped_at < 5
        assert all(reader.ended.wait(5) for reader in readers)  # each client then resumes with Last-Event-ID
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def new_key(url: str, subscription_id: int) -> tuple[int, dict[str, str]]:
    """Another key of the subscription's app: (its id, its headers)."""
    with transaction(url) as session:
        app = session.get(App, session.get(Subscription, subscription_id).app_id)
        issued = new_api_key()
        key = ApiKey(app_id=app.id, prefix=issued.prefix, secret_digest=issued.digest, created_by=app.created_by)
        session.add(key)
        session.flush()
        return key.id, {"X-API-Key": issued.key}


def test_a_stream_ends_when_the_key_that_opened_it_is_revoked(served):
    streams, base = served
    key_id, key = new_key(streams.url, streams.subscriptions["air"])
    with EventReader(streams.events_url(base, "air"), key) as reader:
        push(base, streams.air_token, AIR, ("aq-0", {"no2": 70.0}))
        assert entity_of(reader.next())["no2"] == 70.0
        with transaction(streams.url) as session:
            session.get(ApiKey, key_id).revoked_at = datetime.now(timezone.utc)
        push(base, streams.air_token, AIR, ("aq-0", {"no2": 71.0}))
        assert reader.ended.wait(EVENT_WAIT_S), "the stream outlived the key that opened it"
        assert reader.events.empty()  # nothing more was delivered


@pytest.mark.parametrize("ending", ["logged out", "account suspended"])
def test_a_stream_ends_with_the_session_that_opened_it(served, ending):
    streams, base = served
    with transaction(streams.url) as session:
        app = session.get(App, session.get(Subscription, streams.subscriptions["air"]).app_id)
        colleague = people.person(session, f"{ending.split()[0]}@streams.example", org=session.get(Organisation, app.organisation_id))
    with EventReader(streams.events_url(base, "air"), colleague.headers) as reader:
        push(base, streams.air_token, AIR, ("aq-1", {"no2": 80.0}))
        assert entity_of(reader.next())["no2"] == 80.0
        with transaction(streams.url) as session:
            if ending == "logged out":
                session.execute(delete(UserSession).where(UserSession.user_id == colleague.user.id))
            else:
                session.get(User, colleague.user.id).status = "suspended"
        push(base, streams.air_token, AIR, ("aq-1", {"no2": 81.0}))
        assert reader.ended.wait(EVENT_WAIT_S), f"the stream outlived its session ({ending})"
        assert reader.events.empty()


# --- Refusals ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case, status",
    [("anonymous", 401), ("unknown", 404), ("other app's", 404), ("paused", 409), ("bad Last-Event-ID", 400)],
)
def test_refused_streams_answer_problem_json(served, case, status):
    streams, base = served
    headers, name = streams.key, "air"
    if case == "anonymous":
        headers = {}
    elif case == "other app's":
        headers = streams.other_key
    elif case == "paused":
        name = "paused"
    elif case == "bad Last-Event-ID":
        headers = {**streams.key, "Last-Event-ID": "yesterday"}
    url = streams.events_url(base, name) if case != "unknown" else f"{base}/api/v1/subscriptions/999999/events"
    answer = httpx.get(url, headers=headers, timeout=10)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"]


# --- The change feed, in process ------------------------------------------------------------


class InProcessServer:
    """The app under uvicorn in a thread of this process, so a test can look at its change feed."""

    def __init__(self, url: str):
        self.app = create_app(url)
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *_exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def wait_for(condition, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_client_that_goes_away_leaves_no_queue_behind(network_copy):
    streams = build_streams(network_copy)
    with InProcessServer(network_copy) as server:
        feed = server.app.state.change_feed
        readers = [EventReader(streams.events_url(server.base, "air"), streams.key) for _ in range(3)]
        assert wait_for(lambda: feed.stream_count == 3)
        push(server.base, streams.air_token, AIR, ("aq-0", {"no2": 9.0}))
        assert all(entity_of(reader.next())["no2"] == 9.0 for reader in readers)
        for reader in readers:
            reader.close()
        assert wait_for(lambda: feed.stream_count == 0), f"{feed.stream_count} streams left connected"


def test_a_quiet_stream_ends_soon_after_its_subscription_is_paused(network_copy, monkeypatch):
    from icity.api.routes import streams as stream_route

    monkeypatch.setattr(stream_route, "KEEP_ALIVE_S", 0.5)  # how often a quiet stream looks again
    streams = build_streams(network_copy)
    with InProcessServer(network_copy) as server:
        with EventReader(streams.events_url(server.base, "air"), streams.key) as reader:
            assert not reader.ended.wait(1.5)  # quiet, kept alive
            with transaction(network_copy) as session:
                session.get(Subscription, streams.subscriptions["air"]).status = "paused"
            assert reader.ended.wait(5), "the stream outlived its paused subscription"


def test_a_quiet_stream_ends_soon_after_its_key_is_revoked(network_copy, monkeypatch):
    from icity.api.routes import streams as stream_route

    monkeypatch.setattr(stream_route, "KEEP_ALIVE_S", 0.5)  # how often a quiet stream looks again
    streams = build_streams(network_copy)
    key_id, key = new_key(network_copy, streams.subscriptions["air"])
    with InProcessServer(network_copy) as server:
        with EventReader(streams.events_url(server.base, "air"), key) as reader:
            assert not reader.ended.wait(1.5)  # quiet, kept alive
            with transaction(network_copy) as session:
                session.get(ApiKey, key_id).revoked_at = datetime.now(timezone.utc)
            assert reader.ended.wait(5), "the quiet stream outlived the key that opened it"


def test_a_stream_that_cannot_keep_up_is_closed_and_the_others_are_not():
    async def scenario() -> tuple[object, object]:
        feed = change_feed.ChangeFeed("sqlite://")
        slow, _ = feed.connect(1, Credential("key", 1))
        fast, _ = feed.connect(2, Credential("key", 2))
        batch = change_feed.Batch([], change_feed.Views())
        for _ in range(change_feed.STREAM_CAPACITY + 1):
            slow.offer(batch)
            fast.offer(batch)
            await fast.next(1)  # the fast client keeps up
        return await slow.next(1), await fast.next(0.05)

    slow_next, fast_next = asyncio.run(scenario())
    assert slow_next is None  # closed: the client reconnects with Last-Event-ID
    assert fast_next is change_feed.KEEP_ALIVE  # open, and nothing waiting
