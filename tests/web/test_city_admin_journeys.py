"""Browser journeys of a city admin on the demo network, in Debian's Chromium: Cornellà (a
pilot city) opens an information system from a CSV URL with the wizard (journey 2), and
London decides on access requests. Screenshots go to test-artifacts/."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import AccessRequest, InformationSystem
from icity.services import accounts
from icity.services.access import CLI
from tests import people
from tests.connectors.feed_server import Feed, FeedServer
from tests.sources import MAPPING, csv
from tests.web.conftest import shoot
from tests.web.test_app_journeys import sign_in

PHONE = {"width": 375, "height": 740}


def city_admin(database_url: str, email: str, city: str) -> None:
    with transaction(database_url) as session:
        accounts.create_user(
            session, CLI, email=email, name="Open data office", password=people.PASSWORD, role="city_admin", cities=[city]
        )


def every_control_is_labelled(page: Page) -> None:
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll("main input:not([type=hidden]), main select, main textarea")]
                 .filter((control) => control.labels.length === 0).map((control) => control.name)"""
    )
    assert unlabelled == []


def fits_a_phone(page: Page) -> None:
    """Nothing but the tables' own scrolling boxes is wider than a phone's screen."""
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(size)


def test_cornella_opens_an_information_system_from_a_csv_url(live_server, page: Page, feeds: FeedServer):
    feed_url = feeds.serve("/cornella-aire.csv", Feed(csv("Sants", "Broken", "Gràcia"), "text/csv"))  # one bad row: n/d
    city_admin(live_server.database_url, "opendata@cornella.example", "cornella")
    sign_in(page, live_server.url, "opendata@cornella.example", "/manage")
    expect(page.locator('tr[data-system="cornella/city-agenda"]')).to_be_visible()
    fits_a_phone(page)

    page.get_by_role("link", name="Open a new information system").click()
    expect(page).to_have_url(f"{live_server.url}/manage/new")
    every_control_is_labelled(page)
    page.get_by_label("City", exact=True).select_option(label="Cornellà de Llobregat")
    page.get_by_label("Name", exact=True).fill("Qualitat de l'aire (portal)")
    page.get_by_label("Short name in addresses").fill("qualitat-aire")
    page.get_by_label("Category", exact=True).select_option(label="Environment")
    page.get_by_label("Entity type").fill("AirQualityObserved")
    page.get_by_label("Licence").fill("CC-BY-4.0")
    page.get_by_label("Provider").fill("Ajuntament de Cornellà de Llobregat")
    page.get_by_role("button", name="Register and go on to its source").click()

    expect(page.get_by_test_id("registered")).to_contain_text("cornella/qualitat-aire is registered as a draft")
    every_control_is_labelled(page)
    mapping = page.get_by_label("Mapping", exact=False)
    page.get_by_label("Connector kind").select_option("gtfs")  # a kind with a standard mapping brings it along
    expect(mapping).to_have_value(re.compile(r'"entityType": "GtfsStop"'))
    expect(page.get_by_label("Connector settings")).to_have_value(re.compile(r'"table": "stops"'))
    page.get_by_label("Connector kind").select_option("csv")
    expect(mapping).to_have_value(re.compile(r'"entityType": "AirQualityObserved"'))
    page.get_by_label("Source URL").fill(feed_url)
    page.get_by_label("Connector settings").fill('{"delimiter": ";", "encoding": "latin-1"}')
    mapping.fill(json.dumps(MAPPING, indent=2, ensure_ascii=False))
    page.get_by_label("Schedule", exact=False).first.fill("15m")
    page.get_by_role("button", name="Preview").click()

    expect(page.get_by_test_id("preview-counts")).to_contain_text("3 records read: 2 valid, 1 rejected")
    rejections = page.get_by_test_id("rejections").locator("tbody tr")
    expect(rejections).to_have_count(1)
    expect(rejections.first).to_contain_text("NO2 (mg/m³)")
    expect(page.get_by_test_id("preview-entities").locator("tbody tr")).to_have_count(2)
    expect(page.locator("#system-map")).to_have_attribute("data-entities", "2")
    fits_a_phone(page)
    page.get_by_test_id("preview").scroll_into_view_if_needed()
    shoot(page, "city-admin-preview")
    with new_session(live_server.database_url) as session:  # the preview saved nothing
        assert session.get(InformationSystem, "cornella/qualitat-aire").connector is None

    page.get_by_label("Status after saving").select_option("open")
    page.get_by_role("button", name="Save and harvest").click()
    expect(page).to_have_url(f"{live_server.url}/manage/information-systems/cornella/qualitat-aire?done=saved")
    # the page reloads itself while the first run goes on; then its entities are on the map
    expect(page.locator("#system-map")).to_have_attribute("data-entities", "2", timeout=20_000)
    expect(page.get_by_test_id("run-status")).to_have_text(["succeeded"])
    expect(page.get_by_test_id("system-status")).to_have_text("open")
    expect(page.locator(".entity-marker")).to_have_count(2)
    shoot(page, "city-admin-map")

    page.goto(f"{live_server.url}/information-systems/cornella/qualitat-aire")  # opened: in the catalogue, on its map
    expect(page.locator("#system-map")).to_have_attribute("data-entities", "2")


def test_london_refuses_a_request_only_with_a_reason(live_server, page: Page):
    with transaction(live_server.database_url) as session:
        developer = people.person(session, "dev@parking.example")
        app, _ = people.app_with_key(session, developer, "Kerbside")
        request_id = people.grant(session, app, "london/parking", status="pending").id
    city_admin(live_server.database_url, "opendata@london.example", "london")
    sign_in(page, live_server.url, "opendata@london.example", "/manage")
    expect(page.get_by_test_id("pending-requests")).to_contain_text("1 access request waiting")
    page.get_by_role("link", name="Access requests", exact=True).click()
    every_control_is_labelled(page)
    fits_a_phone(page)

    request = page.locator(f'article[data-request="{request_id}"]')
    expect(request).to_contain_text("Kerbside")
    expect(request).to_contain_text("dev@parking.example Ltd")
    request.get_by_role("button", name="Refuse Kerbside").click()
    expect(page.get_by_test_id("decision-error")).to_contain_text("Say why you refuse this request")
    with new_session(live_server.database_url) as session:
        assert session.get(AccessRequest, request_id).status == "pending"

    page.locator(f'article[data-request="{request_id}"]').get_by_label("Reason for refusing").fill("Only for residents' apps.")
    page.get_by_role("button", name="Refuse Kerbside").press("Enter")  # the keyboard works as the mouse does
    expect(page.get_by_test_id("decided")).to_contain_text("The request is refused")
    expect(page.get_by_test_id("closed")).to_contain_text("Only for residents' apps.")
    with new_session(live_server.database_url) as session:
        request_row = session.scalar(select(AccessRequest).where(AccessRequest.id == request_id))
        assert (request_row.status, request_row.reason) == ("refused", "Only for residents' apps.")
    shoot(page, "city-admin-access-requests")
