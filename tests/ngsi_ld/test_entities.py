"""The NGSI-LD entity API, request by request with exact bodies: contexts, representations,
provision, queries, errors — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from icity.db.engine import new_session
from icity.db.models import Entity
from tests.connectors.feed_server import Feed
from tests.ngsi_ld.conftest import BASE, LD

pytestmark = pytest.mark.postgres_ok

CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
LINK = '<{}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
S0 = "urn:ngsi-ld:AirQualityObserved:alpha:s0"

# The spec's running example (CIM 009 clause C.2): a vehicle with a sub-property and a relationship
VEHICLE = {
    "id": "urn:ngsi-ld:Vehicle:A4567",
    "type": "Vehicle",
    "brandName": {"type": "Property", "value": "Mercedes"},
    "speed": {"type": "Property", "value": 55, "observedAt": "2024-05-01T12:00:00Z", "unitCode": "KMH",
              "source": {"type": "Property", "value": "Speedometer"}},
    "isParked": {"type": "Relationship", "object": "urn:ngsi-ld:OffStreetParking:Downtown1",
                 "observedAt": "2024-05-01T12:00:00Z", "providedBy": {"type": "Relationship", "object": "urn:ngsi-ld:Person:Bob"}},
    "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [8.93, 44.41]}},
}  # fmt: skip


def create(broker, entity, headers=None, **kwargs):
    return broker.client.post(f"{BASE}/entities", json=entity, headers={**broker.lab, **(headers or {})}, **kwargs)


def stored_count(url: str) -> int:
    with new_session(url) as session:
        return session.scalar(select(func.count()).select_from(Entity).where(Entity.retired_at.is_(None)))


# ---- normalized round trip, representations ------------------------------------------------------


def test_an_entity_created_normalized_reads_back_the_same(broker):
    created = create(broker, VEHICLE)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567"
    read = broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567")
    assert read.status_code == 200 and read.headers["content-type"] == "application/json"
    assert read.json() == VEHICLE
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in read.headers["link"]


def test_simplified_concise_and_sys_attrs(broker):
    create(broker, VEHICLE)
    url = f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567"
    assert broker.client.get(url, params={"options": "keyValues"}).json() == {
        "id": "urn:ngsi-ld:Vehicle:A4567", "type": "Vehicle", "brandName": "Mercedes", "speed": 55,
        "isParked": "urn:ngsi-ld:OffStreetParking:Downtown1", "location": {"type": "Point", "coordinates": [8.93, 44.41]},
    }  # fmt: skip
    assert broker.client.get(url, params={"format": "simplified"}).json()["speed"] == 55
    assert broker.client.get(url, params={"options": "concise"}).json() == {
        "id": "urn:ngsi-ld:Vehicle:A4567", "type": "Vehicle", "brandName": "Mercedes",
        "speed": {"value": 55, "observedAt": "2024-05-01T12:00:00Z", "unitCode": "KMH", "source": "Speedometer"},
        "isParked": {"object": "urn:ngsi-ld:OffStreetParking:Downtown1", "observedAt": "2024-05-01T12:00:00Z",
                     "providedBy": {"object": "urn:ngsi-ld:Person:Bob"}},
        "location": {"type": "Point", "coordinates": [8.93, 44.41]},
    }  # fmt: skip
    with_times = broker.client.get(url, params={"options": "sysAttrs"}).json()
    assert with_times["createdAt"].endswith("Z") and with_times["modifiedAt"] >= with_times["createdAt"]


def test_a_concise_entity_is_stored_as_its_normalized_form(broker):
    concise = {"id": "urn:ngsi-ld:Vehicle:C1", "type": "Vehicle", "speed": {"value": 12, "unitCode": "KMH"},
               "brandName": "Seat", "isParked": {"object": "urn:ngsi-ld:OffStreetParking:P1"}}  # fmt: skip
    assert create(broker, concise).status_code == 201
    assert broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:C1").json() == {
        "id": "urn:ngsi-ld:Vehicle:C1", "type": "Vehicle",
        "speed": {"type": "Property", "value": 12, "unitCode": "KMH"},
        "brandName": {"type": "Property", "value": "Seat"},
        "isParked": {"type": "Relationship", "object": "urn:ngsi-ld:OffStreetParking:P1"},
    }  # fmt: skip


def test_multi_attributes_keep_each_instance_by_dataset_id(broker):
    entity = {"id": "urn:ngsi-ld:Vehicle:M1", "type": "Vehicle", "speed": [
        {"type": "Property", "value": 55, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        {"type": "Property", "value": 54.5},
        {"type": "Property", "value": 56, "datasetId": "urn:ngsi-ld:Dataset:radar"},
    ]}  # fmt: skip
    assert create(broker, entity).status_code == 201
    read = broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:M1").json()
    assert read["speed"] == [
        {"type": "Property", "value": 54.5},
        {"type": "Property", "value": 55, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        {"type": "Property", "value": 56, "datasetId": "urn:ngsi-ld:Dataset:radar"},
    ]
    # the default instance is the keyValues value, and what /api/v1 shows
    assert broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:M1?options=keyValues").json()["speed"] == 54.5
    dropped = broker.client.delete(
        f"{BASE}/entities/urn:ngsi-ld:Vehicle:M1/attrs/speed", params={"datasetId": "urn:ngsi-ld:Dataset:gps"}, headers=broker.lab
    )
    assert dropped.status_code == 204
    left = broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:M1").json()["speed"]
    assert [i.get("datasetId") for i in left] == [None, "urn:ngsi-ld:Dataset:radar"]


def test_language_property(broker):
    entity = {"id": "urn:ngsi-ld:Building:L1", "type": "Building",
              "street": {"type": "LanguageProperty", "languageMap": {"en": "Main Street", "it": "Via Principale"}}}  # fmt: skip
    assert create(broker, entity).status_code == 201
    assert broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Building:L1").json()["street"] == entity["street"]
    simplified = broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Building:L1?options=keyValues").json()
    assert simplified["street"] == {"languageMap": {"en": "Main Street", "it": "Via Principale"}}


def test_json_ld_answers_carry_the_context_in_the_body_and_geojson_is_a_feature_collection(broker):
    create(broker, VEHICLE)
    ld = broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567", headers={"Accept": LD})
    assert ld.headers["content-type"] == LD and ld.json()["@context"].endswith("/ngsi-ld/v1/contexts/icity.jsonld")
    assert "link" not in ld.headers
    geo = broker.client.get(f"{BASE}/entities", params={"type": "Vehicle", "options": "keyValues"}, headers={"Accept": "application/geo+json"})
    assert geo.headers["content-type"] == "application/geo+json"
    body = geo.json()
    assert body["type"] == "FeatureCollection"
    assert body["features"][0] == {
        "id": "urn:ngsi-ld:Vehicle:A4567", "type": "Feature", "geometry": {"type": "Point", "coordinates": [8.93, 44.41]},
        "properties": {"type": "Vehicle", "brandName": "Mercedes", "speed": 55, "isParked": "urn:ngsi-ld:OffStreetParking:Downtown1",
                       "location": {"type": "Point", "coordinates": [8.93, 44.41]}},
    }  # fmt: skip


def test_harvested_entities_are_served_normalized_with_the_smart_data_models_terms(broker):
    body = broker.client.get(f"{BASE}/entities/{S0}").json()
    assert body == {
        "id": S0, "type": "AirQualityObserved",
        "no2": {"type": "Property", "value": 10.0},
        "airQualityLevel": {"type": "Property", "value": "good"},
        "name": {"type": "Property", "value": "Station s0"},
        "dateObserved": {"type": "Property", "value": "2024-05-01T00:00:00+00:00"},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.1, 41.38]}},
    }  # fmt: skip
    # the same store, as /api/v1 shows it
    assert broker.client.get(f"/api/v1/entities/{S0}").json()["no2"] == 10.0


# ---- contexts ----------------------------------------------------------------------------------


def test_an_entity_created_with_context_a_reads_with_context_b_terms(broker, contexts):
    a = contexts.serve("/a.jsonld", Feed(json.dumps({"@context": {"velocidad": "https://example.org/speed", "Coche": "https://example.org/Car"}}).encode(), "application/ld+json"))
    b = contexts.serve("/b.jsonld", Feed(json.dumps({"@context": {"speed": "https://example.org/speed", "Car": "https://example.org/Car"}}).encode(), "application/ld+json"))
    entity = {"id": "urn:ngsi-ld:Car:1", "type": "Coche", "velocidad": {"type": "Property", "value": 80}, "@context": [a, CORE]}
    created = broker.client.post(f"{BASE}/entities", json=entity, headers={**broker.lab, "Content-Type": LD})
    assert created.status_code == 201, created.text
    read_b = broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Car:1", headers={"Link": LINK.format(b)})
    assert read_b.json() == {"id": "urn:ngsi-ld:Car:1", "type": "Car", "speed": {"type": "Property", "value": 80}}
    assert read_b.headers["link"] == LINK.format(b)
    # without a context of its own, a client sees the full IRIs iCity's context does not name
    assert broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Car:1").json() == {
        "id": "urn:ngsi-ld:Car:1", "type": "https://example.org/Car",
        "https://example.org/speed": {"type": "Property", "value": 80},
    }
    # and queries use the request's terms
    found = broker.client.get(f"{BASE}/entities", params={"type": "Car", "q": "speed>70"}, headers={"Link": LINK.format(b)})
    assert [e["id"] for e in found.json()] == ["urn:ngsi-ld:Car:1"]


def test_terms_no_context_defines_fall_to_the_default_vocabulary(broker, contexts):
    create(broker, {"id": "urn:ngsi-ld:Thing:1", "type": "Thing", "colour": {"type": "Property", "value": "red"}})
    vocabulary = contexts.serve("/v.jsonld", Feed(json.dumps({"@context": {"hue": "https://uri.etsi.org/ngsi-ld/default-context/colour"}}).encode(), "application/ld+json"))
    read = broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Thing:1", headers={"Link": LINK.format(vocabulary)})
    assert read.json()["hue"] == {"type": "Property", "value": "red"}


def test_the_smart_data_models_context_terms_are_the_platform_s(broker):
    served = broker.client.get(f"{BASE}/contexts/icity.jsonld").json()["@context"]
    assert served[0] == CORE
    assert served[1]["AirQualityObserved"] == "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
    assert served[1]["no2"] == "https://smartdatamodels.org/dataModel.Environment/no2"
    assert "location" not in served[1]  # the core's terms are the core's


def test_an_unreachable_context_is_a_503_within_the_timeout(broker, contexts, monkeypatch):
    from icity.config import get_settings

    monkeypatch.setenv("ICITY_LD_CONTEXT_TIMEOUT_S", "0.5")
    get_settings.cache_clear()
    slow = contexts.serve("/slow.jsonld", Feed(b"{}", "application/ld+json", delay_s=3))
    started = time.monotonic()
    answer = broker.client.get(f"{BASE}/entities?type=Vehicle", headers={"Link": LINK.format(slow)})
    assert time.monotonic() - started < 2.5
    assert answer.status_code == 503
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"
    missing = contexts.serve("/missing.jsonld", Feed(b"", statuses=[404]))
    assert broker.client.get(f"{BASE}/entities?type=Vehicle", headers={"Link": LINK.format(missing)}).status_code == 503
    broken = contexts.serve("/broken.jsonld", Feed(b"{not json", "application/ld+json"))
    assert broker.client.get(f"{BASE}/entities?type=Vehicle", headers={"Link": LINK.format(broken)}).status_code == 503


def test_a_context_at_a_private_address_is_not_fetched(broker, contexts, monkeypatch):
    from icity.config import get_settings

    url = contexts.serve("/private.jsonld", Feed(b'{"@context": {}}', "application/ld+json"))
    monkeypatch.setenv("ICITY_WEBHOOK_PRIVATE_NETWORKS", "false")
    get_settings.cache_clear()
    answer = broker.client.get(f"{BASE}/entities?type=Vehicle", headers={"Link": LINK.format(url)})
    assert answer.status_code == 503
    assert "private" in answer.json()["detail"]


def test_the_core_context_is_never_fetched(broker):
    # no server answers for uri.etsi.org here: the built-in copy serves every published version
    for version in ("", "-v1.6", "-v1.8"):
        url = f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context{version}.jsonld"
        assert broker.client.get(f"{BASE}/entities?type=AirQualityObserved&limit=1", headers={"Link": LINK.format(url)}).status_code == 200


# ---- queries -----------------------------------------------------------------------------------


def test_offset_paging_with_a_count(broker):
    seen = []
    for offset in (0, 4, 8, 12):
        page = broker.client.get(f"{BASE}/entities", params={"type": "AirQualityObserved", "limit": 4, "offset": offset, "count": "true"})
        assert page.headers["NGSILD-Results-Count"] == "15"
        seen += [e["id"] for e in page.json()]
    assert len(seen) == 15 == len(set(seen)) and seen == sorted(seen)
    only_count = broker.client.get(f"{BASE}/entities", params={"type": "AirQualityObserved", "limit": 0, "count": "true"})
    assert only_count.json() == [] and only_count.headers["NGSILD-Results-Count"] == "15"


@pytest.mark.parametrize(
    "q, expected",
    [
        ("speed>50", ["A", "B"]),
        ("speed>=55", ["A", "B"]),
        ("speed<55", ["C"]),
        ("speed<=55", ["A", "C"]),
        ("speed==55", ["A"]),
        ("speed!=55", ["B", "C"]),
        ("speed==40..60", ["A", "C"]),
        ("speed==40,90", ["B", "C"]),
        ('brandName=="Mercedes"', ["A"]),
        ("brandName~=Merc.*", ["A"]),
        ("brandName!~=Merc.*", ["B", "C"]),
        ("speed>50;brandName==Seat", ["B"]),
        ("speed<50|brandName==Mercedes", ["A", "C"]),
        ("(speed<50|brandName==Mercedes);speed>52", ["A"]),
        ("speed.observedAt>=2024-05-01T12:00:00Z", ["A"]),
        ("engine[power]>100", ["B"]),
        ("isParked", ["A"]),
        ("isParked==urn:ngsi-ld:OffStreetParking:Downtown1", ["A"]),
    ],
)
def test_every_q_operator(broker, q, expected):
    vehicles = [
        VEHICLE,
        {"id": "urn:ngsi-ld:Vehicle:B", "type": "Vehicle", "brandName": {"type": "Property", "value": "Seat"},
         "speed": {"type": "Property", "value": 90}, "engine": {"type": "Property", "value": {"power": 150}}},
        {"id": "urn:ngsi-ld:Vehicle:C", "type": "Vehicle", "brandName": {"type": "Property", "value": "Fiat"},
         "speed": {"type": "Property", "value": 40}, "engine": {"type": "Property", "value": {"power": 60}}},
    ]  # fmt: skip
    vehicles[0] = {**VEHICLE, "id": "urn:ngsi-ld:Vehicle:A"}
    answer = broker.client.post(f"{BASE}/entityOperations/create", json=vehicles, headers=broker.lab)
    assert answer.status_code == 201, answer.text
    found = broker.client.get(f"{BASE}/entities", params={"type": "Vehicle", "q": q})
    assert found.status_code == 200, found.text
    assert [e["id"].rsplit(":", 1)[1] for e in found.json()] == expected


def test_a_q_syntax_error_is_bad_request_data(broker):
    answer = broker.client.get(f"{BASE}/entities", params={"type": "Vehicle", "q": "speed>>5"})
    assert answer.status_code == 400
    assert answer.json()["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"


PARK = {"type": "Polygon", "coordinates": [[[2.0, 41.0], [2.2, 41.0], [2.2, 41.2], [2.0, 41.2], [2.0, 41.0]]]}


def _geo_world(broker):
    """A point inside the park, a point outside, a polygon half across its east edge, one inside it."""
    shapes = {
        "inside": {"type": "Point", "coordinates": [2.1, 41.1]},
        "outside": {"type": "Point", "coordinates": [2.5, 41.1]},
        "across": {"type": "Polygon", "coordinates": [[[2.15, 41.05], [2.3, 41.05], [2.3, 41.1], [2.15, 41.1], [2.15, 41.05]]]},
        "within": {"type": "Polygon", "coordinates": [[[2.05, 41.05], [2.1, 41.05], [2.1, 41.1], [2.05, 41.1], [2.05, 41.05]]]},
    }
    batch = [{"id": f"urn:ngsi-ld:Zone:{name}", "type": "Zone", "location": {"type": "GeoProperty", "value": shape}}
             for name, shape in shapes.items()]  # fmt: skip
    assert broker.client.post(f"{BASE}/entityOperations/create", json=batch, headers=broker.lab).status_code == 201


@pytest.mark.parametrize(
    "georel, geometry, coordinates, expected",
    [
        ("within", "Polygon", PARK["coordinates"], ["inside", "within"]),
        ("intersects", "Polygon", PARK["coordinates"], ["across", "inside", "within"]),
        ("disjoint", "Polygon", PARK["coordinates"], ["outside"]),
        ("overlaps", "Polygon", PARK["coordinates"], ["across"]),
        ("contains", "Point", [2.07, 41.07], ["within"]),
        ("equals", "Point", [2.5, 41.1], ["outside"]),
        ("near;maxDistance==2000", "Point", [2.1, 41.11], ["inside", "within"]),
        ("near;minDistance==20000", "Point", [2.1, 41.1], ["outside"]),
        ("near;maxDistance==5000", "Point", [2.33, 41.07], ["across"]),
    ],
)
def test_each_georel_on_points_and_polygons(broker, georel, geometry, coordinates, expected):
    _geo_world(broker)
    found = broker.client.get(f"{BASE}/entities", params={
        "type": "Zone", "georel": georel, "geometry": geometry, "coordinates": json.dumps(coordinates)})  # fmt: skip
    assert found.status_code == 200, found.text
    assert sorted(e["id"].rsplit(":", 1)[1] for e in found.json()) == expected


def test_invalid_geometry_is_bad_request_data(broker):
    open_ring = [[[2.0, 41.0], [2.2, 41.0], [2.2, 41.2]]]
    answer = broker.client.get(f"{BASE}/entities", params={"type": "Zone", "georel": "within", "geometry": "Polygon", "coordinates": json.dumps(open_ring)})
    assert answer.status_code == 400 and answer.json()["type"].endswith("/BadRequestData")


def test_the_query_endpoint_takes_a_query_body(broker):
    query = {"type": "Query", "entities": [{"type": "AirQualityObserved"}], "q": "no2>=20",
             "geoQ": {"georel": "within", "geometry": "Polygon", "coordinates": [[[2.0, 41.3], [2.3, 41.3], [2.3, 41.5], [2.0, 41.5], [2.0, 41.3]]]}}  # fmt: skip
    found = broker.client.post(f"{BASE}/entityOperations/query?count=true", json=query)
    assert found.status_code == 200, found.text
    assert all(e["no2"]["value"] >= 20 and e["id"].startswith("urn:ngsi-ld:AirQualityObserved:alpha:") for e in found.json())
    assert found.headers["NGSILD-Results-Count"] == str(len(found.json())) != "0"


def test_a_query_without_a_selector_is_refused(broker):
    answer = broker.client.get(f"{BASE}/entities")
    assert answer.status_code == 400 and answer.json()["type"].endswith("/BadRequestData")


def test_paths_answer_with_and_without_a_trailing_slash(broker):
    assert broker.client.get(f"{BASE}/types/").json() == broker.client.get(f"{BASE}/types").json()
    assert broker.client.get(f"{BASE}/entities/?type=AirQualityObserved").status_code == 200


# ---- provision -----------------------------------------------------------------------------------


def test_create_twice_is_already_exists_and_delete_then_create_again(broker):
    assert create(broker, VEHICLE).status_code == 201
    again = create(broker, VEHICLE)
    assert again.status_code == 409 and again.json()["type"].endswith("/AlreadyExists")
    assert broker.client.delete(f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567", headers=broker.lab).status_code == 204
    assert broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567").status_code == 404
    assert broker.client.delete(f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567", headers=broker.lab).status_code == 404
    assert create(broker, {**VEHICLE, "brandName": {"type": "Property", "value": "Audi"}}).status_code == 201
    assert broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567?options=keyValues").json()["brandName"] == "Audi"


def test_attribute_operations(broker):
    create(broker, VEHICLE)
    url = f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567"
    appended = broker.client.post(f"{url}/attrs", json={"colour": {"type": "Property", "value": "blue"}}, headers=broker.lab)
    assert appended.status_code == 204
    partial = broker.client.post(f"{url}/attrs?options=noOverwrite", json={"colour": {"type": "Property", "value": "red"}}, headers=broker.lab)
    assert partial.status_code == 207 and partial.json()["notUpdated"][0]["attributeName"] == "colour"
    updated = broker.client.patch(f"{url}/attrs", json={"speed": {"type": "Property", "value": 60}, "wheels": {"type": "Property", "value": 4}}, headers=broker.lab)
    assert updated.status_code == 207 and updated.json() == {"updated": ["speed"], "notUpdated": [{"attributeName": "wheels", "reason": "no such attribute"}]}
    assert broker.client.patch(f"{url}/attrs/speed", json={"value": 70}, headers=broker.lab).status_code == 204
    assert broker.client.delete(f"{url}/attrs/colour", headers=broker.lab).status_code == 204
    assert broker.client.delete(f"{url}/attrs/colour", headers=broker.lab).status_code == 404
    body = broker.client.get(f"{url}?options=keyValues").json()
    assert body["speed"] == 70 and "colour" not in body and body["brandName"] == "Mercedes"


def test_replace_and_merge_an_entity(broker):
    create(broker, VEHICLE)
    url = f"{BASE}/entities/urn:ngsi-ld:Vehicle:A4567"
    replaced = broker.client.put(url, json={"type": "Vehicle", "speed": {"type": "Property", "value": 10}}, headers=broker.lab)
    assert replaced.status_code == 204
    assert broker.client.get(url).json() == {"id": "urn:ngsi-ld:Vehicle:A4567", "type": "Vehicle", "speed": {"type": "Property", "value": 10}}
    merged = broker.client.patch(url, json={"brandName": "Fiat", "speed": "urn:ngsi-ld:null"}, headers={**broker.lab, "Content-Type": "application/merge-patch+json"})
    assert merged.status_code == 204
    assert broker.client.get(url).json() == {"id": "urn:ngsi-ld:Vehicle:A4567", "type": "Vehicle", "brandName": {"type": "Property", "value": "Fiat"}}


def test_a_write_goes_through_the_entity_store_history_and_change_log(broker):
    entity = {"id": "urn:ngsi-ld:AirQualityObserved:alpha:ld1", "type": "AirQualityObserved",
              "no2": {"type": "Property", "value": 33, "observedAt": "2024-05-02T10:00:00Z"},
              "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.15, 41.39]}}}  # fmt: skip
    assert create(broker, entity, headers=broker.air).status_code == 201
    history = broker.client.get("/api/v1/entities/urn:ngsi-ld:AirQualityObserved:alpha:ld1/history").json()
    assert history["values"][0] == {"attribute": "no2", "observedAt": "2024-05-02T10:00:00+00:00", "value": 33.0}


def test_a_smart_data_models_is_refuses_what_its_models_do_not_have(broker):
    wrong = {"id": "urn:ngsi-ld:AirQualityObserved:alpha:x", "type": "AirQualityObserved", "nox2": {"type": "Property", "value": 1}}
    answer = create(broker, wrong, headers=broker.air)
    assert answer.status_code == 400 and answer.json()["type"].endswith("/BadRequestData")
    assert "nox2" in answer.json()["detail"]
    before = stored_count(broker.url)
    foreign_id = {**wrong, "id": "urn:ngsi-ld:AirQualityObserved:x", "nox2": None}
    foreign_id.pop("nox2")
    assert create(broker, foreign_id, headers=broker.air).status_code == 400
    assert stored_count(broker.url) == before


@pytest.mark.parametrize(
    "body, content_type, status, kind",
    [
        (b"{not json", "application/json", 400, "InvalidRequest"),
        (b'{"id": "urn:x:1", "type": "T"}', "text/plain", 415, None),
        (b'{"id": "urn:x:1", "type": "T"}', "application/ld+json", 400, "BadRequestData"),  # no @context
        (b'{"id": "urn:x:1", "type": "T", "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"}', "application/json", 400, "BadRequestData"),
        (b'{"id": "not a uri", "type": "T"}', "application/json", 400, "BadRequestData"),
        (b'{"id": "urn:x:1", "type": "T", "a": {"type": "Relationship"}}', "application/json", 400, "BadRequestData"),
        (b'{"id": "urn:x:1", "type": "T", "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [200, 95]}}}', "application/json", 400, "BadRequestData"),
    ],
)
def test_a_bad_body_writes_nothing(broker, body, content_type, status, kind):
    before = stored_count(broker.url)
    answer = broker.client.post(f"{BASE}/entities", content=body, headers={**broker.lab, "Content-Type": content_type})
    assert answer.status_code == status, answer.text
    if kind:
        assert answer.json()["type"] == f"https://uri.etsi.org/ngsi-ld/errors/{kind}"
    assert stored_count(broker.url) == before


def test_an_accept_it_cannot_serve_is_406(broker):
    answer = broker.client.get(f"{BASE}/entities/{S0}", headers={"Accept": "text/csv"})
    assert answer.status_code == 406


def test_a_10000_entity_batch_with_one_bad_entity_stores_the_others(broker):
    batch = [{"id": f"urn:ngsi-ld:Sensor:{n:05d}", "type": "Sensor", "reading": {"type": "Property", "value": n}} for n in range(10_000)]
    batch[4321]["reading"] = {"type": "Property"}  # no value
    answer = broker.client.post(f"{BASE}/entityOperations/upsert", json=batch, headers=broker.lab)
    assert answer.status_code == 207, answer.text[:500]
    body = answer.json()
    assert [e["entityId"] for e in body["errors"]] == ["urn:ngsi-ld:Sensor:04321"]
    assert body["errors"][0]["error"]["type"].endswith("/BadRequestData")
    assert len(body["success"]) == 9_999
    count = broker.client.get(f"{BASE}/entities", params={"type": "Sensor", "count": "true", "limit": 1})
    assert count.headers["NGSILD-Results-Count"] == "9999"


def test_batch_operations(broker):
    two = [{**VEHICLE, "id": f"urn:ngsi-ld:Vehicle:{n}"} for n in ("X", "Y")]
    created = broker.client.post(f"{BASE}/entityOperations/create", json=two, headers=broker.lab)
    assert created.status_code == 201 and created.json() == ["urn:ngsi-ld:Vehicle:X", "urn:ngsi-ld:Vehicle:Y"]
    again = broker.client.post(f"{BASE}/entityOperations/create", json=two[:1], headers=broker.lab)
    assert again.status_code == 207 and again.json()["errors"][0]["error"]["type"].endswith("/AlreadyExists")
    upsert = broker.client.post(f"{BASE}/entityOperations/upsert", json=[{**two[0], "speed": {"type": "Property", "value": 1}}], headers=broker.lab)
    assert upsert.status_code == 204
    update = broker.client.post(f"{BASE}/entityOperations/update", json=[{"id": "urn:ngsi-ld:Vehicle:Z", "type": "Vehicle", "speed": 3}], headers=broker.lab)
    assert update.status_code == 207 and update.json()["errors"][0]["error"]["type"].endswith("/ResourceNotFound")
    merge = broker.client.post(f"{BASE}/entityOperations/merge", json=[{"id": "urn:ngsi-ld:Vehicle:Y", "type": "Vehicle", "speed": 2}], headers=broker.lab)
    assert merge.status_code == 204
    assert broker.client.get(f"{BASE}/entities/urn:ngsi-ld:Vehicle:Y?options=keyValues").json()["speed"] == 2
    deleted = broker.client.post(f"{BASE}/entityOperations/delete", json=["urn:ngsi-ld:Vehicle:X", "urn:ngsi-ld:Vehicle:nope"], headers=broker.lab)
    assert deleted.status_code == 207
    assert deleted.json()["success"] == ["urn:ngsi-ld:Vehicle:X"]


# ---- who may do what ------------------------------------------------------------------------------


def test_only_a_provider_of_the_is_or_its_admins_write(broker, network_copy):
    from icity.db.engine import transaction
    from tests import people

    assert broker.client.post(f"{BASE}/entities", json=VEHICLE).status_code == 401
    with transaction(network_copy) as session:
        developer = people.person(session, "dev-ld@example.org")
        admin = people.person(session, "admin-ld@example.org", role="city_admin", cities=("beta",))
    assert broker.client.post(f"{BASE}/entities", json=VEHICLE, headers=developer.headers).status_code == 403
    # a city admin names the IS with NGSILD-Tenant
    assert broker.client.post(f"{BASE}/entities", json=VEHICLE, headers=admin.headers).status_code == 400
    written = broker.client.post(f"{BASE}/entities", json=VEHICLE, headers={**admin.headers, "NGSILD-Tenant": "beta/poi"})
    assert written.status_code == 201
    refused = broker.client.post(f"{BASE}/entities", json={**VEHICLE, "id": "urn:ngsi-ld:Vehicle:2"}, headers={**admin.headers, "NGSILD-Tenant": "alpha/air"})
    assert refused.status_code == 403
    # a provider token writes only into its own IS
    elsewhere = broker.client.post(f"{BASE}/entities", json=VEHICLE, headers={**broker.air, "NGSILD-Tenant": "beta/poi"})
    assert elsewhere.status_code == 403


def test_restricted_entities_appear_through_no_ngsi_ld_path(broker):
    # alpha/noise (registered) and alpha/parking (approval) are not for anonymous callers
    types = broker.client.get(f"{BASE}/types").json()["typeList"]
    assert "NoiseLevelObserved" not in types and "OffStreetParking" not in types and "AirQualityObserved" in types
    assert broker.client.get(f"{BASE}/types/NoiseLevelObserved").status_code == 404
    attributes = broker.client.get(f"{BASE}/attributes").json()["attributeList"]
    assert "LAeq" not in attributes
    assert broker.client.get(f"{BASE}/entities", params={"type": "NoiseLevelObserved"}).json() == []
    counted = broker.client.get(f"{BASE}/entities", params={"type": "NoiseLevelObserved", "count": "true", "limit": 0})
    assert counted.headers["NGSILD-Results-Count"] == "0"
    everywhere = broker.client.get(f"{BASE}/entities", params={"georel": "near;maxDistance==100000", "geometry": "Point", "coordinates": "[2.17,41.39]", "limit": 1000})
    assert not [e for e in everywhere.json() if e["type"] in ("NoiseLevelObserved", "OffStreetParking")]
    queried = broker.client.post(f"{BASE}/entityOperations/query", json={"type": "Query", "entities": [{"type": "NoiseLevelObserved"}]})
    assert queried.json() == []
    noise_id = "urn:ngsi-ld:NoiseLevelObserved:alpha:n0"
    assert broker.client.get(f"{BASE}/entities/{noise_id}").status_code == 404


def test_a_tenant_narrows_reads_to_a_city_and_an_unknown_one_is_nonexistent_tenant(broker):
    alpha = broker.client.get(f"{BASE}/entities", params={"type": "AirQualityObserved", "limit": 100}, headers={"NGSILD-Tenant": "alpha"}).json()
    assert alpha and all(":alpha:" in e["id"] for e in alpha)
    unknown = broker.client.get(f"{BASE}/entities", params={"type": "AirQualityObserved"}, headers={"NGSILD-Tenant": "atlantis"})
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/NonexistentTenant")


def test_types_and_attributes_with_details(broker):
    create(broker, VEHICLE)
    detail = broker.client.get(f"{BASE}/types/Vehicle").json()
    assert detail["typeName"] == "Vehicle" and detail["entityCount"] == 1
    kinds = {a["attributeName"]: a["attributeTypes"] for a in detail["attributeDetails"]}
    assert kinds == {"brandName": ["Property"], "isParked": ["Relationship"], "location": ["GeoProperty"], "speed": ["Property"]}
    listed = broker.client.get(f"{BASE}/types?details=true").json()
    vehicle = next(t for t in listed if t["typeName"] == "Vehicle")
    # Vehicle is a Smart Data Models type: its IRI is the models'
    assert vehicle["id"].startswith("https://smartdatamodels.org/dataModel.") and vehicle["id"].endswith("/Vehicle")
    assert vehicle["type"] == "EntityType" and vehicle["attributeNames"] == ["brandName", "isParked", "location", "speed"]
    speed = broker.client.get(f"{BASE}/attributes/speed").json()
    assert speed["attributeCount"] == 1 and speed["typeNames"] == ["Vehicle"]


def test_the_type_selection_language(broker):
    create(broker, VEHICLE)
    def ids(selection):
        return sorted(e["type"] for e in broker.client.get(f"{BASE}/entities", params={"type": selection, "limit": 1000}).json())
    assert set(ids("Vehicle,PointOfInterest")) == {"Vehicle", "PointOfInterest"}
    assert set(ids("(Vehicle|PointOfInterest)")) == {"Vehicle", "PointOfInterest"}
    assert ids("Vehicle;Vehicle") == ["Vehicle"]
    assert ids("Vehicle;PointOfInterest") == []  # an entity has one type here
    counted = broker.client.get(f"{BASE}/entities", params={"type": "Vehicle;PointOfInterest", "count": "true"})
    assert counted.headers["NGSILD-Results-Count"] == "0"


@pytest.mark.parametrize("path", [f"{BASE}/entities", f"{BASE}/temporal/entities", f"{BASE}/subscriptions"])
@pytest.mark.parametrize("offset", [2**31, 2**64, -1])
def test_an_offset_beyond_any_list_is_bad_request_data(broker, path, offset):
    params = {"offset": offset} | ({} if path.endswith("subscriptions") else {"type": "Vehicle"})
    answer = broker.client.get(path, params=params, headers=broker.lab)
    assert answer.status_code == 400, answer.text
    assert answer.json()["type"].endswith("/BadRequestData") and answer.json()["param"] == "offset"
