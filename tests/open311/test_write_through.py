"""A city whose incidents are harvested from its own Open311 server: a report is forwarded there (with
the city's key, not the caller's), its answer returned, the new request read back at once; the
server failing or unreachable is a 503 with the error array and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import Entity
from tests import people
from tests.ngsi_ld.real_servers import open_city
from tests.open311.schemas import validate
from tests.open311.upstream import CITY_KEY, Upstream
from tests.open311.world import incident_system

pytestmark = pytest.mark.postgres_ok
V2 = "/open311/v2"


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def delta(db_url, upstream, private_networks):
    with transaction(db_url) as session:
        open_city(session, "delta", "Delta")
        connector = {"kind": "open311", "url": upstream.url, "apiKey": CITY_KEY}
        incident_system(session, "delta", connector=connector)
        _, key = people.app_with_key(session, people.person(session, "dev@example.com"))
    return {"client": TestClient(create_app(db_url)), "key": key}


def stored(url: str) -> int:
    with new_session(url) as session:
        return session.scalar(select(func.count()).select_from(Entity).where(Entity.information_system_id == "delta/incidents"))


REPORT = {"jurisdiction_id": "delta", "service_code": "101", "lat": "38.9", "long": "22.43", "description": "Deep",
          "attribute[size]": "big", "email": "citizen@example.com"}  # fmt: skip


def test_services_and_definitions_are_read_through(delta):
    client = delta["client"]
    services = client.get(f"{V2}/services.json", params={"jurisdiction_id": "delta"}).json()
    validate("services.json", services)
    assert [s["service_code"] for s in services] == ["101"]
    definition = client.get(f"{V2}/services/101.json", params={"jurisdiction_id": "delta"}).json()
    validate("service-definition.json", definition)
    assert definition["attributes"][0]["code"] == "size"


def test_a_report_is_forwarded_with_the_city_key_and_harvested_back(delta, upstream, db_url):
    answer = delta["client"].post(f"{V2}/requests.json", data={**REPORT, "api_key": delta["key"]})
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"service_request_id": "U-1", "token": None, "service_notice": "Thanks", "account_id": None}]
    posted = dict(upstream.state.posted[0])
    assert posted["api_key"] == CITY_KEY and posted["attribute[size]"] == "big" and posted["email"] == "citizen@example.com"
    assert delta["key"] not in str(upstream.state.posted)
    read = delta["client"].get(f"{V2}/requests/U-1.json", params={"jurisdiction_id": "delta"}).json()
    validate("requests.json", read)
    assert read[0]["service_request_id"] == "U-1" and read[0]["lat"] == 38.9
    assert stored(db_url) == 1


def test_a_batch_server_answers_a_token_read_through(delta, upstream):
    upstream.state.batch = True
    answer = delta["client"].post(f"{V2}/requests.xml", data={**REPORT, "api_key": delta["key"]})
    assert answer.status_code == 200 and b"<token>tok-1</token>" in answer.content
    token = delta["client"].get(f"{V2}/tokens/tok-1.json", params={"jurisdiction_id": "delta"})
    assert token.json() == [{"token": "tok-1", "service_request_id": "U-1"}]
    assert delta["client"].get(f"{V2}/tokens/tok-9.json", params={"jurisdiction_id": "delta"}).status_code == 404


def test_the_upstream_failing_is_a_503_and_nothing_is_stored(delta, upstream, db_url):
    upstream.state.failing = True
    answer = delta["client"].post(f"{V2}/requests.json", data={**REPORT, "api_key": delta["key"]})
    assert answer.status_code == 503
    [error] = answer.json()
    assert error["code"] == 503 and "did not take the report, nothing was filed" in error["description"]
    assert "HTTP 500" in error["description"]
    assert stored(db_url) == 0
    assert delta["client"].get(f"{V2}/services.json", params={"jurisdiction_id": "delta"}).status_code == 503


def test_the_upstream_unreachable_is_a_503_and_nothing_is_stored(delta, upstream, db_url):
    upstream.close()
    answer = delta["client"].post(f"{V2}/requests.xml", data={**REPORT, "api_key": delta["key"]})
    assert answer.status_code == 503 and b"<code>503</code>" in answer.content
    assert b"could not be reached" in answer.content
    assert stored(db_url) == 0
    upstream.server = Upstream().server  # for the fixture's close


def test_the_outbound_rules_keep_a_private_upstream_unreached(db_url, upstream, monkeypatch):
    """Without ICITY_WEBHOOK_PRIVATE_NETWORKS, a city's server on 127.0.0.1 is not called."""
    with transaction(db_url) as session:
        open_city(session, "delta", "Delta")
        incident_system(session, "delta", connector={"kind": "open311", "url": upstream.url, "apiKey": CITY_KEY})
        _, key = people.app_with_key(session, people.person(session, "dev@example.com"))
    answer = TestClient(create_app(db_url)).post(f"{V2}/requests.json", data={**REPORT, "api_key": key})
    assert answer.status_code == 503 and "may not be reached" in answer.json()[0]["description"]
    assert upstream.state.posted == [] and stored(db_url) == 0
