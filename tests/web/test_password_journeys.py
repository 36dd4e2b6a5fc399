"""Forgetting a password and changing it, through the portal in Chromium: from the sign-in page
to the mailed link and back, and the sessions that end."""

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import OutboxMail
from tests import people
from tests.web.conftest import shoot
from tests.web.test_app_journeys import sign_in

ADA = "ada@analytical.example"
NEW = "a brand new passphrase"


def _reset_link(database_url: str, email: str) -> str:
    with new_session(database_url) as session:
        [mail] = session.scalars(select(OutboxMail).where(OutboxMail.to_address == email)).all()
    return re.search(r"(http\S+/reset-password\?token=\S+)", mail.body).group(1)


def _sign_in_with(page: Page, base_url: str, password: str) -> None:
    page.goto(f"{base_url}/sign-in")
    page.get_by_label("Email").fill(ADA)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_forgotten_password_is_reset_through_the_mailed_link_once(live_server, page: Page, browser):
    with transaction(live_server.database_url) as session:
        people.person(session, ADA)
    # a session elsewhere, which the reset ends
    elsewhere = browser.new_context()
    other = elsewhere.new_page()
    sign_in(other, live_server.url, ADA, "/dashboard")

    page.goto(f"{live_server.url}/sign-in")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(ADA)
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_test_id("reset-sent")).to_contain_text("If an account has this address")
    shoot(page, "forgot-password")

    link = _reset_link(live_server.database_url, ADA)
    assert link.startswith(live_server.url + "/reset-password?token=")
    page.goto(link)
    page.get_by_label("New password (10 characters or more)").fill(NEW)
    page.get_by_label("The new password again").fill(NEW)
    page.get_by_role("button", name="Set the password").click()
    expect(page.get_by_test_id("reset-done")).to_be_visible()

    other.goto(f"{live_server.url}/dashboard")
    expect(other).to_have_url(re.compile(r"/sign-in\?next=/dashboard$"))
    elsewhere.close()

    page.goto(link)  # used: refused
    expect(page.get_by_role("alert")).to_contain_text("not valid or was already used")

    _sign_in_with(page, live_server.url, people.PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Email or password is wrong.")
    _sign_in_with(page, live_server.url, NEW)
    expect(page.get_by_test_id("signed-in-as")).to_have_text(ADA)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(live_server, page: Page):
    page.goto(f"{live_server.url}/forgot-password")
    page.get_by_label("Email").fill("nobody@nowhere.example")
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_test_id("reset-sent")).to_contain_text("If an account has this address")
    with new_session(live_server.database_url) as session:
        assert not session.scalars(select(OutboxMail).where(OutboxMail.to_address == "nobody@nowhere.example")).all()


def test_a_signed_in_user_changes_the_password_and_the_other_sessions_end(live_server, page: Page, browser):
    with transaction(live_server.database_url) as session:
        people.person(session, ADA)
    elsewhere = browser.new_context()
    other = elsewhere.new_page()
    sign_in(other, live_server.url, ADA, "/dashboard")
    sign_in(page, live_server.url, ADA, "/dashboard")

    page.get_by_role("link", name="Password").click()
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password (10 characters or more)").fill(NEW)
    page.get_by_label("The new password again").fill(NEW)
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_role("alert")).to_contain_text("The current password is wrong")

    page.get_by_label("Current password").fill(people.PASSWORD)
    page.get_by_label("New password (10 characters or more)").fill(NEW)
    page.get_by_label("The new password again").fill(NEW)
    page.get_by_role("button", name="Change the password").click()
    expect(page.get_by_test_id("password-changed")).to_be_visible()

    page.goto(f"{live_server.url}/dashboard")
    expect(page.get_by_test_id("signed-in-as")).to_have_text(ADA)  # this session stays
    other.goto(f"{live_server.url}/dashboard")
    expect(other).to_have_url(re.compile(r"/sign-in\?next=/dashboard$"))
    elsewhere.close()
