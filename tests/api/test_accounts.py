"""Developer access end to end through the API: register, verify, approve, app,
key, access request, approval, data, revocation; and the bad inputs."""

import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import App, AuditEvent, OutboxMail, User
from icity.services import mail
from tests import people

pytestmark = pytest.mark.postgres_ok

REGISTRATION = {
    "name": "Ada Lovelace",
    "email": "Ada@Analytical.example",
    "password": "a long passphrase",
    "organisation": {"name": "Analytical Engines SL", "website": "https://analytical.example", "country": "ES"},
    "app": {"name": "ParkNow", "entityTypes": ["OffStreetParking"], "platforms": [{"platform": "web", "url": "https://parknow.example"}]},
}


@pytest.fixture
def url(network_copy):
    with transaction(network_copy) as session:
        people.person(session, "admin@icity.example", role="admin")
        people.person(session, "opendata@alpha.example", role="city_admin", cities=("alpha",))
        people.person(session, "opendata@beta.example", role="city_admin", cities=("beta",))
    return network_copy


@pytest.fixture
def client(url):
    return TestClient(create_app(url))


def login(client, email, password=people.PASSWORD) -> dict:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def last_mail(url, to) -> OutboxMail:
    with new_session(url) as session:
        [found] = mail.latest(session, limit=1, to=to)
        return found


def link_token(body: str) -> str:
    return re.search(r"/verify-email\?token=(\S+)", body).group(1)  # the page; the API takes the same token


def count(url, model) -> int:
    with new_session(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_whole_way_from_registration_to_data_and_back(client, url, var_dir):
    assert client.post("/api/v1/registrations", json=REGISTRATION).status_code == 202
    verification = last_mail(url, "ada@analytical.example")
    assert verification.sent_at is not None
    assert any(var_dir.joinpath("outbox").glob("*.eml"))

    # not verified yet: cannot log in
    response = client.post("/api/v1/auth/login", json={"email": "ada@analytical.example", "password": "a long passphrase"})
    assert response.status_code == 403 and response.json()["type"].endswith("email-not-verified")

    verified = client.get("/api/v1/registrations/verify", params={"token": link_token(verification.body)})
    assert verified.json() == {"email": "ada@analytical.example", "status": "pending"}
    ada = login(client, "ada@analytical.example", "a long passphrase")
    me = client.get("/api/v1/me", headers=ada).json()
    assert me["status"] == "pending" and me["organisation"]["name"] == "Analytical Engines SL"
    [app] = client.get("/api/v1/apps", headers=ada).json()["items"]
    assert app["name"] == "ParkNow" and app["platforms"] == [{"platform": "web", "url": "https://parknow.example/"}]
    refused = client.post(f"/api/v1/apps/{app['id']}/keys", headers=ada)
    assert refused.status_code == 403 and refused.json()["type"].endswith("account-not-approved")

    admin = login(client, "admin@icity.example")
    [pending] = client.get("/api/v1/users", params={"status": "pending"}, headers=admin).json()["items"]
    assert client.post(f"/api/v1/users/{pending['id']}/approve", headers=admin).json()["status"] == "approved"
    assert "approved" in last_mail(url, "ada@analytical.example").subject

    created = client.post(f"/api/v1/apps/{app['id']}/keys", json={"name": "production"}, headers=ada)
    assert created.status_code == 201
    key = {"X-API-Key": created.json()["key"]}
    assert "key" not in client.get(f"/api/v1/apps/{app['id']}/keys", headers=ada).json()[0]

    parking = {"informationSystem": "alpha/parking"}
    assert client.get("/api/v1/entities", params=parking, headers=key).json()["items"] == []

    asked = client.post(
        "/api/v1/access-requests",
        json={"app": app["id"], "informationSystem": "alpha/parking", "purpose": "Show free spaces near the user."},
        headers=ada,
    )
    assert asked.status_code == 201 and asked.json()["status"] == "pending"
    assert "Access request" in last_mail(url, "opendata@alpha.example").subject

    beta_admin = login(client, "opendata@beta.example")
    assert client.post(f"/api/v1/access-requests/{asked.json()['id']}/approve", headers=beta_admin).status_code == 404
    alpha_admin = login(client, "opendata@alpha.example")
    approved = client.post(f"/api/v1/access-requests/{asked.json()['id']}/approve", headers=alpha_admin)
    assert approved.json()["status"] == "approved"

    items = client.get("/api/v1/entities", params=parking, headers=key).json()["items"]
    assert items and {e["informationSystem"] for e in items} == {"alpha/parking"}
    bearer = {"Authorization": f"Bearer {created.json()['key']}"}
    assert client.get("/api/v1/entities", params=parking, headers=bearer).json()["items"] == items

    revoked = client.post(
        f"/api/v1/access-requests/{asked.json()['id']}/revoke", json={"reason": "Trial over."}, headers=alpha_admin
    )
    assert revoked.json()["status"] == "revoked"
    assert client.get("/api/v1/entities", params=parking, headers=key).json()["items"] == []
    assert client.get(f"/api/v1/entities/{items[0]['id']}", headers=key).status_code == 404

    with new_session(url) as session:
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    for action in ("user.registered", "user.approved", "key.created", "access.requested", "access.approved", "access.revoked"):
        assert action in actions


def test_registering_an_existing_address_answers_the_same_and_warns_its_owner(client, url):
    first = client.post("/api/v1/registrations", json=REGISTRATION)
    users = count(url, User)
    second = client.post("/api/v1/registrations", json={**REGISTRATION, "name": "Mallory"})
    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert count(url, User) == users
    assert "tried to register" in last_mail(url, "ada@analytical.example").subject


def test_verification_links_expire_and_cannot_be_forged(client, url, monkeypatch):
    client.post("/api/v1/registrations", json=REGISTRATION)
    token = link_token(last_mail(url, "ada@analytical.example").body)
    payload, _, signature = token.rpartition(".")
    tampered = client.get("/api/v1/registrations/verify", params={"token": payload + "." + signature[::-1]})
    assert tampered.status_code == 400 and tampered.json()["type"].endswith("invalid-link")
    assert tampered.json()["param"] == "token"

    later = time.time() + 49 * 3600  # the link is valid for 48 hours
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    expired = client.get("/api/v1/registrations/verify", params={"token": token})
    assert expired.status_code == 400 and expired.json()["type"].endswith("link-expired")
    monkeypatch.undo()
    with new_session(url) as session:
        assert session.scalar(select(User.status).where(User.email == "ada@analytical.example")) == "unverified"
    assert client.get("/api/v1/registrations/verify", params={"token": token}).json()["status"] == "pending"


def test_failed_logins_back_off_and_never_tell_which_emails_exist(client):
    answers = {}
    for email in ("admin@icity.example", "nobody@icity.example"):
        attempts = [client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password"}) for _ in range(3)]
        assert [a.status_code for a in attempts] == [401, 401, 401]
        blocked = client.post("/api/v1/auth/login", json={"email": email, "password": people.PASSWORD})
        assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
        answers[email] = (attempts[0].json()["detail"], blocked.json()["type"])
    assert answers["admin@icity.example"] == answers["nobody@icity.example"]


def test_logout_ends_the_session(client):
    admin = login(client, "admin@icity.example")
    assert client.post("/api/v1/auth/logout", headers=admin).status_code == 204
    assert client.get("/api/v1/me", headers=admin).status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"email": None}, "email"),
        ({"email": "not-an-address"}, "email"),
        ({"password": "short"}, "password"),
        ({"organisation": {"website": "https://x.example"}}, "organisation.name"),
        ({"organisation": "Analytical"}, "organisation"),
        ({"app": {"name": "X", "platforms": [{"platform": "web", "url": "not a url"}]}}, "app.platforms.0.url"),
        ({"app": {"name": "X", "entityTypes": "OffStreetParking"}}, "app.entityTypes"),
        ({"nickname": "ada"}, "nickname"),
    ],
)
def test_bad_registrations_name_the_field_and_write_nothing(client, url, change, field):
    body = {**REGISTRATION, **change}
    body = {k: v for k, v in body.items() if v is not None}
    users, apps, mails = count(url, User), count(url, App), count(url, OutboxMail)
    response = client.post("/api/v1/registrations", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == field
    assert (count(url, User), count(url, App), count(url, OutboxMail)) == (users, apps, mails)
