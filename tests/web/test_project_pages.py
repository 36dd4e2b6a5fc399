"""A visitor, not signed in, reads a public-interest project of the demo: its member cities,
its apps, which city runs which app and each city's work list; when a city opens what was
missing, the next visit shows it ready (nothing stored: computed at each request)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from sqlalchemy import select

from icity.db.engine import transaction
from icity.db.models import User
from icity.services import audit, catalogue, projects
from tests import people
from tests.api.project_world import member_owner
from tests.web.test_app_journeys import sign_in
from tests.web.test_city_admin_journeys import city_admin
from tests.web.conftest import shoot
from tests.web.test_accessibility import violations


def row(page: Page, table: str, city: str):
    return page.get_by_test_id(table).locator(f'tr[data-city="{city}"]')


def test_an_anonymous_visitor_sees_members_apps_readiness_and_work_lists(live_server, page: Page):
    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Projects").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Public-interest projects")
    assert violations(page) == []
    page.get_by_role("link", name="Clean air for schools").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Clean air for schools")
    shoot(page, "project-clean-air")
    assert violations(page) == []
    expect(page.get_by_test_id("member-form")).to_have_count(0)  # a visitor reads; managers and developers act
    expect(page.get_by_test_id("app-form")).to_have_count(0)

    members = page.get_by_test_id("members")
    for name in ("Barcelona", "Genova", "Bologna", "Cornellà de Llobregat", "Lamía"):
        expect(members).to_contain_text(name)
    expect(page.get_by_test_id("invited")).to_contain_text("Amsterdam")
    expect(page.get_by_test_id("invited")).to_contain_text("Prospect")

    # BreatheEasy runs where air quality is open (Cornellà's is in trial), not in Lamía (a draft)
    breathe = page.locator('article[data-app="BreatheEasy"]')
    expect(breathe.get_by_test_id("runs-in").locator("li")).to_have_text(["Barcelona", "Bologna", "Genova", "Cornellà de Llobregat"])
    expect(breathe.get_by_test_id("not-yet")).to_contain_text("Lamía: AirQualityObserved not open yet")
    expect(row(page, "members", "cornella").get_by_test_id("runs")).to_have_text("BreatheEasy")
    expect(row(page, "members", "cornella").get_by_test_id("work-list")).to_contain_text("NoiseLevelObserved: not open yet")
    expect(row(page, "members", "barcelona").get_by_test_id("work-list")).to_have_text("nothing left to open")
    lamia = row(page, "members", "lamia").get_by_test_id("work-list")
    expect(lamia).to_contain_text("AirQualityObserved: not open yet")  # its draft is not shown to the public
    expect(lamia).not_to_contain_text("monitoring network")
    expect(row(page, "members", "lamia").get_by_test_id("runs")).to_have_text("—")

    # Lamía opens its air-quality network (trial): the page shows it at once
    with transaction(live_server.database_url) as session:
        catalogue.set_status(session, "lamia/air-quality", "trial")
    page.reload()
    expect(row(page, "members", "lamia").get_by_test_id("runs")).to_have_text("BreatheEasy")
    expect(row(page, "members", "lamia").get_by_test_id("work-list")).not_to_contain_text("AirQualityObserved")
    expect(breathe.get_by_test_id("runs-in")).to_contain_text("Lamía")
    shoot(page, "project-clean-air-lamia-opened")


def test_a_partner_owner_shows_with_the_information_systems_it_opens(live_server, page: Page):
    with transaction(live_server.database_url) as session:
        member_owner(session, "tper", "TPER")
        catalogue.create_information_system(
            session, city_id="bologna", slug="tper-noise", name="TPER bus-stop noise sensors", category="environment",
            entity_types=["NoiseLevelObserved"], access_policy="public", licence="CC-BY-4.0", owner_id="tper",
        )  # fmt: skip
        catalogue.set_status(session, "bologna/tper-noise", "open")
        projects.add_partner(session, audit.actor_named("tests"), "clean-air-for-schools", owner="tper")
    page.goto(f"{live_server.url}/projects/clean-air-for-schools")
    partner = page.get_by_test_id("partners").locator('li[data-owner="tper"]')
    expect(partner).to_contain_text("TPER")
    expect(partner).to_contain_text("TPER bus-stop noise sensors in bologna, NoiseLevelObserved serves the project")
    assert violations(page) == []


def test_a_member_city_admin_invites_a_prospect_and_a_developer_attaches_an_app(live_server, page: Page):
    city_admin(live_server.database_url, "opendata@lamia.example", "lamia")  # Lamía is a member of the project
    path = "/projects/clean-air-for-schools"
    sign_in(page, live_server.url, "opendata@lamia.example", path)
    expect(row(page, "members", "lamia").get_by_test_id("work-list")).to_contain_text(
        "AirQualityObserved: registered, not open yet (Lamía air quality monitoring network)"
    )  # its own draft, named to its admins
    form = page.get_by_test_id("member-form")
    form.get_by_label("City").select_option(label="Oulu (Prospect)")
    form.get_by_role("button", name="Add the city").click()
    # a prospect cannot be a member: the form says why, nothing is written
    expect(page.get_by_test_id("member-error")).to_contain_text("Oulu is a prospect, outside the network")
    expect(page.get_by_test_id("invited")).not_to_contain_text("Oulu")
    assert violations(page) == []
    form.get_by_label("Role").select_option("invited")
    form.get_by_role("button", name="Add the city").click()
    expect(page.get_by_test_id("done")).to_have_text("The city is added to the project.")
    expect(row(page, "invited", "oulu").get_by_test_id("work-list")).to_contain_text("AirQualityObserved")
    shoot(page, "project-city-admin-invited")

    # Aria Labs' developer attaches ChargeNear (certified); BreatheEasy is attached already
    with transaction(live_server.database_url) as session:
        session.scalars(select(User).where(User.email == "giulia@arialabs.example")).one().password_hash = people.PASSWORD_HASH
    page.context.clear_cookies()
    sign_in(page, live_server.url, "giulia@arialabs.example", path)
    expect(page.get_by_test_id("member-form")).to_have_count(0)
    apps = page.get_by_test_id("app-form").get_by_label("Certified app")
    expect(apps.locator("option")).to_have_text(["ChargeNear"])
    page.get_by_role("button", name="Attach the app").click()
    expect(page.get_by_test_id("done")).to_have_text("The app is attached to the project.")
    expect(page.locator('article[data-app="ChargeNear"]')).to_be_visible()
    expect(page.get_by_test_id("app-form")).to_have_count(0)  # nothing left of theirs to attach
