"""The app portal, certification and developer dashboard pages over HTTP (no
browser): they show what the services decide, honour the same access rules, and a
refused form writes nothing. The browser journeys are in test_app_journeys.py."""

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import ApiKey, App, AppReview
from icity.services import apps, certification
from icity.services.authentication import principal_of_user
from tests import people

COMPLETE = {
    "description": "Air quality near you, and the cleanest walking route.",
    "functionalities": ["live air quality map"],
    "advantages": ["works in every iCity city"],
    "platforms": [{"platform": "web", "url": "https://breathe.example/app"}],
}


@dataclass
class Site:
    url: str
    tokens: dict[str, str]  # role → session token
    ids: dict[str, int]

    def client(self, role: str | None = None) -> TestClient:
        client = TestClient(create_app(self.url))
        if role is not None:
            client.cookies.set("icity_session", self.tokens[role])
        return client

    def count(self, model, *where) -> int:
        with new_session(self.url) as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def site(network_copy) -> Site:
    with transaction(network_copy) as session:
        ada = people.person(session, "ada@dev.example")
        other = people.person(session, "bob@other.example")
        admin = people.person(session, "coordinator@icity.example", role="admin")
        pending = people.person(session, "new@dev.example", status="pending")
        developer = principal_of_user(session, ada.user)
        air = apps.create_app(session, developer, {"name": "BreatheEasy", "entity_types": ["AirQualityObserved"], **COMPLETE})
        sights = apps.create_app(session, developer, {"name": "Sights", "entity_types": ["PointOfInterest"], **COMPLETE})
        draft = apps.create_app(session, developer, {"name": "Unreviewed", "entity_types": ["AirQualityObserved"]})
        certification.submit(session, developer, air["id"])
        certification.submit(session, developer, sights["id"])
        coordinator = principal_of_user(session, admin.user)
        certification.review(session, coordinator, air["id"], decision="certified")
        tokens = {"ada": ada.token, "other": other.token, "admin": admin.token, "pending": pending.token}
        return Site(network_copy, tokens, {"air": air["id"], "sights": sights["id"], "draft": draft["id"]})


def listed_apps(html: str) -> list[str]:
    return re.findall(r'<article class="panel app-card" data-app="([^"]+)"', html)


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_portal_shows_certified_apps_only_filtered_by_city(site):
    anonymous = site.client()
    assert listed_apps(anonymous.get("/apps").text) == ["BreatheEasy"]  # Sights waits for review, Unreviewed is a draft
    assert listed_apps(anonymous.get("/apps", params={"city": "alpha"}).text) == ["BreatheEasy"]
    page = anonymous.get("/apps", params={"city": "delta"})
    assert page.status_code == 200 and listed_apps(page.text) == []
    assert "No certified app works in Delta yet." in page.text


def test_the_certification_pages_are_the_platform_admins(site):
    anonymous = site.client().get("/admin/certification", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/sign-in?next=/admin/certification"
    for role in ("ada", "pending"):
        assert site.client(role).get("/admin/certification").status_code == 403
        assert site.client(role).get(f"/admin/certification/{site.ids['sights']}").status_code == 403
    queue = site.client("admin").get("/admin/certification")
    assert queue.status_code == 200
    assert re.findall(r'<tr data-app="([^"]+)"', queue.text) == ["Sights"]


def test_a_review_without_comments_or_csrf_writes_nothing(site):
    admin = site.client("admin")
    path = f"/admin/certification/{site.ids['sights']}"
    token = csrf(admin.get(path).text)
    assert admin.post(path, data={"decision": "returned", "comments": "No."}).status_code == 403  # no token
    refused = admin.post(path, data={"csrf_token": token, "decision": "returned"})
    assert refused.status_code == 400 and "Say what to fix" in refused.text
    overruled = admin.post(path, data={"csrf_token": token, "decision": "returned", "comments": "x", "links_passed": "fail"})
    assert overruled.status_code == 400 and "say why in a note" in overruled.text
    assert site.count(AppReview, AppReview.decision.is_not(None), AppReview.app_id == site.ids["sights"]) == 0

    certified = admin.post(path, data={"csrf_token": token, "decision": "certified"}, follow_redirects=False)
    assert certified.status_code == 303
    assert "Sights is certified" in admin.get(certified.headers["location"]).text
    assert listed_apps(site.client().get("/apps", params={"city": "beta"}).text) == ["BreatheEasy", "Sights"]


def test_a_new_key_is_shown_once_and_never_again(site):
    ada = site.client("ada")
    page = ada.get("/dashboard")
    assert page.status_code == 200 and set(re.findall(r'<article class="panel app-card" id="app-\d+" data-app="([^"]+)"', page.text)) == {
        "BreatheEasy", "Sights", "Unreviewed",
    }  # fmt: skip
    created = ada.post(f"/dashboard/apps/{site.ids['air']}/keys", data={"csrf_token": csrf(page.text), "name": "laptop"})
    secret = re.search(r'value="(ick_[^"]+)"', created.text).group(1)
    with new_session(site.url) as session:
        key = session.scalar(select(ApiKey).where(ApiKey.app_id == site.ids["air"]))
        assert secret not in (key.prefix, key.name, key.secret_digest)
    again = ada.get("/dashboard").text
    assert key.prefix in again and secret not in again
    # the key works against the API
    assert ada.get("/api/v1/entities", headers={"X-API-Key": secret}).status_code == 200


def key_ids(site: Site) -> list[int]:
    with new_session(site.url) as session:
        return list(session.scalars(select(ApiKey.id).where(ApiKey.app_id == site.ids["air"]).order_by(ApiKey.id)))


def test_rotating_and_revoking_keys(site):
    ada = site.client("ada")
    token = csrf(ada.get("/dashboard").text)
    first = ada.post(f"/dashboard/apps/{site.ids['air']}/keys", data={"csrf_token": token})
    old_secret = re.search(r'value="(ick_[^"]+)"', first.text).group(1)
    rotated = ada.post(f"/dashboard/apps/{site.ids['air']}/keys/{key_ids(site)[0]}/rotate", data={"csrf_token": token})
    assert rotated.status_code == 200 and "keeps working until" in rotated.text
    new_secret = re.search(r'value="(ick_[^"]+)"', rotated.text).group(1)
    assert new_secret != old_secret
    for secret in (old_secret, new_secret):  # the old key works during the overlap
        assert ada.get("/api/v1/entities", headers={"X-API-Key": secret}).status_code == 200
    revoked = ada.post(f"/dashboard/apps/{site.ids['air']}/keys/{key_ids(site)[1]}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 200 and "The key is revoked" in revoked.text
    assert ada.get("/api/v1/entities", headers={"X-API-Key": new_secret}).status_code == 401


def test_the_portal_refuses_a_key_past_the_cap_and_says_to_revoke_one(site):
    ada = site.client("ada")
    token = csrf(ada.get("/dashboard").text)
    for _ in range(5):
        assert ada.post(f"/dashboard/apps/{site.ids['air']}/keys", data={"csrf_token": token}).status_code == 200
    refused = ada.post(f"/dashboard/apps/{site.ids['air']}/keys", data={"csrf_token": token})
    assert refused.status_code == 409 and "5 live API keys" in refused.text and "revoke one" in refused.text
    assert site.count(ApiKey) == 5


def test_another_organisation_cannot_touch_the_apps_and_writes_nothing(site):
    bob = site.client("other")
    token = csrf(bob.get("/dashboard").text)
    assert bob.post(f"/dashboard/apps/{site.ids['air']}/keys", data={"csrf_token": token}).status_code == 404
    assert bob.post(f"/dashboard/apps/{site.ids['draft']}/submission", data={"csrf_token": token}).status_code == 404
    assert site.count(ApiKey) == 0
    assert site.count(App, App.certification == "submitted") == 1  # Sights only


def test_a_developer_creates_an_app_and_submits_it(site):
    ada = site.client("ada")
    token = csrf(ada.get("/dashboard").text)
    bad = ada.post("/dashboard/apps", data={"csrf_token": token, "name": "Parking", "url": "ftp://parking.example"})
    assert bad.status_code == 400 and "Download or launch link" in bad.text
    assert site.count(App, App.name == "Parking") == 0
    misspelt = ada.post("/dashboard/apps", data={"csrf_token": token, "name": "Parking", "entity_types": "OffStreetParkin"})
    assert misspelt.status_code == 422 and "Did you mean &#39;OffStreetParking&#39;?" in misspelt.text
    assert site.count(App, App.name == "Parking") == 0
    created = ada.post(
        "/dashboard/apps",
        data={"csrf_token": token, "name": "Parking", "entity_types": "OffStreetParking", "functionalities": "free spaces\nroute"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    with new_session(site.url) as session:
        app = session.scalar(select(App).where(App.name == "Parking"))
        assert (app.entity_types, app.functionalities) == (["OffStreetParking"], ["free spaces", "route"])
    submitted = ada.post(f"/dashboard/apps/{app.id}/submission", data={"csrf_token": token, "note": "Please"})
    assert submitted.status_code == 200 and "Submitted: the network coordinator reviews it" in submitted.text
    assert site.count(App, App.certification == "submitted") == 2


def test_a_developer_awaiting_approval_is_told_so(site):
    page = site.client("pending").get("/dashboard")
    assert page.status_code == 200 and 'data-testid="awaiting-approval"' in page.text


def test_the_developer_reads_the_decision_and_a_returned_apps_comments(site):
    admin = site.client("admin")
    path = f"/admin/certification/{site.ids['sights']}"
    token = csrf(admin.get(path).text)
    admin.post(path, data={"csrf_token": token, "decision": "returned", "comments": "Add a screenshot link."})

    ada = site.client("ada")
    page = ada.get("/dashboard").text
    assert re.search(r'data-testid="returned-comments">Returned: Add a screenshot link.<', page)
    unread = re.findall(r'<li class="unread">.*?<strong>([^<]+)</strong>', page, re.S)
    assert unread == ["Sights was returned", "BreatheEasy is certified: it is in the app portal"]
    message_id = re.search(r'action="/messages/(\d+)/read"', page).group(1)
    read = ada.post(f"/messages/{message_id}/read", data={"csrf_token": csrf(page), "back": "dashboard"})
    assert read.status_code == 200 and "/dashboard?done=read" in str(read.url)
    assert len(re.findall(r'<li class="unread">', ada.get("/dashboard").text)) == 1
