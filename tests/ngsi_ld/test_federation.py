"""One iCity opens another's information system through the standard: server B harvests, with
its `ngsi-ld` connector, the NGSI-LD API of server A (paging with limit/offset and
NGSILD-Results-Count, an app key of A in a header), and then serves A's entities, same ids and
values, through its own /api/v1 and /ngsi-ld/v1.

Both are real `icity serve` processes on databases of their own. alpha's air-quality IS on A
asks for approval, so what B reads depends on the key: without it, nothing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from icity.db.engine import transaction
from icity.services import catalogue, entity_store, harvest, sources
from icity.services.access import CLI
from tests import people
from tests.ngsi_ld.real_servers import open_city, open_system, serving

TYPE = "AirQualityObserved"
SYSTEM = "alpha/air"
PREFIX = f"urn:ngsi-ld:{TYPE}:alpha:"
T0 = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
STATIONS = 5
PAGE = 2  # B reads A in pages of 2: 2 + 2 + 1

# B's mapping of A's key-values entities: the ids stay A's (the URN prefix is stripped and put back)
MAPPING = {
    "entityType": TYPE,
    "id": {"field": "id", "stripPrefix": PREFIX},
    "location": {"geojson": "location"},
    "observedAt": {"field": "dateObserved"},
    "attributes": {
        "no2": {"field": "no2", "type": "number"},
        "airQualityLevel": {"field": "airQualityLevel"},
        "name": {"field": "name"},
        "dateObserved": {"field": "dateObserved", "type": "datetime"},
    },
}


def station(i: int) -> dict:
    observed = (T0 + timedelta(minutes=10 * i)).isoformat()
    return {
        "id": f"{PREFIX}s{i}",
        "type": TYPE,
        "location": {"type": "Point", "coordinates": [round(2.10 + i / 100, 2), 41.38]},
        "observedAt": observed,
        "dateObserved": observed,
        "no2": 12.5 * (i + 1),
        "airQualityLevel": "good" if i < 2 else "moderate",
        "name": f"Estació {i}",
    }


@pytest.fixture
def server_a(databases, tmp_path):
    """A: alpha/air (policy approval) with its stations; an app of a developer granted access; served."""
    url = databases.new()
    with transaction(url) as session:
        catalogue.ensure_categories(session)
        open_city(session)
        open_system(session, SYSTEM, TYPE, policy="approval")
        entity_store.upsert_entities(session, SYSTEM, [station(i) for i in range(STATIONS)])
        app, key = people.app_with_key(session, people.person(session, "mirror@b.example"), "B's harvester", plan="partner")
        people.grant(session, app, SYSTEM)
    (tmp_path / "a").mkdir()
    with serving(url, tmp_path / "a") as base:
        yield {"base": base, "key": key}


@pytest.fixture
def database_b(databases) -> str:
    """B: alpha again (the same city, on another iCity) with an empty alpha/air."""
    url = databases.new()
    with transaction(url) as session:
        catalogue.ensure_categories(session)
        open_city(session)
        open_system(session, SYSTEM, TYPE)
    return url


def harvest_from(database_b: str, base_a: str, **key: str) -> dict:
    connector = {"kind": "ngsi-ld", "url": base_a, "entityType": TYPE, "pageSize": PAGE, **key}
    with transaction(database_b) as session:
        sources.configure(session, CLI, SYSTEM, connector=connector, mapping=MAPPING, schedule=None, retire_missing=True)
    return harvest.run_now(SYSTEM, CLI, database_url=database_b)


def counts(run: dict) -> tuple:
    return run["status"], run["fetched"], run["created"], run["rejected"]


def key_values(base: str, headers: dict[str, str] | None = None) -> list[dict]:
    response = httpx.get(
        f"{base}/ngsi-ld/v1/entities", params={"type": TYPE, "options": "keyValues", "count": "true"}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["NGSILD-Results-Count"] == str(STATIONS)
    return sorted(response.json(), key=lambda entity: entity["id"])


def api_v1(base: str, headers: dict[str, str] | None = None) -> dict[str, dict]:
    response = httpx.get(f"{base}/api/v1/entities", params={"type": TYPE}, headers=headers)
    assert response.status_code == 200, response.text
    shown = ("id", "type", "location", "observedAt", "no2", "airQualityLevel", "name", "dateObserved")
    return {item["id"]: {name: item.get(name) for name in shown} for item in response.json()["items"]}


def test_one_icity_harvests_another_through_ngsi_ld_and_serves_the_same_entities(server_a, database_b, tmp_path):
    a = server_a["base"]
    # without A's key B reads nothing: the IS is not readable anonymously (and nothing is retired or made up)
    assert counts(harvest_from(database_b, a)) == ("succeeded", 0, 0, 0)
    run = harvest_from(database_b, a, apiKey=server_a["key"])
    assert counts(run) == ("succeeded", STATIONS, STATIONS, 0), run
    assert run["rejections"] == []

    a_key = {"X-API-Key": server_a["key"]}
    (tmp_path / "b").mkdir()
    with serving(database_b, tmp_path / "b") as b:
        # B serves A's entities, same ids and values, through both of its APIs (anonymously: public on B)
        assert api_v1(b) == api_v1(a, a_key)
        assert sorted(api_v1(b)) == [f"{PREFIX}s{i}" for i in range(STATIONS)]
        assert key_values(b) == key_values(a, a_key)
        assert key_values(b)[3] | {"dateObserved": None} == {
            "id": f"{PREFIX}s3",
            "type": TYPE,
            "location": {"type": "Point", "coordinates": [2.13, 41.38]},
            "no2": 50.0,
            "airQualityLevel": "moderate",
            "name": "Estació 3",
            "dateObserved": None,
        }
        # one entity, normalized: the same on both
        normalized = [
            httpx.get(f"{base}/ngsi-ld/v1/entities/{PREFIX}s0", headers={"Accept": "application/json", **headers})
            for base, headers in ((a, a_key), (b, {}))
        ]
        assert [response.status_code for response in normalized] == [200, 200]
        assert normalized[1].json() == normalized[0].json()
        assert normalized[1].json()["no2"] == {"type": "Property", "value": 12.5}

    # a second run finds nothing new: same entities, unchanged
    again = harvest_from(database_b, a, apiKey=server_a["key"])
    assert (again["status"], again["fetched"], again["created"], again["unchanged"]) == ("succeeded", STATIONS, 0, STATIONS)
