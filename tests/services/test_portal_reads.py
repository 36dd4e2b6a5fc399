"""Reads the portal needs beside the API's: the catalogue's text search, the entity
types offered (for filters) and the network-wide figures of the home page."""

from datetime import date, timedelta

from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import App, UsageDay
from icity.services import catalogue, figures
from icity.services.access import ANONYMOUS
from tests import people


def _ids(session, **filters) -> list[str]:
    return [s["id"] for s in catalogue.list_systems(session, ANONYMOUS, limit=100, cursor=None, **filters).items]


def test_text_search_finds_every_word_in_name_description_or_provider_in_any_case(network_url):
    with new_session(network_url) as session:
        assert _ids(session, text="AIR") == ["alpha/air", "beta/air", "gamma/air"]  # drafts are not listed
        assert _ids(session, text="alpha air") == ["alpha/air"]
        assert _ids(session, text="air", city="gamma") == ["gamma/air"]
        assert _ids(session, text="100%_") == []  # LIKE's wildcards are plain characters here


def test_offered_entity_types_are_those_of_the_systems_one_may_see_listed(network_url):
    with new_session(network_url) as session:
        offered = catalogue.offered_entity_types(session, ANONYMOUS)
    # gamma/wifi is a draft and alpha/agenda retired: neither WifiPointOfInterest nor Event is offered
    assert offered == ["AirQualityObserved", "NoiseLevelObserved", "OffStreetParking", "PointOfInterest"]


def test_network_figures_count_levels_opened_systems_apps_and_the_last_30_days_of_calls(network_copy):
    today = date(2024, 5, 15)
    with transaction(network_copy) as session:
        developer = people.person(session, "dev@example.org")
        app, _ = people.app_with_key(session, developer)
        withdrawn, _ = people.app_with_key(session, developer, "Old")
        withdrawn.status = "withdrawn"
        for days_ago, calls in ((0, 5), (29, 7), (30, 1000)):  # the last one is outside the window
            session.add(UsageDay(app_id=app.id, information_system_id="alpha/air", day=today - timedelta(days=days_ago), calls=calls))
    with new_session(network_copy) as session:
        result = figures.network_figures(session, today)
        apps = session.scalars(select(App).where(App.status == "active")).all()
    assert result["apiCalls"] == {"days": 30, "from": "2024-04-16", "calls": 12}
    assert result["apps"] == len(apps) >= 1
    assert result["citiesPerLevel"] == {"prospect": 1, "sig": 1, "pilot": 1, "consortium": 2}
    # trial and open count as opened; drafts (gamma/wifi, delta/air) and the retired alpha/agenda do not
    assert result["openedPerCategory"] == {"environment": 4, "transport-mobility": 1, "tourism-culture": 1}
    assert result["openedTotal"] == 6
