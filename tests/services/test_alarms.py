"""The alarm evaluator against observations pushed through the real ingest path: a
threshold raises once it has held for its duration (by observation times or by the
clock), clears when the value goes back; a silent device raises and clears; each raise
and clear reaches the change log as a Smart Data Models Alert."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from icity.datamodels import get_registry
from icity.datamodels.registry import CORE_KEYS
from icity.db.engine import transaction, write_transaction
from icity.db.models import Alarm, Change, Entity
from icity.services import alarms, catalogue, entity_store, ingest, provider_tokens
from icity.services.access import CLI
from icity.services.alarm_evaluator import AlarmEvaluator
from icity.services.authentication import principal_for_provider_token
from icity.services.filters import parse_bbox
from icity.services.selectors import Selector

pytestmark = pytest.mark.postgres_ok

SYSTEM = "alpha/air"
S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)  # pushes stay in the device clock's range
NO2_ABOVE_40 = {
    "name": "NO2 high", "kind": "threshold", "entityType": "AirQualityObserved",
    "attribute": "no2", "operator": "above", "threshold": 40,
}  # fmt: skip


class Air:
    """alpha/air with device aq-00 (reporting every 10 minutes into s0) and its provider's token."""

    def __init__(self, url: str) -> None:
        self.url = url
        with transaction(url) as session:
            operator = catalogue.add_provider(session, SYSTEM, name="Xarxa de qualitat de l'aire")
            catalogue.add_device(session, SYSTEM, local_id="aq-00", provider_id=operator.id, entity_id=S0, reporting_period_s=600)
            self.token = provider_tokens.create_token(session, CLI, SYSTEM, operator.id, "gateway")["token"]
        self.evaluator = AlarmEvaluator(url)

    def rule(self, **fields) -> int:
        with transaction(self.url) as session:
            return alarms.create_rule(session, CLI, SYSTEM, fields)["id"]

    def push(self, at: datetime, **values) -> None:
        with write_transaction(self.url) as session:
            principal = principal_for_provider_token(session, self.token)
            ingest.push(session, principal, SYSTEM, [ingest.Measure("aq-00", at, values)])

    def alarm(self, rule_id: int, watched: str = S0) -> Alarm | None:
        with transaction(self.url) as session:
            return session.scalar(select(Alarm).where(Alarm.rule_id == rule_id, Alarm.entity_id == watched))

    def alerts(self) -> list[Change]:
        with transaction(self.url) as session:
            return list(session.scalars(select(Change).where(Change.kind == "alarm").order_by(Change.id)))


@pytest.fixture
def air(network_copy: str) -> Air:
    return Air(network_copy)


def test_a_threshold_raises_once_it_has_held_for_its_duration_and_not_before(air):
    rule = air.rule(**NO2_ABOVE_40, durationS=600)
    air.push(T0, no2=50.0)
    air.evaluator.run_once(now=T0 + timedelta(seconds=1))
    assert (air.alarm(rule).state, air.alarm(rule).since) == ("pending", T0)
    air.push(T0 + timedelta(minutes=5), no2=55.0)
    air.evaluator.run_once(now=T0 + timedelta(minutes=5, seconds=1))
    assert air.alarm(rule).state == "pending" and air.alerts() == []
    air.push(T0 + timedelta(minutes=10), no2=60.0)
    air.evaluator.run_once(now=T0 + timedelta(minutes=10, seconds=1))
    alarm = air.alarm(rule)
    assert (alarm.state, alarm.since, alarm.raised_at, alarm.value) == ("raised", T0, T0 + timedelta(minutes=10), 60.0)
    assert len(air.alerts()) == 1


def test_a_pending_alarm_is_raised_by_the_clock_while_the_value_still_holds(air):
    rule = air.rule(**NO2_ABOVE_40, durationS=600)
    air.push(T0, no2=50.0)
    air.evaluator.run_once(now=T0 + timedelta(minutes=9))
    assert air.alarm(rule).state == "pending"
    air.evaluator.run_once(now=T0 + timedelta(minutes=10))
    alarm = air.alarm(rule)
    assert (alarm.state, alarm.raised_at, alarm.value) == ("raised", T0 + timedelta(minutes=10), 50.0)


def test_a_value_back_before_the_duration_drops_the_pending_alarm(air):
    rule = air.rule(**NO2_ABOVE_40, durationS=600)
    air.push(T0, no2=50.0)
    air.push(T0 + timedelta(minutes=1), no2=30.0)
    air.evaluator.run_once(now=T0 + timedelta(hours=1))
    assert air.alarm(rule) is None and air.alerts() == []


def test_a_raised_alarm_clears_when_the_value_goes_back_and_raises_again_after(air):
    rule = air.rule(**NO2_ABOVE_40)  # no duration: at once
    air.push(T0, no2=50.0)
    air.evaluator.run_once()
    assert air.alarm(rule).state == "raised"
    air.push(T0 + timedelta(minutes=1), no2=30.0)
    air.evaluator.run_once()
    alarm = air.alarm(rule)
    assert (alarm.state, alarm.raised_at, alarm.cleared_at, alarm.value) == ("cleared", T0, T0 + timedelta(minutes=1), 50.0)
    air.push(T0 + timedelta(minutes=2), no2=45.0)
    air.evaluator.run_once()
    again = air.alarm(rule)
    assert (again.state, again.since, again.cleared_at) == ("raised", T0 + timedelta(minutes=2), None)
    assert [alert.entity["alarmState"] for alert in air.alerts()] == ["raised", "cleared", "raised"]


def test_each_change_is_judged_once(air):
    air.rule(**NO2_ABOVE_40)
    air.push(T0, no2=50.0)
    first = air.evaluator.run_once()
    second = air.evaluator.run_once()
    assert (first["raised"], second["raised"], second["cleared"]) == (1, 0, 0)  # it reads its own Alert, no more
    assert len(air.alerts()) == 1


def test_raise_and_clear_reach_the_change_log_as_alerts_of_the_smart_data_model(air):
    rule = air.rule(**NO2_ABOVE_40, severity="high")
    air.push(T0, no2=50.0)
    air.push(T0 + timedelta(minutes=1), no2=20.0)
    air.evaluator.run_once()
    raised, cleared = air.alerts()
    alert_id = f"urn:ngsi-ld:Alert:alpha:{rule}-s0"
    with transaction(air.url) as session:
        location = session.get(Entity, S0).location
    assert raised.entity_id == alert_id and raised.entity_type == "Alert"
    assert (raised.city_id, raised.information_system_id) == ("alpha", SYSTEM)
    body = raised.entity
    assert {key: body[key] for key in ("id", "type", "city", "informationSystem", "alarmState")} == {
        "id": alert_id, "type": "Alert", "city": "alpha", "informationSystem": SYSTEM, "alarmState": "raised",
    }  # fmt: skip
    assert (body["severity"], body["category"], body["alertSource"], body["name"]) == ("high", "environment", S0, "NO2 high")
    assert body["dateIssued"] == body["validFrom"] == body["observedAt"] == T0.isoformat()
    assert "validTo" not in body and body["data"]["value"] == 50.0
    assert body["location"] == location and raised.lon is not None
    assert cleared.entity["alarmState"] == "cleared"
    assert cleared.entity["validTo"] == cleared.entity["observedAt"] == (T0 + timedelta(minutes=1)).isoformat()
    # every attribute but iCity's alarmState is the Alert model's, of its type
    model = get_registry().get("Alert")
    for alert in (raised, cleared):
        attributes = {k: v for k, v in alert.entity.items() if k not in CORE_KEYS and k != "alarmState"}
        assert model.validate(attributes) == []
    # so a subscription to Alerts in an area around the station selects them
    lon, lat = raised.lon, raised.lat
    selector = Selector(entity_types=("Alert",), bbox=parse_bbox(f"{lon - 0.01},{lat - 0.01},{lon + 0.01},{lat + 0.01}"))
    assert selector.matches(raised) and selector.matches(cleared)


def test_a_silent_device_raises_and_clears_when_heard_again(air):
    rule = air.rule(name="Station silent", kind="silent", severity="low")
    air.push(T0, no2=20.0)  # silent after T0 + 10 min
    air.evaluator.run_once(now=T0 + timedelta(minutes=5))
    assert air.alarm(rule, "aq-00") is None
    air.evaluator.run_once(now=T0 + timedelta(minutes=11))
    alarm = air.alarm(rule, "aq-00")
    assert (alarm.state, alarm.since, alarm.raised_at) == ("raised", T0 + timedelta(minutes=10), T0 + timedelta(minutes=10))
    air.evaluator.run_once(now=T0 + timedelta(minutes=15))
    assert len(air.alerts()) == 1  # raised once
    air.push(T0 + timedelta(minutes=20), no2=21.0)
    air.evaluator.run_once(now=T0 + timedelta(minutes=21))
    alarm = air.alarm(rule, "aq-00")
    assert (alarm.state, alarm.cleared_at) == ("cleared", T0 + timedelta(minutes=20))
    raised, cleared = air.alerts()
    assert raised.entity_id == f"urn:ngsi-ld:Alert:alpha:{rule}-aq-00"
    assert (raised.entity["alertSource"], raised.entity["alarmState"], cleared.entity["alarmState"]) == ("aq-00", "raised", "cleared")
    assert raised.entity["location"] is not None  # the device has no point of its own: its entity's


def test_a_silent_rule_waits_its_duration_past_the_reporting_period(air):
    rule = air.rule(name="Station silent an hour", kind="silent", durationS=3600)
    air.push(T0, no2=20.0)
    air.evaluator.run_once(now=T0 + timedelta(minutes=30))
    assert air.alarm(rule, "aq-00") is None
    air.evaluator.run_once(now=T0 + timedelta(minutes=71))
    assert air.alarm(rule, "aq-00").raised_at == T0 + timedelta(minutes=70)


def test_a_device_never_heard_from_is_not_alarmed(air):
    rule = air.rule(name="Station silent", kind="silent")
    air.evaluator.run_once(now=T0 + timedelta(days=1))
    assert air.alarm(rule, "aq-00") is None


def test_a_disabled_rule_raises_nothing(air):
    rule = air.rule(**NO2_ABOVE_40, enabled=False)
    air.rule(name="Station silent", kind="silent")  # an enabled rule: the changes are logged
    air.push(T0, no2=50.0)
    air.evaluator.run_once()
    assert air.alarm(rule) is None


def test_deleting_a_rule_clears_its_raised_alarms(air):
    rule = air.rule(**NO2_ABOVE_40)
    air.push(T0, no2=50.0)
    air.evaluator.run_once()
    with transaction(air.url) as session:
        alarms.delete_rule(session, CLI, SYSTEM, rule)
    assert air.alarm(rule) is None
    assert [alert.entity["alarmState"] for alert in air.alerts()] == ["raised", "cleared"]


def test_the_running_evaluator_is_woken_by_a_commit(air):
    rule = air.rule(**NO2_ABOVE_40)
    evaluator = AlarmEvaluator(air.url, poll_s=60)  # only a wake-up can make it in time
    evaluator.start()
    try:
        time.sleep(0.2)  # its first pass, over an empty log
        air.push(T0, no2=50.0)
        deadline = time.monotonic() + 5
        while (air.alarm(rule) is None or air.alarm(rule).state != "raised") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        evaluator.stop()
    assert air.alarm(rule).state == "raised"


def test_disabling_a_rule_clears_its_raised_alarms(air):
    rule = air.rule(**NO2_ABOVE_40)
    air.push(T0, no2=50.0)
    air.evaluator.run_once()
    with transaction(air.url) as session:
        alarms.replace_rule(session, CLI, SYSTEM, rule, {**NO2_ABOVE_40, "enabled": False})
    assert air.alarm(rule).state == "cleared"
    assert air.alerts()[-1].entity["description"] == "the rule was disabled"


def test_an_alert_is_read_like_the_other_entities_of_its_is(air):
    from fastapi.testclient import TestClient

    from icity.app import create_app

    rule = air.rule(**NO2_ABOVE_40, severity="high")
    air.push(T0, no2=50.0)
    air.evaluator.run_once()
    alert_id = f"urn:ngsi-ld:Alert:alpha:{rule}-s0"
    client = TestClient(create_app(air.url))
    raised = client.get(f"/api/v1/entities/{alert_id}")
    assert raised.status_code == 200, raised.text
    assert (raised.json()["alarmState"], raised.json()["informationSystem"]) == ("raised", SYSTEM)
    listed = client.get("/api/v1/entities", params={"type": "Alert"})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    items = body if isinstance(body, list) else next(value for value in body.values() if isinstance(value, list))
    assert [entity["id"] for entity in items] == [alert_id]
    air.push(T0 + timedelta(minutes=1), no2=20.0)
    air.evaluator.run_once()
    assert client.get(f"/api/v1/entities/{alert_id}").json()["alarmState"] == "cleared"
