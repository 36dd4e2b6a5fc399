"""Infrastructure owners on the portal, in process (TestClient, no browser) on a copy of the demo
network (Voltia and Ruota, members; Ruota's pending opening in Bologna): who sees which owner and
which IS, the owner admin's /manage, the city's objection, and the platform admin's owner forms —
each refusal writing nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import AccessRequest, InfrastructureOwner, InformationSystem, MembershipChange, OpeningNotice, OwnerAdmin, User
from tests import people

PENDING_IS = "bologna/ruota-bike-sharing"


@dataclass
class Site:
    url: str
    tokens: dict[str, str]

    def client(self, who: str | None = None) -> TestClient:
        client = TestClient(create_app(self.url), headers={"Accept": "text/html"})
        if who is not None:
            client.cookies.set("icity_session", self.tokens[who])
        return client

    def count(self, model, *where) -> int:
        with new_session(self.url) as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def site(databases, demo_url) -> Site:
    url = databases.copy(demo_url)
    with transaction(url) as session:
        session.add(InfrastructureOwner(id="porto", name="Porto Antico", kind="port_authority", country="IT", membership="applicant"))
        session.flush()
        found = {
            "ruota": people.person(session, "ops@ruota.test", role="owner_admin", owners=("ruota",)),
            "porto": people.person(session, "ops@porto.test", role="owner_admin", owners=("porto",)),
            "bologna": people.person(session, "admin@bologna.test", role="city_admin", cities=("bologna",)),
            "genova": people.person(session, "admin@genova.test", role="city_admin", cities=("genova",)),
            "developer": people.person(session, "dev@example.test"),
            "admin": people.person(session, "root@icity.test", role="admin"),
        }
        return Site(url, {who: p.token for who, p in found.items()})


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_members_are_public_and_an_applicant_only_to_its_admins_and_the_platform_admin(site):
    listed = site.client().get("/owners")
    assert 'data-owner="voltia"' in listed.text and 'data-owner="ruota"' in listed.text and "porto" not in listed.text
    assert site.client().get("/owners/porto").status_code == 404
    assert site.client("ruota").get("/owners/porto").status_code == 404
    assert site.client("porto").get("/owners/porto").status_code == 200
    assert site.client("admin").get("/owners/porto").status_code == 200
    voltia = site.client().get("/owners/voltia").text
    assert 'data-system="barcelona/voltia-ev-charging"' in voltia and "letter of commitment" in voltia


def test_the_catalogue_names_the_owner_and_filters_by_publisher(site):
    by_voltia = site.client().get("/catalogue?publisher=voltia").text
    assert set(re.findall(r'data-system="([^"]+)"', by_voltia)) == {"barcelona/voltia-ev-charging", "genova/voltia-ev-charging"}
    by_barcelona = site.client().get("/catalogue?publisher=barcelona").text
    assert 'data-system="barcelona/ev-charging"' in by_barcelona and "voltia" not in re.findall(r'data-system="([^"]+)"', by_barcelona)[0]
    assert "barcelona/voltia-ev-charging" not in by_barcelona
    page = site.client().get("/information-systems/genova/ruota-bike-sharing").text
    assert re.search(r'data-testid="publisher"><a href="/owners/ruota">Ruota Mobilità S.p.A.</a>, infrastructure owner', page)


def test_an_owner_admin_manages_only_its_owners_systems_and_a_city_admin_not_the_owners_in_its_city(site):
    ruota = site.client("ruota").get("/manage").text
    assert set(re.findall(r'data-system="([^"]+)"', ruota)) == {"genova/ruota-bike-sharing", PENDING_IS}
    genova = site.client("genova").get("/manage").text
    shown = set(re.findall(r'data-system="([^"]+)"', genova))
    assert "genova/air-quality" in shown and not {"genova/ruota-bike-sharing", "genova/voltia-ev-charging"} & shown
    # its page is the owner's to manage, not the city's
    assert site.client("genova").get("/manage/information-systems/genova/ruota-bike-sharing").status_code == 403
    assert site.client("ruota").get("/manage/information-systems/barcelona/voltia-ev-charging").status_code == 403
    pending = site.client("ruota").get(f"/manage/information-systems/{PENDING_IS}").text
    assert 'data-testid="opening-notice"' in pending and "the city may object until then" in pending


def test_an_owner_admin_registers_an_is_in_any_city_for_its_owner_only(site):
    client = site.client("ruota")
    form = client.get("/manage/new").text
    assert re.findall(r'<select id="owner" name="owner" required>(.*?)</select>', form, re.S)[0].count("<option") == 1
    fields = {"csrf_token": csrf(form), "city": "lamia", "name": "Ruota Lamía bike sharing", "slug": "ruota-bikes",
              "category": "transport-mobility", "entity_type": "BikeHireDockingStation", "access_policy": "public"}  # fmt: skip
    refused = client.post("/manage/new", data={**fields, "owner": "voltia"}, follow_redirects=False)
    assert refused.status_code == 403 and site.count(InformationSystem, InformationSystem.id == "lamia/ruota-bikes") == 0
    done = client.post("/manage/new", data={**fields, "owner": "ruota"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/manage/information-systems/lamia/ruota-bikes/source?registered=1"
    with new_session(site.url) as session:
        system = session.get(InformationSystem, "lamia/ruota-bikes")
        assert (system.owner_id, system.status) == ("ruota", "draft")


def test_bologna_objects_with_a_reason_and_ruota_may_not_object_for_it(site):
    with new_session(site.url) as session:
        notice_id = session.scalar(select(OpeningNotice.id).where(OpeningNotice.information_system_id == PENDING_IS))
    ruota = site.client("ruota")
    own = ruota.get("/manage/opening-notices").text
    assert f'data-notice="{notice_id}"' in own and "Object to opening" not in own
    assert ruota.post(f"/manage/opening-notices/{notice_id}/object", data={"csrf_token": csrf(own), "reason": "mine"}).status_code == 403
    assert site.client("developer").get("/manage/opening-notices").status_code == 403
    assert site.client().get("/manage/opening-notices", follow_redirects=False).status_code == 303

    bologna = site.client("bologna")
    page = bologna.get("/manage/opening-notices").text
    blank = bologna.post(f"/manage/opening-notices/{notice_id}/object", data={"csrf_token": csrf(page), "reason": "  "})
    assert blank.status_code == 400 and "Say why the city objects" in blank.text
    assert site.count(OpeningNotice, OpeningNotice.status == "pending") == 1
    done = bologna.post(f"/manage/opening-notices/{notice_id}/object", data={"csrf_token": csrf(page), "reason": "Docks block the bus lane."})
    assert done.status_code == 200 and "The objection is recorded" in done.text and "Lift the objection" in done.text
    with new_session(site.url) as session:
        assert (session.get(OpeningNotice, notice_id).status, session.get(InformationSystem, PENDING_IS).status) == ("objected", "draft")
    lifted = bologna.post(f"/manage/opening-notices/{notice_id}/lift", data={"csrf_token": csrf(page)})
    assert lifted.status_code == 200 and "The objection is lifted" in lifted.text


def test_the_platform_admin_records_an_owner_its_membership_and_an_admin_account(site):
    admin = site.client("admin")
    page = admin.get("/admin/owners").text
    clash = {"csrf_token": csrf(page), "id": "genova", "name": "Genova Port", "kind": "port_authority", "country": "it"}
    refused = admin.post("/admin/owners", data=clash)
    assert refused.status_code == 409 and "already exists" in refused.text and site.count(InfrastructureOwner) == 3
    created = admin.post("/admin/owners", data={**clash, "id": "genova-port"}, follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == "/admin/owners/genova-port?done=created"

    owner_page = admin.get("/admin/owners/genova-port").text
    no_evidence = {"csrf_token": csrf(owner_page), "membership": "member", "evidence_kind": "letter_of_commitment", "evidence": ""}
    assert admin.post("/admin/owners/genova-port/membership", data=no_evidence).status_code == 422
    assert site.count(MembershipChange, MembershipChange.owner_id == "genova-port") == 0
    member = admin.post("/admin/owners/genova-port/membership", data={**no_evidence, "evidence": "Letter signed on 1 Dec"})
    assert member.status_code == 200 and "Letter signed on 1 Dec" in member.text

    account = {"csrf_token": csrf(owner_page), "email": "ops@port.example", "name": "Port operations", "password": "short"}
    assert admin.post("/admin/owners/genova-port/admins", data=account).status_code == 400
    assert site.count(User, User.email == "ops@port.example") == 0
    made = admin.post("/admin/owners/genova-port/admins", data={**account, "password": "a long passphrase"})
    assert made.status_code == 200 and "ops@port.example" in made.text
    with new_session(site.url) as session:
        user = session.scalar(select(User).where(User.email == "ops@port.example"))
        assert user.role == "owner_admin" and session.get(OwnerAdmin, (user.id, "genova-port")) is not None


def test_only_the_platform_admin_reaches_the_owner_admin_pages(site):
    for who in ("ruota", "bologna", "developer"):
        assert site.client(who).get("/admin/owners").status_code == 403, who
        assert site.client(who).get("/admin/owners/voltia").status_code == 403, who


def test_an_owner_admin_decides_the_access_requests_to_its_systems_and_the_city_does_not_see_them(site):
    with transaction(site.url) as session:
        session.get(InformationSystem, "genova/ruota-bike-sharing").access_policy = "approval"
        developer = people.person(session, "dev@bikes.example")
        app, _ = people.app_with_key(session, developer, "Dock Finder")
        request_id = people.grant(session, app, "genova/ruota-bike-sharing", status="pending").id
    assert f'data-request="{request_id}"' not in site.client("genova").get("/manage/access-requests").text
    client = site.client("ruota")
    assert "1 access request waiting" in client.get("/manage").text
    page = client.get("/manage/access-requests").text
    assert f'data-request="{request_id}"' in page and "Dock Finder" in page
    decided = client.post(f"/manage/access-requests/{request_id}/approve", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert decided.status_code == 303
    genova = site.client("genova")
    token = csrf(genova.get("/manage/access-requests").text)
    refused = genova.post(f"/manage/access-requests/{request_id}/revoke", data={"csrf_token": token, "reason": "ours"})
    assert refused.status_code in (403, 404) and "Form expired" not in refused.text
    with new_session(site.url) as session:
        assert session.get(AccessRequest, request_id).status == "approved"


def test_the_platform_admin_registers_an_is_for_an_owner_or_for_the_city(site):
    admin = site.client("admin")
    form = admin.get("/manage/new").text
    assert '<option value="">The city</option>' in form and '<option value="voltia">' in form
    fields = {"csrf_token": csrf(form), "city": "cornella", "category": "energy", "entity_type": "EVChargingStation", "access_policy": "public"}
    for slug, owner in (("voltia-points", "voltia"), ("city-points", "")):
        done = admin.post("/manage/new", data={**fields, "slug": slug, "name": slug, "owner": owner}, follow_redirects=False)
        assert done.status_code == 303, done.text
    with new_session(site.url) as session:
        assert session.get(InformationSystem, "cornella/voltia-points").owner_id == "voltia"
        assert session.get(InformationSystem, "cornella/city-points").owner_id is None
    assert site.client("developer").get("/manage/new").status_code == 403
