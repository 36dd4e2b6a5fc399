"""The portal's pages checked by axe-core (from npm, like the portal's own libraries) in
Chromium against WCAG 2 A and AA: contrast, labels, names of links and buttons, landmarks,
document language. Each page is checked as the people who use it see it."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.web.test_app_journeys import person_with_password, sign_in
from tests.web.test_city_admin_journeys import city_admin
from tests.web.test_owner_journeys import owner_admin

AXE = Path(__file__).parents[2] / "src" / "icity" / "web" / "assets" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

PUBLIC_PAGES = [
    "/",
    "/catalogue",
    "/catalogue?city=barcelona",
    "/cities/cornella",
    "/information-systems/barcelona/air-quality",
    "/information-systems/london/parking",
    "/information-systems/barcelona/parking",  # priced: its offer
    "/explorer?type=AirQualityObserved&city=barcelona",
    "/apps",
    "/apps?city=cornella",
    "/sign-in",
    "/sign-up",
    "/owners",
    "/owners/voltia",
    "/catalogue?publisher=voltia",
    "/information-systems/barcelona/voltia-ev-charging",
]
ADMIN_PAGES = ["/admin/network", "/admin/network/manchester", "/admin/developers", "/admin/certification", "/admin/messages", "/messages",
               "/admin/owners", "/admin/owners/ruota", "/manage/opening-notices", "/statements"]
CITY_ADMIN_PAGES = ["/manage", "/manage/new", "/manage/information-systems/cornella/air-quality", "/manage/information-systems/cornella/air-quality/source", "/manage/access-requests", "/manage/usage",
                    "/manage/opening-notices", "/manage/information-systems/cornella/air-quality/alarms",
                    "/manage/information-systems/cornella/air-quality/devices/aq-01/commands"]
OWNER_ADMIN_PAGES = ["/manage", "/manage/new", "/manage/information-systems/bologna/ruota-bike-sharing", "/manage/opening-notices"]


def violations(page: Page) -> list[str]:
    """axe-core's WCAG A/AA violations of the page as shown now, one line each with where."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: `make install` installs the portal's npm packages")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}}).then(r => r.violations.map("
        "v => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`))",
        WCAG_AA,
    )
    return found


def check(page: Page, base_url: str, paths: list[str]) -> None:
    problems = {}
    for path in paths:
        page.goto(f"{base_url}{path}")
        page.wait_for_load_state("networkidle")
        if found := violations(page):
            problems[path] = found
    assert not problems, "\n".join(f"{path}:\n  " + "\n  ".join(found) for path, found in problems.items())


def test_the_public_pages_meet_wcag_aa(live_server, page: Page):
    check(page, live_server.url, PUBLIC_PAGES)


def test_the_platform_admins_pages_meet_wcag_aa(live_server, page: Page):
    person_with_password(live_server.database_url, "coordinator@icity.example", "admin")
    sign_in(page, live_server.url, "coordinator@icity.example", "/admin/network")
    check(page, live_server.url, ADMIN_PAGES)


def test_the_city_admins_pages_meet_wcag_aa(live_server, page: Page):
    city_admin(live_server.database_url, "opendata@cornella.example", "cornella")
    sign_in(page, live_server.url, "opendata@cornella.example", "/manage")
    check(page, live_server.url, CITY_ADMIN_PAGES)


def test_the_owner_admins_pages_meet_wcag_aa(live_server, page: Page):
    owner_admin(live_server.database_url, "ops@ruota.test.example", "ruota")
    sign_in(page, live_server.url, "ops@ruota.test.example", "/manage")
    check(page, live_server.url, OWNER_ADMIN_PAGES)


def test_the_opening_notices_of_a_city_with_one_pending_meet_wcag_aa(live_server, page: Page):
    city_admin(live_server.database_url, "opendata@bologna.example", "bologna")
    sign_in(page, live_server.url, "opendata@bologna.example", "/manage/opening-notices")
    check(page, live_server.url, ["/manage/opening-notices"])
