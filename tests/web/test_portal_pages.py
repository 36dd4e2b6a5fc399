"""Journeys through the public portal in Chromium: the network on the map, the
catalogue's filters, an IS's entities, the explorer's chart, signing in and out,
and a forged form refused."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from icity.db.engine import new_session, transaction
from icity.db.models import City, Entity, InformationSystem
from icity.services import catalogue, entity_store, figures
from tests import people
from tests.web.conftest import shoot


def test_home_shows_the_network_on_the_map_with_its_figures(live_server, page: Page):
    with new_session(live_server.database_url) as session:
        levels = dict(session.execute(select(City.id, City.level)).all())
        expected = figures.network_figures(session)
    page.goto(live_server.url + "/")
    # every city, alone or counted in the badge of those sharing its spot (test_live_portal_journeys.py)
    expect(page.locator("#network-map .city-cluster").first).to_be_visible()
    counted = sum(int(n) for n in page.locator("#network-map .city-cluster > span:first-child").all_inner_texts())
    assert page.locator("#network-map path.city-marker").count() + counted == len(levels)
    for level in ("consortium", "pilot", "sig"):
        expect(page.get_by_test_id(f"cities-{level}").locator("dd")).to_have_text(str(expected["citiesPerLevel"][level]))
    assert expected["citiesPerLevel"] == {"prospect": 6, "sig": 7, "pilot": 2, "consortium": 4}
    expect(page.get_by_test_id("opened-total").locator("dd")).to_have_text(str(expected["openedTotal"]))
    expect(page.get_by_test_id("apps").locator("dd")).to_have_text(str(expected["apps"]))
    expect(page.get_by_role("list", name="Legend")).to_contain_text("Special Interest Group")
    # the offline basemap: country outlines from world-atlas, no tile server
    expect(page.locator("#network-map .leaflet-basemap-pane path").nth(50)).to_be_attached()
    shoot(page, "home")

    page.locator("#network-map path.level-pilot").last.click()  # Lamía: no neighbour on top of it
    page.locator(".leaflet-popup-content a").click()
    expect(page.get_by_test_id("city-level")).to_have_text("Pilot")
    expect(page.get_by_test_id("level-history")).to_contain_text("→ Pilot")
    shoot(page, "city")


def test_the_catalogue_filters_by_city_category_policy_type_and_text(live_server, page: Page):
    page.goto(live_server.url + "/catalogue")
    rows = page.locator("[data-testid=catalogue-results] tbody tr")
    with new_session(live_server.database_url) as session:
        served = session.scalar(
            select(func.count()).select_from(InformationSystem).where(InformationSystem.status.in_(("trial", "open")))
        )
    expect(rows).to_have_count(served)

    page.get_by_label("Category").select_option(label="Environment")
    page.get_by_label("City", exact=True).select_option(label="London")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"city=london.*category=environment|category=environment.*city=london"))
    systems = rows.evaluate_all("rows => rows.map(r => r.dataset.system)")
    with new_session(live_server.database_url) as session:
        expected = session.scalars(
            select(InformationSystem.id).where(
                InformationSystem.city_id == "london", InformationSystem.category_id == "environment",
                InformationSystem.status.in_(("trial", "open")),
            )
        ).all()  # fmt: skip
    assert "london/air-quality" in expected and sorted(systems) == sorted(expected)

    page.get_by_label("Category").select_option("")
    page.get_by_label("Access policy").select_option(label="On approval by the city")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-system", "london/parking")

    page.goto(live_server.url + "/catalogue")
    page.get_by_label("Entity type").select_option("AirQualityObserved")
    page.get_by_label("Search").fill("arpa")  # ARPAL (Genova) and ARPAE (Bologna)
    page.get_by_role("button", name="Filter").click()
    systems = rows.evaluate_all("rows => rows.map(r => r.dataset.system)")
    assert sorted(systems) == ["bologna/air-quality", "genova/air-quality"]
    shoot(page, "catalogue")

    page.get_by_label("Search").fill("no such system anywhere")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No information system matches these filters.")).to_be_visible()


def test_the_page_of_a_public_system_shows_its_entities_on_the_map(live_server, page: Page):
    with new_session(live_server.database_url) as session:
        count = session.scalar(
            select(func.count()).select_from(Entity).where(
                Entity.information_system_id == "barcelona/air-quality", Entity.retired_at.is_(None)
            )
        )
    assert count > 0
    page.goto(live_server.url + "/information-systems/barcelona/air-quality")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("#system-map path.entity-marker")).to_have_count(count)
    expect(page.get_by_test_id("entity-count")).to_contain_text(f"{count} entit")
    expect(page.get_by_test_id("access-policy")).to_have_text("Public")
    # the data model, with the Smart Data Models' descriptions and units
    attributes = page.get_by_test_id("attributes-AirQualityObserved")
    expect(attributes.locator("tr", has_text="no2")).to_contain_text("Nitrogen")
    expect(page.get_by_test_id("sample-request")).to_contain_text("X-API-Key: <your key>")
    shoot(page, "information-system")


def test_the_explorer_draws_the_history_of_an_attribute(live_server, page: Page):
    page.goto(live_server.url + "/explorer?type=AirQualityObserved&city=barcelona")
    expect(page.get_by_test_id("explorer-count")).to_contain_text("entities you may read")
    page.get_by_text("The entities as a list").click()
    page.locator("#entity-list button").first.click()
    expect(page.locator("#entity-attributes")).to_contain_text("no2")
    chart = page.locator("#history-chart")
    expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    week = int(chart.get_attribute("data-points"))
    page.get_by_label("Time range").select_option("24h")
    expect(page.locator("#history-status")).to_contain_text("(1h each)")
    assert 0 < int(chart.get_attribute("data-points")) <= 25 and week > 0
    page.get_by_label("Attribute", exact=True).select_option("pm10")
    expect(page.locator("#history-status")).to_contain_text("pm10")
    shoot(page, "explorer")


def _developer(database_url: str, email: str) -> None:
    with transaction(database_url) as session:
        people.person(session, email)


def test_sign_in_and_out(live_server, page: Page):
    _developer(live_server.database_url, "ada@analytical.example")
    page.goto(live_server.url + "/catalogue")
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill("ada@analytical.example")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")

    page.get_by_label("Password").fill(people.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/catalogue")
    expect(page.get_by_test_id("signed-in-as")).to_have_text("ada@analytical.example")
    cookie = next(c for c in page.context.cookies() if c["name"] == "icity_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "icity_session"]


def test_a_developer_awaiting_approval_signs_in_as_the_sign_in_page_says_and_sees_why_nothing_more(
    live_server, page: Page
):
    with transaction(live_server.database_url) as session:
        people.person(session, "grace@pending.example", status="pending")
    page.goto(live_server.url + "/sign-in?next=/dashboard")
    expect(page.get_by_test_id("sign-up-hint")).to_contain_text(
        "sign in here once you confirmed your email address: your dashboard shows that the account awaits"
    )
    page.get_by_label("Email").fill("grace@pending.example")
    page.get_by_label("Password").fill(people.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(live_server.url + "/dashboard")
    expect(page.get_by_test_id("awaiting-approval")).to_contain_text("waiting for the network coordinator's approval")


def test_a_form_with_a_forged_csrf_token_is_refused_and_changes_nothing(live_server, page: Page):
    _developer(live_server.database_url, "eve@example.org")
    page.goto(live_server.url + "/sign-in")
    page.locator("input[name=csrf_token]").evaluate("input => input.value = 'forged'")
    page.get_by_label("Email").fill("eve@example.org")
    page.get_by_label("Password").fill(people.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Form expired")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "icity_session"]

    page.goto(live_server.url + "/sign-in")
    page.get_by_label("Email").fill("eve@example.org")
    page.get_by_label("Password").fill(people.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("signed-in-as")).to_be_visible()
    # signed in, the token is the session's: the anonymous form's token no longer does
    page.locator("form[action='/sign-out'] input[name=csrf_token]").evaluate("input => input.value = 'forged'")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Form expired")).to_be_visible()
    shoot(page, "csrf-refused")
    page.goto(live_server.url + "/")
    expect(page.get_by_test_id("signed-in-as")).to_have_text("eve@example.org")


def test_the_public_pages_fit_a_phone(live_server, browser):
    """Nothing wider than a phone's screen: no sideways scrolling of the page itself."""
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    phone = context.new_page()
    try:
        for path in ("/", "/cities/cornella", "/catalogue", "/information-systems/barcelona/air-quality", "/explorer"):
            phone.goto(live_server.url + path)
            overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        shoot(phone, "explorer-phone")
    finally:
        context.close()


def test_the_pages_can_be_used_with_the_keyboard(live_server, page: Page):
    page.goto(live_server.url + "/catalogue")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))
    # every form control of the filters has a label a screen reader announces
    for control in page.locator("form.filters select, form.filters input").all():
        assert control.evaluate("c => c.labels.length") == 1


def test_markup_in_the_data_is_shown_as_text_on_the_maps(live_server, page: Page):
    """A name from a city's source is text: a map tooltip never runs it (Leaflet takes a string as HTML)."""
    markup = '<img src="x" onerror="window.injected = true">'
    with transaction(live_server.database_url) as session:  # alone in its city and type: the explorer centres on it
        catalogue.create_information_system(
            session, city_id="lamia", slug="air", name="Air", category="environment", entity_types=["AirQualityObserved"]
        )
        for status in ("trial", "open"):
            catalogue.set_status(session, "lamia/air", status)
        entity_store.upsert_entities(
            session,
            "lamia/air",
            [{"id": "urn:ngsi-ld:AirQualityObserved:lamia:s1", "type": "AirQualityObserved", "name": markup,
              "location": {"type": "Point", "coordinates": [22.43, 38.90]}, "observedAt": "2026-11-24T10:00:00Z", "no2": 20.0}],
        )  # fmt: skip
    page.goto(live_server.url + "/explorer?type=AirQualityObserved&city=lamia")
    expect(page.locator("#explorer-map")).to_have_attribute("data-entities", "1")
    box = page.locator("#explorer-map").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(".leaflet-tooltip")).to_have_text(markup)  # the markup, as text
    assert page.evaluate("window.injected") is None
