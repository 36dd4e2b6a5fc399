"""Every integer id the API and the portal read (path, query, body) follows one rule: an id
no row can have (beyond 64-bit, zero, negative) is a 400 naming it, never a 500. The walk
over app.routes makes a new route fall under the rule too."""

from __future__ import annotations

import re
import typing

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from icity.services import catalogue
from tests.api.two_cities import TwoCities, build_two_cities

pytestmark = pytest.mark.postgres_ok

BEYOND_64_BITS = 2**64


@pytest.fixture(scope="module")
def world(databases) -> tuple[TestClient, TwoCities]:
    url = databases.new()
    with transaction(url) as session:
        catalogue.ensure_categories(session)
        world = build_two_cities(session)
    return TestClient(create_app(url), raise_server_exceptions=False), world


def _is_int(annotation) -> bool:
    """int, an Annotated int, or either of them or None."""
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_int(typing.get_args(annotation)[0])
    return annotation is int or any(_is_int(arg) for arg in typing.get_args(annotation))


def integer_parameters(app) -> list[tuple[str, str, str, str]]:
    """(method, path, where, name) of every integer path, query or form parameter of every route."""
    found = []
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        dependant = route.original_route.dependant
        forms = [param for param in dependant.body_params if type(param.field_info).__name__ == "Form"]
        for where, params in (("path", dependant.path_params), ("query", dependant.query_params), ("form", forms)):
            for param in params:
                if _is_int(param.field_info.annotation) and param.name not in ("limit", "offset", "lastN", "lastEventId"):
                    found.extend((method, route.path, where, param.alias) for method in sorted(route.methods))
    return found


APP = create_app("sqlite://")
CASES = integer_parameters(APP)


def test_the_walk_finds_the_ids_of_the_api_and_the_portal():
    paths = {path for _, path, _, _ in CASES}
    assert "/api/v1/apps/{app_id}" in paths and "/api/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/retry" in paths
    assert "/dashboard/apps/{app_id}/keys/{key_id}/revoke" in paths and "/admin/certification" in paths
    assert ("POST", "/information-systems/{city_id}/{slug}/access-requests", "form", "app") in CASES


@pytest.mark.parametrize(("method", "path", "where", "name"), CASES, ids=[f"{m} {p} {n}" for m, p, _, n in CASES])
@pytest.mark.parametrize("bad_id", [BEYOND_64_BITS, 0, -1])
def test_an_id_no_row_can_have_is_a_400_naming_it(world, method, path, where, name, bad_id):
    client, people = world
    concrete = re.sub(r"\{(\w+)\}", lambda m: str(bad_id) if m[1] == name else _filler(m[1]), path)
    params = {name: str(bad_id)} if where == "query" else {}
    body = {"data": {name: str(bad_id)}} if where == "form" else {"json": {}}
    response = client.request(method, concrete, params=params, headers=people.admin.headers | {"Accept": "application/json"}, **body)
    if not path.startswith("/api/") and method == "POST":
        assert response.status_code in (400, 403), response.text  # a portal form is refused first without its CSRF token
    else:
        assert response.status_code == 400, response.text
    if path.startswith("/api/"):
        assert name in {problem["path"] for problem in response.json()["errors"]}


@pytest.mark.parametrize(("method", "path", "where", "name"), CASES, ids=[f"{m} {p} {n}" for m, p, _, n in CASES])
def test_an_id_beyond_the_databases_integer_never_reaches_it(world, method, path, where, name):
    """Row ids are INTEGER on PostgreSQL: 2**31 made it fail ('integer out of range', a 500)."""
    client, people = world
    beyond = 2**31
    concrete = re.sub(r"\{(\w+)\}", lambda m: str(beyond) if m[1] == name else _filler(m[1]), path)
    params = {name: str(beyond)} if where == "query" else {}
    body = {"data": {name: str(beyond)}} if where == "form" else {"json": {}}
    response = client.request(method, concrete, params=params, headers=people.admin.headers | {"Accept": "application/json"}, **body)
    assert response.status_code < 500, response.text


def _filler(name: str) -> str:
    return {"city_id": "alpha", "slug": "parking"}.get(name, "1")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/access-requests", {"app": BEYOND_64_BITS, "informationSystem": "alpha/parking", "purpose": "Show free parking."}, "app"),
        ("/api/v1/messages", {"to": [BEYOND_64_BITS], "subject": "Hello", "body": "Hello there."}, "to.0"),
        ("/api/v1/information-systems/alpha/parking/provider-tokens", {"provider": BEYOND_64_BITS}, "provider"),
    ],
)
def test_an_id_in_a_body_follows_the_same_rule(world, path, body, field):
    client, people = world
    response = client.post(path, json=body, headers=people.admin.headers)
    assert response.status_code == 400, response.text
    assert response.json()["param"] == field
