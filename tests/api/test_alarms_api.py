"""Alarm rules through the API: the IS's city admins manage them (audited), bad rules are
refused naming the field and write nothing; the alarms are read by whoever reads the IS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import transaction
from icity.db.models import AlarmRule, AuditEvent
from icity.services import catalogue, entity_store, provider_tokens
from icity.services.access import CLI
from icity.services.alarm_evaluator import AlarmEvaluator
from tests import people

pytestmark = pytest.mark.postgres_ok

BASE = "/api/v1/information-systems/alpha/air"
S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
NOW = datetime.now(timezone.utc).replace(microsecond=0)
NO2_HIGH = {
    "name": "NO2 high",
    "kind": "threshold",
    "entityType": "AirQualityObserved",
    "attribute": "no2",
    "operator": "above",
    "threshold": 40,
    "durationS": 0,
    "severity": "high",
}


@pytest.fixture
def alpha(network_copy: str):
    """A client, alpha's city admin's and beta's city admin's headers, a provider token of alpha/air, the URL."""
    with transaction(network_copy) as session:
        admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        other = people.person(session, "admin@beta.example", role="city_admin", cities=("beta",))
        operator = catalogue.add_provider(session, "alpha/air", name="Xarxa de qualitat de l'aire")
        catalogue.add_device(session, "alpha/air", local_id="aq-00", provider_id=operator.id, entity_id=S0, reporting_period_s=600)
        token = provider_tokens.create_token(session, CLI, "alpha/air", operator.id, "gateway")["token"]
    client = TestClient(create_app(network_copy))
    return client, admin.headers, other.headers, {"Authorization": f"Bearer {token}"}, network_copy


def written(url: str) -> tuple[int, int]:
    """Rules, and audit events about them."""
    with transaction(url) as session:
        rules = session.scalar(select(func.count()).select_from(AlarmRule))
        events = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.startswith("alarm_rule.")))
        return rules, events


def test_a_city_admin_creates_reads_changes_and_deletes_a_rule_audited(alpha):
    client, admin, _, _, url = alpha
    created = client.post(f"{BASE}/alarm-rules", json=NO2_HIGH, headers=admin)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert {k: rule[k] for k in ("informationSystem", "kind", "attribute", "operator", "threshold", "severity", "enabled")} == {
        "informationSystem": "alpha/air", "kind": "threshold", "attribute": "no2", "operator": "above",
        "threshold": 40.0, "severity": "high", "enabled": True,
    }  # fmt: skip
    path = f"{BASE}/alarm-rules/{rule['id']}"
    assert client.get(f"{BASE}/alarm-rules", headers=admin).json() == [rule]
    assert client.get(path, headers=admin).json() == rule
    changed = client.put(path, json={**NO2_HIGH, "threshold": 60, "durationS": 900}, headers=admin)
    assert changed.status_code == 200 and (changed.json()["threshold"], changed.json()["durationS"]) == (60.0, 900)
    assert client.delete(path, headers=admin).status_code == 204
    gone = client.get(path, headers=admin)
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    with transaction(url) as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "alarm_rule").order_by(AuditEvent.id))
        assert list(actions) == ["alarm_rule.created", "alarm_rule.changed", "alarm_rule.deleted"]


def test_a_silent_rule_needs_no_attribute(alpha):
    client, admin, _, _, _ = alpha
    created = client.post(f"{BASE}/alarm-rules", json={"name": "Station silent", "kind": "silent", "durationS": 300}, headers=admin)
    assert created.status_code == 201, created.text
    assert (created.json()["kind"], created.json()["attribute"], created.json()["severity"]) == ("silent", None, "medium")


def test_another_citys_admin_may_not(alpha):
    client, _, other, _, url = alpha
    refused = client.post(f"{BASE}/alarm-rules", json=NO2_HIGH, headers=other)
    assert refused.status_code == 403 and written(url) == (0, 0)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"attribute": "airQualityLevel"}, 422, "attribute"),  # a string: no threshold
        ({"attribute": "noSuchThing"}, 422, "attribute"),
        ({"entityType": "ParkingSpot"}, 422, "entityType"),  # not served by alpha/air
        ({"attribute": None}, 422, "attribute"),
        ({"operator": None}, 422, "operator"),
        ({"threshold": None}, 422, "threshold"),
        ({"kind": "silent"}, 422, "entityType"),  # a silent rule with a threshold's fields
        ({"severity": "urgent"}, 400, "severity"),
        ({"durationS": -1}, 400, "durationS"),
        ({"operator": "around"}, 400, "operator"),
        ({"colour": "red"}, 400, "colour"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field_and_writes_nothing(alpha, change, status, field):
    client, admin, _, _, url = alpha
    response = client.post(f"{BASE}/alarm-rules", json={**NO2_HIGH, **change}, headers=admin)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["path"] for error in response.json()["errors"]]
    assert written(url) == (0, 0)


def test_a_bad_change_leaves_the_rule_as_it_was(alpha):
    client, admin, _, _, _ = alpha
    rule = client.post(f"{BASE}/alarm-rules", json=NO2_HIGH, headers=admin).json()
    refused = client.put(f"{BASE}/alarm-rules/{rule['id']}", json={**NO2_HIGH, "attribute": "name"}, headers=admin)
    assert refused.status_code == 422
    assert client.get(f"{BASE}/alarm-rules/{rule['id']}", headers=admin).json() == rule


def test_the_alarms_of_an_is_are_read_by_whoever_reads_its_data(alpha):
    client, admin, _, provider, url = alpha
    rule = client.post(f"{BASE}/alarm-rules", json=NO2_HIGH, headers=admin).json()
    measure = {"device": "aq-00", "observedAt": (NOW - timedelta(minutes=5)).isoformat(), "values": {"no2": 52.5}}
    assert client.post(f"{BASE}/observations", json={"measures": [measure]}, headers=provider).status_code == 200
    AlarmEvaluator(url).run_once()
    page = client.get(f"{BASE}/alarms", params={"state": "raised"})  # alpha/air is public: anyone
    assert page.status_code == 200, page.text
    [alarm] = page.json()["items"]
    assert alarm == {
        "id": alarm["id"],
        "rule": rule["id"],
        "ruleName": "NO2 high",
        "severity": "high",
        "entity": S0,
        "alert": f"urn:ngsi-ld:Alert:alpha:{rule['id']}-s0",
        "state": "raised",
        "since": (NOW - timedelta(minutes=5)).isoformat(),
        "raisedAt": (NOW - timedelta(minutes=5)).isoformat(),
        "clearedAt": None,
        "value": 52.5,
        "acknowledgement": None,
    }
    assert client.get(f"{BASE}/alarms", params={"state": "cleared"}).json()["items"] == []
    bad = client.get(f"{BASE}/alarms", params={"state": "ringing"})
    assert bad.status_code == 400 and bad.json()["param"] == "state"
    # the approval IS is listed in the catalogue: its alarms are said not readable, not missing
    hidden = client.get("/api/v1/information-systems/alpha/parking/alarms")
    assert hidden.status_code == 401 and hidden.headers["content-type"] == "application/problem+json"
    assert "not readable to you" in hidden.json()["detail"]


def _raised(client: TestClient, admin, provider, url: str, no2: float = 52.5, minutes_ago: int = 5) -> dict:
    measure = {"device": "aq-00", "observedAt": (NOW - timedelta(minutes=minutes_ago)).isoformat(), "values": {"no2": no2}}
    assert client.post(f"{BASE}/observations", json={"measures": [measure]}, headers=provider).status_code == 200
    AlarmEvaluator(url).run_once()
    return client.get(f"{BASE}/alarms", headers=admin).json()["items"][0]


def acknowledgements(url: str) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "alarm.acknowledged"))


def test_an_operator_acknowledges_a_raised_alarm_with_a_note_once_audited(alpha):
    client, admin, other, provider, url = alpha
    client.post(f"{BASE}/alarm-rules", json=NO2_HIGH, headers=admin)
    alarm = _raised(client, admin, provider, url)
    path = f"{BASE}/alarms/{alarm['id']}/acknowledgement"
    refused = client.post(path, json={"note": "mine"}, headers=other)  # beta's admin: not theirs
    assert refused.status_code == 403 and acknowledgements(url) == 0
    assert client.post(path, json={"note": ""}, headers=admin).status_code == 400
    done = client.post(path, json={"note": "Roadworks on Aragó: police told"}, headers=admin)
    assert done.status_code == 200, done.text
    ack = done.json()["acknowledgement"]
    assert (ack["by"], ack["note"], done.json()["state"]) == ("admin@alpha.example", "Roadworks on Aragó: police told", "raised")
    again = client.post(path, json={"note": "twice"}, headers=admin)
    assert again.status_code == 409 and "already acknowledged by admin@alpha.example" in again.json()["detail"]
    assert acknowledgements(url) == 1
    [listed] = client.get(f"{BASE}/alarms", params={"acknowledged": "true"}).json()["items"]
    assert listed["acknowledgement"] == ack
    assert client.get(f"{BASE}/alarms", params={"acknowledged": "false"}).json()["items"] == []


def test_an_acknowledgement_stays_when_the_alarm_clears_and_a_new_raise_needs_its_own(alpha):
    client, admin, _, provider, url = alpha
    client.post(f"{BASE}/alarm-rules", json=NO2_HIGH, headers=admin)
    alarm = _raised(client, admin, provider, url, minutes_ago=9)
    client.post(f"{BASE}/alarms/{alarm['id']}/acknowledgement", json={"note": "seen"}, headers=admin)
    cleared = _raised(client, admin, provider, url, no2=20, minutes_ago=7)
    assert (cleared["state"], cleared["acknowledgement"]["note"]) == ("cleared", "seen")
    again = _raised(client, admin, provider, url, no2=60, minutes_ago=3)
    assert (again["id"], again["state"], again["acknowledgement"]) == (alarm["id"], "raised", None)


def test_a_pending_alarm_is_not_acknowledged_yet(alpha):
    client, admin, _, provider, url = alpha
    client.post(f"{BASE}/alarm-rules", json={**NO2_HIGH, "durationS": 3600}, headers=admin)
    alarm = _raised(client, admin, provider, url)
    assert alarm["state"] == "pending"
    refused = client.post(f"{BASE}/alarms/{alarm['id']}/acknowledgement", json={"note": "early"}, headers=admin)
    assert refused.status_code == 409 and acknowledgements(url) == 0
    missing = client.post(f"{BASE}/alarms/999999/acknowledgement", json={"note": "x"}, headers=admin)
    assert missing.status_code == 404
