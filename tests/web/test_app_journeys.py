"""Browser journeys on the demo network, in Debian's Chromium: a citizen filters the
app portal by city (journey 3), the platform admin certifies an app and it appears
in the portal (journey 4, its certification half), a developer works on the
dashboard. Screenshots go to test-artifacts/."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import App, InformationSystem, InformationSystemEntityType, User
from icity.services import accounts, apps, usage
from icity.services.access import CLI, SERVED_STATUSES
from icity.services.authentication import principal_of_user
from icity.services.usage import Counters
from tests import people
from tests.web.conftest import shoot

CORNELLA = "Cornellà de Llobregat"


def portal_names(page: Page) -> list[str]:
    return page.locator("article[data-app]").evaluate_all("cards => cards.map(card => card.dataset.app)")


def apps_whose_types_cornella_opens(database_url: str) -> list[str]:
    """Worked out from the stored rows, apart from the portal's own code."""
    with new_session(database_url) as session:
        opened = set(
            session.scalars(
                select(InformationSystemEntityType.entity_type)
                .join(InformationSystem, InformationSystem.id == InformationSystemEntityType.information_system_id)
                .where(InformationSystem.city_id == "cornella", InformationSystem.status.in_(SERVED_STATUSES))
            )
        )
        certified = session.scalars(select(App).where(App.certification == "certified", App.status == "active"))
        return sorted(app.name for app in certified if app.entity_types and set(app.entity_types) <= opened)


def person_with_password(database_url: str, email: str, role: str, organisation: str | None = None) -> None:
    with transaction(database_url) as session:
        accounts.create_user(
            session, CLI, email=email, name=email.split("@")[0].title(), password=people.PASSWORD, role=role,
            organisation=organisation,
        )  # fmt: skip


def sign_in(page: Page, base_url: str, email: str, next_path: str) -> None:
    page.goto(f"{base_url}/sign-in?next={next_path}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(people.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def test_a_citizen_finds_the_apps_that_work_in_cornella(live_server, page: Page):
    page.goto(f"{live_server.url}/apps")
    everywhere = portal_names(page)
    shoot(page, "app-portal")

    page.get_by_label("Apps that work in").select_option(label=CORNELLA)
    page.get_by_role("button", name="Show apps").click()
    expect(page).to_have_url(re.compile(r"/apps\?city=cornella$"))
    expect(page.get_by_test_id("app-count")).to_contain_text(f"working in {CORNELLA}")
    shoot(page, "app-portal-cornella")

    in_cornella = portal_names(page)
    assert in_cornella == apps_whose_types_cornella_opens(live_server.database_url)
    assert {"Agenda Viva", "BreatheEasy"} <= set(in_cornella)  # the City Agenda and air quality it opens
    assert {"ParkHere", "Fermata", "ChargeNear"} <= set(everywhere) - set(in_cornella)  # car parks, buses, charging: not there
    for name in in_cornella:
        expect(page.locator(f'article[data-app="{name}"] [data-testid="app-cities"]')).to_contain_text(CORNELLA)


def test_the_platform_admin_certifies_an_app_and_it_appears_in_the_portal(live_server, page: Page):
    person_with_password(live_server.database_url, "coordinator@icity.example", "admin")
    page.goto(f"{live_server.url}/apps")
    assert "Hotspot Finder" not in portal_names(page)

    sign_in(page, live_server.url, "coordinator@icity.example", "/admin/certification")
    queue = page.get_by_test_id("certification-queue")
    expect(queue).to_contain_text("Hotspot Finder")
    shoot(page, "certification-queue")
    page.get_by_role("link", name="Review Hotspot Finder").click()
    for check in ("dataUse", "links", "description"):
        expect(page.get_by_test_id(f"computed-{check}")).to_have_text("passes")
    expect(page.get_by_role("radio", name="Passes").first).to_be_checked()
    page.get_by_label("Comments to the developer").fill("Clear description, working link.")
    shoot(page, "certification-review")
    page.get_by_role("button", name="Certify").click()

    expect(page.get_by_test_id("decided")).to_contain_text("Hotspot Finder is certified")
    expect(page.get_by_test_id("queue-empty")).to_be_visible()
    page.get_by_role("link", name="app portal").first.click()
    expect(page.locator('article[data-app="Hotspot Finder"]')).to_be_visible()
    page.goto(f"{live_server.url}/apps?city=cornella")  # Cornellà opens WiFi hotspots (trial)
    expect(page.locator('article[data-app="Hotspot Finder"]')).to_be_visible()
    shoot(page, "app-portal-after-certification")


@pytest.fixture
def developer_with_usage(live_server) -> str:
    """A developer with an app and 30 days of metered calls on two IS."""
    email = "lin@bytes.example"
    person_with_password(live_server.database_url, email, "developer", organisation="Bytes & Co")
    with transaction(live_server.database_url) as session:
        user = session.scalar(select(User).where(User.email == email))
        app = apps.create_app(session, principal_of_user(session, user), {"name": "Air Today", "entity_types": ["AirQualityObserved"]})
        today = date.today()
        pending = {
            (app["id"], system, today - timedelta(days=day)): Counters(calls=10 * (day % 7) + offset)
            for day in range(30)
            for system, offset in (("barcelona/air-quality", 5), ("genova/air-quality", 1))
        }
        usage.write_usage(session, pending, {})
    return email


def test_a_developer_creates_a_key_sees_it_once_and_submits_the_app(live_server, page: Page, developer_with_usage):
    sign_in(page, live_server.url, developer_with_usage, "/dashboard")
    card = page.locator('article[data-app="Air Today"]')
    expect(card.get_by_test_id("certification")).to_have_text("draft")
    # the usage chart is drawn by Chart.js, one line per app and IS
    chart = page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('usage-chart'))")
    assert chart.evaluate("chart => chart.data.datasets.map(d => d.label)") == [
        "Air Today · barcelona/air-quality", "Air Today · genova/air-quality",
    ]  # fmt: skip
    shoot(page, "developer-dashboard")

    card.get_by_label("Key name").fill("laptop")
    card.get_by_role("button", name="Create a key for Air Today").click()
    secret = page.get_by_test_id("new-key-value").input_value()
    assert secret.startswith("ick_")
    shoot(page, "developer-new-key")
    page.goto(f"{live_server.url}/dashboard")
    assert secret not in page.content()  # shown once

    card = page.locator('article[data-app="Air Today"]')
    card.get_by_role("button", name="Submit Air Today for certification").click()
    expect(page.get_by_test_id("done")).to_contain_text("Submitted")
    expect(page.locator('article[data-app="Air Today"]').get_by_test_id("certification")).to_have_text("submitted")
