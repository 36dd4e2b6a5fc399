"""In Debian's Chromium, on the demo network: a developer finds Barcelona's priced car parks,
accepts the offer for an app on the IS page, and finds the month's statement (with its chart
and CSV) through the Statements link; the demo partner's statement is not theirs to see."""

import re

from playwright.sync_api import Page, expect

from icity.db.engine import transaction
from icity.services import accounts, apps
from icity.services.access import CLI
from icity.services.authentication import principal_of_user
from tests import people
from tests.web.conftest import shoot
from tests.web.test_accessibility import violations
from tests.web.test_app_journeys import sign_in

DEVELOPER = "ines@parkwise.example"
APP = "ParkWise"
SYSTEM = "/information-systems/barcelona/parking"


def developer_with_app(database_url: str) -> None:
    with transaction(database_url) as session:
        user = accounts.create_user(
            session, CLI, email=DEVELOPER, name="Ines", password=people.PASSWORD, role="developer", organisation="ParkWise SL",
        )  # fmt: skip
        developer = principal_of_user(session, user)
        apps.create_app(session, developer, {"name": APP, "description": "Parking for drivers", "entity_types": ["OffStreetParking"]})


def test_a_developer_accepts_a_priced_offer_and_finds_the_statement(live_server, page: Page):
    developer_with_app(live_server.database_url)
    sign_in(page, live_server.url, DEVELOPER, SYSTEM)

    offer = page.get_by_test_id("offer")
    expect(offer.get_by_test_id("offer-kind")).to_contain_text("Priced")
    expect(offer.get_by_test_id("offer-fee")).to_have_text("25.00 EUR")
    expect(offer.get_by_test_id("offer-free-calls")).to_have_text("5,000")
    offer.get_by_label("App", exact=True).select_option(label=APP)
    offer.get_by_label(re.compile("I accept version 1")).check()
    offer.get_by_role("button", name="Accept the offer").click()
    expect(page.get_by_role("status")).to_contain_text("You accepted the offer")
    expect(page.get_by_test_id("offer-accepted-by")).to_contain_text(APP)
    shoot(page, "offer-accepted")

    page.get_by_role("link", name="Statements").click()
    expect(page).to_have_url(re.compile(r"/statements$"))
    rows = page.get_by_test_id("statements").locator("tbody tr")
    expect(rows).to_have_count(1)  # only their own app's: not the demo partner's
    expect(rows.first).to_contain_text("Barcelona")
    expect(rows.first).to_contain_text("25.00 EUR")
    rows.first.get_by_role("link", name=APP).click()
    expect(page.get_by_test_id("statement-total")).to_have_text("25.00 EUR")  # the fee; no call yet
    expect(page.get_by_test_id("line-amount")).to_have_text("25.00 EUR")
    expect(page.locator("#usage-chart")).to_be_visible()
    shoot(page, "statement")
    assert violations(page) == []  # WCAG A/AA, as the other pages
    csv = page.request.get(live_server.url + page.get_by_test_id("statement-csv").get_attribute("href"))
    assert csv.status == 200 and "barcelona/parking" in csv.text()
