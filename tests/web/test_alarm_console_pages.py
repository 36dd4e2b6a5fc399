"""The alarm console over HTTP (no browser), on the small test network: alpha's admins and the
platform admin manage alpha/air's alarm rules and acknowledge its alarms; another city's admin
and a developer are refused; each form records what it says (audited as the API's calls are),
a refused form re-renders with its field errors and writes nothing, and a form without this
browser's CSRF token writes nothing. The browser journey is in test_alarm_console_journeys.py."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import Alarm, AlarmRule, AuditEvent
from icity.services import alarms, entity_store, owners
from icity.services.access import CLI
from tests import people
from tests.web.test_city_admin_pages import Site, csrf

PAGE = "/manage/information-systems/alpha/air/alarms"
S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
NO2 = {"name": "NO2 high", "kind": "threshold", "entityType": "AirQualityObserved", "attribute": "no2", "operator": "above", "threshold": 40}


@pytest.fixture
def site(network_copy) -> Site:
    with transaction(network_copy) as session:
        alpha = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        delta = people.person(session, "admin@delta.example", role="city_admin", cities=("delta",))
        coordinator = people.person(session, "coordinator@icity.example", role="admin")
        developer = people.person(session, "ada@dev.example")
        tokens = {"alpha": alpha.token, "delta": delta.token, "admin": coordinator.token, "developer": developer.token}
    return Site(network_copy, tokens, {})


def rule_form(token: str, **changes: str) -> dict[str, str]:
    form = {"csrf_token": token, "name": "NO2 high", "kind": "threshold", "entity_type": "AirQualityObserved",
            "attribute": "no2", "operator": "above", "threshold": "40", "duration_s": "0", "severity": "high", "enabled": "yes"}  # fmt: skip
    return {**form, **changes}


def raised_alarm(url: str, state: str = "raised") -> tuple[int, int]:
    """A rule of alpha/air and its alarm on s0 (as the evaluator leaves it): rule id, alarm id."""
    with transaction(url) as session:
        rule = alarms.create_rule(session, CLI, "alpha/air", NO2)
        now = datetime.now(timezone.utc)
        alarm = Alarm(rule_id=rule["id"], entity_id=S0, state=state, since=now - timedelta(minutes=5), value=52.5,
                      raised_at=None if state == "pending" else now)  # fmt: skip
        session.add(alarm)
        session.flush()
        return rule["id"], alarm.id


def audited(url: str, prefix: str) -> list[str]:
    with new_session(url) as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.startswith(prefix)).order_by(AuditEvent.id)))


def test_the_console_is_for_those_who_manage_the_is(site):
    raised_alarm(site.url)
    anonymous = site.client().get(PAGE, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/sign-in?next=")
    assert site.client("developer").get(PAGE).status_code == 403
    assert site.client("delta").get(PAGE).status_code == 403  # alpha/air is served: known, not theirs
    assert site.client("alpha").get("/manage/information-systems/gamma/wifi/alarms").status_code == 404  # a draft elsewhere
    for who in ("alpha", "admin"):
        page = site.client(who).get(PAGE)
        assert page.status_code == 200, who
        assert 'data-testid="rules"' in page.text and "NO2 high" in page.text
        assert 'data-testid="alarm-state">raised<' in page.text and "Acknowledge" in page.text
    assert f'href="{PAGE}"' in site.client("alpha").get("/manage/information-systems/alpha/air").text  # linked from the IS page


def test_a_city_admin_creates_edits_pauses_resumes_and_deletes_a_rule(site):
    alpha = site.client("alpha")
    token = csrf(alpha.get(PAGE).text)
    created = alpha.post(f"{PAGE.replace('/alarms', '/alarm-rules')}", data=rule_form(token), follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"].endswith("?done=created#rules")
    with new_session(site.url) as session:
        rule = session.scalars(select(AlarmRule)).one()
        assert (rule.name, rule.attribute, rule.operator, rule.threshold, rule.severity, rule.enabled) == (
            "NO2 high", "no2", "above", 40.0, "high", True,
        )  # fmt: skip
    rules = f"/manage/information-systems/alpha/air/alarm-rules/{rule.id}"
    edit = alpha.get(f"{PAGE}?edit={rule.id}")
    assert f'action="{rules}"' in edit.text and 'value="NO2 high"' in edit.text
    changed = alpha.post(rules, data=rule_form(token, threshold="60", duration_s="900", name="NO2 very high"), follow_redirects=False)
    assert changed.status_code == 303
    assert alpha.post(f"{rules}/pause", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with new_session(site.url) as session:
        rule = session.get(AlarmRule, rule.id)
        assert (rule.name, rule.threshold, rule.duration_s, rule.enabled) == ("NO2 very high", 60.0, 900, False)
    assert 'data-testid="rule-state">paused<' in alpha.get(PAGE).text
    assert alpha.post(f"{rules}/resume", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with new_session(site.url) as session:
        assert session.get(AlarmRule, rule.id).enabled is True
    assert alpha.post(f"{rules}/deletion", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    with new_session(site.url) as session:
        assert session.scalars(select(AlarmRule)).all() == []
    assert audited(site.url, "alarm_rule.") == ["alarm_rule.created"] + ["alarm_rule.changed"] * 3 + ["alarm_rule.deleted"]


def test_a_silent_rule_from_the_form_ignores_the_threshold_fields(site):
    alpha = site.client("alpha")
    token = csrf(alpha.get(PAGE).text)
    answer = alpha.post(PAGE.replace("/alarms", "/alarm-rules"), data=rule_form(token, kind="silent", name="Quiet station"))
    assert answer.status_code == 200 and "The rule is saved" in answer.text
    with new_session(site.url) as session:
        rule = session.scalars(select(AlarmRule)).one()
        assert (rule.kind, rule.attribute, rule.threshold) == ("silent", None, None)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"attribute": "name"}, "Attribute: &#39;name&#39; is not numeric"),
        ({"threshold": "lots"}, "Threshold"),
        ({"name": ""}, "Name"),
        ({"attribute": ""}, "Attribute: name the numeric attribute to watch"),
        ({"duration_s": "-5"}, "For at least (seconds)"),
    ],
)
def test_a_refused_rule_is_shown_with_its_field_errors_and_writes_nothing(site, changes, message):
    alpha = site.client("alpha")
    token = csrf(alpha.get(PAGE).text)
    before = site.rows()
    refused = alpha.post(PAGE.replace("/alarms", "/alarm-rules"), data=rule_form(token, **changes))
    assert refused.status_code == 422 and "Nothing was saved" in refused.text and message in refused.text, refused.text
    assert 'value="NO2 high"' in refused.text or changes == {"name": ""}  # what was typed is kept
    assert site.rows() == before


def test_another_citys_admin_may_not_touch_the_rules_and_nothing_is_written(site):
    rule_id, alarm_id = raised_alarm(site.url)
    delta = site.client("delta")
    token = csrf(delta.get("/manage").text)
    before = site.rows()
    base = "/manage/information-systems/alpha/air"
    for path, form in {
        f"{base}/alarm-rules": rule_form(token),
        f"{base}/alarm-rules/{rule_id}": rule_form(token, threshold="1"),
        f"{base}/alarm-rules/{rule_id}/pause": {"csrf_token": token},
        f"{base}/alarm-rules/{rule_id}/deletion": {"csrf_token": token},
        f"{base}/alarms/{alarm_id}/acknowledgement": {"csrf_token": token, "note": "not mine"},
    }.items():
        assert delta.post(path, data=form).status_code == 403, path
    assert site.rows() == before


def test_an_operator_acknowledges_an_alarm_with_a_note_audited(site):
    _, alarm_id = raised_alarm(site.url)
    alpha = site.client("alpha")
    token = csrf(alpha.get(PAGE).text)
    path = f"/manage/information-systems/alpha/air/alarms/{alarm_id}/acknowledgement"
    before = site.rows()
    empty = alpha.post(path, data={"csrf_token": token, "note": "  "})
    assert empty.status_code == 422 and "Note" in empty.text and site.rows() == before
    done = alpha.post(path, data={"csrf_token": token, "note": "Roadworks on Aragó"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=acknowledged#alarms")
    with new_session(site.url) as session:
        alarm = session.get(Alarm, alarm_id)
        assert (alarm.acknowledged_by_email, alarm.acknowledgement_note, alarm.state) == ("admin@alpha.example", "Roadworks on Aragó", "raised")
    page = alpha.get(PAGE).text
    assert 'data-testid="acknowledgement">By admin@alpha.example' in page and "Roadworks on Aragó" in page
    assert audited(site.url, "alarm.") == ["alarm.acknowledged"]
    before = site.rows()
    twice = alpha.post(path, data={"csrf_token": token, "note": "again"})
    assert twice.status_code == 409 and "already acknowledged" in twice.text and site.rows() == before


def test_a_pending_alarm_offers_no_acknowledgement_and_refuses_one(site):
    _, alarm_id = raised_alarm(site.url, state="pending")
    alpha = site.client("alpha")
    page = alpha.get(PAGE).text
    assert 'data-testid="alarm-state">pending<' in page and "/acknowledgement" not in page
    before = site.rows()
    refused = alpha.post(f"{PAGE}/{alarm_id}/acknowledgement", data={"csrf_token": csrf(page), "note": "early"})
    assert refused.status_code == 409 and "pending" in refused.text and site.rows() == before


def test_a_form_without_this_browsers_csrf_token_writes_nothing(site):
    rule_id, alarm_id = raised_alarm(site.url)
    alpha = site.client("alpha")
    before = site.rows()
    base = "/manage/information-systems/alpha/air"
    posts = {
        f"{base}/alarm-rules": rule_form(""),
        f"{base}/alarm-rules/{rule_id}": rule_form("", threshold="1"),
        f"{base}/alarm-rules/{rule_id}/pause": {},
        f"{base}/alarm-rules/{rule_id}/resume": {},
        f"{base}/alarm-rules/{rule_id}/deletion": {},
        f"{base}/alarms/{alarm_id}/acknowledgement": {"note": "seen"},
    }
    for path, form in posts.items():
        form = {name: value for name, value in form.items() if name != "csrf_token"}
        for sent in ({}, {"csrf_token": "forged"}, {"csrf_token": csrf(site.client("delta").get("/manage").text)}):
            refused = alpha.post(path, data={**form, **sent})
            assert refused.status_code == 403 and "Form expired" in refused.text, (path, sent)
    assert site.rows() == before


def test_an_owner_admin_does_not_manage_a_citys_is(site):
    """An owner's admin manages its owner's IS (Principal.manages), not those its city publishes."""
    with transaction(site.url) as session:
        owners.create_owner(session, CLI, id="gridco", name="GridCo", kind="charge_point_operator", country="ES")
        site.tokens["gridco"] = people.person(session, "ops@gridco.example", role="owner_admin", owners=("gridco",)).token
    assert site.client("gridco").get(PAGE).status_code == 403


def test_an_owners_admin_keeps_the_alarms_of_its_owners_is_and_the_city_where_it_lies_may_not(databases, demo_url):
    url = databases.copy(demo_url)
    with transaction(url) as session:
        ruota = people.person(session, "ops@ruota.test", role="owner_admin", owners=("ruota",))
        genova = people.person(session, "admin@genova.test", role="city_admin", cities=("genova",))
    site = Site(url, {"ruota": ruota.token, "genova": genova.token}, {})
    page = "/manage/information-systems/genova/ruota-bike-sharing/alarms"
    assert site.client("genova").get(page).status_code == 403
    owner = site.client("ruota")
    token = csrf(owner.get(page).text)
    added = owner.post(page.replace("/alarms", "/alarm-rules"), data=rule_form(token, kind="silent", name="Dock silent"), follow_redirects=False)
    assert added.status_code == 303
    assert "Dock silent" in owner.get(page).text
