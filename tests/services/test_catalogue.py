from datetime import date

import pytest
from sqlalchemy import func, select

from icity.db.models import Device, InformationSystem
from icity.errors import ICityError
from icity.services import audit, catalogue, cities
from icity.services.access import ANONYMOUS


@pytest.fixture
def lamia(session):
    cities.create_city(session, audit.actor_named("t"), id="lamia", name="Lamía", country="gr", lon=22.43, lat=38.90, bbox=[22.38, 38.87, 22.47, 38.93])
    session.commit()
    return "lamia"


SYSTEM = dict(city_id="lamia", slug="wifi", name="WiFi", category="wifi", entity_types=["WifiPointOfInterest"])


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"category": "weather"}, "category"),
        ({"access_policy": "secret"}, "accessPolicy"),
        ({"entity_types": []}, "entityTypes"),
        ({"entity_types": ["WifiPointOfInterest", "Hotspot"]}, "entityTypes[1]"),
        ({"properties_out": [{"type": "number"}]}, "propertiesOut[0].name"),
    ],
)
def test_bad_information_systems_are_refused_and_write_nothing(session, lamia, changes, path):
    with pytest.raises(ICityError) as refused:
        catalogue.create_information_system(session, **{**SYSTEM, **changes})
    session.rollback()
    assert refused.value.errors[0].path == path
    assert session.scalar(select(func.count()).select_from(InformationSystem)) == 0


def test_duplicate_information_system_is_a_conflict(session, lamia):
    catalogue.create_information_system(session, **SYSTEM)
    with pytest.raises(ICityError) as refused:
        catalogue.create_information_system(session, **SYSTEM)
    assert refused.value.status == 409


def test_unknown_city_is_not_found(session):
    with pytest.raises(ICityError) as refused:
        catalogue.create_information_system(session, **{**SYSTEM, "city_id": "atlantis"})
    assert refused.value.status == 404


def test_devices_belong_to_their_system_and_provider(session, lamia):
    cities.change_level(session, audit.actor_named("t"), lamia, to_level="pilot", effective_on=date(2015, 1, 1), evidence_kind="technical_trial", evidence="trial")
    catalogue.create_information_system(session, **SYSTEM)
    catalogue.set_status(session, "lamia/wifi", "open")
    operator = catalogue.add_provider(session, "lamia/wifi", name="Municipality of Lamía")
    catalogue.add_device(session, "lamia/wifi", local_id="ap-1", provider_id=operator.id, lon=22.43, lat=38.90,
                         commands=[{"name": "reboot", "parameters": {}}])
    session.commit()
    with pytest.raises(ICityError) as refused:
        catalogue.add_device(session, "lamia/wifi", local_id="ap-2", lon=22.43)
    assert refused.value.errors[0].path == "location"
    with pytest.raises(ICityError) as refused:
        catalogue.add_device(session, "lamia/wifi", local_id="ap-3", provider_id=operator.id + 99)
    assert refused.value.errors[0].path == "provider"
    session.rollback()
    page = catalogue.list_devices(session, ANONYMOUS, "lamia/wifi", provider=None, limit=10, cursor=None)
    assert [d["id"] for d in page.items] == ["ap-1"]
    assert page.items[0]["location"] == {"type": "Point", "coordinates": [22.43, 38.9]}
    assert session.scalar(select(func.count()).select_from(Device)) == 1


@pytest.mark.parametrize(
    ("path", "refused"),
    [(["open", "retired"], "open"), (["open"], "draft"), (["trial", "open", "retired"], "trial")],
)
def test_status_follows_the_lifecycle(session, lamia, path, refused):
    cities.change_level(session, audit.actor_named("t"), lamia, to_level="pilot", effective_on=date(2015, 1, 1), evidence_kind="technical_trial", evidence="trial")
    catalogue.create_information_system(session, **SYSTEM)
    for status in path:
        catalogue.set_status(session, "lamia/wifi", status)
    with pytest.raises(ICityError) as error:
        catalogue.set_status(session, "lamia/wifi", refused)
    assert error.value.code == "status-transition" and path[-1] in error.value.detail


def test_duplicate_device_is_a_conflict(session, lamia):
    catalogue.create_information_system(session, **SYSTEM)
    catalogue.add_device(session, "lamia/wifi", local_id="ap-1")
    with pytest.raises(ICityError) as error:
        catalogue.add_device(session, "lamia/wifi", local_id="ap-1")
    assert error.value.status == 409 and error.value.param == "localId"
