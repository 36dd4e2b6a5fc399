"""Request bodies over ICITY_MAX_BODY_BYTES are refused with a 413 problem, on
every endpoint that takes a body, whether their size is announced
(Content-Length) or streamed (chunked)."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from icity.api.middleware import BodyLimitMiddleware
from icity.app import create_app
from icity.config import get_settings
from icity.db.engine import new_session
from icity.db.models import User

MAX = get_settings().max_body_bytes
BATCH_MAX = get_settings().max_batch_body_bytes
BATCHES = {f"/ngsi-ld/v1/entityOperations/{op}" for op in ("create", "upsert", "update", "delete", "merge")}


def endpoints_with_a_body(api) -> list[tuple[str, str]]:
    spec = api.get("/openapi.json").json()
    found = []
    for path, methods in spec["paths"].items():
        for method in methods:
            if method in ("post", "put", "patch") and path not in BATCHES:
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return found


def chunks(total: int, size: int = 65_536):
    sent = 0
    while sent < total:
        n = min(size, total - sent)
        yield b" " * n
        sent += n


def assert_too_large(response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/body-too-large") and f"{MAX:,} bytes" in problem["detail"]


def test_every_endpoint_taking_a_body_refuses_one_over_the_limit(api):
    endpoints = endpoints_with_a_body(api)
    assert len(endpoints) >= 10 and ("POST", "/api/v1/auth/login") in endpoints
    oversized = b"{" + b" " * MAX + b"}"
    for method, path in endpoints:
        announced = api.request(method, path, content=oversized, headers={"Content-Type": "application/json"})
        assert_too_large(announced)
        streamed = api.request(method, path, content=chunks(MAX + 1), headers={"Content-Type": "application/json"})
        assert "content-length" not in streamed.request.headers
        assert_too_large(streamed)


def test_ngsi_ld_batches_take_larger_bodies_up_to_their_own_limit(api):
    over_the_default = b"[" + b" " * MAX + b"]"
    for path in sorted(BATCHES):
        # read and parsed: an anonymous caller may not write (a batch of nothing would be 400)
        assert api.post(path, content=over_the_default, headers={"Content-Type": "application/json"}).status_code in (400, 401)
        refused = api.post(path, content=chunks(BATCH_MAX + 1), headers={"Content-Type": "application/json"})
        assert refused.status_code == 413 and f"{BATCH_MAX:,} bytes" in refused.json()["detail"]


def test_an_oversized_registration_writes_nothing(db_url):
    client = TestClient(create_app(db_url))
    body = b'{"name": "Big", "email": "big@example.org", "password": "correct horse battery staple"' + b" " * MAX + b"}"
    assert_too_large(client.post("/api/v1/registrations", content=body, headers={"Content-Type": "application/json"}))
    with new_session(db_url) as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0


def test_a_body_within_the_limit_reaches_the_route(db_url):
    api = TestClient(create_app(db_url))
    at_the_limit = b'{"email": "nobody@example.org", "password": "wrong"' + b" " * (MAX - 52) + b"}"
    assert len(at_the_limit) == MAX
    response = api.post("/api/v1/auth/login", content=at_the_limit, headers={"Content-Type": "application/json"})
    assert response.status_code == 401  # read and parsed: wrong credentials


async def echo(request: Request) -> Response:
    return Response(await request.body())


@pytest.fixture
def echo_client():
    return TestClient(BodyLimitMiddleware(Starlette(routes=[Route("/", echo, methods=["POST"])]), max_bytes=10))


@pytest.mark.parametrize("size", [0, 1, 10])
def test_bodies_up_to_the_limit_pass_unchanged_announced_or_streamed(echo_client, size):
    body = bytes(range(48, 48 + size))
    assert echo_client.post("/", content=body).content == body
    streamed = echo_client.post("/", content=iter([body[:3], body[3:]]))
    assert streamed.status_code == 200 and streamed.content == body


def test_one_byte_over_the_limit_is_refused_announced_or_streamed(echo_client):
    assert echo_client.post("/", content=b"x" * 11).status_code == 413
    assert echo_client.post("/", content=iter([b"x" * 6, b"x" * 5])).status_code == 413
