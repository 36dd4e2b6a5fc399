"""The change log: written by pushes and harvests in their own transaction while someone listens,
in commit order, announced after commit (in this process and through Redis), never for a rollback;
and selectors decide on its rows what the entity queries decide in SQL."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import redis
from sqlalchemy import func, select, update

from icity.db.engine import transaction, write_transaction
from icity.db.models import AlarmRule, Change, Subscription
from icity.errors import ICityError
from icity.services import catalogue, changes, entities, entity_store, ingest, provider_tokens
from icity.services.access import CLI
from icity.services.filters import parse_bbox, parse_near, parse_q
from icity.services.selectors import Selector
from tests import people

pytestmark = pytest.mark.postgres_ok

SYSTEM = "alpha/air"
S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def air(network_copy: str):
    """alpha/air with a device reporting into s0, and the provider principal that pushes for it."""
    with transaction(network_copy) as session:
        operator = catalogue.add_provider(session, SYSTEM, name="operator")
        catalogue.add_device(session, SYSTEM, local_id="aq-00", provider_id=operator.id, entity_id=S0)
        token = provider_tokens.create_token(session, CLI, SYSTEM, operator.id, "gateway")["token"]
    from icity.services.authentication import principal_for_provider_token

    with transaction(network_copy) as session:
        provider = principal_for_provider_token(session, token)
    return network_copy, provider


def subscribe(url: str, **selection) -> int:
    with transaction(url) as session:
        developer = people.person(session, f"{uuid.uuid4().hex[:8]}@dev.example")
        app, _ = people.app_with_key(session, developer, "Listener")
        subscription = Subscription(app_id=app.id, **selection)
        session.add(subscription)
        session.flush()
        return subscription.id


def push(url: str, provider, *values: dict, start: datetime = NOW - timedelta(minutes=30)) -> None:
    with transaction(url) as session:
        measures = [ingest.Measure("aq-00", start + timedelta(minutes=i), v) for i, v in enumerate(values)]
        ingest.push(session, provider, SYSTEM, measures)


def logged(url: str) -> list[Change]:
    with transaction(url) as session:
        rows = session.scalars(select(Change).order_by(Change.id)).all()
        session.expunge_all()
        return rows


def test_nothing_is_logged_while_nobody_listens(air):
    url, provider = air
    push(url, provider, {"no2": 20.0})
    assert logged(url) == []


def test_a_subscription_elsewhere_does_not_make_this_system_log(air):
    url, provider = air
    subscribe(url, city_id="beta")
    subscribe(url, information_system_id="alpha/other")
    push(url, provider, {"no2": 20.0})
    assert logged(url) == []


def test_each_push_logs_the_entity_as_the_api_shows_it_in_commit_order(air):
    url, provider = air
    subscribe(url, information_system_id=SYSTEM)
    push(url, provider, {"no2": 20.0}, {"no2": 25.0})  # one batch: one change, the latest state
    push(url, provider, {"no2": 30.0}, start=NOW)
    rows = logged(url)
    assert [row.entity["no2"] for row in rows] == [25.0, 30.0]
    assert rows[0].id < rows[1].id
    with transaction(url) as session:
        shown = entities.get_entity(session, CLI, S0)
    assert rows[-1].entity == shown
    assert (rows[-1].entity_type, rows[-1].city_id, rows[-1].information_system_id) == ("AirQualityObserved", "alpha", SYSTEM)
    assert (rows[-1].lon, rows[-1].lat) == (shown["location"]["coordinates"][0], shown["location"]["coordinates"][1])


def test_an_alarm_rule_on_the_system_is_a_listener(air):
    url, provider = air
    with transaction(url) as session:
        session.add(AlarmRule(information_system_id=SYSTEM, name="NO2", kind="threshold", attribute="no2",
                              operator="above", threshold=200))  # fmt: skip
    push(url, provider, {"no2": 20.0})
    assert len(logged(url)) == 1


def test_a_refused_batch_logs_and_announces_nothing(air):
    url, provider = air
    subscribe(url)
    calls = []
    unregister = changes.on_commit(lambda: calls.append(1))
    try:
        with pytest.raises(ICityError):
            push(url, provider, {"no2": 20.0}, {"noSuchAttribute": 1})
        assert (logged(url), calls) == ([], [])
        push(url, provider, {"no2": 21.0})
        assert calls == [1]
    finally:
        unregister()


def test_harvested_entities_are_logged_when_created_or_changed_not_when_unchanged(network_copy):
    url = network_copy
    subscribe(url, entity_types=["AirQualityObserved"])
    entity = {"id": entity_store.entity_urn("AirQualityObserved", "alpha", "s9"), "type": "AirQualityObserved", "no2": 10.0, "dateObserved": NOW.isoformat(),
              "location": {"type": "Point", "coordinates": [2.1, 41.3]}}  # fmt: skip
    for payload in (entity, entity, {**entity, "no2": 12.0}):
        with transaction(url) as session:
            entity_store.upsert_entities(session, SYSTEM, [payload])
    assert [row.entity["no2"] for row in logged(url)] == [10.0, 12.0]


def test_commits_are_announced_through_redis(air):
    url, provider = air
    subscribe(url)
    client = redis.Redis(host="127.0.0.1", port=6379)
    pubsub = client.pubsub()
    pubsub.subscribe(changes.CHANNEL)
    assert pubsub.get_message(timeout=2)["type"] == "subscribe"
    settings = changes.get_settings()
    previous, settings.redis_url = settings.redis_url, "redis://127.0.0.1:6379/0"
    try:
        push(url, provider, {"no2": 20.0})
        message = pubsub.get_message(timeout=5)
    finally:
        settings.redis_url = previous
        pubsub.close()
    assert message is not None and message["channel"] == changes.CHANNEL.encode()


def test_a_writer_of_the_log_waits_for_the_one_before_it_to_commit(air):
    """Readers take `id > position`: an id that committed after a larger one would be skipped for ever,
    so a second writer may not take its id until the first has committed."""
    url, provider = air
    subscribe(url)
    row = changes.change_row({"id": S0, "type": "AirQualityObserved", "city": "alpha", "informationSystem": SYSTEM}, None, None)
    second_done = threading.Event()

    def second_writer() -> None:
        with write_transaction(url) as session:
            changes.record(session, [row])
        second_done.set()

    with write_transaction(url) as first:
        changes.record(first, [row])
        thread = threading.Thread(target=second_writer)
        thread.start()
        assert not second_done.wait(0.5)  # it waits …
    thread.join(5)
    assert second_done.is_set()  # … until the first committed
    assert len(logged(url)) == 2


@pytest.mark.parametrize(
    "q",
    ["no2>20", "no2>=25.5", "no2<30;pm10>5", "no2==25.5,40", "no2!=25.5", "airQualityLevel==moderate",
     "airQualityLevel!=good", "pm25>1", "pm25!=3"],
)  # fmt: skip
def test_selectors_select_what_the_entity_queries_select(network_copy, q):
    """q evaluated in Python on the log must agree with q compiled to SQL, absent attributes included."""
    url = network_copy
    subscribe(url)
    bodies = [
        {"no2": 25.5, "pm10": 8.0, "airQualityLevel": "moderate"},
        {"no2": 40.0, "pm10": 3.0, "airQualityLevel": "good"},
        {"no2": 12.0},
        {"no2": "n/a"},
    ]
    with transaction(url) as session:
        entity_store.upsert_entities(session, "alpha/air", [
            {"id": entity_store.entity_urn("AirQualityObserved", "alpha", f"sel{i}"), "type": "AirQualityObserved", "dateObserved": NOW.isoformat(), **body,
             "location": {"type": "Point", "coordinates": [2.1 + i / 100, 41.3]}}
            for i, body in enumerate(bodies) if not isinstance(body.get("no2"), str)
        ])  # fmt: skip
    conditions = tuple(parse_q(q, "AirQualityObserved"))
    selector = Selector(entity_types=("AirQualityObserved",), conditions=conditions)
    with transaction(url) as session:
        query = entities.EntityQuery(type="AirQualityObserved", information_system="alpha/air", conditions=conditions, limit=1000)
        in_sql = {e["id"] for e in entities.query_entities(session, CLI, query).items if ":sel" in e["id"]}
    in_log = {row.entity_id for row in logged(url) if selector.matches(row)}
    assert in_log == in_sql


def test_selectors_filter_by_area_and_project_attributes(network_copy):
    url = network_copy
    subscribe(url)
    with transaction(url) as session:
        entity_store.upsert_entities(session, "alpha/air", [
            {"id": entity_store.entity_urn("AirQualityObserved", "alpha", f"geo{i}"), "type": "AirQualityObserved", "no2": 1.0, "pm10": 2.0, "dateObserved": NOW.isoformat(),
             "location": {"type": "Point", "coordinates": [2.0 + i / 10, 41.0]}} for i in range(5)
        ])  # fmt: skip
    rows = logged(url)
    inside = Selector(bbox=parse_bbox("2.05,40.9,2.25,41.1"))
    assert sorted(r.entity_id.rsplit(":", 1)[1] for r in rows if inside.matches(r)) == ["geo1", "geo2"]
    near = Selector(near=parse_near("41.0,2.0,9000"))  # 0.1° of longitude is about 8.4 km here
    assert sorted(r.entity_id.rsplit(":", 1)[1] for r in rows if near.matches(r)) == ["geo0", "geo1"]
    projected = Selector(attributes=("no2",)).project(rows[0].entity)
    assert "pm10" not in projected and projected["no2"] == 1.0 and projected["id"] == rows[0].entity_id
    with transaction(url) as session:
        assert session.scalar(select(func.count()).select_from(Change)) == 5


def test_the_pruner_forgets_changes_older_than_the_retention(air):
    url, provider = air
    subscribe(url)
    push(url, provider, {"no2": 20.0})
    push(url, provider, {"no2": 21.0}, start=NOW)
    with transaction(url) as session:
        first = session.scalar(select(func.min(Change.id)))
        session.execute(update(Change).where(Change.id == first).values(at=NOW - timedelta(hours=25)))
    assert changes.ChangeLogPruner(url).run_once() == 1
    assert [row.entity["no2"] for row in logged(url)] == [21.0]
