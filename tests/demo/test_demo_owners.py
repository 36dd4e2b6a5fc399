"""The demo's infrastructure owners: two members on their letters of commitment, opening EV charging
and bike sharing in the network's cities under their own name, each with an admin account, and one
opening notice pending in Bologna. Checked through the services, as the pages and the API read them."""

from datetime import date

import pytest
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import OwnerAdmin, User
from icity.demo import load_demo
from icity.services import app_portal, catalogue, entities, openings, owners
from icity.services.access import ANONYMOUS, CLI, Principal

pytestmark = pytest.mark.postgres_ok


@pytest.fixture(scope="module")
def demo_url(databases) -> str:
    url = databases.new()
    with transaction(url) as session:
        counts = load_demo(session, date(2024, 5, 15))
    assert (counts["owners"], counts["owner_systems"], counts["opening_notices"]) == (2, 4, 1)
    return url


def test_both_owners_are_members_on_their_letter_of_commitment(demo_url):
    with new_session(demo_url) as session:
        listed = {o["id"]: o for o in owners.list_owners(session, ANONYMOUS)}
        assert {o: (v["kind"], v["membership"], v["cities"]) for o, v in listed.items()} == {
            "voltia": ("charge_point_operator", "member", ["barcelona", "genova"]),
            "ruota": ("transport_operator", "member", ["genova"]),  # Bologna: not open yet (a pending notice)
        }
        history = owners.get_owner(session, ANONYMOUS, "voltia")["history"]
        assert [(h["from"], h["to"], h["evidenceKind"]) for h in history] == [("applicant", "member", "letter_of_commitment")]


def test_the_owners_systems_are_published_under_their_name_with_data(demo_url):
    with new_session(demo_url) as session:
        page = catalogue.list_systems(session, ANONYMOUS, publisher="voltia", limit=50, cursor=None)
        assert {(s["id"], s["status"], s["publisher"]["name"]) for s in page.items} == {
            ("barcelona/voltia-ev-charging", "open", "Voltia Charging SL"),
            ("genova/voltia-ev-charging", "trial", "Voltia Charging SL"),
        }
        # the city's own charging points are still the city's
        assert catalogue.get_system(session, ANONYMOUS, "barcelona/ev-charging")["publisher"] == {
            "kind": "city", "id": "barcelona", "name": "Barcelona"
        }
        stations = entities.query_entities(
            session, ANONYMOUS, entities.EntityQuery(information_system="genova/ruota-bike-sharing", limit=100)
        ).items
        assert len(stations) == 10 and {e["type"] for e in stations} == {"BikeHireDockingStation"}


def test_each_owner_has_one_admin_account_scoped_to_it(demo_url):
    with new_session(demo_url) as session:
        scoped = session.execute(select(User.email, User.role, User.status, OwnerAdmin.owner_id).join(OwnerAdmin, OwnerAdmin.user_id == User.id)).all()
    assert sorted(scoped) == [
        ("dati@ruota.example", "owner_admin", "approved", "ruota"),
        ("ops@voltia.example", "owner_admin", "approved", "voltia"),
    ]


def test_bologna_sees_ruotas_pending_opening_and_the_system_stays_a_draft(demo_url):
    bologna = Principal(kind="user", user_id=None, email="admin@bologna.example", role="city_admin", approved=True,
                        city_ids=frozenset({"bologna"}))  # fmt: skip
    with new_session(demo_url) as session:
        notices = openings.list_notices(session, bologna)
        assert [(n["informationSystem"], n["requestedStatus"], n["status"]) for n in notices] == [
            ("bologna/ruota-bike-sharing", "open", "pending")
        ]
        assert catalogue.get_system(session, CLI, "bologna/ruota-bike-sharing")["status"] == "draft"
        assert "bologna/ruota-bike-sharing" not in {s["id"] for s in catalogue.list_systems(session, ANONYMOUS, limit=100, cursor=None).items}


def test_an_ev_app_works_in_genova_thanks_to_voltia_and_the_portal_says_so(demo_url):
    with new_session(demo_url) as session:
        charge_near = next(a for a in app_portal.portal_apps(session) if a["name"] == "ChargeNear")
    genova = next(c for c in charge_near["cities"] if c["id"] == "genova")
    assert genova["publishers"] == [{"kind": "owner", "id": "voltia", "name": "Voltia Charging SL"}]
