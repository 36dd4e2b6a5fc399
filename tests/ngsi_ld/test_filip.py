"""A second independent NGSI-LD client from PyPI, unmodified: FiLiP 0.8.1 (RWTH Aachen's FIWARE
Library for Python) in a venv of its own (`make clients`), against a real `icity serve`: create,
batch create and upsert, list with paging (limit/offset until NGSILD-Results-Count), q, near and
within, a partial attribute update, get (normalized and keyValues), delete. It talks
application/json with the V1.6 core context in a Link header, where ngsildclient sends
application/ld+json, and parses each answer into its pydantic models."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.ngsi_ld.test_ngsildclient import ROOT, TYPE, alpha  # noqa: F401 (the fixture)

PYTHON = ROOT / ".venv-filip" / "bin" / "python"
SESSION = Path(__file__).with_name("filip_session.py")


def urn(number: int) -> str:
    return f"urn:ngsi-ld:{TYPE}:alpha:f{number}"


def test_filip_creates_pages_queries_updates_and_deletes(alpha):  # noqa: F811
    assert PYTHON.exists(), "FiLiP's venv is missing: run `make clients` (make test does)"
    done = subprocess.run([str(PYTHON), str(SESSION), alpha["base"], alpha["token"]], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out == {
        "postLocation": f"/ngsi-ld/v1/entities/{urn(1)}",
        "list": {urn(1): 10.0, urn(2): 20.0, urn(3): 30.0, urn(4): 45.0, urn(5): 50.0},
        "listQ": {urn(3): 30.0, urn(4): 45.0, urn(5): 50.0},
        "near": [urn(1), urn(2), urn(3)],
        "within": [urn(3), urn(4), urn(5)],
        "get": {
            "id": urn(1),
            "type": TYPE,
            "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [2.11, 41.38]}},
            "no2": {"type": "Property", "value": 12.5},
            "name": {"type": "Property", "value": "Station f1"},
        },
        "getKeyValues": {
            "id": urn(1),
            "type": TYPE,
            "location": {"type": "Point", "coordinates": [2.11, 41.38]},
            "no2": 12.5,
            "name": "Station f1",
        },
        "contexts": [f"{alpha['base']}/ngsi-ld/v1/contexts/icity.jsonld"] * 2,
        "getDeleted": 404,
        "remaining": [urn(3), urn(4), urn(5)],
    }
