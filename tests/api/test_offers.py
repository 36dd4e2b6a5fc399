"""Offers (versions, acceptance, the 402 gate) and monthly statements through the real application."""

import csv
import io
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import AuditEvent, InformationSystem, InfrastructureOwner, OfferAcceptance, OfferVersion, OwnerAdmin, UsageDay
from icity.errors import ICityError
from icity.services import offers, statements
from icity.services.authentication import principal_of_user
from icity.services.access import CLI
from icity.services.gate import forget_offers
from tests import people
from tests.network import build_network

pytestmark = pytest.mark.postgres_ok

PRICED = {"currency": "EUR", "monthlyFee": "10.00", "pricePer1000": "0.50", "freeCalls": 1000, "terms": "Fair use.", "termsUrl": "https://alpha.example/terms"}
THIS_MONTH = offers.month_start(date.today())


@pytest.fixture
def market(db_url):
    """alpha/air (public) and alpha/noise (registered); alpha's admin; two developers' apps."""
    forget_offers()
    with transaction(db_url) as session:
        build_network(session)
        admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        other_admin = people.person(session, "admin@beta.example", role="city_admin", cities=("beta",))
        platform = people.person(session, "root@icity.example", role="admin")
        dev = people.person(session, "dev@one.example")
        rival = people.person(session, "dev@two.example")
        app, key = people.app_with_key(session, dev, "One", plan="partner")
        rival_app, rival_key = people.app_with_key(session, rival, "Two", plan="partner")
    application = create_app(db_url)
    return {
        "client": TestClient(application),
        "meter": application.state.usage_meter,
        "admin": admin.headers, "other_admin": other_admin.headers, "platform": platform.headers,
        "dev": dev.headers, "rival": rival.headers,
        "app": app.id, "key": {"X-API-Key": key}, "rival_app": rival_app.id, "rival_key": {"X-API-Key": rival_key},
    }  # fmt: skip


def usage(db_url, app_id, system_id, day, calls):
    with transaction(db_url) as session:
        session.add(UsageDay(app_id=app_id, information_system_id=system_id, day=day, calls=calls, errors=0, bytes_out=0))


def offer_rows(db_url) -> int:
    with new_session(db_url) as session:
        return session.scalar(select(func.count()).select_from(OfferVersion))


def test_first_offer_applies_now_and_a_change_from_next_month(market):
    c = market["client"]
    first = c.put("/api/v1/information-systems/alpha/air/offer", json=PRICED, headers=market["admin"])
    assert first.status_code == 201, first.text
    assert first.json()["effectiveFrom"] == THIS_MONTH.isoformat() and first.json()["version"] == 1
    second = c.put("/api/v1/information-systems/alpha/air/offer", json={**PRICED, "pricePer1000": "0.75"}, headers=market["admin"])
    assert second.json()["effectiveFrom"] == offers.next_month(THIS_MONTH).isoformat() and second.json()["version"] == 2
    shown = c.get("/api/v1/information-systems/alpha/air/offer", headers=market["dev"]).json()
    assert (shown["current"]["version"], shown["current"]["pricePer1000"], shown["next"]["version"]) == (1, "0.50", 2)
    assert [v["version"] for v in c.get("/api/v1/information-systems/alpha/air/offer/versions").json()] == [2, 1]


def test_only_the_publishers_admins_set_an_offer(market):
    c = market["client"]
    for who in ("dev", "other_admin"):
        assert c.put("/api/v1/information-systems/alpha/air/offer", json=PRICED, headers=market[who]).status_code == 403
    assert c.put("/api/v1/information-systems/alpha/air/offer", json=PRICED).status_code == 401
    assert c.put("/api/v1/information-systems/alpha/air/offer", json=PRICED, headers=market["platform"]).status_code == 201


@pytest.mark.parametrize(
    "change, path",
    [
        ({"pricePer1000": "-1"}, "pricePer1000"),
        ({"monthlyFee": -5}, "monthlyFee"),
        ({"currency": "XYZ"}, "currency"),
        ({"freeCalls": 10.5}, "freeCalls"),
        ({"freeCalls": "many"}, "freeCalls"),
        ({"termsUrl": "not a url"}, "termsUrl"),
        ({"termsUrl": "ftp://x.example/terms"}, "termsUrl"),
        ({"monthlyFee": "10.001"}, "monthlyFee"),  # below the cent
        ({"currency": "JPY", "monthlyFee": "100.5"}, "monthlyFee"),  # the yen has no decimals
        ({"pricePer1000": "abc"}, "pricePer1000"),
        ({"terms": "", "termsUrl": None}, "terms"),
    ],
)
def test_bad_offers_get_a_422_problem_and_write_nothing(market, db_url, change, path):
    response = market["client"].put("/api/v1/information-systems/alpha/air/offer", json={**PRICED, **change}, headers=market["admin"])
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert path in response.text
    assert offer_rows(db_url) == 0


def test_versions_change_at_the_month_boundary(db_url):
    """Set in May: version 1 applies in May, version 2 (set in May) from June; an app that
    accepted version 1 is billed by it in May and must accept version 2 for June."""
    with transaction(db_url) as session:
        build_network(session)
        dev = people.person(session, "dev@m.example")
        app, _ = people.app_with_key(session, dev, "M")
        may, june = date(2026, 5, 20), date(2026, 6, 2)
        offers.set_offer(session, CLI, "alpha/air", PRICED, today=may)
        offers.set_offer(session, CLI, "alpha/air", {**PRICED, "monthlyFee": "20.00"}, today=may)
        versions = offers.versions_of(session, "alpha/air")
        assert offers.in_effect(versions, date(2026, 5, 1)).version == 1
        assert offers.in_effect(versions, date(2026, 6, 1)).version == 2
        assert offers.in_effect(versions, date(2026, 4, 1)) is None
        dev_principal = principal_of_user(session, dev.user)
        offers.accept_offer(session, dev_principal, app.id, "alpha/air", 1, today=may)
        assert offers.required_acceptance(session, "alpha/air", today=june).version == 2
        for day in (date(2026, 5, 31), date(2026, 6, 1)):
            session.add(UsageDay(app_id=app.id, information_system_id="alpha/air", day=day, calls=3000, errors=0, bytes_out=0))
        session.flush()

        def amounts(month):
            (line,) = statements.get_statement(session, dev_principal, "city", "alpha", app.id, month)["lines"]
            return line["offerVersion"], line["accepted"], line["monthlyFee"], line["amount"]

        # May: version 1, accepted: 10.00 + 2,000 × 0.50 / 1,000
        assert amounts("2026-05") == (1, True, "10.00", "11.00")
        # June: version 2 applies and was not accepted: nothing billed
        assert amounts("2026-06") == (2, False, "0.00", "0.00")
        # accepting the next version ahead of time (in May) bills June by it
        offers.accept_offer(session, dev_principal, app.id, "alpha/air", 2, today=may)
        assert amounts("2026-06") == (2, True, "20.00", "21.00")
        assert amounts("2026-05") == (1, True, "10.00", "11.00")
        with pytest.raises(ICityError) as refused:  # in June version 1 is over
            offers.accept_offer(session, dev_principal, app.id, "alpha/air", 1, today=june)
        assert refused.value.status == 409


def test_a_statement_from_known_counts(market, db_url):
    """1,000 free calls, 0.50 EUR per 1,000 beyond, 10.00 EUR a month: 12,345 calls →
    11,345 billable → 5.6725 → 5.67 (half-up at the cent) + 10.00 = 15.67."""
    c = market["client"]
    assert c.put("/api/v1/information-systems/alpha/air/offer", json=PRICED, headers=market["admin"]).status_code == 201
    yen = {**PRICED, "currency": "JPY", "monthlyFee": "1000", "pricePer1000": "3", "freeCalls": 0}
    assert c.put("/api/v1/information-systems/alpha/noise/offer", json=yen, headers=market["admin"]).status_code == 201
    for system in ("alpha/air", "alpha/noise"):
        accepted = c.post(f"/api/v1/apps/{market['app']}/offers", json={"informationSystem": system, "version": 1}, headers=market["dev"])
        assert accepted.status_code == 201, accepted.text
    usage(db_url, market["app"], "alpha/air", THIS_MONTH, 12_000)
    usage(db_url, market["app"], "alpha/air", THIS_MONTH.replace(day=2), 345)
    usage(db_url, market["app"], "alpha/noise", THIS_MONTH, 1_500)  # 4.5 JPY → 5 (half-up, no decimals)
    usage(db_url, market["app"], "alpha/air", offers.next_month(THIS_MONTH), 99_999)  # next month: not in this statement
    month = THIS_MONTH.strftime("%Y-%m")

    statement = c.get(f"/api/v1/statements/city/alpha/{market['app']}?month={month}", headers=market["dev"])
    assert statement.status_code == 200, statement.text
    lines = {line["informationSystem"]: line for line in statement.json()["lines"]}
    air = lines["alpha/air"]
    assert (air["calls"], air["freeCalls"], air["billableCalls"]) == (12_345, 1_000, 11_345)
    assert (air["usageAmount"], air["monthlyFee"], air["amount"]) == ("5.67", "10.00", "15.67")
    noise = lines["alpha/noise"]
    assert (noise["billableCalls"], noise["usageAmount"], noise["amount"]) == (1_500, "5", "1005")
    assert statement.json()["totals"] == [{"currency": "EUR", "amount": "15.67"}, {"currency": "JPY", "amount": "1005"}]
    assert Decimal(air["amount"]) == Decimal(air["monthlyFee"]) + Decimal(air["usageAmount"])

    # CSV equals JSON, by both addresses
    for response in (
        c.get(f"/api/v1/statements/city/alpha/{market['app']}.csv?month={month}", headers=market["dev"]),
        c.get(f"/api/v1/statements/city/alpha/{market['app']}?month={month}", headers={**market["dev"], "Accept": "text/csv"}),
    ):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 2
        for row in rows:
            line = lines[row["informationSystem"]]
            assert {k: row[k] for k in line if k in row} == {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in line.items() if k in row}
            assert (row["month"], row["publisherKind"], row["publisherId"], row["app"]) == (month, "city", "alpha", str(market["app"]))

    # the publisher and the platform admin see it; the listing names it
    assert c.get(f"/api/v1/statements/city/alpha/{market['app']}?month={month}", headers=market["admin"]).status_code == 200
    listed = c.get(f"/api/v1/statements?month={month}", headers=market["platform"]).json()["items"]
    assert [(s["publisher"]["id"], s["app"]["id"], s["totals"]) for s in listed] == [("alpha", market["app"], statement.json()["totals"])]


def test_a_developer_never_sees_another_organisations_statement(market, db_url):
    c = market["client"]
    c.put("/api/v1/information-systems/alpha/air/offer", json=PRICED, headers=market["admin"])
    c.post(f"/api/v1/apps/{market['app']}/offers", json={"informationSystem": "alpha/air", "version": 1}, headers=market["dev"])
    usage(db_url, market["app"], "alpha/air", THIS_MONTH, 5_000)
    path = f"/api/v1/statements/city/alpha/{market['app']}"
    assert c.get(path, headers=market["rival"]).status_code == 404
    assert c.get(path + ".csv", headers=market["rival"]).status_code == 404
    assert c.get(path, headers=market["other_admin"]).status_code == 404
    assert c.get("/api/v1/statements", headers=market["rival"]).json()["items"] == []
    assert c.get("/api/v1/statements", headers=market["other_admin"]).json()["items"] == []
    assert c.get(path, headers=market["key"]).status_code == 403  # an API key reads data, not statements
    assert c.get("/api/v1/statements?month=2026-13", headers=market["dev"]).status_code == 422


def test_a_key_reads_the_free_allowance_then_gets_402_until_the_offer_is_accepted(market, db_url):
    c = market["client"]
    c.put("/api/v1/information-systems/alpha/air/offer", json={**PRICED, "freeCalls": 2}, headers=market["admin"])
    read = "/api/v1/entities?type=AirQualityObserved&city=alpha&limit=1"
    assert [c.get(read, headers=market["key"]).status_code for _ in range(2)] == [200, 200]
    refused = c.get(read, headers=market["key"])
    assert refused.status_code == 402
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (problem["type"].endswith("/offer-not-accepted"), problem["informationSystem"], problem["offerVersion"]) == (True, "alpha/air", 1)
    assert problem["offer"] == "/api/v1/information-systems/alpha/air/offer"
    # a free IS and the catalogue stay readable
    assert c.get("/api/v1/entities?type=AirQualityObserved&city=gamma&limit=1", headers=market["key"]).status_code == 200
    assert c.get("/api/v1/information-systems/alpha/air", headers=market["key"]).status_code == 200
    # another app has its own allowance
    assert c.get(read, headers=market["rival_key"]).status_code == 200

    accepted = c.post(f"/api/v1/apps/{market['app']}/offers", json={"informationSystem": "alpha/air", "version": 1}, headers=market["dev"])
    assert accepted.status_code == 201
    again = c.post(f"/api/v1/apps/{market['app']}/offers", json={"informationSystem": "alpha/air", "version": 1}, headers=market["dev"])
    assert again.status_code == 200
    assert c.get(read, headers=market["key"]).status_code == 200
    with new_session(db_url) as session:
        assert session.scalar(select(func.count()).select_from(OfferAcceptance)) == 1
        audited = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("offer.%"))).all()
    assert sorted(audited) == ["offer.accepted", "offer.set"]
    market["meter"].flush()
    # the refused call counted under no IS, so it is not billed; the description read counts (metered like data)
    with new_session(db_url) as session:
        calls = session.scalar(select(func.sum(UsageDay.calls)).where(UsageDay.app_id == market["app"], UsageDay.information_system_id == "alpha/air"))
    assert calls == 2 + 1 + 1


def test_accepting_needs_the_apps_developer_and_a_priced_version(market):
    c = market["client"]
    c.put("/api/v1/information-systems/alpha/air/offer", json=PRICED, headers=market["admin"])
    c.put("/api/v1/information-systems/alpha/noise/offer", json={**PRICED, "monthlyFee": "0", "pricePer1000": "0"}, headers=market["admin"])
    accept = f"/api/v1/apps/{market['app']}/offers"
    assert c.post(accept, json={"informationSystem": "alpha/air", "version": 1}, headers=market["rival"]).status_code == 404
    assert c.post(accept, json={"informationSystem": "alpha/air", "version": 7}, headers=market["dev"]).status_code == 409
    assert c.post(accept, json={"informationSystem": "alpha/noise", "version": 1}, headers=market["dev"]).status_code == 409
    assert c.post(accept, json={"informationSystem": "gamma/wifi", "version": 1}, headers=market["dev"]).status_code == 404  # a draft
    assert c.post(accept, json={"informationSystem": "alpha/air", "version": "1"}, headers=market["dev"]).status_code == 422
    assert c.get(accept, headers=market["dev"]).json() == []


def test_an_access_request_to_a_priced_is_accepts_its_offer(market, db_url):
    c = market["client"]
    c.put("/api/v1/information-systems/alpha/parking/offer", json=PRICED, headers=market["admin"])
    ask = {"app": market["app"], "informationSystem": "alpha/parking", "purpose": "Free spaces near the user."}
    refused = c.post("/api/v1/access-requests", json=ask, headers=market["dev"])
    assert refused.status_code == 402 and refused.json()["offerVersion"] == 1
    with new_session(db_url) as session:
        assert session.scalar(select(func.count()).select_from(OfferAcceptance)) == 0
    asked = c.post("/api/v1/access-requests", json={**ask, "offerVersion": 1}, headers=market["dev"])
    assert asked.status_code == 201, asked.text
    assert c.get(f"/api/v1/apps/{market['app']}/offers", headers=market["dev"]).json()[0]["version"] == 1


def test_an_infrastructure_owner_publishes_and_sees_its_statements(market, db_url):
    """An IS opened by an owner: its admins set the offer, its statements are the owner's, not the city's."""
    with transaction(db_url) as session:
        session.add(InfrastructureOwner(id="voltia", name="Voltia", kind="charge_point_operator", country="ES", membership="member"))
        session.flush()
        session.get(InformationSystem, "alpha/air").owner_id = "voltia"
        owner_admin = people.person(session, "admin@voltia.example", role="owner_admin")
        session.add(OwnerAdmin(user_id=owner_admin.user.id, owner_id="voltia"))
    c = market["client"]
    assert c.put("/api/v1/information-systems/alpha/air/offer", json=PRICED, headers=owner_admin.headers).status_code == 201
    c.post(f"/api/v1/apps/{market['app']}/offers", json={"informationSystem": "alpha/air", "version": 1}, headers=market["dev"])
    usage(db_url, market["app"], "alpha/air", THIS_MONTH, 2_000)
    mine = c.get(f"/api/v1/statements/owner/voltia/{market['app']}", headers=owner_admin.headers)
    assert mine.status_code == 200, mine.text
    assert mine.json()["publisher"] == {"kind": "owner", "id": "voltia", "name": "Voltia"}
    assert mine.json()["totals"] == [{"currency": "EUR", "amount": "10.50"}]
    assert c.get(f"/api/v1/statements/owner/voltia/{market['app']}", headers=market["dev"]).status_code == 200
    assert c.get(f"/api/v1/statements/city/alpha/{market['app']}", headers=market["dev"]).status_code == 404
    assert c.get(f"/api/v1/statements/owner/voltia/{market['app']}", headers=market["rival"]).status_code == 404
