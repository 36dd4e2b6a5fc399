"""Inputs at the edges that used to answer 500: times that cannot be converted to UTC,
huge intervals, crafted cursors, JSON nested too deep, lone surrogates and NUL characters.
Each is refused with the offending parameter or path named, and nothing is written."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import Observation, Subscription
from icity.services import catalogue, entity_store, provider_tokens
from icity.services.access import CLI
from tests import people

pytestmark = pytest.mark.postgres_ok

S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
ENTITIES = "/api/v1/entities"
HISTORY = f"{ENTITIES}/{S0}/history"
PUSH = "/api/v1/information-systems/alpha/air/observations"
NOW = datetime.now(timezone.utc).replace(microsecond=0).isoformat()

BEFORE_YEAR_1_IN_UTC = "0001-01-01T00:00:00+14:00"
AFTER_YEAR_9999_IN_UTC = "9999-12-31T23:59:59-14:00"


@dataclass
class Edge:
    client: TestClient
    url: str
    admin: dict[str, str]
    key: dict[str, str]
    token: dict[str, str]

    def observations(self) -> int:
        with new_session(self.url) as session:
            return session.scalar(select(func.count()).select_from(Observation))

    def subscriptions(self) -> int:
        with new_session(self.url) as session:
            return session.scalar(select(func.count()).select_from(Subscription))


@pytest.fixture
def edge(network_copy: str) -> Edge:
    with transaction(network_copy) as session:
        admin = people.person(session, "admin@icity.example", role="admin")
        developer = people.person(session, "dev@breathe.example")
        _app, key = people.app_with_key(session, developer, "BreatheEasy", plan="partner")
        operator = catalogue.add_provider(session, "alpha/air", name="Xarxa")
        catalogue.add_device(session, "alpha/air", local_id="aq-00", provider_id=operator.id, entity_id=S0)
        token = provider_tokens.create_token(session, CLI, "alpha/air", operator.id, "gateway")["token"]
    client = TestClient(create_app(network_copy), raise_server_exceptions=False)
    return Edge(client, network_copy, admin.headers, {"X-API-Key": key}, {"Authorization": f"Bearer {token}"})


def refused(response, status: int, param: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == param, response.text


# ---- times ----------------------------------------------------------------------------


@pytest.mark.parametrize("time", [BEFORE_YEAR_1_IN_UTC, AFTER_YEAR_9999_IN_UTC])
@pytest.mark.parametrize(
    ("path", "param", "extra"),
    [
        (ENTITIES, "observedFrom", {}),
        (ENTITIES, "observedTo", {}),
        (HISTORY, "from", {}),
        (HISTORY, "to", {}),
        (HISTORY, "from", {"attribute": "no2", "aggregate": "avg", "interval": "1h"}),
        ("/api/v1/audit", "from", {}),
        ("/api/v1/audit", "to", {}),
    ],
)
def test_a_time_that_has_no_utc_equivalent_is_a_400_naming_it(edge, path, param, extra, time):
    refused(edge.client.get(path, params={param: time, **extra}, headers=edge.admin), 400, param)


@pytest.mark.parametrize("path", [ENTITIES, HISTORY, "/api/v1/audit"])
def test_the_first_and_last_utc_times_are_answered(edge, path):
    param = "observedFrom" if path == ENTITIES else "from"
    for time in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"):
        assert edge.client.get(path, params={param: time}, headers=edge.admin).status_code == 200, time


def test_a_subscription_expiring_beyond_utc_is_refused_and_not_stored(edge):
    body = {"entityTypes": ["AirQualityObserved"], "endpoint": "https://app.example/hooks", "expiresAt": AFTER_YEAR_9999_IN_UTC}
    refused(edge.client.post("/api/v1/subscriptions", json=body, headers=edge.key), 400, "expiresAt")
    assert edge.subscriptions() == 0


def test_a_push_observed_beyond_utc_is_refused_and_not_stored(edge):
    before = edge.observations()
    body = {"measures": [{"device": "aq-00", "observedAt": BEFORE_YEAR_1_IN_UTC, "values": {"no2": 1.0}}]}
    response = edge.client.post(PUSH, json=body, headers=edge.token)
    assert response.status_code == 400, response.text
    assert response.json()["param"] == "measures.0.observedAt"
    assert edge.observations() == before


@pytest.mark.parametrize("interval", ["99999999999999999999d", "3660d", "5256001m"])
def test_an_interval_beyond_ten_years_is_a_400(edge, interval):
    params = {"attribute": "no2", "aggregate": "avg", "interval": interval}
    refused(edge.client.get(HISTORY, params=params), 400, "interval")


def test_an_interval_of_ten_years_is_answered(edge):
    params = {"attribute": "no2", "aggregate": "avg", "interval": "3650d"}
    assert edge.client.get(HISTORY, params=params).status_code == 200


# ---- cursors --------------------------------------------------------------------------


def cursor(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("sort", "payload"),
    [
        ("id", {"o": "id", "v": [{"a": 1}]}),
        ("id", {"o": "id", "v": [[]]}),
        ("id", {"o": "id", "v": [True]}),
        ("id", {"o": "id", "v": [123]}),
        ("id", {"o": "id", "v": ["urn:\u0000"]}),
        ("-observedAt", {"o": "-observedAt", "v": [123, S0]}),
        ("-observedAt", {"o": "-observedAt", "v": ["2024-05-01T00:00:00+00:00", 7]}),
        ("-observedAt", {"o": "-observedAt", "v": [BEFORE_YEAR_1_IN_UTC, S0]}),
        ("-observedAt", {"o": "-observedAt", "v": ["2024-05-01", {"a": 1}]}),
    ],
)
def test_a_cursor_that_this_query_did_not_issue_is_a_400_naming_it(edge, sort, payload):
    refused(edge.client.get(ENTITIES, params={"sort": sort, "cursor": cursor(payload)}), 400, "cursor")


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        (HISTORY, {"o": "observedAt", "v": [[], "no2"]}),
        (HISTORY, {"o": "observedAt", "v": ["2024-04-01T00:00:00+00:00", 5]}),
        ("/api/v1/audit", {"o": "-at", "v": ["2024-04-01T00:00:00+00:00", 2**70]}),
        ("/api/v1/audit", {"o": "-at", "v": ["2024-04-01T00:00:00+00:00", "1"]}),
    ],
)
def test_crafted_cursors_of_other_lists_are_refused_too(edge, path, payload):
    refused(edge.client.get(path, params={"cursor": cursor(payload)}, headers=edge.admin), 400, "cursor")


def test_an_issued_cursor_still_pages(edge):
    first = edge.client.get(ENTITIES, params={"sort": "-observedAt", "limit": 2}).json()
    second = edge.client.get(ENTITIES, params={"sort": "-observedAt", "limit": 2, "cursor": first["nextCursor"]})
    assert second.status_code == 200 and second.json()["items"][0]["id"] not in {e["id"] for e in first["items"]}


# ---- text and JSON that cannot be stored ----------------------------------------------


def nested(depth: int):
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("values", "path"),
    [
        ({"name": nested(300)}, "measures[0].values.name"),
        ({"name": "caf\ud800"}, "measures[0].values.name"),
        ({"name\u0000": "x"}, "measures[0].values.name\u0000"),
    ],
)
def test_a_push_with_json_that_cannot_be_stored_is_a_422_with_its_path(edge, values, path):
    before = edge.observations()
    body = {"measures": [{"device": "aq-00", "observedAt": NOW, "values": values}]}
    raw = json.dumps(body)  # ensure_ascii: a lone surrogate travels as its escape, as a client sends it
    response = edge.client.post(PUSH, content=raw, headers=edge.token | {"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"].startswith(path[: path.index(".name") + 5])
    assert edge.observations() == before


def test_a_nul_in_a_device_name_is_a_422_naming_it(edge):
    body = {"measures": [{"device": "aq-\u000000", "observedAt": NOW, "values": {"no2": 1.0}}]}
    response = edge.client.post(PUSH, json=body, headers=edge.token)
    assert response.status_code == 422, response.text
    assert response.json()["param"] == "measures[0].device"


def test_json_nested_within_the_limit_is_not_refused_for_its_depth(edge):
    body = {"measures": [{"device": "aq-00", "observedAt": NOW, "values": {"name": nested(20)}}]}
    response = edge.client.post(PUSH, json=body, headers=edge.token)
    assert "levels deep" not in response.text


@pytest.mark.parametrize(
    ("path", "params", "param"),
    [
        (ENTITIES, {"city": "al\u0000pha"}, "city"),
        (ENTITIES, {"q": "name==a\u0000b"}, "q"),
        (ENTITIES, {"type": "\u0000"}, "type"),
        ("/api/v1/information-systems", {"city": "\u0000"}, "city"),
        (f"{ENTITIES}/urn:ngsi-ld:x%00y", {}, "entity_id"),
    ],
)
def test_a_nul_in_a_parameter_is_a_400_naming_it(edge, path, params, param):
    refused(edge.client.get(path, params=params), 400, param)


def test_a_nul_in_a_portal_form_is_refused_with_a_page(edge):
    response = edge.client.post("/sign-in", data={"email": "a\u0000@b.example", "password": "x"}, headers={"Accept": "text/html"})
    assert response.status_code == 400 and "text/html" in response.headers["content-type"]
