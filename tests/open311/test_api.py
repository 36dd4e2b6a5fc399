"""Open311 GeoReport v2 request by request: both formats, every JSON answer checked against the spec's
schemas, bad inputs answered with the spec's error arrays and nothing written — SQLite and PostgreSQL."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest
from sqlalchemy import func, select

from icity.db.engine import new_session
from icity.db.models import AuditEvent, Entity
from tests.open311.schemas import validate

pytestmark = pytest.mark.postgres_ok

V2 = "/open311/v2"


def requests_stored(url: str) -> int:
    with new_session(url) as session:
        return session.scalar(select(func.count()).select_from(Entity).where(Entity.type == "service_requests"))


def report(world, **fields):
    return {"jurisdiction_id": "alpha", "service_code": "pothole", "lat": "41.41", "long": "2.12",
            "attribute[depth]": "deep", "api_key": world.key, **fields}  # fmt: skip


def test_services_and_definitions_in_json_and_xml(client):
    listed = client.get(f"{V2}/services.json", params={"jurisdiction_id": "alpha"})
    assert listed.status_code == 200
    validate("services.json", listed.json())
    assert [s["service_code"] for s in listed.json()] == ["graffiti", "pothole"]
    assert listed.json()[1] == {"service_code": "pothole", "service_name": "Pothole in the road",
                                "description": "A hole in the road surface", "metadata": True, "type": "realtime",
                                "keywords": "road, hole", "group": "Roads"}  # fmt: skip
    definition = client.get(f"{V2}/services/pothole.json", params={"jurisdiction_id": "alpha"}).json()
    validate("service-definition.json", definition)
    assert [a["code"] for a in definition["attributes"]] == ["depth", "lanes"]
    xml = ElementTree.fromstring(client.get(f"{V2}/services/pothole.xml", params={"jurisdiction_id": "alpha"}).content)
    assert xml.tag == "service_definition"
    assert [v.findtext("key") for v in xml.iter("value")] == ["shallow", "deep"]
    assert xml.find("attributes/attribute/required").text == "true"
    services = ElementTree.fromstring(client.get(f"{V2}/services.xml", params={"jurisdiction_id": "alpha"}).content)
    assert [s.findtext("service_code") for s in services.findall("service")] == ["graffiti", "pothole"]


def test_requests_default_window_filters_and_paging(client):
    def codes(**params):
        answer = client.get(f"{V2}/requests.json", params={"jurisdiction_id": "alpha", **params})
        assert answer.status_code == 200, answer.text
        validate("requests.json", answer.json()) if answer.json() else None
        return [r["service_request_id"] for r in answer.json()]

    assert codes() == ["R-1", "R-2"]  # newest first; R-3 is older than 90 days
    assert codes(status="closed") == ["R-2"]
    assert codes(service_code="graffiti,pothole", status="open,closed") == ["R-1", "R-2"]
    assert codes(service_request_id="R-3,R-1") == ["R-1", "R-3"]  # ids override the window
    assert codes(start_date="2000-01-01T00:00:00Z", end_date="2000-02-01T00:00:00+01:00") == []
    assert codes(page_size="1") == ["R-1"] and codes(page_size="1", page="2") == ["R-2"] and codes(page="3", page_size="1") == []
    one = client.get(f"{V2}/requests/R-1.json", params={"jurisdiction_id": "alpha"}).json()
    validate("requests.json", one)
    assert len(one) == 1 and one[0]["lat"] == 41.4 and one[0]["requested_datetime"].endswith("Z")
    xml = ElementTree.fromstring(client.get(f"{V2}/requests/R-1.xml", params={"jurisdiction_id": "alpha"}).content)
    assert xml.tag == "service_requests" and xml.findtext("request/service_request_id") == "R-1"


def test_discovery_names_the_jurisdictions(client):
    body = client.get(f"{V2}/discovery.json").json()
    assert [j["jurisdiction_id"] for j in body["jurisdictions"]] == ["alpha", "beta"]
    assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ElementTree.fromstring(client.get(f"{V2}/discovery.xml").content).findtext("endpoints/endpoint/type") == "production"


def test_a_report_is_stored_as_a_service_request_entity(client, world, db_url):
    answer = client.post(f"{V2}/requests.json", data=report(world, **{"attribute[lanes]": "2", "description": "Big hole",
                                                                       "media_url": "https://img.example/1.jpg",
                                                                       "email": "citizen@example.com"}))  # fmt: skip
    assert answer.status_code == 200, answer.text
    request_id = answer.json()[0]["service_request_id"]
    stored = client.get(f"{V2}/requests/{request_id}.json", params={"jurisdiction_id": "alpha"}).json()
    validate("requests.json", stored)
    assert stored[0] | {"requested_datetime": None, "updated_datetime": None} == {
        "service_request_id": request_id, "status": "open", "status_notes": None, "service_name": "Pothole in the road",
        "service_code": "pothole", "description": "Big hole", "agency_responsible": None, "service_notice": None,
        "requested_datetime": None, "updated_datetime": None, "expected_datetime": None, "address": None,
        "address_id": None, "zipcode": None, "lat": 41.41, "long": 2.12, "media_url": "https://img.example/1.jpg",
    }  # fmt: skip
    # the same entity through /api/v1, with the attributes asked for and without the reporter's email
    entity = client.get(f"/api/v1/entities/urn:ngsi-ld:service_requests:alpha:{request_id}").json()
    assert entity["attributes"] == [{"code": "depth", "value": "deep"}, {"code": "lanes", "value": "2"}]
    assert "citizen@example.com" not in str(entity)
    assert client.get(f"{V2}/tokens/{request_id}.json", params={"jurisdiction_id": "alpha"}).json() == [
        {"token": request_id, "service_request_id": request_id}
    ]
    with new_session(db_url) as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "service_request.reported")) == 1


def test_an_address_alone_is_a_location(client, world):
    answer = client.post(f"{V2}/requests.xml", data=report(world, lat="", long="", address_string="Plaça 1"))
    assert answer.status_code == 200
    request_id = ElementTree.fromstring(answer.content).findtext("request/service_request_id")
    assert client.get(f"{V2}/requests/{request_id}.json", params={"jurisdiction_id": "alpha"}).json()[0]["address"] == "Plaça 1"


BAD_REPORTS = [
    ({"service_code": "lasers"}, 400, "offers no service 'lasers'"),
    ({"service_code": ""}, 400, "service_code is required"),
    ({"lat": "", "long": ""}, 400, "a location is required"),
    ({"lat": "91"}, 400, "lat must be a number"),
    ({"long": ""}, 400, "give lat and long together"),
    ({"attribute[depth]": ""}, 400, "attribute[depth] is required"),
    ({"attribute[depth]": "bottomless"}, 400, "attribute[depth] takes one of deep, shallow"),
    ({"attribute[lanes]": "many"}, 400, "attribute[lanes] is a number"),
    ({"attribute[colour]": "red"}, 400, "has no attribute 'colour'"),
    ({"media_url": "file:///etc/passwd"}, 400, "media_url must be an http(s) URL"),
    ({"description": "x" * 4001}, 400, "at most 4000"),
    ({"api_key": "ick_nope_nope"}, 403, "API key is not valid"),
    ({"api_key": ""}, 403, "Reporting needs an api_key"),
    ({"jurisdiction_id": "nowhere"}, 404, "No jurisdiction with id 'nowhere'"),
    ({"jurisdiction_id": "gamma"}, 404, "takes no service requests"),
    ({"jurisdiction_id": ""}, 400, "jurisdiction_id is required"),
    ({"jurisdiction_id": "beta"}, 403, "not readable with this key"),  # beta's IS needs a grant
]


@pytest.mark.parametrize(("change", "status", "words"), BAD_REPORTS)
def test_bad_reports_get_the_spec_error_array_and_write_nothing(client, world, db_url, change, status, words):
    before = requests_stored(db_url)
    for format_ in ("json", "xml"):
        answer = client.post(f"{V2}/requests.{format_}", data=report(world, **change))
        assert answer.status_code == status, answer.text
        if format_ == "json":
            [error] = answer.json()
            assert error["code"] == status and words in error["description"], error
        else:
            xml = ElementTree.fromstring(answer.content)
            assert xml.tag == "errors" and xml.findtext("error/code") == str(status) and words in xml.findtext("error/description")
    assert requests_stored(db_url) == before


BAD_READS = [
    ("/requests.json", {"start_date": "yesterday"}, 400),
    ("/requests.json", {"end_date": "2026-01-01T00:00:00"}, 400),  # no zone
    ("/requests.json", {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, 400),  # > 90 days
    ("/requests.json", {"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, 400),
    ("/requests.json", {"page_size": "1001"}, 400),
    ("/requests.json", {"page_size": "0"}, 400),
    ("/requests.json", {"page": "x"}, 400),
    ("/requests.json", {"status": "pending"}, 400),
    ("/requests.json", {"jurisdiction_id": "nowhere"}, 404),
    ("/requests.json", {"jurisdiction_id": ""}, 400),
    ("/requests.json", {"api_key": "ick_nope_nope"}, 403),
    ("/requests/R-404.json", {}, 404),
    ("/services/lasers.json", {}, 404),
    ("/services.json", {"jurisdiction_id": "beta"}, 403),
    ("/requests.csv", {}, 404),
]


@pytest.mark.parametrize(("path", "params", "status"), BAD_READS)
def test_bad_reads_get_the_spec_error_array(client, path, params, status):
    answer = client.get(V2 + path, params={"jurisdiction_id": "alpha", **params})
    assert answer.status_code == status, answer.text
    [error] = answer.json()
    assert error["code"] == status and error["description"]


def test_a_granted_key_reads_and_reports_in_an_approval_city(client, world):
    params = {"jurisdiction_id": "beta", "api_key": world.granted_key}
    assert [r["service_request_id"] for r in client.get(f"{V2}/requests.json", params=params).json()] == ["R-1", "R-2"]
    answer = client.post(f"{V2}/requests.json", data=report(world, jurisdiction_id="beta", api_key=world.granted_key))
    assert answer.status_code == 200, answer.text


def test_keyed_calls_are_metered_for_the_incident_system_and_rate_limited(db_url, world):
    from datetime import datetime, timezone

    from fastapi.testclient import TestClient

    from icity.app import create_app
    from icity.db.models import UsageDay

    application = create_app(db_url)
    client, meter = TestClient(application), application.state.usage_meter
    read = client.get(f"{V2}/requests.json", params={"jurisdiction_id": "alpha", "api_key": world.key})
    filed = client.post(f"{V2}/requests.json", data=report(world))
    assert read.status_code == filed.status_code == 200
    assert "ratelimit-limit" in {name.lower() for name in read.headers}
    meter.flush()
    with new_session(db_url) as session:
        rows = session.scalars(select(UsageDay).where(UsageDay.day == datetime.now(timezone.utc).date())).all()
        assert {(r.information_system_id, r.calls, r.errors) for r in rows} == {("alpha/incidents", 2, 0)}
        assert rows[0].bytes_out == len(read.content) + len(filed.content)
