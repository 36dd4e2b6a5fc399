"""The demo's IT partners and apps: the app portal on the demo network lists the
certified apps in the cities that open what each needs."""

from datetime import date

import pytest
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import App
from icity.demo import load_demo
from icity.services import app_portal

pytestmark = pytest.mark.postgres_ok


@pytest.fixture(scope="module")
def demo_url(databases) -> str:
    url = databases.new()
    with transaction(url) as session:
        counts = load_demo(session, date(2024, 5, 15))
    assert (counts["apps"], counts["certified_apps"]) == (7, 5)
    return url


def test_the_portal_lists_the_certified_apps_where_they_work(demo_url):
    with new_session(demo_url) as session:
        listed = {a["name"]: [c["id"] for c in a["cities"]] for a in app_portal.portal_apps(session)}
        statuses = {app.name: app.certification for app in session.scalars(select(App))}
    assert listed == {
        "Agenda Viva": ["cornella"],
        "BreatheEasy": ["barcelona", "bologna", "cornella", "genova", "london"],
        # London's is `registered`: any approved developer's key; Genova's own is a draft, Voltia opens its own there
        "ChargeNear": ["barcelona", "bologna", "genova", "london"],
        "Fermata": ["bologna"],
        "ParkHere": ["barcelona", "genova", "london"],  # London's car parks only by the grant it holds
    }
    assert (statuses["Hotspot Finder"], statuses["Pothole Radar"]) == ("submitted", "draft")


def test_filtered_by_cornella_the_portal_shows_only_what_cornella_opens(demo_url):
    with new_session(demo_url) as session:
        assert [a["name"] for a in app_portal.portal_apps(session, city="cornella")] == ["Agenda Viva", "BreatheEasy"]
