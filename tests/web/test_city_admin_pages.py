"""The city admin's pages over HTTP (no browser), on the small test network (alpha and beta:
consortium, gamma: pilot, delta: SIG): they show what the services decide, honour the same
access rules as the API, and a refused form — bad JSON, a URL that is not http(s), a city the
admin does not manage, a SIG city opening an IS, a missing or forged CSRF token, a refusal
without a reason — answers with a message on the page and leaves every table as it was.
The browser journeys are in test_city_admin_journeys.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import AccessRequest, Base, HarvestRun, InformationSystem, User
from icity.services import usage
from icity.services.usage import Counters
from icity.web.pages import city_access
from tests import people
from tests.connectors.feed_server import Feed, FeedServer
from tests.sources import MAPPING, csv

SETTINGS = '{"delimiter": ";", "encoding": "latin-1"}'


@dataclass
class Site:
    url: str
    tokens: dict[str, str]  # who → session token
    requests: dict[str, int]  # access request ids

    def client(self, who: str | None = None) -> TestClient:
        client = TestClient(create_app(self.url), headers={"Accept": "text/html"})
        if who is not None:
            client.cookies.set("icity_session", self.tokens[who])
        return client

    def rows(self) -> dict[str, list[tuple]]:
        """Every row of every table: what "writes nothing" is checked against."""
        with new_session(self.url) as session:
            return {
                table.name: sorted(map(tuple, session.execute(select(table)).all()), key=repr)
                for table in Base.metadata.sorted_tables
            }

    def request_status(self, request_id: int) -> tuple[str, str | None]:
        with new_session(self.url) as session:
            request = session.get(AccessRequest, request_id)
            return request.status, request.reason


@pytest.fixture
def site(network_copy) -> Site:
    with transaction(network_copy) as session:
        alpha = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        delta = people.person(session, "admin@delta.example", role="city_admin", cities=("delta",))
        coordinator = people.person(session, "coordinator@icity.example", role="admin")
        developer = people.person(session, "ada@dev.example")
        waiting, _ = people.app_with_key(session, developer, "Park later")
        granted, _ = people.app_with_key(session, developer, "Parking finder")
        pending = people.grant(session, waiting, "alpha/parking", status="pending")
        approved = people.grant(session, granted, "alpha/parking")
        tokens = {"alpha": alpha.token, "delta": delta.token, "admin": coordinator.token, "developer": developer.token}
        return Site(network_copy, tokens, {"pending": pending.id, "approved": approved.id})


@pytest.fixture
def feed_url(feeds: FeedServer) -> str:
    """The air-quality CSV of tests/sources.py over real HTTP: two good rows and one bad (n/d)."""
    return feeds.serve("/city-admin-aire.csv", Feed(csv("Sants", "Broken", "Gràcia"), "text/csv"))


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def source_form(token: str, feed_url: str, **changes: str) -> dict[str, str]:
    """The source form as the wizard fills it for tests/sources.py's CSV, with ``changes``."""
    form = {"csrf_token": token, "kind": "csv", "url": feed_url, "settings": SETTINGS, "mapping": json.dumps(MAPPING), "schedule": "1h"}
    return {**form, **changes}


def register(client: TestClient, city: str, slug: str) -> None:
    token = csrf(client.get("/manage/new").text)
    answer = client.post(
        "/manage/new",
        data={"csrf_token": token, "city": city, "slug": slug, "name": "Qualitat de l'aire", "category": "environment",
              "entity_type": "AirQualityObserved", "licence": "CC-BY-4.0", "access_policy": "public"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/manage/information-systems/{city}/{slug}/source?registered=1"


def test_the_manage_pages_are_for_city_admins_of_their_own_cities(site):
    anonymous = site.client().get("/manage", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/sign-in?next=/manage"
    developer = site.client("developer")
    for path in ("/manage", "/manage/new", "/manage/access-requests", "/manage/usage", "/manage/information-systems/alpha/air"):
        refused = developer.get(path)
        assert refused.status_code == 403 and "Only" in refused.text, path

    alpha = site.client("alpha")
    home = alpha.get("/manage")
    assert home.status_code == 200
    assert set(re.findall(r'<tr data-system="([^"]+)"', home.text)) == {
        "alpha/air", "alpha/noise", "alpha/parking", "alpha/agenda",
    }  # fmt: skip
    assert "1 access request waiting for your decision" in home.text
    assert 'href="/manage"' in alpha.get("/catalogue").text  # the navigation entry
    assert 'href="/manage"' not in developer.get("/catalogue").text
    assert alpha.get("/manage/information-systems/beta/air").status_code == 403  # another city's, served
    assert alpha.get("/manage/information-systems/gamma/wifi").status_code == 404  # another city's draft: not revealed
    everything = site.client("admin").get("/manage").text
    assert {"beta/air", "gamma/wifi", "delta/air"} <= set(re.findall(r'<tr data-system="([^"]+)"', everything))


def test_a_city_admin_opens_an_information_system_from_a_csv_url(site, feed_url):
    alpha = site.client("alpha")
    register(alpha, "alpha", "aire")
    step_two = alpha.get("/manage/information-systems/alpha/aire/source?registered=1")
    assert step_two.status_code == 200 and "is registered as a draft" in step_two.text
    token = csrf(step_two.text)

    before = site.rows()
    preview = alpha.post("/manage/information-systems/alpha/aire/source/preview", data=source_form(token, feed_url))
    assert preview.status_code == 200, preview.text
    assert "3 records read: <strong>2 valid</strong>,\n    <strong>1 rejected</strong>" in preview.text
    rejections = re.search(r'data-testid="rejections">.*?</table>', preview.text, re.S).group(0)
    assert re.findall(r"<tr><td class=\"num\">(\d+)</td><td>([^<]+)</td>", rejections) == [("2", "NO2 (mg/m³)")]
    assert "urn:ngsi-ld:AirQualityObserved:alpha:Sants" in preview.text and 'id="system-map"' in preview.text
    assert site.rows() == before  # a preview saves nothing

    saved = alpha.post("/manage/information-systems/alpha/aire/source", data=source_form(token, feed_url, status="open"), follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/manage/information-systems/alpha/aire?done=saved"
    page = alpha.get(saved.headers["location"]).text  # the test client ran the first harvest before answering
    assert re.findall(r'data-testid="run-status">(\w+)<', page) == ["succeeded"]
    assert 'data-testid="entity-count">2 entities' in page and 'data-testid="system-status">open<' in page
    with new_session(site.url) as session:
        system = session.get(InformationSystem, "alpha/aire")
        assert (system.status, system.connector["url"], system.schedule) == ("open", feed_url, "1h")

    again = alpha.post("/manage/information-systems/alpha/aire/harvests", data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303
    runs = re.findall(r'<tr class="run-(\w+)" data-run="\d+">', alpha.get(again.headers["location"]).text)
    assert runs == ["succeeded", "succeeded"]  # newest first; the source is unchanged, so nothing new is written


def test_harvest_now_without_a_source_says_what_to_do(site):
    alpha = site.client("alpha")
    register(alpha, "alpha", "aire")
    token = csrf(alpha.get("/manage/information-systems/alpha/aire").text)
    before = site.rows()
    refused = alpha.post("/manage/information-systems/alpha/aire/harvests", data={"csrf_token": token})
    assert refused.status_code == 409 and "alpha/aire has no connector yet" in refused.text
    assert site.rows() == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"mapping": '{"entityType": "AirQualityObserved",'}, "Mapping: not valid JSON"),
        ({"mapping": "[1, 2]"}, "Mapping: give a JSON object"),
        ({"settings": "delimiter ;"}, "Connector settings: not valid JSON"),
        ({"url": "file:///etc/passwd"}, "Source URL: the URL must start with http:// or https://"),
        ({"url": "ftp://opendata.example/aire.csv"}, "Source URL: the URL must start with http:// or https://"),
        ({"kind": "excel"}, "Connector kind: Unknown connector kind"),
        ({"schedule": "every tuesday"}, "Schedule:"),
    ],
)
def test_a_bad_source_is_refused_with_its_reason_and_writes_nothing(site, feed_url, changes, message):
    alpha = site.client("alpha")
    register(alpha, "alpha", "aire")
    token = csrf(alpha.get("/manage/information-systems/alpha/aire/source").text)
    before = site.rows()
    for action in ("source/preview", "source"):
        if action == "source/preview" and "schedule" in changes:
            continue  # a preview does not look at the schedule
        refused = alpha.post(f"/manage/information-systems/alpha/aire/{action}", data=source_form(token, feed_url, **changes, status="open"))
        assert refused.status_code in (400, 422), refused.text
        assert "Nothing was saved" in refused.text and message in refused.text, action
        assert site.rows() == before, action


def test_a_city_the_admin_does_not_manage_is_refused_and_nothing_is_written(site, feed_url):
    alpha = site.client("alpha")
    token = csrf(alpha.get("/manage/new").text)
    before = site.rows()
    refused = alpha.post(
        "/manage/new",
        data={"csrf_token": token, "city": "beta", "slug": "aire", "name": "Aire", "category": "environment",
              "entity_type": "AirQualityObserved"},
    )  # fmt: skip
    assert refused.status_code == 403 and "Only the admins of beta and the platform admin" in refused.text
    assert '<option value="beta"' not in refused.text  # the form offers the admin's own cities only
    taken = alpha.post("/manage/information-systems/beta/air/source", data=source_form(token, feed_url))
    assert taken.status_code == 403 and "Only the admins of beta" in taken.text
    assert alpha.post("/manage/information-systems/beta/air/harvests", data={"csrf_token": token}).status_code == 403
    assert alpha.post("/manage/information-systems/beta/air/status", data={"csrf_token": token, "status": "retired"}).status_code == 403
    assert site.rows() == before


@pytest.mark.parametrize("status", ["trial", "open"])
def test_a_sig_city_cannot_open_an_information_system_and_nothing_is_written(site, feed_url, status):
    delta = site.client("delta")
    token = csrf(delta.get("/manage/information-systems/delta/air/source").text)
    before = site.rows()
    refused = delta.post("/manage/information-systems/delta/air/source", data=source_form(token, feed_url, status=status))
    assert refused.status_code == 409
    assert "Delta is at level &#39;sig&#39;; only cities at level pilot or consortium may put an information system in" in refused.text
    assert site.rows() == before  # neither the source nor a run nor the status
    on_its_page = delta.post("/manage/information-systems/delta/air/status", data={"csrf_token": token, "status": status})
    assert on_its_page.status_code == 409 and "keep the system in &#39;draft&#39;" in on_its_page.text
    assert site.rows() == before
    kept_draft = delta.post("/manage/information-systems/delta/air/source", data=source_form(token, feed_url), follow_redirects=False)
    assert kept_draft.status_code == 303  # as a draft, the city connects its source and harvests it
    with new_session(site.url) as session:
        assert session.scalar(select(HarvestRun.status).where(HarvestRun.information_system_id == "delta/air")) == "succeeded"


def test_a_form_without_this_browsers_csrf_token_writes_nothing(site, feed_url):
    alpha = site.client("alpha")
    token = csrf(alpha.get("/manage").text)
    register(alpha, "alpha", "aire")
    before = site.rows()
    posts = {
        "/manage/new": {"city": "alpha", "slug": "other", "name": "Other", "category": "environment", "entity_type": "AirQualityObserved"},
        "/manage/information-systems/alpha/aire/source": source_form(token, feed_url),
        "/manage/information-systems/alpha/aire/harvests": {},
        "/manage/information-systems/alpha/air/status": {"status": "retired"},
        f"/manage/access-requests/{site.requests['pending']}/approve": {},
        f"/manage/access-requests/{site.requests['approved']}/revoke": {"reason": "Ended"},
    }
    for path, form in posts.items():
        form = {name: value for name, value in form.items() if name != "csrf_token"}
        for sent in ({}, {"csrf_token": "forged"}, {"csrf_token": csrf(site.client("delta").get("/manage").text)}):
            refused = alpha.post(path, data={**form, **sent})
            assert refused.status_code == 403 and "Form expired" in refused.text, (path, sent)
    assert site.rows() == before


def test_a_city_admin_approves_refuses_and_revokes_access_from_the_page(site):
    alpha = site.client("alpha")
    page = alpha.get("/manage/access-requests")
    pending, approved = site.requests["pending"], site.requests["approved"]
    assert re.findall(r'<article class="request" id="request-(\d+)"', page.text) == [str(pending)]
    assert "Park later <span class=\"muted\">by ada@dev.example Ltd</span>" in page.text and "tests" in page.text
    token = csrf(page.text)

    before = site.rows()
    for reason in ("", "   "):
        refused = alpha.post(f"/manage/access-requests/{pending}/refuse", data={"csrf_token": token, "reason": reason})
        assert refused.status_code == 400 and "Say why you refuse this request" in refused.text
    no_reason = alpha.post(f"/manage/access-requests/{approved}/revoke", data={"csrf_token": token})
    assert no_reason.status_code == 400 and "Say why you revoke this grant" in no_reason.text
    delta = site.client("delta")
    other_city = delta.post(f"/manage/access-requests/{pending}/approve", data={"csrf_token": csrf(delta.get("/manage").text)})
    assert other_city.status_code == 404  # not one of delta's: not even shown
    assert site.rows() == before

    refused = alpha.post(
        f"/manage/access-requests/{pending}/refuse",
        data={"csrf_token": token, "reason": "Not for commercial use."},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    assert "The request is refused" in alpha.get(refused.headers["location"]).text
    assert site.request_status(pending) == ("refused", "Not for commercial use.")
    again = alpha.post(f"/manage/access-requests/{pending}/approve", data={"csrf_token": token})
    assert again.status_code == 409 and "Cannot approve a request that is refused" in again.text

    revoked = alpha.post(
        f"/manage/access-requests/{approved}/revoke", data={"csrf_token": token, "reason": "The trial ended."}, follow_redirects=False
    )
    assert revoked.status_code == 303 and site.request_status(approved) == ("revoked", "The trial ended.")


def test_a_pending_request_is_approved_from_the_page(site):
    alpha = site.client("alpha")
    token = csrf(alpha.get("/manage/access-requests").text)
    pending = site.requests["pending"]
    approved = alpha.post(f"/manage/access-requests/{pending}/approve", data={"csrf_token": token}, follow_redirects=False)
    assert approved.status_code == 303 and site.request_status(pending) == ("approved", None)
    assert 'data-testid="none-pending"' in alpha.get("/manage/access-requests").text


def test_a_new_request_is_listed_however_many_were_decided_before(site, monkeypatch):
    monkeypatch.setattr(city_access, "LISTED", 2)  # as a city with more decided requests than a page holds
    with transaction(site.url) as session:
        developer = session.scalar(select(User).where(User.email == "ada@dev.example"))
        for number in range(3):
            app, _ = people.app_with_key(session, people.Person(developer, None), f"Old app {number}")
            people.grant(session, app, "alpha/parking", status="refused")
        newest, _ = people.app_with_key(session, people.Person(developer, None), "Newest app")
        newest_request = people.grant(session, newest, "alpha/parking", status="pending").id
    page = site.client("alpha").get("/manage/access-requests").text
    assert f'data-request="{newest_request}"' in page and f'data-request="{site.requests["pending"]}"' in page
    assert "Old app 2" in page  # the latest decisions first


def test_the_usage_page_shows_the_use_of_the_admins_own_systems_by_app(site):
    with transaction(site.url) as session:
        app_id = session.scalar(select(AccessRequest.app_id).where(AccessRequest.id == site.requests["approved"]))
        today = date.today()
        usage.write_usage(
            session,
            {
                (app_id, "alpha/parking", today): Counters(calls=30, errors=2, bytes_out=4096),
                (app_id, "alpha/parking", today - timedelta(days=1)): Counters(calls=12),
                (app_id, "beta/air", today): Counters(calls=99),
            },
            {},
        )
    page = site.client("alpha").get("/manage/usage")
    assert page.status_code == 200 and 'id="usage-chart"' in page.text
    table = re.search(r'data-testid="usage-by-app">.*?</table>', page.text, re.S).group(0)
    cells = [re.sub(r"\s+", " ", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)]
    assert cells == ["Parking finder", "alpha/parking", "42", "2", "4.0 KiB"]  # beta's use is not alpha's to see
    assert "No app called" in site.client("delta").get("/manage/usage").text
