"""The demo network as loaded into a fresh database, checked through the services
and the stored rows. The load runs once per module (about a second)."""

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.db.engine import new_session, transaction
from icity.db.models import (
    City,
    Device,
    EngagementAction,
    Entity,
    InformationSystem,
    LevelChange,
    Observation,
)
from icity.demo import is_loaded, load_demo
from icity.demo.sampling import latest_hour
from icity.services import catalogue, cities

TODAY = date(2024, 5, 15)

NETWORK = {
    "barcelona": "consortium",
    "genova": "consortium",
    "london": "consortium",
    "bologna": "consortium",
    "cornella": "pilot",
    "lamia": "pilot",
    "manchester": "sig",
    "berlin": "sig",
    "torino": "sig",
    "viladecans": "sig",
    "piacenza": "sig",
    "milano": "sig",
    "reggio-emilia": "sig",
}
SIG_CITIES = {c for c, level in NETWORK.items() if level == "sig"}
EVIDENCE = {
    "sig": {"letter_of_commitment"},
    "pilot": {"technical_trial", "first_opened_is"},
    "consortium": {"consortium_agreement"},
}


def _load(url: str) -> dict:
    with transaction(url) as session:
        return load_demo(session, TODAY)


@pytest.fixture(scope="module")
def demo(databases) -> tuple[str, dict]:
    url = databases.new()
    return url, _load(url)


@pytest.fixture(scope="module")
def demo_url(demo) -> str:
    return demo[0]


@pytest.fixture
def db(demo_url) -> Iterator[Session]:
    with new_session(demo_url) as session:
        yield session


def count(session: Session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_the_thirteen_cities_are_at_their_levels_and_the_rest_are_prospects(db):
    levels = {c.id: c.level for c in db.scalars(select(City))}
    assert {c: level for c, level in levels.items() if level != "prospect"} == NETWORK
    assert {"amsterdam", "bordeaux", "stockholm", "oulu", "helsinki"} <= {
        c for c, level in levels.items() if level == "prospect"
    }


def test_every_city_sits_inside_its_bbox_with_its_country(db):
    for city in db.scalars(select(City)):
        min_lon, min_lat, max_lon, max_lat = city.bbox
        assert min_lon < city.lon < max_lon and min_lat < city.lat < max_lat, city.id
        assert len(city.country) == 2 and city.country.isupper()
    assert db.get(City, "lamia").country == "GR" and db.get(City, "london").country == "GB"


@pytest.mark.parametrize("city_id", sorted(NETWORK))
def test_level_history_ends_at_the_current_level_with_its_evidence(db, city_id):
    city = cities.get_city(db, city_id)
    history = city["levelHistory"]
    assert history[0]["from"] == "prospect"
    assert history[-1]["to"] == city["level"] == NETWORK[city_id]
    for previous, change in zip(history, history[1:]):
        assert change["from"] == previous["to"] and change["effectiveOn"] >= previous["effectiveOn"]
    for change in history:
        assert change["evidenceKind"] in EVIDENCE[change["to"]]
        assert change["evidence"] and change["recordedBy"]
    paths = {"consortium": ["consortium"], "pilot": ["sig", "pilot"], "sig": ["sig"]}
    assert [c["to"] for c in history] == paths[NETWORK[city_id]]
    if NETWORK[city_id] == "consortium":
        assert history[0]["effectiveOn"] == "2013-10-01"
    else:
        assert history[0]["effectiveOn"].startswith("2014-")  # the signed letter


def test_cornella_became_pilot_through_its_citilab_trial(db):
    last = cities.get_city(db, "cornella")["levelHistory"][-1]
    assert last["evidenceKind"] == "technical_trial" and "Citilab" in last["evidence"]


def test_the_2014_events_are_recorded_with_their_dates(db):
    actions = db.scalars(select(EngagementAction)).all()

    def dates_of(word: str) -> set[date]:
        return {a.happened_on for a in actions if word in a.title}

    athens = dates_of("Athens")
    assert athens and all(date(2014, 3, 18) <= d <= date(2014, 3, 20) for d in athens)
    assert "manchester" in {a.city_id for a in actions if "Athens" in a.title}
    assert any("Citadel on the move" in a.outcome for a in actions if "Athens" in a.title)
    forum = dates_of("EUROCITIES")
    assert forum and all(date(2014, 4, 2) <= d <= date(2014, 4, 3) for d in forum)
    assert {"amsterdam", "bordeaux", "stockholm", "oulu", "helsinki"} <= {
        a.city_id for a in actions if "EUROCITIES" in a.title
    }
    assert dates_of("Tallinn") == {date(2014, 6, 12)}
    kinds = {a.kind for a in actions}
    assert {"event", "presentation", "letter_sent", "letter_signed", "trial_started"} <= kinds


def test_the_2014_record_is_done_and_the_open_steps_are_a_few_recent_ones(db):
    actions = db.scalars(select(EngagementAction).where(EngagementAction.next_step.is_not(None))).all()
    of_2014 = [a for a in actions if a.happened_on.year == 2014]
    assert of_2014 and all(a.next_step_done for a in of_2014)  # the record, dated as it happened
    still_open = [a for a in actions if not a.next_step_done]
    assert 2 <= len(still_open) <= 6
    assert all(TODAY - timedelta(days=60) <= a.happened_on <= TODAY for a in still_open)
    overdue = cities.overdue_follow_ups(db, TODAY)
    assert [o["city"] for o in overdue] == ["manchester"]  # one step a few days late, not a decade of them
    assert 0 < overdue[0]["daysOverdue"] < 14
    assert any(a.next_step_due > TODAY for a in still_open)  # the others are due in the coming weeks


def test_air_quality_is_public_and_open_in_at_least_three_cities(db):
    served = db.scalars(
        select(InformationSystem.city_id).where(
            InformationSystem.status == "open",
            InformationSystem.access_policy == "public",
            InformationSystem.id.in_(
                select(catalogue.InformationSystemEntityType.information_system_id).where(
                    catalogue.InformationSystemEntityType.entity_type == "AirQualityObserved"
                )
            ),
        )
    ).all()
    assert len(set(served)) >= 3
    assert {"barcelona", "genova", "london", "bologna"} <= set(served)


def test_some_systems_are_protected_and_some_are_drafts(db):
    systems = {s.id: s for s in db.scalars(select(InformationSystem))}
    assert systems["london/parking"].access_policy == "approval"
    assert systems["barcelona/noise"].access_policy == "registered"
    assert {s.access_policy for s in systems.values()} == {"public", "registered", "approval"}
    assert sum(s.status == "draft" for s in systems.values()) >= 2
    agenda = systems["cornella/city-agenda"]
    assert agenda.status == "open" and agenda.category_id == "e-government"


def test_only_pilot_and_consortium_cities_have_systems_in_trial_or_open(db):
    levels = {c.id: c.level for c in db.scalars(select(City))}
    for system in db.scalars(select(InformationSystem).where(InformationSystem.status.in_(["trial", "open"]))):
        assert levels[system.city_id] in ("pilot", "consortium"), system.id


def test_every_system_is_documented_and_its_outputs_are_model_attributes(db):
    registry = get_registry()
    for system in db.scalars(select(InformationSystem)):
        assert system.description and system.licence and system.provider and system.documentation_url, system.id
        assert system.properties_in and system.properties_out, system.id
        # one type each, but the incident reports' IS (its service types too, `services`) and the city
        # maps (district outlines and streets)
        types = sorted(catalogue.entity_types_of(db, [system.id])[system.id])
        assert len(types) == 1 or types in (["service_requests", "services"], ["OSMBoundary", "Road"]), system.id
        attributes = {name for entity_type in types for name in registry.get(entity_type).attributes}
        for prop in system.properties_out:
            assert set(prop) in ({"name", "type", "description"}, {"name", "type", "description", "unit"})
            assert prop["name"] in attributes, f"{system.id}: {prop['name']} is not in {types}"


def test_each_city_opening_systems_opens_its_map_districts_and_streets(db):
    maps = db.scalars(select(InformationSystem).where(InformationSystem.category_id == "gis")).all()
    assert {system.city_id for system in maps} == {"barcelona", "genova", "london", "bologna", "cornella", "lamia"}
    shapes = dict(db.execute(
        select(Entity.type, func.count()).where(Entity.information_system_id == "barcelona/city-map").group_by(Entity.type)
    ).all())  # fmt: skip
    assert shapes["OSMBoundary"] == 10 and shapes["Road"] > 10  # Barcelona's ten districts, its main streets
    district = db.get(Entity, "urn:ngsi-ld:OSMBoundary:barcelona:district-02")
    assert district.location["type"] == "Polygon" and district.attributes["name"] == "Eixample"


def test_at_least_50000_observations_of_history(db):
    assert count(db, Observation) >= 50_000


def test_every_entity_lies_inside_its_city_bbox(db):
    # all but the service types incident reports name (Open311's `services`), which are nowhere
    assert set(db.scalars(select(Entity.type).where(Entity.lon.is_(None)))) <= {"services"}
    rows = db.execute(
        select(Entity.id, Entity.lon, Entity.lat, City.bbox).join(City, Entity.city_id == City.id).where(Entity.type != "services")
    ).all()
    assert len(rows) > 300
    for entity_id, lon, lat, (min_lon, min_lat, max_lon, max_lat) in rows:
        assert min_lon <= lon <= max_lon and min_lat <= lat <= max_lat, entity_id


def test_current_state_is_the_latest_observation(db):
    entity = db.get(Entity, "urn:ngsi-ld:AirQualityObserved:london:aq-01")
    assert entity.observed_at == latest_hour(TODAY)
    for attribute in ("no2", "pm10", "pm25", "o3", "co"):
        latest = db.execute(
            select(Observation.observed_at, Observation.value_number)
            .where(Observation.entity_id == entity.id, Observation.attribute == attribute)
            .order_by(Observation.observed_at.desc())
            .limit(1)
        ).one()
        assert latest == (entity.observed_at, entity.attributes[attribute])
    first = db.scalar(select(func.min(Observation.observed_at)).where(Observation.entity_id == entity.id))
    assert entity.observed_at - first >= timedelta(days=14)


def test_sensor_devices_report_into_their_entities(db):
    devices = db.scalars(select(Device)).all()
    entity_ids = set(db.scalars(select(Entity.id)))
    assert devices and all(d.entity_id in entity_ids for d in devices)
    noise = [d for d in devices if d.information_system_id == "barcelona/noise"]
    assert noise and all("setReportingPeriod" in {c["name"] for c in d.commands} for d in noise)


def test_sensor_devices_were_last_heard_at_their_latest_observation(db):
    """Loaded with today's history, a sensor is not silent until its period has passed since then."""
    for device in db.scalars(select(Device)):
        entity = db.get(Entity, device.entity_id)
        assert device.last_seen_at == entity.observed_at, device.local_id
        assert device.silent_after == entity.observed_at + timedelta(seconds=device.reporting_period_s)


def test_load_reports_what_it_wrote(demo, db):
    _, counts = demo
    assert counts["cities"] == count(db, City)
    assert counts["level_changes"] == count(db, LevelChange)
    assert counts["engagement_actions"] == count(db, EngagementAction)
    assert counts["information_systems"] + counts["owner_systems"] == count(db, InformationSystem)
    assert counts["devices"] == count(db, Device)
    assert counts["entities"] + counts["owner_entities"] == count(db, Entity)
    assert 50_000 <= counts["observations"] <= count(db, Observation)


def test_a_second_load_writes_nothing(demo_url):
    with new_session(demo_url) as session:
        before = [count(session, m) for m in (City, LevelChange, EngagementAction, Entity, Observation)]
        assert is_loaded(session)
    assert _load(demo_url) == {"already_loaded": True}
    with new_session(demo_url) as session:
        assert [count(session, m) for m in (City, LevelChange, EngagementAction, Entity, Observation)] == before


def test_an_empty_database_is_not_loaded(databases):
    with new_session(databases.new()) as session:
        assert not is_loaded(session)


def test_two_loads_with_the_same_date_give_the_same_data(databases, demo_url):
    other = databases.new()
    _load(other)

    def snapshot(url: str) -> dict:
        with new_session(url) as session:
            entities = {e.id: (e.location, e.attributes, e.observed_at) for e in session.scalars(select(Entity))}
            return {"entities": entities, "observations": count(session, Observation)}

    assert snapshot(other) == snapshot(demo_url)


def test_the_api_lists_the_13_member_cities_at_their_levels(demo_url):
    """What `make run` shows at /api/v1/cities: the network of DESIGN.md."""
    from fastapi.testclient import TestClient

    from icity.app import create_app

    body = TestClient(create_app(demo_url)).get("/api/v1/cities").json()
    assert {c["id"]: c["level"] for c in body["items"]} == NETWORK
    assert len(body["items"]) == 13
