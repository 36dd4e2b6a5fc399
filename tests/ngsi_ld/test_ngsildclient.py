"""An independent NGSI-LD client from PyPI, unmodified: ngsildclient 0.5.2 (Orange), in a venv of
its own (`make clients`: it pins httpx<0.24 and other old libraries that conflict with iCity's),
creates, upserts, queries with paging and count, reads types, gets and deletes against a real
`icity serve`, writing with a provider token of the information system."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from icity.db.engine import transaction
from tests.ngsi_ld.real_servers import open_city, open_system, provider_token, serving

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-ngsildclient" / "bin" / "python"
SESSION = Path(__file__).with_name("ngsildclient_session.py")
TYPE = "AirQualityObserved"
OBSERVED = "2024-05-01T10:00:00Z"


def urn(local: str) -> str:
    return f"urn:ngsi-ld:{TYPE}:alpha:{local}"


@pytest.fixture
def alpha(db_url: str, tmp_path) -> dict[str, str]:
    """alpha/air, public and open, empty; a provider token to write into it; a real server."""
    with transaction(db_url) as session:
        open_city(session)
        open_system(session, "alpha/air", TYPE)
        token = provider_token(session, "alpha/air")
    with serving(db_url, tmp_path) as base:
        yield {"base": base, "token": token}


def run_ngsildclient(base: str, token: str, scenario: str = "session") -> dict:
    assert PYTHON.exists(), "ngsildclient's venv is missing: run `make clients` (make test does)"
    done = subprocess.run([str(PYTHON), str(SESSION), base, token, scenario], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_ngsildclient_creates_upserts_queries_pages_counts_and_deletes(alpha):
    out = run_ngsildclient(alpha["base"], alpha["token"])
    # paging: offset 0, 4, 8 with limit 4 → 4, 2 and 0 entities, none twice, all six
    pages, got = out.pop("pages"), out.pop("get")
    assert [len(page) for page in pages] == [4, 2, 0]
    assert sorted(sum(pages, [])) == [urn(f"s{n}") for n in range(1, 7)]
    assert out == {
        "connected": True,
        "createOne": True,
        "batchCreate": {"success": [urn(f"s{n}") for n in range(2, 6)], "errors": []},
        "upsertOne": True,
        "batchUpsert": {"ok": True, "errors": []},
        "count": 6,
        "countQ": 3,  # no2 > 30: s4, s5, s6
        "queryPaged": {urn("s1"): 15.0, urn("s2"): 20.0, urn("s3"): 30.0, urn("s4"): 40.0, urn("s5"): 55.0, urn("s6"): 60.0},
        "queryQPaged": {urn("s4"): 40.0, urn("s5"): 55.0, urn("s6"): 60.0},
        "queryHead": 2,
        "types": [TYPE],
        "getHasContext": True,
        "getEntity": {"type": "Property", "value": "Station s6"},
        "exists": True,
        "deleteOne": True,
        "batchDelete": {"ok": True, "errors": []},
        "existsAfterDelete": False,
        "getAfterDelete": "NgsiResourceNotFoundError",
        "createExisting": "NgsiAlreadyExistsError",
        "countAfterDelete": 3,
        "remaining": [urn("s4"), urn("s5"), urn("s6")],
    }
    # one store: what ngsildclient wrote is what /api/v1 serves
    page = httpx.get(f"{alpha['base']}/api/v1/entities", params={"type": TYPE}).json()
    assert {item["id"]: item["no2"] for item in page["items"]} == {urn("s4"): 40.0, urn("s5"): 55.0, urn("s6"): 60.0}
    # what ngsildclient created (normalized, core context) is read back the same, and nothing more
    assert got == {
        "id": urn("s1"),
        "type": TYPE,
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.11, 41.38]}},
        "no2": {"type": "Property", "value": 15.0, "unitCode": "GQ", "observedAt": OBSERVED},
        "airQualityLevel": {"type": "Property", "value": "good"},
        "name": {"type": "Property", "value": "Station s1"},
    }


def test_a_date_time_written_as_a_typed_value_reads_back_the_same(alpha):
    """ngsildclient writes DateTime values the spec's way, {"@type": "DateTime", "@value": …}."""
    assert run_ngsildclient(alpha["base"], alpha["token"], "typed-datetime") == {
        "create": "no error",
        "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": OBSERVED}},
    }


def test_without_the_provider_token_ngsi_ld_writes_are_refused_and_store_nothing(alpha):
    base = alpha["base"]
    entity = {"id": urn("x1"), "type": TYPE, "no2": {"type": "Property", "value": 1.0}}
    ld = {"Content-Type": "application/json"}
    assert httpx.post(f"{base}/ngsi-ld/v1/entities", json=entity, headers=ld).status_code == 401
    assert httpx.post(f"{base}/ngsi-ld/v1/entityOperations/upsert", json=[entity], headers=ld).status_code == 401
    listed = httpx.get(f"{base}/ngsi-ld/v1/entities", params={"type": TYPE, "count": "true"})
    assert listed.status_code == 200
    assert listed.json() == [] and listed.headers["NGSILD-Results-Count"] == "0"


# alpha s1's no2: three values in the hour from 10:00, two in the next
NO2_HISTORY = [(20.0, "2024-05-01T10:00:00Z"), (30.0, "2024-05-01T10:20:00Z"), (40.0, "2024-05-01T10:40:00Z"),
               (50.0, "2024-05-01T11:00:00Z"), (70.0, "2024-05-01T11:30:00Z")]  # fmt: skip


def test_ngsildclient_reads_a_temporal_entity_simplified_normalized_and_aggregated(alpha):
    station = {"id": urn("s1"), "type": TYPE, "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.11, 41.38]}},
               "no2": [{"type": "Property", "value": value, "observedAt": at} for value, at in NO2_HISTORY]}  # fmt: skip
    created = httpx.post(f"{alpha['base']}/ngsi-ld/v1/temporal/entities", json=station, headers={"Authorization": f"Bearer {alpha['token']}"},
                         timeout=60)  # the first write loads the Smart Data Models
    assert created.status_code == 201, created.text
    out = run_ngsildclient(alpha["base"], alpha["token"], "temporal")
    assert out["temporalValues"] == {"id": urn("s1"), "type": TYPE, "no2": {"type": "Property", "values": [[v, t] for v, t in NO2_HISTORY]}}
    normalized = out["normalized"]["no2"]
    assert [(i["value"], i["observedAt"]) for i in normalized] == NO2_HISTORY
    assert all(i["type"] == "Property" and i["instanceId"].startswith("urn:ngsi-ld:Instance:") for i in normalized)
    hours = [("2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z"), ("2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z")]
    assert out["aggregated"] == [{"id": urn("s1"), "type": TYPE, "no2": {
        "type": "Property", "avg": [[30.0, *hours[0]], [60.0, *hours[1]]], "max": [[40.0, *hours[0]], [70.0, *hours[1]]],
    }}]  # fmt: skip
