"""Open311 GeoReport v2 servers, read page by page from a real local HTTP server."""

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from icity.connectors import SourceError, SourceRequest, get_connector, validate_config
from icity.datamodels.registry import CORE_KEYS, get_registry
from icity.errors import ICityError
from icity.harmonise import Mapping, map_record
from tests.connectors.api_servers import HTML, INVALID_JSON, NOT_A_LIST, ApiServer, Open311Api
from tests.connectors.reading import read_feed

NOW = datetime.now(timezone.utc)


@pytest.fixture(scope="module")
def apis() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.close()


def service_request(number: int, **changes: Any) -> dict[str, Any]:
    """A service request as Cornellà's incident system would publish it."""
    requested = NOW - timedelta(hours=number + 1)
    return {
        "service_request_id": f"CR-{number:04d}",
        "status": "open",
        "status_notes": None,
        "service_name": "Enllumenat públic",
        "service_code": "LUM",
        "description": f"Fanal apagat núm. {number}",
        "agency_responsible": "Ajuntament de Cornellà - Via Pública",
        "service_notice": "",
        "requested_datetime": requested.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "updated_datetime": (requested + timedelta(minutes=30)).isoformat(timespec="seconds"),
        "expected_datetime": None,
        "address": "Carrer de Mossèn Jacint Verdaguer 12, Cornellà de Llobregat",
        "address_id": None,
        "zipcode": "08940",
        "lat": 41.3562,
        "long": 2.0701,
        "media_url": "https://cornella.example/media/cr.jpg",
    } | changes


def serve(apis: ApiServer, name: str, api: Open311Api) -> str:
    """Publish ``api`` under its own base path; the base URL the city registers."""
    base = apis.serve(f"/{name}/open311/v2/requests.json", api)
    return f"{base}/{name}/open311/v2/"


def test_pages_are_read_until_a_short_one(apis: ApiServer):
    api = Open311Api(requests=[service_request(i) for i in range(250)])
    records = read_feed(serve(apis, "paged", api), "open311", {"pageSize": 100})
    assert [call.params["page"] for call in api.calls] == ["1", "2", "3"]
    assert {call.params["page_size"] for call in api.calls} == {"100"}
    assert [record.number for record in records] == list(range(1, 251))
    assert [record.data["service_request_id"] for record in records] == [f"CR-{i:04d}" for i in range(250)]
    assert records[0].data == service_request(0) and records[0].problem is None


def test_without_a_page_size_one_request_reads_the_window(apis: ApiServer):
    api = Open311Api(requests=[service_request(i) for i in range(3)])
    records = read_feed(serve(apis, "single", api), "open311")
    assert len(records) == 3 and len(api.calls) == 1
    assert "page" not in api.calls[0].params and "page_size" not in api.calls[0].params


def test_the_filters_and_the_time_window_are_sent(apis: ApiServer):
    requests = [
        service_request(1),
        service_request(2, status="closed"),
        service_request(3, service_code="RES"),
        service_request(24 * 40, status="closed"),  # requested 40 days ago: outside a 30-day window
    ]
    api = Open311Api(requests=requests, api_key="clau-secreta")
    settings = {
        "jurisdictionId": "cornella.cat",
        "serviceCode": "LUM",
        "status": "closed",
        "days": 30,
        "apiKey": "clau-secreta",
    }
    records = read_feed(serve(apis, "filters", api), "open311", settings)
    assert [record.data["service_request_id"] for record in records] == ["CR-0002"]
    params = api.calls[0].params
    assert (params["jurisdiction_id"], params["service_code"], params["status"], params["api_key"]) == (
        "cornella.cat",
        "LUM",
        "closed",
        "clau-secreta",
    )
    start, end = (datetime.fromisoformat(params[name].replace("Z", "+00:00")) for name in ("start_date", "end_date"))
    assert end - start == timedelta(days=30)
    assert abs(end - datetime.now(timezone.utc)) < timedelta(minutes=1)


def test_a_server_that_ignores_paging_is_read_once(apis: ApiServer):
    # It sends everything at once: more than a page, so there is nothing more to ask for.
    api = Open311Api(requests=[service_request(i) for i in range(150)], paging=False)
    assert len(read_feed(serve(apis, "unpaged", api), "open311", {"pageSize": 100})) == 150
    assert len(api.calls) == 1
    # Exactly a page's worth: the second page repeats the first, which ends the run without duplicates.
    api = Open311Api(requests=[service_request(i) for i in range(100)], paging=False)
    records = read_feed(serve(apis, "unpaged-full", api), "open311", {"pageSize": 100})
    assert len(api.calls) == 2
    assert [record.number for record in records] == list(range(1, 101))


def test_a_server_error_is_retried(apis: ApiServer):
    api = Open311Api(requests=[service_request(i) for i in range(5)], faults={1: 500, 3: 503})
    records = read_feed(serve(apis, "flaky", api), "open311", {"pageSize": 3}, backoff_s=0)
    assert len(records) == 5
    assert [call.params["page"] for call in api.calls] == ["1", "1", "2", "2"]


@pytest.mark.parametrize(
    "fault, message",
    [
        (HTML, "answered an HTML page instead of JSON"),
        (INVALID_JSON, "did not answer valid JSON"),
        (NOT_A_LIST, "answered an object, not an array of service requests"),
        (500, "failed after 2 attempts: HTTP 500"),
    ],
)
def test_garbage_fails_the_run(apis: ApiServer, fault, message: str):
    api = Open311Api(requests=[service_request(1)], faults={1: fault, 2: fault})
    with pytest.raises(SourceError, match=message):
        read_feed(serve(apis, f"broken-{fault}", api), "open311", retries=1, backoff_s=0)


def test_garbage_on_a_later_page_fails_the_run_after_the_first_pages(apis: ApiServer):
    api = Open311Api(requests=[service_request(i) for i in range(5)], faults={2: INVALID_JSON})
    connector = get_connector("open311")
    seen = []
    with pytest.raises(SourceError, match="did not answer valid JSON"):
        config, request = validate_config("open311", {"pageSize": 2}), SourceRequest(serve(apis, "late", api))
        with connector.read(config, request) as reading:
            assert reading.not_modified is False
            for record in reading.records:
                seen.append(record.number)
    assert seen == [1, 2]


def test_a_refused_key_says_what_to_check_and_never_shows_the_key(apis: ApiServer):
    api = Open311Api(requests=[service_request(1)], api_key="la-bona")
    with pytest.raises(SourceError) as raised:
        read_feed(serve(apis, "keyed", api), "open311", {"apiKey": "la-dolenta"})
    assert "answered HTTP 403 Forbidden: check connector.apiKey." in raised.value.detail
    assert "la-dolenta" not in raised.value.detail


def test_a_wrong_base_url_says_which_url_is_expected(apis: ApiServer):
    base = apis.serve("/unused", Open311Api())
    with pytest.raises(SourceError, match="HTTP 404 Not Found: the URL must be the GeoReport v2 base"):
        read_feed(f"{base}/no/open311/here", "open311")


def test_an_error_array_sent_with_status_200_fails_the_run(apis: ApiServer):
    api = Open311Api(requests=[{"code": 400, "description": "Invalid jurisdiction_id"}])
    with pytest.raises(SourceError, match="answered an error: 400 Invalid jurisdiction_id"):
        read_feed(serve(apis, "error-200", api), "open311")


def test_an_item_that_is_not_an_object_is_flagged_and_the_rest_kept(apis: ApiServer):
    api = Open311Api(requests=[service_request(1), "CR-9", service_request(2)])
    records = read_feed(serve(apis, "mixed", api), "open311")
    assert [(record.number, record.problem) for record in records] == [
        (1, None),
        (2, "service request is a string, not an object"),
        (3, None),
    ]


def test_the_default_mapping_gives_valid_service_requests(apis: ApiServer):
    expected = "2026-12-01T09:00:00+01:00"
    closed = service_request(2, status="closed", status_notes="Reparat", expected_datetime=expected)
    bare = {"service_request_id": 777, "status": "open", "requested_datetime": "2026-11-20T10:00:00+01:00"}
    api = Open311Api(requests=[closed, bare])
    records = read_feed(serve(apis, "mapped", api), "open311")
    mapping = Mapping.parse(get_connector("open311").default_mapping(validate_config("open311", {})))
    model = get_registry().get("service_requests")
    entities = [map_record(mapping, record.data, "cornella") for record in records]
    for entity in entities:
        assert model.validate({k: v for k, v in entity.items() if k not in CORE_KEYS}) == []
    full, minimal = entities
    assert full["id"] == "urn:ngsi-ld:service_requests:cornella:CR-0002"
    assert full["type"] == "service_requests"
    assert full["location"] == {"type": "Point", "coordinates": [2.0701, 41.3562]}
    updated = datetime.fromisoformat(closed["updated_datetime"])
    assert full["observedAt"] == updated.astimezone(timezone.utc).isoformat()
    assert (full["status"], full["status_notes"], full["address_string"]) == ("closed", "Reparat", closed["address"])
    assert full["expected_datetime"] == "2026-12-01T08:00:00+00:00"
    assert "service_notice" not in full  # empty text is no value
    # Only what GeoReport v2 requires: no location, no update time, a numeric id.
    assert minimal["id"] == "urn:ngsi-ld:service_requests:cornella:777"
    assert minimal["service_request_id"] == "777"
    assert "location" not in minimal and "observedAt" not in minimal


def test_settings_are_checked():
    config = validate_config("open311", {"pageSize": 50, "serviceCode": "LUM"})
    assert (config.page_size, config.service_code, config.days, config.status) == (50, "LUM", 90, None)
    with pytest.raises(ICityError) as raised:
        validate_config("open311", {"pageSize": 0, "days": 91, "status": "pending", "format": "xml"})
    assert raised.value.status == 422
    paths = {problem.path: problem.detail for problem in raised.value.errors}
    assert set(paths) == {"connector.pageSize", "connector.days", "connector.status", "connector.format"}
    assert "Unknown setting" in paths["connector.format"]
