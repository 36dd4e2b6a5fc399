"""Browser journeys of infrastructure owners on the demo network, in Debian's Chromium: Voltia's admin
registers an EV charging system lying in Cornellà and opens it, Cornellà's admin sees the opening
notice and objects, and the system stays closed; a visitor finds the owner named as publisher and
filters the catalogue by it. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import InformationSystem, OpeningNotice
from icity.services import accounts
from icity.services.access import CLI
from tests import people
from tests.web.conftest import shoot
from tests.web.test_app_journeys import sign_in
from tests.web.test_city_admin_journeys import city_admin, every_control_is_labelled

SYSTEM = "cornella/voltia-charging"


def owner_admin(database_url: str, email: str, owner: str) -> None:
    with transaction(database_url) as session:
        accounts.create_user(
            session, CLI, email=email, name="Network operations", password=people.PASSWORD, role="owner_admin", owners=[owner]
        )


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_an_owner_opens_a_system_in_cornella_and_the_city_objects(live_server, page: Page):
    owner_admin(live_server.database_url, "ops@voltia.test.example", "voltia")
    city_admin(live_server.database_url, "opendata@cornella.example", "cornella")

    sign_in(page, live_server.url, "ops@voltia.test.example", "/manage")
    expect(page.locator("h1")).to_have_text("Information systems of Voltia Charging SL")
    expect(page.locator('tr[data-system="barcelona/voltia-ev-charging"]')).to_be_visible()
    expect(page.locator('tr[data-system="barcelona/air-quality"]')).to_have_count(0)  # Barcelona's own: not Voltia's
    page.get_by_role("link", name="Open a new information system").click()
    every_control_is_labelled(page)
    expect(page.get_by_label("Published by")).to_have_value("voltia")
    page.get_by_label("City where it lies").select_option(label="Cornellà de Llobregat")
    page.get_by_label("Name", exact=True).fill("Voltia charging points in Cornellà")
    page.get_by_label("Short name in addresses").fill("voltia-charging")
    page.get_by_label("Category", exact=True).select_option(label="Energy")
    page.get_by_label("Entity type").fill("EVChargingStation")
    page.get_by_label("Provider").fill("Voltia Charging SL")
    page.get_by_role("button", name="Register and go on to its source").click()
    expect(page.get_by_test_id("registered")).to_contain_text(f"{SYSTEM} is registered as a draft")

    page.goto(f"{live_server.url}/manage/information-systems/{SYSTEM}")
    expect(page.get_by_test_id("publisher")).to_contain_text("Voltia Charging SL, located in Cornellà de Llobregat")
    page.get_by_label("Move it from draft to").select_option("open")
    page.get_by_role("button", name="Change the status").click()
    expect(page.get_by_test_id("done")).to_contain_text("The city where it lies is told")
    expect(page.get_by_test_id("opening-notice")).to_contain_text(re.compile(r"Pending opening \(open\) until \d{4}-\d\d-\d\d"))
    expect(page.get_by_test_id("system-status")).to_have_text("draft")
    shoot(page, "owner-pending-opening")
    sign_out(page)

    sign_in(page, live_server.url, "opendata@cornella.example", "/manage")
    expect(page.get_by_test_id("pending-openings")).to_contain_text("1 opening notice pending")
    expect(page.locator(f'tr[data-system="{SYSTEM}"]')).to_have_count(0)  # the city does not run it
    page.get_by_role("link", name="1 opening notice pending").click()
    every_control_is_labelled(page)
    notice = page.locator("article[data-notice]").filter(has_text="Voltia charging points in Cornellà")
    expect(notice).to_contain_text("In Cornellà de Llobregat, as open")
    expect(notice).to_contain_text("It opens on")
    notice.get_by_role("button", name="Object to opening Voltia charging points in Cornellà").click()
    expect(page.get_by_test_id("notice-error")).to_contain_text("Say why the city objects")
    notice = page.locator("article[data-notice]").filter(has_text="Voltia charging points in Cornellà")
    notice.get_by_label("Reason for objecting").fill("The street permits for these charging points are not granted yet.")
    notice.get_by_role("button", name="Object to opening Voltia charging points in Cornellà").click()
    expect(page.get_by_test_id("done")).to_contain_text("The objection is recorded")
    expect(page.get_by_test_id("objection")).to_contain_text("street permits")
    expect(page.get_by_role("button", name="Lift the objection to Voltia charging points in Cornellà")).to_be_visible()
    shoot(page, "city-objects-to-opening")
    with new_session(live_server.database_url) as session:
        notice_row = session.scalar(select(OpeningNotice).where(OpeningNotice.information_system_id == SYSTEM))
        assert (notice_row.status, session.get(InformationSystem, SYSTEM).status) == ("objected", "draft")
    sign_out(page)

    # the owner is refused if it asks again: the system stays closed until the city lifts its objection
    sign_in(page, live_server.url, "ops@voltia.test.example", f"/manage/information-systems/{SYSTEM}")
    expect(page.get_by_test_id("opening-notice")).to_contain_text("The city objected to opening it")
    page.get_by_label("Move it from draft to").select_option("open")
    page.get_by_role("button", name="Change the status").click()
    expect(page.get_by_test_id("system-error")).to_contain_text("objected to opening")
    expect(page.get_by_test_id("system-status")).to_have_text("draft")
    sign_out(page)
    page.goto(f"{live_server.url}/catalogue?publisher=voltia")  # visitors do not find it
    expect(page.locator("tr[data-system]")).to_have_count(2)
    expect(page.locator(f'tr[data-system="{SYSTEM}"]')).to_have_count(0)


def test_a_visitor_finds_the_owner_as_publisher_and_filters_the_catalogue_by_it(live_server, page: Page):
    page.goto(f"{live_server.url}/catalogue")
    row = page.locator('tr[data-system="barcelona/voltia-ev-charging"]')
    expect(row.get_by_test_id("publisher")).to_have_text("Voltia Charging SL")
    expect(page.locator('tr[data-system="barcelona/ev-charging"]').get_by_test_id("publisher")).to_have_text("Barcelona")

    page.get_by_label("Publisher").select_option(label="Voltia Charging SL")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"publisher=voltia"))
    expect(page.locator("tr[data-system]")).to_have_count(2)
    expect(page.get_by_test_id("publisher")).to_have_text(["Voltia Charging SL", "Voltia Charging SL"])
    shoot(page, "catalogue-by-publisher")

    page.get_by_role("link", name=re.compile("Voltia Barcelona electric vehicle charging points")).click()
    expect(page.get_by_test_id("publisher")).to_have_text("Voltia Charging SL, infrastructure owner")
    expect(page.locator("#system-map")).to_have_attribute("data-entities", "8")
    page.get_by_test_id("publisher").get_by_role("link", name="Voltia Charging SL").click()
    expect(page).to_have_url(f"{live_server.url}/owners/voltia")
    expect(page.get_by_test_id("owner-membership")).to_have_text("Member")
    expect(page.get_by_test_id("membership-history")).to_contain_text("Letter of commitment signed by Voltia's CEO")
    expect(page.get_by_test_id("owner-cities")).to_have_text("Barcelona, Genova")

    page.goto(f"{live_server.url}/")
    page.get_by_test_id("owners-link").click()
    expect(page.locator("tr[data-owner]")).to_have_count(2)
    expect(page.locator('tr[data-owner="ruota"]')).to_contain_text("Transport operator")
    shoot(page, "owners")
