"""Infrastructure owners as publishers, through the API: membership (an applicant cannot open), an
owner's admins manage only its IS, the city where one lies is told and may object before it opens,
the catalogue names and filters by publisher, and access to an owner's IS is decided by its admins."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.config import Settings
from icity.db.engine import new_session, transaction
from icity.db.models import InfrastructureOwner, InformationSystem, Message, OpeningNotice, User, utcnow
from icity.services import openings
from tests import people
from tests.world import OWNER, OWNER_IS, World, build_world

pytestmark = pytest.mark.postgres_ok

CHARGERS = {"slug": "chargers", "name": "GridCo in Beta", "category": "energy", "entityTypes": ["EVChargingStation"]}
LETTER = {"membership": "member", "evidenceKind": "letter_of_commitment", "evidence": "Letter of commitment, 2 March"}


@pytest.fixture
def setup(network_copy) -> tuple[TestClient, World, str]:
    with transaction(network_copy) as session:
        world = build_world(session)
    with TestClient(create_app(network_copy)) as client:
        yield client, world, network_copy


def as_(world: World, role: str) -> dict[str, str]:
    return world.headers(role, "session")


def inbox(url: str, email: str) -> list[str]:
    with new_session(url) as session:
        user = session.scalar(select(User).where(User.email == email))
        return list(session.scalars(select(Message.subject).where(Message.recipient_id == user.id)))


def register(client, world, city: str, slug: str = "chargers", owner: str = OWNER):
    response = client.post(
        f"/api/v1/owners/{owner}/information-systems", json={**CHARGERS, "city": city, "slug": slug}, headers=as_(world, "owner_admin")
    )
    assert response.status_code == 201, response.text
    return response.json()


def open_(client, world, system_id: str, role: str = "owner_admin"):
    return client.put(f"/api/v1/information-systems/{system_id}/status", json={"status": "open"}, headers=as_(world, role))


# ---- membership --------------------------------------------------------------


def test_an_applicant_registers_drafts_but_cannot_open_them(setup):
    client, world, url = setup
    with transaction(url) as session:
        busco = people.person(session, "admin@busco.example", role="owner_admin", owners=("busco",)).headers
    created = client.post("/api/v1/owners/busco/information-systems", json={**CHARGERS, "city": "beta", "slug": "bikes"}, headers=busco)
    assert created.status_code == 201 and created.json()["publisher"] == {"kind": "owner", "id": "busco", "name": "BusCo"}
    refused = client.put("/api/v1/information-systems/beta/bikes/status", json={"status": "open"}, headers=busco)
    assert refused.status_code == 409 and problem_code(refused) == "owner-not-member"
    with new_session(url) as session:
        assert session.get(InformationSystem, "beta/bikes").status == "draft"
        assert session.scalar(select(func.count()).select_from(OpeningNotice).where(OpeningNotice.information_system_id == "beta/bikes")) == 0


def problem_code(response) -> str:
    return response.json()["type"].rsplit("/", 1)[-1]


def test_membership_changes_need_their_evidence_and_are_kept_in_the_history(setup):
    client, world, url = setup
    admin = as_(world, "platform_admin")
    for body, status, param in (
        ({**LETTER, "evidenceKind": "consortium_agreement"}, 422, "evidenceKind"),
        ({**LETTER, "evidence": "  "}, 422, "evidence"),
        ({**LETTER, "membership": "partner"}, 422, "membership"),
    ):
        response = client.post("/api/v1/owners/busco/membership", json=body, headers=admin)
        assert response.status_code == status, response.text
        assert param in response.text
    assert client.get("/api/v1/owners/busco", headers=admin).json()["history"] == []
    made = client.post("/api/v1/owners/busco/membership", json={**LETTER, "effectiveOn": "2026-03-02"}, headers=admin)
    assert made.status_code == 201 and made.json()["membership"] == "member"
    assert made.json()["history"][0] == {
        "from": "applicant", "to": "member", "effectiveOn": "2026-03-02", "evidenceKind": "letter_of_commitment",
        "evidence": "Letter of commitment, 2 March", "recordedBy": "admin@icity.example",
    }  # fmt: skip
    assert client.post("/api/v1/owners/busco/membership", json=LETTER, headers=admin).status_code == 409
    earlier = {"membership": "applicant", "evidenceKind": "withdrawal", "evidence": "Left", "effectiveOn": "2026-01-01"}
    assert client.post("/api/v1/owners/busco/membership", json=earlier, headers=admin).status_code == 422
    # a member with an open IS leaves only once it retired it
    leaving = {"membership": "applicant", "evidenceKind": "withdrawal", "evidence": "Withdrawal letter"}
    refused = client.post(f"/api/v1/owners/{OWNER}/membership", json=leaving, headers=admin)
    assert refused.status_code == 409 and problem_code(refused) == "owner-has-open-systems"


def test_bad_owners_are_refused_and_write_nothing(setup):
    client, world, url = setup
    admin = as_(world, "platform_admin")
    good = {"id": "tramco", "name": "TramCo", "kind": "transport_operator", "country": "ES"}
    for body, status in (
        ({**good, "kind": "airline"}, 422),
        ({**good, "country": "ESP"}, 400),
        ({**good, "id": "Tram Co"}, 400),
        ({**good, "id": "alpha"}, 409),  # a city's id: cities and owners are publishers named by one id
        ({**good, "name": "GridCo Charging"}, 409),
    ):
        assert client.post("/api/v1/owners", json=body, headers=admin).status_code == status, body
    with new_session(url) as session:
        assert session.scalar(select(func.count()).select_from(InfrastructureOwner)) == 2  # gridco, busco
    # and a city cannot take an owner's id either
    city = {"id": OWNER, "name": "Grid", "country": "ES", "lon": 2.0, "lat": 41.0, "bbox": [1.0, 40.0, 3.0, 42.0]}
    assert client.post("/api/v1/cities", json=city, headers=admin).status_code == 409


def test_applicants_are_seen_only_by_the_platform_admin_and_their_own_admins(setup):
    client, world, _ = setup
    assert [o["id"] for o in client.get("/api/v1/owners").json()] == [OWNER]
    assert client.get("/api/v1/owners/busco").status_code == 404
    assert {o["id"] for o in client.get("/api/v1/owners", headers=as_(world, "platform_admin")).json()} == {OWNER, "busco"}
    gridco = client.get(f"/api/v1/owners/{OWNER}").json()
    assert gridco["membership"] == "member" and gridco["cities"] == ["alpha"]


# ---- who manages what ------------------------------------------------------------


def test_an_owners_admin_manages_only_its_owners_systems(setup):
    client, world, _ = setup
    owner_admin, city_admin = as_(world, "owner_admin"), as_(world, "owning_city_admin")
    assert client.get(f"/api/v1/information-systems/{OWNER_IS}/source", headers=owner_admin).status_code == 200
    # the city where it lies does not manage it …
    assert client.get(f"/api/v1/information-systems/{OWNER_IS}/source", headers=city_admin).status_code == 403
    assert client.put(f"/api/v1/information-systems/{OWNER_IS}/status", json={"status": "retired"}, headers=city_admin).status_code == 403
    # … nor does the owner's admin manage the city's IS, or register for another owner or for the city
    assert client.put("/api/v1/information-systems/alpha/parking/status", json={"status": "retired"}, headers=owner_admin).status_code == 403
    assert client.post("/api/v1/owners/busco/information-systems", json={**CHARGERS, "city": "beta"}, headers=owner_admin).status_code == 403
    assert client.post("/api/v1/cities/beta/information-systems", json=CHARGERS, headers=owner_admin).status_code == 403
    retired = client.put(f"/api/v1/information-systems/{OWNER_IS}/status", json={"status": "retired"}, headers=owner_admin)
    assert retired.status_code == 200 and retired.json()["status"] == "retired"


def test_the_city_where_it_lies_is_told_and_its_objection_stops_the_opening(setup):
    client, world, url = setup
    register(client, world, "beta")
    asked = open_(client, world, "beta/chargers")
    assert asked.status_code == 200, asked.text
    body = asked.json()
    assert body["status"] == "draft" and body["openingNotice"]["status"] == "pending"
    assert ["GridCo Charging opens GridCo in Beta in Beta"] == inbox(url, "admin@beta.example")
    assert not any("in Beta" in subject for subject in inbox(url, "admin@alpha.example"))  # not alpha's business
    notices = client.get("/api/v1/opening-notices", params={"status": "pending"}, headers=as_(world, "other_city_admin")).json()
    assert [n["informationSystem"] for n in notices] == ["beta/chargers"]
    notice_id = notices[0]["id"]
    # only beta objects, with a reason
    assert client.post(f"/api/v1/opening-notices/{notice_id}/object", json={"reason": "no"}, headers=as_(world, "owning_city_admin")).status_code == 404
    assert client.post(f"/api/v1/opening-notices/{notice_id}/object", json={"reason": " "}, headers=as_(world, "other_city_admin")).status_code == 400
    objected = client.post(
        f"/api/v1/opening-notices/{notice_id}/object", json={"reason": "Not authorised on this street."}, headers=as_(world, "other_city_admin")
    )
    assert objected.status_code == 200 and objected.json()["status"] == "objected"
    assert "beta objects to opening GridCo in Beta" in inbox(url, "admin@gridco.example")
    again = open_(client, world, "beta/chargers")
    assert again.status_code == 409 and problem_code(again) == "opening-objected"
    with transaction(url) as session:
        openings.open_due(session, utcnow() + timedelta(days=60))
    with new_session(url) as session:
        assert session.get(InformationSystem, "beta/chargers").status == "draft"
    # lifted, the owner may ask again: a new notice, a new period
    assert client.post(f"/api/v1/opening-notices/{notice_id}/lift", headers=as_(world, "other_city_admin")).json()["status"] == "withdrawn"
    renewed = open_(client, world, "beta/chargers").json()["openingNotice"]
    assert renewed["status"] == "pending" and renewed["id"] != notice_id


def test_without_objection_it_opens_at_the_deadline_and_the_owner_is_told(setup):
    client, world, url = setup
    register(client, world, "beta")
    deadline = open_(client, world, "beta/chargers").json()["openingNotice"]["objectionDeadline"]
    assert open_(client, world, "beta/chargers").status_code == 409  # already asked: it opens at the deadline
    with transaction(url) as session:
        openings.open_due(session, utcnow() + timedelta(days=13))
        assert session.get(InformationSystem, "beta/chargers").status == "draft"
        openings.open_due(session, utcnow() + timedelta(days=14, minutes=1))
    with new_session(url) as session:
        system = session.get(InformationSystem, "beta/chargers")
        assert system.status == "open" and system.opened_at is not None
    assert utcnow() + timedelta(days=13) < datetime.fromisoformat(deadline) < utcnow() + timedelta(days=14, minutes=1)
    assert "GridCo in Beta is open" in inbox(url, "admin@gridco.example")
    # the owner's admins and the catalogue see it under the owner
    listed = client.get("/api/v1/information-systems", params={"publisher": OWNER}).json()["items"]
    assert {s["id"] for s in listed} == {OWNER_IS, "beta/chargers", "alpha/fast-chargers"}  # the world's pending one too


def test_a_city_below_pilot_does_not_block_an_owner(setup):
    client, world, url = setup
    register(client, world, "epsilon")  # a prospect: it could not open an IS of its own
    open_(client, world, "epsilon/chargers")
    with transaction(url) as session:
        openings.open_due(session, utcnow() + timedelta(days=15))
        assert session.get(InformationSystem, "epsilon/chargers").status == "open"


def test_with_no_objection_period_the_city_is_told_and_it_opens_at_once(setup, monkeypatch):
    client, world, url = setup
    monkeypatch.setattr(openings, "get_settings", lambda: Settings(_env_file=None, owner_objection_days=0))
    register(client, world, "beta")
    opened = open_(client, world, "beta/chargers").json()
    assert opened["status"] == "open" and opened["openingNotice"] is None
    assert inbox(url, "admin@beta.example") == ["GridCo Charging opens GridCo in Beta in Beta"]


# ---- naming the publisher, access decided by it -------------------------------------


def test_the_catalogue_names_the_publisher_and_filters_by_it(setup):
    client, _, _ = setup
    chargers = client.get(f"/api/v1/information-systems/{OWNER_IS}").json()
    assert chargers["city"] == "alpha" and chargers["publisher"] == {"kind": "owner", "id": OWNER, "name": "GridCo Charging"}
    by_owner = client.get("/api/v1/information-systems", params={"publisher": OWNER}).json()["items"]
    assert [s["id"] for s in by_owner] == [OWNER_IS]
    by_city = client.get("/api/v1/information-systems", params={"publisher": "alpha"}).json()["items"]
    assert by_city and OWNER_IS not in {s["id"] for s in by_city}
    assert {s["publisher"]["kind"] for s in by_city} == {"city"}
    in_alpha = {s["id"] for s in client.get("/api/v1/information-systems", params={"city": "alpha"}).json()["items"]}
    assert OWNER_IS in in_alpha  # apps find it where it lies


def test_access_to_an_owners_system_is_decided_by_the_owners_admins(setup):
    client, world, url = setup
    developer = as_(world, "developer")
    app_id = world.ids["app_n"]
    asked = client.post(
        "/api/v1/access-requests", json={"app": app_id, "informationSystem": OWNER_IS, "purpose": "Chargers near the user."}, headers=developer
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    assert any(OWNER_IS in subject for subject in inbox(url, "admin@gridco.example"))
    assert not any(OWNER_IS in subject for subject in inbox(url, "admin@alpha.example"))
    assert client.post(f"/api/v1/access-requests/{request_id}/approve", headers=as_(world, "owning_city_admin")).status_code in (403, 404)
    assert client.post(f"/api/v1/access-requests/{request_id}/approve", headers=as_(world, "owner_admin")).status_code == 200
    key = world.headers("developer", "key")
    assert client.get(f"/api/v1/information-systems/{OWNER_IS}/devices", headers=key).status_code == 200
