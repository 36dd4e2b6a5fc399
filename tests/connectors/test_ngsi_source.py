"""NGSI-v2 and NGSI-LD context brokers, read page by page from a real local HTTP server."""

from collections.abc import Iterator
from typing import Any

import pytest

from icity.connectors import SourceError, validate_config
from icity.datamodels.registry import CORE_KEYS, get_registry
from icity.errors import ICityError
from icity.harmonise import Mapping, map_record
from tests.connectors.api_servers import HTML, INVALID_JSON, NOT_A_LIST, ApiServer, BrokerApi
from tests.connectors.reading import read_feed

# The mapping a city writes for its air-quality entities (there is no default one for NGSI).
AIR_MAPPING = {
    "entityType": "AirQualityObserved",
    "id": {"field": "id"},
    "location": {"geojson": "location"},
    "observedAt": {"field": "dateObserved"},
    "attributes": {"no2": {"field": "no2", "type": "number"}, "refDevice": {"field": "refDevice"}},
}


@pytest.fixture(scope="module")
def apis() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.close()


def station(number: int, **changes: Any) -> dict[str, Any]:
    """An air-quality entity in key-values form, as a city's Orion holds it."""
    return {
        "id": f"urn:ngsi-ld:AirQualityObserved:cornella-{number:03d}",
        "type": "AirQualityObserved",
        "dateObserved": "2026-11-24T10:00:00Z",
        "no2": 20 + number % 50,
        "location": {"type": "Point", "coordinates": [2.07 + number / 10_000, 41.35]},
        "refDevice": f"urn:ngsi-ld:Device:sensor-{number}",
    } | changes


def serve_v2(apis: ApiServer, name: str, api: BrokerApi) -> str:
    """Publish ``api`` as the broker at ``/{name}``; the broker base URL the city registers."""
    return apis.serve(f"/{name}/v2/entities", api) + f"/{name}"


def serve_ld(apis: ApiServer, name: str, api: BrokerApi) -> str:
    return apis.serve(f"/{name}/ngsi-ld/v1/entities", api) + f"/{name}/"


def test_v2_entities_are_read_page_by_page(apis: ApiServer):
    api = BrokerApi(tenants={None: [station(i) for i in range(250)]})
    records = read_feed(serve_v2(apis, "v2-paged", api), "ngsi-v2", {"entityType": "AirQualityObserved"})
    assert [(call.params["offset"], call.params["limit"]) for call in api.calls] == [
        ("0", "100"),
        ("100", "100"),
        ("200", "100"),
    ]
    assert {(call.params["type"], call.params["options"]) for call in api.calls} == {
        ("AirQualityObserved", "keyValues,count")
    }
    assert [record.number for record in records] == list(range(1, 251))
    assert [record.data for record in records] == [station(i) for i in range(250)]


def test_the_total_count_saves_asking_for_an_empty_page(apis: ApiServer):
    api = BrokerApi(tenants={None: [station(i) for i in range(200)]})
    records = read_feed(serve_v2(apis, "v2-count", api), "ngsi-v2", {"entityType": "AirQualityObserved"})
    assert len(records) == 200 and len(api.calls) == 2


def test_v2_tenant_service_path_filter_and_attributes_are_sent(apis: ApiServer):
    entities = [
        station(1, servicePath="/cornella/aire", no2=55),
        station(2, servicePath="/cornella/aire", no2=12),
        station(3, servicePath="/cornella/soroll", no2=70),
        {"id": "urn:ngsi-ld:WeatherObserved:1", "type": "WeatherObserved", "servicePath": "/cornella/aire"},
    ]
    api = BrokerApi(tenants={"cornella": entities, None: [station(9)]})
    settings = {
        "entityType": "AirQualityObserved",
        "tenant": "cornella",
        "servicePath": "/cornella/aire",
        "q": "no2>40",
        "attrs": ["no2", "location"],
        "pageSize": 10,
    }
    records = read_feed(serve_v2(apis, "v2-filtered", api), "ngsi-v2", settings)
    assert [record.data for record in records] == [
        {"id": station(1)["id"], "type": "AirQualityObserved", "no2": 55, "location": station(1)["location"]}
    ]
    call = api.calls[0]
    assert (call.params["q"], call.params["attrs"], call.params["limit"]) == ("no2>40", "no2,location", "10")
    assert (call.headers["fiware-service"], call.headers["fiware-servicepath"]) == ("cornella", "/cornella/aire")


def test_ld_entities_are_read_page_by_page_with_tenant_and_context(apis: ApiServer):
    api = BrokerApi(ld=True, tenants={"cornella": [station(i) for i in range(250)]})
    context = "https://smartdatamodels.org/context.jsonld"
    settings = {"entityType": "AirQualityObserved", "tenant": "cornella", "context": context, "q": "no2>0"}
    records = read_feed(serve_ld(apis, "ld-paged", api), "ngsi-ld", settings)
    assert [call.params["offset"] for call in api.calls] == ["0", "100", "200"]
    call = api.calls[0]
    assert (call.params["type"], call.params["options"], call.params["count"], call.params["q"]) == (
        "AirQualityObserved",
        "keyValues",
        "true",
        "no2>0",
    )
    assert (call.headers["accept"], call.headers["ngsild-tenant"]) == ("application/json", "cornella")
    assert call.headers["link"].startswith(f"<{context}>; rel=\"http://www.w3.org/ns/json-ld#context\"")
    assert [record.data for record in records] == [station(i) for i in range(250)]


@pytest.mark.parametrize("ld", [False, True])
def test_a_broker_that_ignores_key_values_is_flattened(apis: ApiServer, ld: bool):
    api = BrokerApi(ld=ld, normalized=True, tenants={None: [station(1), station(2)]})
    serve = serve_ld if ld else serve_v2
    kind = "ngsi-ld" if ld else "ngsi-v2"
    records = read_feed(serve(apis, f"normalized-{ld}", api), kind, {"entityType": "AirQualityObserved"})
    # v2 'Number'/'Text'/'geo:json' values, LD Property/GeoProperty values and Relationship objects; no @context
    assert [record.data for record in records] == [station(1), station(2)]


def test_ld_typed_values_become_plain_values(apis: ApiServer):
    observed = {"@type": "DateTime", "@value": "2026-11-24T10:00:00Z"}
    entity = station(1, dateObserved=observed) | {"@context": ["https://x.example/ctx"]}
    api = BrokerApi(ld=True, tenants={None: [entity]})
    records = read_feed(serve_ld(apis, "ld-typed", api), "ngsi-ld", {"entityType": "AirQualityObserved"})
    assert records[0].data == station(1)


def test_a_broker_that_ignores_offset_stops_at_the_repeated_page(apis: ApiServer):
    api = BrokerApi(ignores_offset=True, tenants={None: [station(i) for i in range(250)]})
    records = read_feed(serve_v2(apis, "v2-no-offset", api), "ngsi-v2", {"entityType": "AirQualityObserved"})
    assert len(api.calls) == 2
    assert [record.number for record in records] == list(range(1, 101))


def test_no_entities_is_no_records(apis: ApiServer):
    api = BrokerApi(ld=True)
    assert read_feed(serve_ld(apis, "ld-empty", api), "ngsi-ld", {"entityType": "AirQualityObserved"}) == []
    assert len(api.calls) == 1


def test_a_server_error_is_retried(apis: ApiServer):
    api = BrokerApi(tenants={None: [station(i) for i in range(3)]}, faults={2: 502})
    settings = {"entityType": "AirQualityObserved", "pageSize": 2}
    records = read_feed(serve_v2(apis, "v2-flaky", api), "ngsi-v2", settings, backoff_s=0)
    assert len(records) == 3
    assert [call.params["offset"] for call in api.calls] == ["0", "2", "2"]


@pytest.mark.parametrize(
    "fault, message",
    [
        (HTML, "answered an HTML page instead of JSON"),
        (INVALID_JSON, "did not answer valid JSON"),
        (NOT_A_LIST, "The NGSI-LD broker answered an object, not an array of entities"),
        (500, "failed after 2 attempts: HTTP 500"),
    ],
)
def test_garbage_fails_the_run(apis: ApiServer, fault, message: str):
    api = BrokerApi(ld=True, tenants={None: [station(1)]}, faults={1: fault, 2: fault})
    with pytest.raises(SourceError, match=message):
        url = serve_ld(apis, f"ld-broken-{fault}", api)
        read_feed(url, "ngsi-ld", {"entityType": "AirQualityObserved"}, retries=1, backoff_s=0)


def test_a_refusal_says_what_to_check(apis: ApiServer):
    api = BrokerApi(max_limit=500, tenants={None: [station(1)]})
    with pytest.raises(SourceError, match="answered HTTP 400 Bad Request: check connector.entityType, connector.q"):
        read_feed(serve_v2(apis, "v2-strict", api), "ngsi-v2", {"entityType": "AirQualityObserved", "pageSize": 1000})
    assert len(api.calls) == 1  # a 4xx is not retried
    base = apis.serve("/unused-broker", BrokerApi())
    with pytest.raises(SourceError, match="HTTP 404 Not Found: the URL must be the broker base"):
        read_feed(f"{base}/orion/wrong", "ngsi-v2", {"entityType": "AirQualityObserved"})


def test_an_entity_that_is_not_an_object_is_flagged_and_the_rest_kept(apis: ApiServer):
    api = BrokerApi(tenants={None: [station(1), ["not", "an", "entity"], station(2)]})
    api_records = read_feed(serve_v2(apis, "v2-mixed", api), "ngsi-v2", {"entityType": "AirQualityObserved"})
    assert [(record.number, record.problem) for record in api_records] == [
        (1, None),
        (2, "entity is a list, not an object"),
        (3, None),
    ]


@pytest.mark.parametrize("normalized", [False, True])
def test_a_city_mapping_turns_broker_entities_into_valid_entities(apis: ApiServer, normalized: bool):
    api = BrokerApi(ld=True, normalized=normalized, tenants={None: [station(1), station(2)]})
    url = serve_ld(apis, f"ld-mapped-{normalized}", api)
    records = read_feed(url, "ngsi-ld", {"entityType": "AirQualityObserved"})
    mapping = Mapping.parse(AIR_MAPPING)
    entities = [map_record(mapping, record.data, "cornella") for record in records]
    model = get_registry().get("AirQualityObserved")
    for entity in entities:
        assert model.validate({k: v for k, v in entity.items() if k not in CORE_KEYS}) == []
    first = entities[0]
    # the broker's URN is the local id, percent-encoded where needed
    assert first["id"] == "urn:ngsi-ld:AirQualityObserved:cornella:urn:ngsi-ld:AirQualityObserved:cornella-001"
    assert first["location"] == {"type": "Point", "coordinates": [2.0701, 41.35]}
    assert (first["no2"], first["observedAt"]) == (21.0, "2026-11-24T10:00:00+00:00")
    assert first["refDevice"] == "urn:ngsi-ld:Device:sensor-1"


def test_settings_are_checked():
    config = validate_config("ngsi-v2", {"entityType": " AirQualityObserved ", "servicePath": "/aire"})
    assert (config.entity_type, config.page_size, config.service_path) == ("AirQualityObserved", 100, "/aire")
    with pytest.raises(ICityError) as raised:
        validate_config("ngsi-v2", {"pageSize": 0, "servicePath": "aire", "attrs": []})
    assert raised.value.status == 422
    paths = {problem.path: problem.detail for problem in raised.value.errors}
    assert set(paths) == {"connector.entityType", "connector.pageSize", "connector.servicePath", "connector.attrs"}
    assert "starts with '/'" in paths["connector.servicePath"]
    with pytest.raises(ICityError) as raised:
        validate_config("ngsi-ld", {"entityType": "", "pageSize": 1001, "servicePath": "/aire"})
    paths = {problem.path: problem.detail for problem in raised.value.errors}
    assert set(paths) == {"connector.entityType", "connector.pageSize", "connector.servicePath"}
    assert "Unknown setting" in paths["connector.servicePath"]
    assert "Give the entity type" in paths["connector.entityType"]


@pytest.mark.parametrize("ld", [False, True])
def test_a_key_goes_in_the_header_the_broker_wants(apis: ApiServer, ld: bool):
    serve, kind = (serve_ld, "ngsi-ld") if ld else (serve_v2, "ngsi-v2")
    api = BrokerApi(ld=ld, api_key="ick_abcd1234_s3cret", tenants={None: [station(i) for i in range(3)]})
    url = serve(apis, f"keyed-{ld}", api)
    settings = {"entityType": "AirQualityObserved", "apiKey": "ick_abcd1234_s3cret", "pageSize": 2}
    assert [record.data for record in read_feed(url, kind, settings)] == [station(i) for i in range(3)]
    assert [call.headers["x-api-key"] for call in api.calls] == ["ick_abcd1234_s3cret"] * 2  # every page
    # a gateway's own header (Keyrock/Wilma: X-Auth-Token), or a bearer token in Authorization
    for header, key in (("X-Auth-Token", "t0ken"), ("Authorization", "Bearer t0ken")):
        api = BrokerApi(ld=ld, api_key=key, key_header=header.lower(), tenants={None: [station(1)]})
        url = serve(apis, f"keyed-{ld}-{header}", api)
        records = read_feed(url, kind, {"entityType": "AirQualityObserved", "apiKey": key, "apiKeyHeader": header})
        assert [record.data for record in records] == [station(1)]
        assert "x-api-key" not in api.calls[0].headers


def test_a_missing_or_wrong_key_says_what_to_check_and_never_shows_the_key(apis: ApiServer):
    api = BrokerApi(ld=True, api_key="ick_abcd1234_s3cret", tenants={None: [station(1)]})
    url = serve_ld(apis, "keyed-refused", api)
    for settings in ({}, {"apiKey": "ick_abcd1234_wrong"}, {"apiKey": "ick_abcd1234_s3cret", "apiKeyHeader": "X-Other"}):
        with pytest.raises(SourceError) as raised:
            read_feed(url, "ngsi-ld", {"entityType": "AirQualityObserved", **settings})
        assert "HTTP 401" in raised.value.detail and "check connector.apiKey and connector.apiKeyHeader" in raised.value.detail
        assert "s3cret" not in raised.value.detail and "wrong" not in raised.value.detail
    assert len(api.calls) == 3  # a refusal is not retried


def test_key_settings_are_checked():
    config = validate_config("ngsi-ld", {"entityType": "AirQualityObserved", "apiKey": "k", "apiKeyHeader": "X-Auth-Token"})
    assert config.key_headers() == {"X-Auth-Token": "k"}
    assert validate_config("ngsi-ld", {"entityType": "AirQualityObserved", "apiKey": "k"}).key_headers() == {"X-API-Key": "k"}
    assert validate_config("ngsi-ld", {"entityType": "AirQualityObserved"}).key_headers() == {}
    for settings, wrong in (
        ({"apiKeyHeader": "X API Key", "apiKey": "k"}, "letters, digits and -"),
        ({"apiKeyHeader": "NGSILD-Tenant", "apiKey": "k"}, "sets 'NGSILD-Tenant' itself"),
        ({"apiKeyHeader": "X-Auth-Token"}, "give apiKey too"),
        ({"apiKey": "k\r\nX-Injected: 1"}, "one line"),
        ({"apiKey": ""}, "at least 1 character"),
    ):
        with pytest.raises(ICityError) as raised:
            validate_config("ngsi-ld", {"entityType": "AirQualityObserved", **settings})
        assert raised.value.status == 422
        assert any(wrong in problem.detail for problem in raised.value.errors), raised.value.errors
