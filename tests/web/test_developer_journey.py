"""Journey 1 in Debian's Chromium, on the demo network: a developer signs up, opens the
link of the verification mail, is approved by the platform admin, creates an app and an
API key, asks for access to London's car parks (an `approval` IS), London's city admin
approves, and the developer sees the data on the IS page. Every step goes through the
pages; screenshots go to test-artifacts/."""

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from icity.db.engine import new_session
from icity.db.models import OutboxMail
from tests import people
from tests.web.conftest import shoot
from tests.web.test_app_journeys import person_with_password, sign_in
from tests.web.test_city_admin_journeys import city_admin

ADMIN = "coordinator@icity.example"
LONDON_ADMIN = "opendata@london.example"
DEVELOPER = "lin@bytes.example"
APP = "Kerbside Finder"
SYSTEM = "/information-systems/london/parking"


def verification_link(database_url: str, email: str) -> str:
    with new_session(database_url) as session:
        [mail] = session.scalars(select(OutboxMail).where(OutboxMail.to_address == email)).all()
    return re.search(r"(http\S+/verify-email\?token=\S+)", mail.body).group(1)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_a_developer_signs_up_and_reads_a_citys_data_once_approved_twice(live_server, page: Page):
    person_with_password(live_server.database_url, ADMIN, "admin")
    city_admin(live_server.database_url, LONDON_ADMIN, "london")

    # 1. sign up, and open the mailed link
    page.goto(f"{live_server.url}/sign-up")
    page.get_by_label("Your name").fill("Lin Bytes")
    page.get_by_label("Email").fill(DEVELOPER)
    page.get_by_label("Password").fill(people.PASSWORD)
    page.get_by_label("Organisation").fill("Bytes & Co")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_test_id("sign-up-done")).to_be_visible()
    page.goto(verification_link(live_server.database_url, DEVELOPER))
    expect(page.get_by_test_id("verified-pending")).to_contain_text(f"{DEVELOPER} is confirmed")
    shoot(page, "verify-email")

    # 2. the platform admin approves the account
    sign_in(page, live_server.url, ADMIN, "/admin/developers")
    account = page.locator(f'article[data-user="{DEVELOPER}"]')
    expect(account.get_by_test_id("organisation")).to_have_text("Bytes & Co")
    shoot(page, "admin-developer-approvals")
    account.get_by_role("button", name=f"Approve {DEVELOPER}").click()
    expect(page.get_by_test_id("done")).to_contain_text("The account is approved")
    expect(page.locator(f'article[data-user="{DEVELOPER}"]')).to_have_count(0)
    sign_out(page)

    # 3. the developer creates an app and a key (the secret shown once)
    sign_in(page, live_server.url, DEVELOPER, "/dashboard")
    expect(page.get_by_test_id("messages")).to_contain_text("Your iCity developer account is approved")
    page.get_by_label("Name", exact=True).fill(APP)
    page.get_by_label("Description").fill("Finds a free space in London's car parks, and walks you there.")
    page.get_by_label("Entity types it needs").fill("OffStreetParking")
    page.get_by_role("button", name="Create the app").click()
    card = page.locator(f'article[data-app="{APP}"]')
    expect(card).to_be_visible()
    card.get_by_label("Key name").fill("phone app")
    card.get_by_role("button", name=f"Create a key for {APP}").click()
    secret = page.get_by_test_id("new-key-value").input_value()
    assert secret.startswith("ick_")
    shoot(page, "developer-dashboard-after-approval")

    # 4. London's car parks need the city's approval: the data is hidden, the developer asks
    page.goto(f"{live_server.url}{SYSTEM}")
    expect(page.get_by_test_id("data-hidden")).to_be_visible()
    expect(page.locator("#system-map")).to_have_count(0)
    page.get_by_label("App", exact=True).select_option(label=APP)
    page.get_by_label("What will the app do with the data?").fill("Show drivers the nearest car park with free spaces.")
    page.get_by_role("button", name="Request access").click()
    expect(page.get_by_role("status")).to_contain_text("Your request was sent")
    expect(page.get_by_test_id("own-requests")).to_contain_text("pending")
    shoot(page, "access-requested")
    sign_out(page)

    # 5. London's city admin approves it on the city's pages
    sign_in(page, live_server.url, LONDON_ADMIN, "/manage/access-requests")
    request = page.locator("article[data-request]", has_text=APP)
    expect(request).to_contain_text("Bytes & Co")
    expect(request).to_contain_text("nearest car park")
    request.get_by_role("button", name=f"Approve {APP}").click()
    expect(page.get_by_test_id("decided")).to_contain_text("approved")
    shoot(page, "city-admin-approves")
    sign_out(page)

    # 6. the developer sees the data: on the map, in the table, and the request approved
    sign_in(page, live_server.url, DEVELOPER, SYSTEM)
    expect(page.get_by_test_id("can-read")).to_be_visible()
    expect(page.locator("#system-map path.entity-marker").first).to_be_attached()
    expect(page.get_by_test_id("entity-table")).to_be_visible()
    expect(page.get_by_test_id("own-requests")).to_contain_text("approved")
    shoot(page, "access-granted")
