from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from icity.db.models import Entity, Observation
from icity.errors import ICityError
from icity.services import audit, catalogue, cities, entity_store

URN = "urn:ngsi-ld:AirQualityObserved:genova:centro"


@pytest.fixture
def air(session):
    cities.create_city(session, audit.actor_named("t"), id="genova", name="Genova", country="it", lon=8.93, lat=44.41, bbox=[8.8, 44.38, 9.1, 44.52])
    cities.change_level(session, audit.actor_named("t"), "genova", to_level="consortium", effective_on=date(2013, 10, 1), evidence_kind="consortium_agreement", evidence="CA")
    catalogue.create_information_system(session, city_id="genova", slug="air", name="Air", category="environment", entity_types=["AirQualityObserved"])
    session.commit()
    return "genova/air"


def station(**changes):
    return {
        "id": URN,
        "type": "AirQualityObserved",
        "location": {"type": "Point", "coordinates": [8.93, 44.41]},
        "observedAt": "2024-05-01T10:00:00Z",
        "no2": 41.0,
        "airQualityLevel": "moderate",
        **changes,
    }


def count(session, model):
    return session.scalar(select(func.count()).select_from(model))


def test_create_then_update_appends_history(session, air):
    assert entity_store.upsert_entities(session, air, [station()]) == {"created": 1, "updated": 0, "unchanged": 0}
    later = station(observedAt="2024-05-01T11:00:00+00:00", no2=52.5, airQualityLevel="unhealthy")
    assert entity_store.upsert_entities(session, air, [later])["updated"] == 1
    session.commit()
    entity = session.get(Entity, URN)
    assert entity.attributes == {"no2": 52.5, "airQualityLevel": "unhealthy", "dateObserved": "2024-05-01T11:00:00+00:00"}
    assert (entity.lon, entity.lat) == (8.93, 44.41)
    assert entity.observed_at.isoformat() == "2024-05-01T11:00:00+00:00"
    rows = session.execute(select(Observation.attribute, Observation.value_number, Observation.value).order_by(Observation.observed_at, Observation.attribute)).all()
    # numbers are kept at every observation, text when it changes
    assert rows == [("no2", 41.0, None), ("airQualityLevel", None, "unhealthy"), ("no2", 52.5, None)]


def test_sending_the_same_data_twice_writes_nothing_new(session, air):
    entity_store.upsert_entities(session, air, [station()])
    session.commit()
    modified = session.get(Entity, URN).modified_at
    assert entity_store.upsert_entities(session, air, [station()]) == {"created": 0, "updated": 0, "unchanged": 1}
    session.commit()
    assert count(session, Observation) == 1
    assert session.get(Entity, URN).modified_at == modified


def test_observations_are_idempotent_per_entity_attribute_time(session, air):
    entity_store.upsert_entities(session, air, [station()])
    rows = [entity_store.observation_row(URN, "no2", datetime(2024, 5, 1, 12, tzinfo=timezone.utc), 3.0)] * 2
    entity_store.add_observations(session, rows)
    entity_store.add_observations(session, rows)
    session.commit()
    assert count(session, Observation) == 2


@pytest.mark.parametrize(
    ("entity", "path", "words"),
    [
        (station(NO2=4.0), "[0].NO2", "did you mean 'no2'"),
        (station(no2="high"), "[0].no2", "number"),
        (station(airQualityLevel=3), "[0].airQualityLevel", "string"),
        (station(colour="red"), "[0].colour", "not an attribute of AirQualityObserved"),
        (station(type="AirQuality"), "[0].type", "serves AirQualityObserved"),
        (station(type="Weather"), "[0].type", "not a Smart Data Model"),
        (station(id="urn:ngsi-ld:AirQualityObserved:barcelona:x"), "[0].id", "urn:ngsi-ld:AirQualityObserved:genova:"),
        (station(location={"type": "Point", "coordinates": [44.41, 98.0]}), "[0].location.coordinates", "WGS84"),
        (station(location={"type": "Circle", "coordinates": [8.9, 44.4]}), "[0].location.type", "GeoJSON"),
        (station(observedAt="yesterday"), "[0].observedAt", "ISO 8601"),
        (station(dateObserved="May 1st"), "[0].dateObserved", "date-time"),
    ],
)
def test_invalid_entities_are_refused_with_their_path_and_nothing_is_written(session, air, entity, path, words):
    good = station(id="urn:ngsi-ld:AirQualityObserved:genova:other")
    with pytest.raises(ICityError) as refused:
        entity_store.upsert_entities(session, air, [entity, good])
    session.rollback()
    assert refused.value.status == 422
    problem = next(p for p in refused.value.errors if p.path == path)
    assert words.lower() in problem.detail.lower()
    assert count(session, Entity) == 0 and count(session, Observation) == 0


def test_every_problem_of_a_batch_is_reported(session, air):
    with pytest.raises(ICityError) as refused:
        entity_store.upsert_entities(session, air, [station(no2="x"), station(id="bad", NO2=1)])
    assert {p.path for p in refused.value.errors} == {"[0].no2", "[1].id", "[1].NO2"}


def test_polygon_location_is_indexed_by_its_centre(session):
    cities.create_city(session, audit.actor_named("t"), id="bologna", name="Bologna", country="it", lon=11.34, lat=44.49, bbox=[11.23, 44.42, 11.43, 44.56])
    catalogue.create_information_system(session, city_id="bologna", slug="poi", name="POI", category="tourism-culture", entity_types=["PointOfInterest"])
    park = {"id": "urn:ngsi-ld:PointOfInterest:bologna:park", "type": "PointOfInterest", "name": "Giardini",
            "location": {"type": "Polygon", "coordinates": [[[11.30, 44.48], [11.34, 44.48], [11.34, 44.50], [11.30, 44.48]]]}}
    entity_store.upsert_entities(session, "bologna/poi", [park])
    entity = session.get(Entity, park["id"])
    assert (entity.lon, entity.lat) == pytest.approx((11.32, 44.49))
