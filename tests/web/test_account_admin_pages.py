"""The platform admin's developer approvals and messages, every signed-in person's
inbox, and the page the verification mail links to — in process. A refused or
forged form writes nothing; the browser half of approval is in test_admin_journeys.py."""

import re
import time

import pytest
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import Message, OutboxMail, User
from icity.services import messages
from tests.web.admin_site import CITY_ADMIN, DEVELOPER, PENDING, PENDING_ORGANISATION, csrf, make_site


@pytest.fixture
def site(databases, demo_url):
    return make_site(databases, demo_url)


def card(html: str, email: str) -> str:
    """The pending account's card on the approvals page."""
    return re.search(rf'<article class="panel" data-user="{re.escape(email)}".*?</article>', html, re.S).group(0)


def status_of(site, email: str) -> str:
    return site.snapshot()["statuses"][email]


def inbox_subjects(site, who: str) -> list[str]:
    return re.findall(r"<summary><strong>([^<]+)</strong>", site.client(who).get("/messages").text)


def test_the_approvals_page_lists_pending_accounts_with_their_organisation(site):
    page = site.client("admin").get("/admin/developers")
    assert page.status_code == 200
    pending = card(page.text, PENDING)
    assert f'data-testid="organisation">{PENDING_ORGANISATION}<' in pending
    assert f'action="/admin/developers/{site.ids["pending"]}/approve"' in pending
    assert f'<label for="refuse-reason-{site.ids["pending"]}">' in pending  # the reason is a labelled field
    approved = re.search(r'data-testid="approved-accounts">.*?</section>', page.text, re.S).group(0)
    assert f'data-user="{DEVELOPER}"' in approved and f'action="/admin/developers/{site.ids["developer"]}/suspend"' in approved


def test_refusing_needs_a_reason_and_a_refusal_without_one_writes_nothing(site):
    admin = site.client("admin")
    token = csrf(admin.get("/admin/developers").text)
    before = site.snapshot()
    for reason in ("", "   "):
        refused = admin.post(f"/admin/developers/{site.ids['pending']}/refuse", data={"reason": reason, "csrf_token": token})
        assert refused.status_code == 400
        assert "Say why you refuse this account: the user is told." in card(refused.text, PENDING)
    assert site.snapshot() == before

    done = admin.post(
        f"/admin/developers/{site.ids['pending']}/refuse", data={"reason": "No organisation behind it.", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/admin/developers?done=refuse"
    assert status_of(site, PENDING) == "refused"
    with new_session(site.url) as session:
        [mail] = session.scalars(select(OutboxMail).where(OutboxMail.to_address == PENDING)).all()
        assert "Reason: No organisation behind it." in mail.body


def test_the_admin_approves_suspends_with_a_reason_and_reinstates(site):
    admin = site.client("admin")
    token = csrf(admin.get("/admin/developers").text)
    approved = admin.post(f"/admin/developers/{site.ids['pending']}/approve", data={"csrf_token": token})
    assert approved.status_code == 200 and "The account is approved" in approved.text
    assert status_of(site, PENDING) == "approved"
    assert "Your iCity developer account is approved" in inbox_subjects(site, "pending")
    assert 'data-testid="none-pending"' in approved.text

    before = site.snapshot()
    unexplained = admin.post(f"/admin/developers/{site.ids['developer']}/suspend", data={"csrf_token": token})
    assert unexplained.status_code == 400 and "Say why you suspend this account" in unexplained.text
    again = admin.post(f"/admin/developers/{site.ids['developer']}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "Cannot approve an account that is approved" in again.text
    assert site.snapshot() == before

    suspended = admin.post(f"/admin/developers/{site.ids['developer']}/suspend", data={"reason": "Scraping", "csrf_token": token})
    assert suspended.status_code == 200 and status_of(site, DEVELOPER) == "suspended"
    assert f'data-user="{DEVELOPER}"' in re.search(r'data-testid="suspended-accounts">.*?</section>', suspended.text, re.S).group(0)
    assert site.client("developer").get("/dashboard", follow_redirects=False).status_code == 303  # its session ended
    admin.post(f"/admin/developers/{site.ids['developer']}/approve", data={"csrf_token": token})
    assert status_of(site, DEVELOPER) == "approved"


def test_the_admin_messages_every_developer_or_chosen_ones(site):
    admin = site.client("admin")
    page = admin.get("/admin/messages").text
    assert f'<label for="to-{site.ids["developer"]}">' in page and f'value="{site.ids["pending"]}"' not in page  # approved only
    token = csrf(page)
    before = site.snapshot()
    for form, says in [
        ({"audience": "chosen", "subject": "Hello", "body": "Text"}, "Recipients:"),
        ({"audience": "all", "subject": "", "body": "Text"}, "Subject:"),
        ({"audience": "all", "subject": "Hello", "body": ""}, "Message:"),
        ({"audience": "chosen", "to": "999999", "subject": "Hello", "body": "Text"}, "there is no user with id 999999"),
        ({"audience": "chosen", "to": "abc", "subject": "Hello", "body": "Text"}, "Recipients (0): Input should be a valid integer"),
    ]:
        refused = admin.post("/admin/messages", data={**form, "csrf_token": token})
        assert refused.status_code == 400 and says in re.search(r'data-testid="send-error">([^<]*)<', refused.text).group(1)
    assert site.snapshot() == before

    chosen = {"audience": "chosen", "to": [str(site.ids["developer"])], "subject": "Your parking app", "body": "New data from London."}
    sent = admin.post("/admin/messages", data={**chosen, "csrf_token": token}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/admin/messages?done=sent"
    assert inbox_subjects(site, "developer") == ["Your parking app"]

    everyone = admin.post("/admin/messages", data={"audience": "all", "subject": "Maintenance", "body": "Sunday 6–8 UTC.", "csrf_token": token})
    assert everyone.status_code == 200 and "Your message is sent" in everyone.text
    with new_session(site.url) as session:
        approved = session.scalars(select(User.id).where(User.role == "developer", User.status == "approved")).all()
        got = session.scalars(select(Message.recipient_id).where(Message.subject == "Maintenance")).all()
    assert sorted(got) == sorted(approved) and site.ids["developer"] in got and site.ids["pending"] not in got


def test_every_signed_in_person_reads_their_own_inbox(site):
    with transaction(site.url) as session:  # a city admin is told of an access request to its city
        london = session.scalar(select(User).where(User.email == CITY_ADMIN))
        message = messages.notify(session, london, "Access request for london/parking", "Approve or refuse it.")
    london = site.client("london")
    page = london.get("/messages")
    assert page.status_code == 200 and inbox_subjects(site, "london") == ["Access request for london/parking"]
    assert "1 unread" in page.text
    read = london.post(f"/messages/{message.id}/read", data={"csrf_token": csrf(page.text)}, follow_redirects=False)
    assert read.status_code == 303
    assert '<li class="unread">' not in london.get("/messages").text
    # someone else's message is not there to read
    developer = site.client("developer")
    assert developer.post(f"/messages/{message.id}/read", data={"csrf_token": csrf(developer.get("/").text)}).status_code == 404
    assert site.client().get("/messages", follow_redirects=False).headers["location"] == "/sign-in?next=/messages"


def test_approval_and_message_forms_without_this_sessions_token_write_nothing(site):
    admin = site.client("admin")
    before = site.snapshot()
    for path, form in [
        (f"/admin/developers/{site.ids['pending']}/approve", {}),
        (f"/admin/developers/{site.ids['pending']}/refuse", {"reason": "No"}),
        (f"/admin/developers/{site.ids['developer']}/suspend", {"reason": "No"}),
        ("/admin/messages", {"audience": "all", "subject": "Hello", "body": "Text"}),
    ]:
        for token in ({}, {"csrf_token": "forged"}):
            refused = admin.post(path, data={**form, **token})
            assert refused.status_code == 403 and "Form expired" in refused.text, (path, token)
    assert site.snapshot() == before


def test_developers_and_city_admins_are_refused_the_admin_pages_and_write_nothing(site):
    before = site.snapshot()
    for who in ("developer", "london", "pending"):
        client = site.client(who)
        for path in ("/admin/developers", "/admin/messages"):
            refused = client.get(path)
            assert refused.status_code == 403 and "Only the platform admin does this." in refused.text, (who, path)
        token = csrf(client.get("/").text)
        for path, form in [
            (f"/admin/developers/{site.ids['pending']}/approve", {}),
            (f"/admin/developers/{site.ids['developer']}/suspend", {"reason": "No"}),
            ("/admin/messages", {"audience": "all", "subject": "Hello", "body": "Text"}),
        ]:
            refused = client.post(path, data={**form, "csrf_token": token})
            assert refused.status_code == 403 and "Only the platform admin does this." in refused.text, (who, path)
    for path in ("/admin/developers", "/admin/messages"):
        assert site.client().get(path, follow_redirects=False).headers["location"] == f"/sign-in?next={path}"
    anonymous = site.client()
    token = csrf(anonymous.get("/sign-in").text)  # a form token of an anonymous visitor: valid, but nobody signed in
    refused = anonymous.post(f"/admin/developers/{site.ids['pending']}/approve", data={"csrf_token": token})
    assert refused.status_code == 401 and "Only signed-in people can do this: sign in" in refused.text
    assert "Bearer" not in refused.text  # the API's wording is not a person's
    assert site.snapshot() == before


def registered(site, client) -> str:
    """Signs a developer up from the page; the link of the verification mail."""
    client.post("/sign-up", data={"name": "Lin", "email": "lin@bytes.example", "password": "a long passphrase",
                                  "organisation": "Bytes & Co", "csrf_token": csrf(client.get("/sign-up").text)})  # fmt: skip
    with new_session(site.url) as session:
        [mail] = session.scalars(select(OutboxMail).where(OutboxMail.to_address == "lin@bytes.example")).all()
    return re.search(r"(http\S+/verify-email\?token=\S+)", mail.body).group(1)


def test_the_mailed_link_opens_a_page_that_verifies_the_address(site):
    client = site.client()
    link = registered(site, client)
    path = link[link.index("/verify-email") :]
    page = client.get(path)
    assert page.status_code == 200 and 'data-testid="verified-pending"' in page.text
    assert '<meta name="referrer" content="no-referrer">' in page.text
    assert status_of(site, "lin@bytes.example") == "pending"
    assert 'data-testid="verified-pending"' in client.get(path).text  # opened twice: still fine
    token = path.split("token=")[1]
    assert client.get("/api/v1/registrations/verify", params={"token": token}, headers={"Accept": "application/json"}).json() == {
        "email": "lin@bytes.example", "status": "pending"
    }  # the API takes the same token


def test_a_forged_or_expired_link_says_so_verifies_nothing_and_offers_a_new_link(site, monkeypatch):
    client = site.client()
    link = registered(site, client)
    token = link.split("token=")[1]
    payload, _, signature = token.rpartition(".")
    before = site.snapshot()
    forged = client.get("/verify-email", params={"token": payload + "." + signature[::-1]})
    assert forged.status_code == 400 and 'data-testid="link-invalid"' in forged.text
    assert "open the link from the mail unchanged" in forged.text
    assert client.get("/verify-email").status_code == 400  # no token at all
    later = time.time() + 49 * 3600  # the link is valid for 48 hours
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    expired = client.get("/verify-email", params={"token": token})
    assert expired.status_code == 400 and 'data-testid="link-expired"' in expired.text
    monkeypatch.undo()
    assert site.snapshot() == before and status_of(site, "lin@bytes.example") == "unverified"

    bad = client.post("/verify-email/resend", data={"email": "not an address", "csrf_token": csrf(expired.text)})
    assert bad.status_code == 400 and site.snapshot() == before
    resent = client.post("/verify-email/resend", data={"email": "lin@bytes.example", "csrf_token": csrf(expired.text)})
    assert resent.status_code == 200 and 'data-testid="link-resent"' in resent.text
    with new_session(site.url) as session:
        assert len(session.scalars(select(OutboxMail).where(OutboxMail.to_address == "lin@bytes.example")).all()) == 2


def test_every_form_control_of_the_admin_pages_has_its_label(site):
    admin = site.client("admin")
    for path in ("/admin/network/manchester", "/admin/developers", "/admin/messages", "/messages"):
        html = admin.get(path).text
        controls = re.findall(r"<(?:input|select|textarea)\b[^>]*>", html)
        visible = [c for c in controls if 'type="hidden"' not in c]
        assert visible or path == "/messages", path
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        for control in visible:
            found = re.search(r'id="([^"]+)"', control)
            assert found and found.group(1) in labelled, (path, control)
    expired = site.client().get("/verify-email", params={"token": "x"}).text
    assert '<label for="email">' in expired and 'id="email"' in expired
