"""An operator's alarm console in a real browser, on the demo network: Barcelona's operator adds
a rule on its air quality, a station's gateway pushes a value over the threshold (a real HTTP push
with a provider token), the alarm evaluator raises it and the open page shows it without being
reloaded (the /live/events stream); the operator acknowledges it with a note.

The live server runs no background task: the test starts the alarm evaluator itself, as
`icity serve` does (icity/background.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timezone

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import Alarm, AlarmRule, Device
from icity.services import provider_tokens
from icity.services.access import CLI
from icity.services.alarm_evaluator import AlarmEvaluator
from tests.web.conftest import shoot
from tests.web.test_accessibility import violations
from tests.web.test_app_journeys import sign_in
from tests.web.test_city_admin_journeys import city_admin

SYSTEM = "barcelona/air-quality"
PAGE = f"/manage/information-systems/{SYSTEM}/alarms"


@pytest.fixture
def evaluator(live_server) -> Iterator[AlarmEvaluator]:
    running = AlarmEvaluator(live_server.database_url, poll_s=0.5)
    running.start()
    yield running
    running.stop()


def a_station_and_its_token(database_url: str) -> tuple[str, str]:
    with transaction(database_url) as session:
        device = session.scalars(select(Device).where(Device.information_system_id == SYSTEM).order_by(Device.local_id)).first()
        token = provider_tokens.create_token(session, CLI, SYSTEM, device.provider_id, "station gateway")["token"]
        return device.local_id, token


def test_an_alarm_raises_live_and_the_operator_acknowledges_it(live_server, page: Page, evaluator):
    city_admin(live_server.database_url, "alarms@barcelona.example", "barcelona")
    station, token = a_station_and_its_token(live_server.database_url)
    sign_in(page, live_server.url, "alarms@barcelona.example", PAGE)
    expect(page.get_by_test_id("no-alarms")).to_be_visible()

    page.get_by_role("textbox", name=re.compile(r"^Name")).fill("NO2 above the hourly limit")
    page.get_by_label("Severity").select_option("high")
    page.get_by_label("Entity type").select_option("AirQualityObserved")
    page.get_by_role("textbox", name=re.compile(r"^Attribute")).fill("no2")
    page.get_by_label("Condition").select_option("above")
    page.get_by_label("Threshold").fill("200")
    page.get_by_role("button", name="Add the rule").click()
    expect(page.get_by_test_id("done")).to_contain_text("The rule is saved")
    expect(page.get_by_test_id("rules")).to_contain_text("no2 of AirQualityObserved above 200")
    expect(page.locator("body")).to_have_attribute("data-live-alarms", "following")  # the stream is open
    assert violations(page) == []

    now = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    pushed = httpx.post(
        f"{live_server.url}/api/v1/information-systems/{SYSTEM}/observations",
        json={"measures": [{"device": station, "observedAt": now, "values": {"no2": 412.5}}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert pushed.status_code == 200, pushed.text

    row = page.locator("tr[data-alarm]").first
    expect(row.get_by_test_id("alarm-state")).to_have_text("raised", timeout=20_000)  # no reload
    expect(page.get_by_test_id("live-alarms")).to_contain_text("NO2 above the hourly limit is raised")
    expect(row).to_contain_text("412.5")
    shoot(page, "alarm-console-raised")

    row.get_by_label("Note").fill("Traffic jam on the Ronda: the Guàrdia Urbana is told")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page).to_have_url(re.compile(re.escape(PAGE) + r"\?done=acknowledged#alarms$"))
    acknowledged = page.locator("tr[data-alarm]").first
    expect(acknowledged.get_by_test_id("alarm-acknowledged")).to_be_visible()
    expect(acknowledged.get_by_test_id("acknowledgement")).to_contain_text("By alarms@barcelona.example")
    expect(acknowledged.get_by_test_id("acknowledgement")).to_contain_text("Guàrdia Urbana is told")
    assert violations(page) == []
    shoot(page, "alarm-console-acknowledged")
    with new_session(live_server.database_url) as session:
        # the operator's rule's alarm (the demo's own NO2 rule, held for an hour, only has a pending one)
        alarm = session.scalars(select(Alarm).join(AlarmRule).where(AlarmRule.name == "NO2 above the hourly limit")).one()
        assert (alarm.state, alarm.acknowledged_by_email) == ("raised", "alarms@barcelona.example")
