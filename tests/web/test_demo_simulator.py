"""The live demo's simulator: on for the demo's database only (and off by its setting); one
tick against the live server pushes through the platform's own push API, so its readings
pass the same validation as any push, and the devices report; the demo's history ends at
the moment it was loaded."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone

import httpx
from sqlalchemy import func, select

from icity.background import demo_simulator
from icity.config import Settings
from icity.db.engine import new_session, transaction
from icity.db.models import AlarmRule, AuditEvent, Device, Entity, Observation, ProviderToken, utcnow
from icity.demo import is_demo_database, is_loaded, load_demo
from icity.demo.network import load_cities
from icity.demo.simulator import TOKEN_NAME, DemoSimulator, Reading, TickResult, _due_moments
from icity.services import cities
from icity.services.mqtt_ingest import MqttIngest

BROKER = "mqtt://127.0.0.1:1883"

NOISE_METER = "urn:ngsi-ld:NoiseLevelObserved:barcelona:noise-01"


def _settings(**values) -> Settings:
    return Settings(mqtt_url=None, **values)


def test_the_simulator_is_on_for_the_demo_and_off_by_its_setting(demo_url):
    assert isinstance(demo_simulator(_settings(), demo_url), DemoSimulator)
    assert demo_simulator(_settings(demo_simulator=False), demo_url) is None


def test_the_simulator_never_runs_on_a_database_that_is_not_the_demos(databases):
    url = databases.new()
    with transaction(url) as session:  # a platform with the demo's very cities, not loaded by `icity demo load`
        load_cities(session)
    with new_session(url) as session:
        assert is_loaded(session) and not is_demo_database(session)
    assert demo_simulator(_settings(), url) is None
    assert demo_simulator(_settings(demo_simulator=True), url) is None


def test_a_tick_makes_the_demo_devices_report_through_the_push_api(live_server):
    with new_session(live_server.database_url) as session:
        seen_before = dict(session.execute(select(Device.id, Device.last_seen_at)).all())
        rows_before = session.scalar(select(func.count()).select_from(Observation))
    simulator = DemoSimulator(live_server.database_url, live_server.url)
    started = utcnow()

    result = simulator.tick()

    assert result.pushed > 0 and result.refused == []
    with new_session(live_server.database_url) as session:
        devices = session.scalars(select(Device).where(Device.information_system_id.in_(list(simulator.tokens)))).all()
        assert {"barcelona/air-quality", "barcelona/noise", "london/air-quality"} <= set(simulator.tokens)
        for device in devices:  # each caught up to within its period of now, and no longer silent
            assert device.last_seen_at > seen_before[device.id], device.local_id
            assert device.last_seen_at > started - timedelta(seconds=device.reporting_period_s), device.local_id
            assert device.silent_after > started
        meter = session.get(Entity, NOISE_METER)
        assert meter.observed_at == max(d.last_seen_at for d in devices if d.entity_id == NOISE_METER)
        assert session.scalar(select(func.count()).select_from(Observation)) > rows_before
        # it went through the push endpoint with a provider token of each IS, issued for it and used
        tokens = session.scalars(select(ProviderToken).where(ProviderToken.name == TOKEN_NAME)).all()
        assert len(tokens) == len(simulator.tokens) and all(t.last_used_at is not None for t in tokens)
        issued = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "provider_token.created")).all()
        assert issued.count("demo simulator") == len(tokens)
        # the demo's networks carry the alarm rules its excursions raise
        assert session.scalar(select(AlarmRule.threshold).where(
            AlarmRule.information_system_id == "barcelona/air-quality", AlarmRule.attribute == "no2")) == 200  # fmt: skip

    again = simulator.tick()  # nothing is due twice
    assert again.pushed <= len(devices)


def test_what_the_simulator_pushes_is_validated_as_any_push(live_server):
    simulator = DemoSimulator(live_server.database_url, live_server.url)
    simulator.issue_tokens()
    now = utcnow().replace(microsecond=0)
    wrong = [
        Reading("barcelona/air-quality", "aq-01", now, {"no2": "very high"}, live=True),  # not a number
        Reading("barcelona/air-quality", "aq-02", now + timedelta(days=400), {"no2": 41.0}, live=True),  # future
    ]
    with new_session(live_server.database_url) as session:
        rows_before = session.scalar(select(func.count()).select_from(Observation))
    result = TickResult()
    with httpx.Client(base_url=live_server.url) as client:
        simulator.push(client, "barcelona/air-quality", wrong, result)
        # the same body pushed by hand is refused alike: the simulator has no way round the API's checks
        direct = client.post(
            "/api/v1/information-systems/barcelona/air-quality/observations",
            headers={"Authorization": f"Bearer {simulator.tokens['barcelona/air-quality']}"},
            json={"measures": [{"device": r.device, "observedAt": r.observed_at.isoformat(), "values": r.values} for r in wrong]},
        )
    assert result.pushed == 0 and len(result.refused) == 1 and result.refused[0].startswith("barcelona/air-quality: 422")
    assert direct.status_code == 422 and direct.json()["detail"] in result.refused[0]
    assert {e["path"] for e in direct.json()["errors"]} >= {"measures[0].values.no2", "measures[1].observedAt"}
    with new_session(live_server.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == rows_before  # nothing stored


def test_a_restarted_simulator_revokes_the_tokens_of_its_last_run(live_server):
    first = DemoSimulator(live_server.database_url, live_server.url)
    first.issue_tokens()
    second = DemoSimulator(live_server.database_url, live_server.url)
    second.issue_tokens()
    with new_session(live_server.database_url) as session:
        active = session.scalars(
            select(ProviderToken).where(ProviderToken.name == TOKEN_NAME, ProviderToken.revoked_at.is_(None))
        ).all()
    assert len(active) == len(second.tokens)
    response = httpx.post(
        f"{live_server.url}/api/v1/information-systems/barcelona/noise/observations",
        headers={"Authorization": f"Bearer {first.tokens['barcelona/noise']}"},
        json={"measures": [{"device": "noise-01", "observedAt": utcnow().isoformat(), "values": {"LAeq": 60.0}}]},
    )
    assert response.status_code == 401


def test_catching_up_is_hourly_then_at_the_period_over_the_last_hour():
    now = datetime(2024, 5, 15, 10, 20, tzinfo=timezone.utc)
    moments = _due_moments(datetime(2024, 5, 15, 6, 0, tzinfo=timezone.utc), 600, now)
    times = [m for m, _ in moments]
    assert times[0] == datetime(2024, 5, 15, 6, 10, tzinfo=timezone.utc)
    assert all(b - a == timedelta(minutes=10) for a, b in zip(times, times[1:]) if a >= now - timedelta(hours=1))
    assert len(times) < 12 and times[-1] > now - timedelta(minutes=10)
    assert [live for _, live in moments] == [False] * (len(moments) - 1) + [True]
    long_ago = _due_moments(datetime(2024, 4, 1, tzinfo=timezone.utc), 60, now)
    assert long_ago[0][0] >= now - timedelta(days=1)  # at most a day back
    assert _due_moments(now - timedelta(seconds=30), 60, now) == []


def test_the_history_ends_when_the_demo_is_loaded(databases):
    url = databases.new()
    loaded_at = datetime(2024, 5, 15, 10, 20, 31, tzinfo=timezone.utc)
    with transaction(url) as session:
        load_demo(session, loaded_at)
    with new_session(url) as session:
        assert is_demo_database(session)
        last = session.scalar(
            select(func.max(Observation.observed_at)).where(Observation.entity_id == "urn:ngsi-ld:AirQualityObserved:barcelona:aq-01")
        )
        assert last == datetime(2024, 5, 15, 10, 0, tzinfo=timezone.utc)  # the hour under way when it was loaded
        for device in session.scalars(select(Device)):
            assert device.last_seen_at == last, device.local_id
        # the pipeline's open steps are dated from the load: none overdue by more than days
        overdue = cities.overdue_follow_ups(session, loaded_at.date())
        assert overdue and all(entry["daysOverdue"] < 14 for entry in overdue)


def test_with_a_broker_the_noise_meters_publish_their_live_readings_over_mqtt(live_server):
    """The real Mosquitto (ICITY_MQTT_URL in CI): the catch-up goes over HTTP, the live reading of each
    sound level meter to icity/<city>/<slug>/<device>/attrs, stored by the platform's MQTT ingest."""
    prefix = f"icity-test-{uuid.uuid4().hex[:10]}"  # this test's topics only
    consumer = MqttIngest(BROKER, live_server.database_url, prefix=prefix, share_group=None)
    consumer.start()
    simulator = DemoSimulator(live_server.database_url, live_server.url, BROKER, mqtt_prefix=prefix)
    try:
        assert consumer.wait_subscribed(10), "no MQTT broker on 127.0.0.1:1883: start Mosquitto (`mosquitto -d`)"
        simulator.connect_broker()
        wait_until(simulator._mqtt.is_connected)
        with new_session(live_server.database_url) as session:
            meter = session.scalar(select(Device).where(Device.entity_id == NOISE_METER))
        now = utcnow()
        live_moment = _due_moments(meter.last_seen_at, meter.reporting_period_s, now)[-1][0]

        result = simulator.tick(now)

        noise_meters = sum(1 for system in simulator.tokens if system.endswith("/noise")) * 4
        assert result.published == noise_meters and result.refused == []

        def meter_seen():
            with new_session(live_server.database_url) as session:
                return session.get(Device, meter.id).last_seen_at

        wait_until(lambda: meter_seen() == live_moment, what=lambda: f"last seen {meter_seen()}, not {live_moment}")
    finally:
        simulator.stop()
        consumer.stop()


def wait_until(condition, timeout_s: float = 20.0, what=None):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout_s} s" + (f": {what()}" if what else ""))
