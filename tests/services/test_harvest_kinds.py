"""Every API and document kind harvested end to end into the database (SQLite and, in CI,
PostgreSQL), twice: the second run writes nothing. CSV is in test_harvest.py; iCalendar,
GTFS and Open311 in tests/demo/test_demo_harvest.py."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from icity.db.engine import transaction
from icity.services import sources
from icity.services.access import CLI
from tests.connectors.api_servers import ApiServer, BrokerApi
from tests.connectors.feed_server import Feed, FeedServer
from tests.sources import add_system, entities, observation_count, run

AIR = {
    "entityType": "AirQualityObserved",
    "id": {"field": "station"},
    "location": {"geojson": "location"},
    "observedAt": {"field": "dateObserved"},
    "attributes": {"no2": {"field": "no2", "type": "number"}, "name": {"field": "name"}},
}


def stations(count: int) -> list[dict]:
    return [
        {
            "id": f"urn:ngsi-ld:AirQualityObserved:st-{n:03d}",
            "station": f"st-{n:03d}",
            "type": "AirQualityObserved",
            "name": f"Estació {n}",
            "dateObserved": "2026-11-24T10:00:00Z",
            "no2": 20 + n % 50,
            "location": {"type": "Point", "coordinates": [2.10 + n / 10_000, 41.38]},
        }
        for n in range(count)
    ]


@pytest.fixture(scope="module")
def apis() -> Iterator[ApiServer]:
    server = ApiServer()
    yield server
    server.close()


def configure(url: str, system: str, connector: dict, mapping: dict | None) -> None:
    with transaction(url) as session:
        sources.configure(session, CLI, system, connector=connector, mapping=mapping, schedule=None, retire_missing=True)


def harvest_twice(url: str, system: str) -> tuple[dict, dict]:
    first = run(url, system)
    history = observation_count(url)
    second = run(url, system)
    assert observation_count(url) == history
    return first, second


@pytest.mark.parametrize("kind", ["ngsi-v2", "ngsi-ld"])
def test_a_context_broker_is_harvested_page_by_page(network_copy: str, apis: ApiServer, kind: str):
    ld = kind == "ngsi-ld"
    api = BrokerApi(ld=ld, tenants={"alpha": stations(230)})
    path = "ngsi-ld/v1/entities" if ld else "v2/entities"
    base = apis.serve(f"/{kind}-broker/{path}", api) + f"/{kind}-broker"
    system = add_system(network_copy, f"broker-{kind}")
    configure(
        network_copy, system,
        {"kind": kind, "url": base, "entityType": "AirQualityObserved", "tenant": "alpha", "pageSize": 100}, AIR,
    )  # fmt: skip
    first, second = harvest_twice(network_copy, system)
    assert (first["status"], first["fetched"], first["created"], first["rejected"]) == ("succeeded", 230, 230, 0), first["error"]
    assert len(api.calls) == 3 * 2  # three pages a run
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 230)
    stored = entities(network_copy, system)
    assert stored["st-007"].attributes["no2"] == 27 and stored["st-007"].lon == pytest.approx(2.1007)


def test_a_json_api_document_is_harvested(network_copy: str, feeds: FeedServer):
    body = orjson.dumps({"meta": {"count": 40}, "data": {"items": stations(40)}})
    url = feeds.serve("/kinds-air.json", Feed(body, "application/json"))
    system = add_system(network_copy, "json-air")
    configure(network_copy, system, {"kind": "json", "url": url, "recordsPath": "data.items"}, AIR)
    first, second = harvest_twice(network_copy, system)
    assert (first["fetched"], first["created"], second["unchanged"]) == (40, 40, 40)


def test_a_geojson_layer_is_harvested(network_copy: str, feeds: FeedServer):
    url = feeds.serve_fixture("wifi.geojson", "application/geo+json")
    system = add_system(network_copy, "wifi", "WifiPointOfInterest")
    mapping = {
        "entityType": "WifiPointOfInterest",
        "id": {"field": "nom"},
        "location": {"geojson": "geometry"},
        "attributes": {"name": {"field": "nom"}},
    }
    configure(network_copy, system, {"kind": "geojson", "url": url}, mapping)
    first, second = harvest_twice(network_copy, system)
    assert (first["fetched"], first["created"], second["unchanged"]) == (2, 2, 2)
    assert entities(network_copy, system)["Biblioteca%20Marta%20Mata"].lat == pytest.approx(41.3571)
