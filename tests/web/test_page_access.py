"""The portal's pages honour the API's access rules (services/access.py): checked
in process with TestClient on a copy of the demo network, no browser needed."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import AccessRequest, ApiKey, Entity, OutboxMail, User
from tests import people

APPROVAL_IS = "london/parking"
REGISTERED_IS = "barcelona/noise"


@dataclass
class Site:
    url: str
    tokens: dict[str, str]
    app_ids: dict[str, int]

    def client(self, who: str | None = None) -> TestClient:
        client = TestClient(create_app(self.url), headers={"Accept": "text/html"})
        if who is not None:
            client.cookies.set("icity_session", self.tokens[who])
        return client

    def entity_ids(self, system_id: str) -> list[str]:
        with new_session(self.url) as session:
            return list(session.scalars(select(Entity.id).where(Entity.information_system_id == system_id)))

    def requests_for(self, system_id: str) -> int:
        with new_session(self.url) as session:
            return session.scalar(
                select(func.count()).select_from(AccessRequest).where(AccessRequest.information_system_id == system_id)
            )


@pytest.fixture
def site(databases, demo_url) -> Site:
    url = databases.copy(demo_url)
    with transaction(url) as session:
        granted = people.person(session, "granted@example.org")
        granted_app, _ = people.app_with_key(session, granted, "Parking finder")
        people.grant(session, granted_app, APPROVAL_IS)
        waiting = people.person(session, "waiting@example.org")
        waiting_app, _ = people.app_with_key(session, waiting, "Park later")
        london = people.person(session, "admin@london.example", role="city_admin", cities=("london",))
        pending = people.person(session, "pending@example.org", status="pending")
        tokens = {"granted": granted.token, "waiting": waiting.token, "london": london.token, "pending": pending.token}
        return Site(url, tokens, {"granted": granted_app.id, "waiting": waiting_app.id})


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def shows_entities(html: str, ids: list[str]) -> bool:
    return any(entity_id in html for entity_id in ids)


def test_an_approval_systems_entities_are_shown_only_to_those_it_was_granted_to(site):
    ids = site.entity_ids(APPROVAL_IS)
    assert ids
    path = f"/information-systems/{APPROVAL_IS}"
    for who in (None, "waiting", "pending"):
        page = site.client(who).get(path)
        assert page.status_code == 200  # listed in the catalogue, so its page exists
        assert 'data-testid="data-hidden"' in page.text and not shows_entities(page.text, ids), who
    for who in ("granted", "london"):
        page = site.client(who).get(path)
        assert 'data-testid="entity-table"' in page.text and shows_entities(page.text, ids), who


def test_the_explorer_shows_only_entities_the_viewer_may_read(site):
    ids = site.entity_ids(APPROVAL_IS)
    explorer = "/explorer?city=london"
    assert not shows_entities(site.client().get(explorer).text, ids)
    assert not shows_entities(site.client("waiting").get(explorer).text, ids)
    assert shows_entities(site.client("granted").get(explorer).text, ids)


def test_a_registered_systems_entities_need_an_approved_account(site):
    ids = site.entity_ids(REGISTERED_IS)
    path = f"/information-systems/{REGISTERED_IS}"
    assert not shows_entities(site.client().get(path).text, ids)
    assert not shows_entities(site.client("pending").get(path).text, ids)
    assert shows_entities(site.client("waiting").get(path).text, ids)


def test_the_catalogue_lists_an_approval_system_to_anyone_with_its_data_behind_a_request(site):
    page = site.client().get("/catalogue?accessPolicy=approval&city=london")
    assert f'data-system="{APPROVAL_IS}"' in page.text and "(request needed to read)" in page.text


def test_the_catalogue_says_what_a_registered_system_needs_instead_of_a_request(site):
    page = site.client().get("/catalogue?accessPolicy=registered")
    assert f'data-system="{REGISTERED_IS}"' in page.text
    assert "(an approved developer's key reads it)" in page.text and "(request needed" not in page.text


def test_a_developer_requests_access_from_the_page_with_the_forms_token_only(site):
    client = site.client("waiting")
    path = f"/information-systems/{APPROVAL_IS}"
    page = client.get(path)
    assert 'data-testid="request-access"' in page.text
    with new_session(site.url) as session:  # the sample requests name the developer's own key by its prefix
        prefix = session.scalar(select(ApiKey.prefix).where(ApiKey.app_id == site.app_ids["waiting"]))
    assert f"ick_{prefix}_" in page.text
    form = {"app": str(site.app_ids["waiting"]), "purpose": "Show free spaces near the driver"}
    before = site.requests_for(APPROVAL_IS)

    refused = client.post(f"{path}/access-requests", data={**form, "csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and "Form expired" in refused.text
    assert site.requests_for(APPROVAL_IS) == before

    sent = client.post(f"{path}/access-requests", data={**form, "csrf_token": csrf(page.text)}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == f"{path}?requested=1"
    assert site.requests_for(APPROVAL_IS) == before + 1
    after = client.get(sent.headers["location"]).text
    assert "Your request was sent" in after and "pending" in after
    assert not shows_entities(after, site.entity_ids(APPROVAL_IS))  # asked is not granted

    again = client.post(f"{path}/access-requests", data={**form, "csrf_token": csrf(page.text)}, follow_redirects=False)
    assert again.status_code == 409 and "already has a pending request" in again.text
    assert site.requests_for(APPROVAL_IS) == before + 1


def test_another_organisations_app_cannot_be_used_to_request_access(site):
    client = site.client("waiting")
    page = client.get(f"/information-systems/{APPROVAL_IS}")
    stolen = {"app": str(site.app_ids["granted"]), "purpose": "Borrow another app's grant", "csrf_token": csrf(page.text)}
    before = site.requests_for(APPROVAL_IS)
    answer = client.post(f"/information-systems/{APPROVAL_IS}/access-requests", data=stolen, follow_redirects=False)
    assert answer.status_code in (403, 404)
    assert site.requests_for(APPROVAL_IS) == before


def test_a_missing_page_and_an_unknown_system_are_html_pages_while_the_api_keeps_problem_json(site):
    client = site.client()
    missing = client.get("/information-systems/nowhere/nothing")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    api = client.get("/api/v1/information-systems/nowhere/nothing", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"


def test_a_request_without_a_purpose_is_refused_with_what_to_write(site):
    client = site.client("waiting")
    page = client.get(f"/information-systems/{APPROVAL_IS}")
    before = site.requests_for(APPROVAL_IS)
    form = {"app": str(site.app_ids["waiting"]), "purpose": "data", "csrf_token": csrf(page.text)}
    answer = client.post(f"/information-systems/{APPROVAL_IS}/access-requests", data=form)
    assert answer.status_code == 400 and "10 characters or more" in answer.text
    assert site.requests_for(APPROVAL_IS) == before


def test_a_developer_signs_up_from_the_page_and_gets_the_verification_mail(site, var_dir):
    client = TestClient(create_app(site.url), headers={"Accept": "text/html"})
    page = client.get("/sign-up")
    short = {"name": "Ada", "email": "ada@analytical.example", "password": "short", "organisation": "Analytical Engines SL",
             "csrf_token": csrf(page.text)}
    refused = client.post("/sign-up", data=short)
    assert refused.status_code == 400 and "password" in refused.text
    done = client.post("/sign-up", data={**short, "password": "a long passphrase", "country": "ES"})
    assert done.status_code == 200 and 'data-testid="sign-up-done"' in done.text
    with new_session(site.url) as session:
        user = session.scalar(select(User).where(User.email == "ada@analytical.example"))
        assert user.status == "unverified" and user.role == "developer"
        mails = session.scalars(select(OutboxMail).where(OutboxMail.to_address == "ada@analytical.example")).all()
    assert len(mails) == 1 and "/verify-email?token=" in mails[0].body


def test_a_malformed_form_is_an_html_page_and_the_api_keeps_its_problem_json(site):
    client = site.client("waiting")
    page = client.get(f"/information-systems/{APPROVAL_IS}")
    answer = client.post(
        f"/information-systems/{APPROVAL_IS}/access-requests", data={"app": "abc", "purpose": "x" * 20, "csrf_token": csrf(page.text)}
    )
    assert answer.status_code == 400 and answer.headers["content-type"].startswith("text/html")
    api = client.get("/api/v1/entities?limit=0", headers={"Accept": "application/json"})
    assert api.status_code == 400 and api.headers["content-type"] == "application/problem+json"


def test_a_registered_system_whose_devices_take_commands_offers_a_request_for_commands(site):
    """Reading needs no request there, commanding its devices does: the page says what the request is for."""
    page = site.client("waiting").get(f"/information-systems/{REGISTERED_IS}")
    assert 'data-testid="commands-need-request"' in page.text
    assert 'data-testid="request-access"' in page.text and "Request access to send commands" in page.text
