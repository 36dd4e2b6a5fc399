"""Two independent Open311 clients from PyPI, unmodified, in a venv of their own (`make clients`), against
a real `icity serve`: georeport 0.3.1 reads (JSON and XML), civicbot 0.4.0 reports with attributes and an
api_key, is refused a bad key with the spec's error array, and reads the request and its token back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.ngsi_ld.real_servers import serving
from tests.open311.schemas import validate

pytestmark = pytest.mark.postgres_ok

ROOT = Path(__file__).resolve().parents[2]
PYTHON = ROOT / ".venv-open311clients" / "bin" / "python"
SESSION = Path(__file__).with_name("clients_session.py")


@pytest.fixture
def server(db_url, world, tmp_path):
    with serving(db_url, tmp_path) as base:
        yield base


def run(base: str, key: str, scenario: str) -> dict:
    assert PYTHON.exists(), "the Open311 clients' venv is missing: run `make clients` (make test does)"
    done = subprocess.run([str(PYTHON), str(SESSION), base, "alpha", key, scenario], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("scenario", ["georeport-json", "georeport-xml"])
def test_georeport_reads_services_definitions_and_requests(server, world, scenario):
    assert run(server, world.key, scenario) == {
        "services": ["graffiti", "pothole"],
        "metadata": ["false", "true"],
        "definition": ["depth", "lanes"],
        "requests": ["R-1", "R-2"],
        "closed": ["R-2"],
        "one": {"id": "R-1", "status": "open", "code": "pothole"},
    }


def test_civicbot_reports_reads_back_and_is_refused_a_bad_key(server, world):
    out = run(server, world.key, "civicbot")
    request_id = out["created"]["service_request_id"]
    assert out["created"] == {"service_request_id": request_id, "token": None, "service_notice": None, "account_id": None}
    assert out["read"] == {"service_request_id": request_id, "status": "open", "service_code": "pothole",
                           "description": "Hole by the school", "lat": 41.41, "long": 2.12}  # fmt: skip
    assert out["token"] == [{"token": request_id, "service_request_id": request_id}]
    assert out["refused"] == {"status": 403, "body": [{"code": 403, "description": "api_key: This API key is not valid: check it was copied whole."}]}
    assert out["invalid"]["status"] == 400 and out["invalid"]["body"][0]["code"] == 400
    # what the client filed, as any GeoReport reader sees it
    listed = httpx.get(f"{server}/open311/v2/requests.json", params={"jurisdiction_id": "alpha"}).json()
    validate("requests.json", listed)
    assert [r["service_request_id"] for r in listed][0] == request_id
