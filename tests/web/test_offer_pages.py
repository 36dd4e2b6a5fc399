"""The offer and statement pages over HTTP (no browser), on the small test network: the IS page
shows the offer and accepts it with a CSRF-checked form (refused forms write nothing), statements
follow the API's visibility rules. The browser journey is in test_offer_journeys.py."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import OfferAcceptance, UsageDay
from icity.services import offers
from icity.services.access import CLI
from icity.services.gate import forget_offers
from tests import people
from tests.network import build_network

OFFER = {"currency": "EUR", "monthlyFee": "10.00", "pricePer1000": "0.50", "freeCalls": 1000, "terms": "Fair use."}


@pytest.fixture
def site(db_url):
    forget_offers()
    with transaction(db_url) as session:
        build_network(session)
        offers.set_offer(session, CLI, "alpha/air", OFFER)
        dev = people.person(session, "dev@one.example")
        rival = people.person(session, "dev@two.example")
        admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        app, _ = people.app_with_key(session, dev, "One")
        session.add(UsageDay(app_id=app.id, information_system_id="alpha/air", day=offers.month_start(date.today()), calls=3000, errors=0, bytes_out=0))
    tokens = {"dev": dev.token, "rival": rival.token, "admin": admin.token}

    def client(who=None):
        c = TestClient(create_app(db_url), headers={"Accept": "text/html"})
        if who:
            c.cookies.set("icity_session", tokens[who])
        return c

    return client, app.id


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def acceptances(db_url) -> int:
    with new_session(db_url) as session:
        return session.scalar(select(func.count()).select_from(OfferAcceptance))


def test_the_is_page_shows_the_offer_and_accepts_it(site, db_url):
    client, app_id = site
    anonymous = client().get("/information-systems/alpha/air")
    assert "10.00 EUR" in anonymous.text and 'data-testid="accept-offer"' not in anonymous.text
    assert "Free: no fee" in client().get("/information-systems/alpha/noise").text

    dev = client("dev")
    page = dev.get("/information-systems/alpha/air")
    form = {"app": str(app_id), "version": "1", "csrf_token": csrf(page.text)}
    unticked = dev.post("/information-systems/alpha/air/offer-acceptances", data=form, follow_redirects=False)
    forged = dev.post("/information-systems/alpha/air/offer-acceptances", data={**form, "agree": "yes", "csrf_token": "forged"}, follow_redirects=False)
    assert (unticked.status_code, forged.status_code, acceptances(db_url)) == (400, 403, 0)
    done = dev.post("/information-systems/alpha/air/offer-acceptances", data={**form, "agree": "yes"}, follow_redirects=False)
    assert done.status_code == 303 and acceptances(db_url) == 1
    assert "Accepted for: One" in dev.get(done.headers["location"]).text

    # a rival developer cannot accept for another organisation's app
    rival = client("rival")
    refused = rival.post(
        "/information-systems/alpha/air/offer-acceptances",
        data={**form, "agree": "yes", "csrf_token": csrf(rival.get("/information-systems/alpha/air").text)},
        follow_redirects=False,
    )
    assert refused.status_code == 404 and acceptances(db_url) == 1


def test_statement_pages_follow_the_api_rules(site, db_url):
    client, app_id = site
    with transaction(db_url) as session:
        offers.record_acceptance(session, CLI, app_id, session.get(offers.InformationSystem, "alpha/air"), 1)
    path = f"/statements/city/alpha/{app_id}"
    assert client().get("/statements", follow_redirects=False).status_code in (302, 303)
    for who in ("dev", "admin"):
        listing = client(who).get("/statements")
        assert listing.status_code == 200 and path in listing.text
        detail = client(who).get(path)
        assert detail.status_code == 200 and "11.00 EUR" in detail.text and 'id="usage-chart"' in detail.text
    assert 'data-testid="no-statements"' in client("rival").get("/statements").text
    assert client("rival").get(path).status_code == 404
