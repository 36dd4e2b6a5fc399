"""Browser journey of a city operator on the demo network, in Debian's Chromium: Barcelona's admin
issues a provider token for its air-quality network on the page, pushes with the exact curl line
the page shows (a real HTTP push, run by the shell), and watches the silent device turn
"reporting" (on its page and in the devices list open beside it), its latest value change and its
chart gain the point — without reloading (the portal's live stream). Every page passes axe-core's WCAG A/AA check; screenshots in test-artifacts/."""

from __future__ import annotations

import re
import subprocess
from datetime import timedelta

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from icity.db.engine import transaction
from icity.db.models import Device, Provider, utcnow
from icity.services import provider_tokens
from icity.services.access import CLI
from tests.web.conftest import shoot
from tests.web.test_accessibility import violations
from tests.web.test_app_journeys import sign_in
from tests.web.test_city_admin_journeys import city_admin

SYSTEM = "barcelona/air-quality"
MANAGE = f"/manage/information-systems/{SYSTEM}"


def all_silent(database_url: str) -> None:
    """The network's devices last heard two days ago: overdue, whatever their period."""
    seen = utcnow() - timedelta(days=2)
    with transaction(database_url) as session:
        session.execute(
            update(Device).where(Device.information_system_id == SYSTEM)
            .values(last_seen_at=seen, reporting_period_s=600, silent_after=seen + timedelta(seconds=600))
        )  # fmt: skip
        assert session.scalars(select(Device.local_id).where(Device.information_system_id == SYSTEM)).first()


def test_an_operator_issues_a_token_pushes_with_it_and_sees_the_device_report_live(live_server, page: Page):
    all_silent(live_server.database_url)
    city_admin(live_server.database_url, "sensors@barcelona.example", "barcelona")
    sign_in(page, live_server.url, "sensors@barcelona.example", MANAGE)
    expect(page.get_by_test_id("push-facts")).to_be_visible()
    expect(page.get_by_test_id("device-counts")).to_contain_text("0 reporting")

    page.get_by_role("link", name="Provider tokens").first.click()
    assert violations(page) == []
    page.get_by_label("Token name").fill("journey gateway")
    page.get_by_role("button", name="Issue the token").click()
    expect(page.get_by_test_id("new-token-value")).to_have_value(re.compile(r"^icp_"))
    assert violations(page) == []
    curl = page.get_by_test_id("curl-line").inner_text()
    device = re.search(r'"device": "([^"]+)"', curl).group(1)
    attribute, value = re.search(r'"values": \{"([^"]+)": ([0-9.]+)\}', curl).groups()

    page.goto(f"{live_server.url}{MANAGE}/devices")
    row = page.locator(f'tr[data-device="{device}"]')
    expect(row.get_by_test_id("device-status")).to_have_text("silent")
    expect(page.locator("#devices-map .leaflet-interactive").first).to_be_visible()
    assert violations(page) == []
    shoot(page, "devices")

    with page.expect_response(lambda response: "/live/events" in response.url):  # the page follows the IS
        row.get_by_role("link").click()
    expect(page.get_by_test_id("device-status")).to_have_text("silent")
    chart = page.locator(f'canvas[data-attribute="{attribute}"]')
    points = int(chart.get_attribute("data-points"))
    assert violations(page) == []

    listing = page.context.new_page()  # the devices list, open beside it, follows too
    with listing.expect_response(lambda response: "/live/events" in response.url):
        listing.goto(f"{live_server.url}{MANAGE}/devices")
    listed = listing.locator(f'tr[data-device="{device}"]')
    expect(listed.get_by_test_id("device-status")).to_have_text("silent")

    pushed = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=30)  # as the operator would
    assert pushed.returncode == 0, pushed.stderr
    pushed_on = utcnow().date().isoformat()
    assert '"observations":1' in pushed.stdout.replace(" ", "")

    expect(page.get_by_test_id("device-status")).to_have_text("reporting")
    expect(page.locator(f'#latest-values dd[data-attribute="{attribute}"]')).to_have_text(f"{float(value):g}")  # as JavaScript prints the number
    expect(chart).to_have_attribute("data-points", str(points + 1))
    shoot(page, "device")
    expect(listed.get_by_test_id("device-status")).to_have_text("reporting")
    expect(listed.get_by_test_id("last-seen")).to_contain_text(pushed_on)  # was two days ago
    listing.close()

    page.goto(f"{live_server.url}{MANAGE}")  # the IS's page counts it
    expect(page.get_by_test_id("device-counts")).to_contain_text("1 reporting")


def test_an_operator_adds_a_device_that_is_then_heard_for_the_first_time(live_server, page: Page):
    city_admin(live_server.database_url, "sensors@barcelona.example", "barcelona")
    with transaction(live_server.database_url) as session:
        provider = session.scalar(select(Provider.id).where(Provider.information_system_id == SYSTEM))
        token = provider_tokens.create_token(session, CLI, SYSTEM, provider, "test gateway")["token"]
    sign_in(page, live_server.url, "sensors@barcelona.example", f"{MANAGE}/devices")
    page.get_by_role("link", name="Add a device").click()
    assert violations(page) == []
    page.get_by_label("Local id").fill("aq-new")
    page.get_by_label("Name", exact=True).fill("Poblenou – new station")
    page.get_by_label("Latitude").fill("41.4036")
    page.get_by_label("Longitude", exact=True).fill("2.2")
    page.get_by_label("Reporting period in seconds").fill("600")
    page.get_by_label("Entity it reports into").select_option("new:AirQualityObserved")
    page.get_by_label("Commands", exact=False).first.fill('[{"name": "calibrate", "parameters": {"type": "object"}}]')
    with page.expect_response(lambda response: "/live/events" in response.url):
        page.get_by_role("button", name="Add the device").click()
    expect(page.get_by_test_id("done")).to_have_text("The device is added.")
    expect(page.get_by_test_id("device-status")).to_have_text("never heard")
    expect(page.get_by_test_id("no-values")).to_be_visible()

    answer = httpx.post(
        f"{live_server.url}/api/v1/information-systems/{SYSTEM}/observations",
        headers={"Authorization": f"Bearer {token}"},
        json={"measures": [{"device": "aq-new", "observedAt": utcnow().isoformat(), "values": {"no2": 33.5}}]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    expect(page.get_by_test_id("device-status")).to_have_text("reporting")
    expect(page.locator('#latest-values dd[data-attribute="no2"]')).to_have_text("33.5")
    expect(page.locator('canvas[data-attribute="no2"]')).to_have_attribute("data-points", "1")
    assert violations(page) == []
