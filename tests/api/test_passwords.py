"""Forgetting, resetting and changing a password through the API: a mailed single-use expiring
link, the same answer for any address, rate limits, and the sessions that end."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import OutboxMail, UserSession
from icity.services import passwords
from tests import people

pytestmark = pytest.mark.postgres_ok

ADA = "ada@analytical.example"
NEW = "a brand new passphrase"


@pytest.fixture
def url(network_copy):
    with transaction(network_copy) as session:
        people.person(session, ADA)
    return network_copy


@pytest.fixture
def client(url):
    return TestClient(create_app(url))


def login(client, password=people.PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": ADA, "password": password})


def bearer(response) -> dict:
    return {"Authorization": f"Bearer {response.json()['token']}"}


def mails_to(url, to) -> list[OutboxMail]:
    with new_session(url) as session:
        return list(session.scalars(select(OutboxMail).where(OutboxMail.to_address == to).order_by(OutboxMail.id)))


def reset_token(mail: OutboxMail) -> str:
    return re.search(r"/reset-password\?token=(\S+)", mail.body).group(1)


def sessions_of_ada(url) -> int:
    with new_session(url) as session:
        return session.scalar(select(func.count()).select_from(UserSession))


def test_a_reset_link_sets_the_password_once_and_ends_every_session(client, url):
    old_session = bearer(login(client))
    unknown = client.post("/api/v1/auth/forgot-password", json={"email": "nobody@nowhere.example"})
    known = client.post("/api/v1/auth/forgot-password", json={"email": ADA.upper()})
    assert unknown.status_code == known.status_code == 202 and unknown.json() == known.json()
    assert mails_to(url, "nobody@nowhere.example") == []
    [mail] = mails_to(url, ADA)
    token = reset_token(mail)

    assert client.post("/api/v1/auth/reset-password", json={"token": token, "password": NEW}).status_code == 204
    assert client.get("/api/v1/me", headers=old_session).status_code == 401
    assert login(client).status_code == 401
    assert login(client, NEW).status_code == 200
    again = client.post("/api/v1/auth/reset-password", json={"token": token, "password": "yet another passphrase"})
    assert again.status_code == 400 and again.json()["param"] == "token" and "already used" in again.json()["detail"]
    assert login(client, NEW).status_code == 200


def test_a_forged_or_short_reset_is_refused_and_changes_nothing(client, url):
    client.post("/api/v1/auth/forgot-password", json={"email": ADA})
    token = reset_token(mails_to(url, ADA)[0])
    forged = client.post("/api/v1/auth/reset-password", json={"token": token[:-2] + "xx", "password": NEW})
    assert forged.status_code == 400 and forged.json()["param"] == "token"
    short = client.post("/api/v1/auth/reset-password", json={"token": token, "password": "short"})
    assert short.status_code == 400 and "password" in short.text
    assert login(client).status_code == 200  # nothing changed


def test_reset_requests_are_limited_per_address_and_per_client(client, url):
    for _ in range(passwords.MAILS_PER_ADDRESS + 2):
        assert client.post("/api/v1/auth/forgot-password", json={"email": ADA}).status_code == 202
    assert len(mails_to(url, ADA)) == passwords.MAILS_PER_ADDRESS
    for n in range(passwords.REQUESTS_PER_CLIENT - passwords.MAILS_PER_ADDRESS - 2):
        assert client.post("/api/v1/auth/forgot-password", json={"email": f"x{n}@y.example"}).status_code == 202
    refused = client.post("/api/v1/auth/forgot-password", json={"email": "z@y.example"})
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_changing_the_password_needs_the_current_one_and_ends_the_other_sessions(client, url):
    this, other = bearer(login(client)), bearer(login(client))
    wrong = client.post("/api/v1/me/password", headers=this, json={"currentPassword": "not it", "newPassword": NEW})
    assert wrong.status_code == 400 and wrong.json()["param"] == "currentPassword"
    assert client.get("/api/v1/me", headers=other).status_code == 200
    changed = client.post(
        "/api/v1/me/password", headers=this, json={"currentPassword": people.PASSWORD, "newPassword": NEW}
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/me", headers=this).status_code == 200
    assert client.get("/api/v1/me", headers=other).status_code == 401
    assert login(client).status_code == 401 and login(client, NEW).status_code == 200
