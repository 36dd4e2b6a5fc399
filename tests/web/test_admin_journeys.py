"""Browser journey of the platform admin on the demo network, in Debian's Chromium:
promoting a SIG city to pilot from the engagement pipeline (journey 4, its network
half; the approval of a developer is part of journey 1, test_developer_journey.py).
Screenshots go to test-artifacts/."""

import re

from playwright.sync_api import Page, expect

from tests.web.conftest import shoot
from tests.web.test_app_journeys import person_with_password, sign_in

ADMIN = "coordinator@icity.example"
EVIDENCE = "Air-quality trial on the city's own sensors, started with the Digital Strategy team"


def fits_the_screen(page: Page) -> bool:
    """Nothing wider than the viewport: readable on a phone without scrolling sideways."""
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_platform_admin_promotes_a_sig_city_to_pilot_from_the_pipeline(live_server, page: Page):
    person_with_password(live_server.database_url, ADMIN, "admin")
    sign_in(page, live_server.url, ADMIN, "/admin/network")
    follow_ups = page.get_by_test_id("overdue-follow-ups")
    expect(follow_ups.locator('[data-city="manchester"]')).to_contain_text("days overdue")
    expect(page.get_by_test_id("stage-sig").locator('[data-city="manchester"]')).to_contain_text("Since 2014-05-20")
    shoot(page, "admin-pipeline")

    page.get_by_test_id("stage-sig").get_by_role("link", name="Manchester").click()
    expect(page).to_have_url(re.compile(r"/admin/network/manchester$"))
    expect(page.get_by_test_id("city-level")).to_have_text("Special Interest Group")
    # the form is reachable and filled from the keyboard
    page.get_by_label("New level").focus()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Evidence", exact=True)).to_be_focused()
    page.get_by_label("New level").select_option("pilot")
    page.get_by_label("Evidence", exact=True).select_option("technical_trial")
    page.get_by_label("What proves it").fill(EVIDENCE)
    shoot(page, "admin-city-level-form")
    page.get_by_role("button", name="Record the change of level").click()

    expect(page.get_by_test_id("done")).to_contain_text("The change of level is recorded")
    expect(page.get_by_test_id("city-level")).to_have_text("Pilot")
    history = page.get_by_test_id("level-history")
    expect(history.locator("li").last).to_contain_text("Special Interest Group → Pilot")
    expect(history.locator("li").last).to_contain_text(EVIDENCE)
    expect(history.locator("li").last).to_contain_text(f"Recorded by {ADMIN}")
    shoot(page, "admin-city-history")

    page.get_by_role("navigation", name="Platform admin").get_by_role("link", name="Engagement pipeline").click()
    expect(page.get_by_test_id("stage-pilot").locator('[data-city="manchester"]')).to_contain_text(EVIDENCE)
    expect(page.get_by_test_id("stage-sig").locator('[data-city="manchester"]')).to_have_count(0)
    shoot(page, "admin-pipeline-after-promotion")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert fits_the_screen(page)
    shoot(page, "admin-pipeline-phone")
    page.goto(f"{live_server.url}/admin/network/manchester")
    assert fits_the_screen(page)
    shoot(page, "admin-city-phone")
