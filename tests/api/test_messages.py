"""Messages to developers through the API: who may send to whom, the inbox and its
read state, pagination, and bad bodies refused with nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.config import Settings
from icity.db.engine import new_session, transaction
from icity.db.models import Message, OutboxMail, User
from icity.services import mail, messages
from tests.api.two_cities import TwoCities, build_two_cities

pytestmark = pytest.mark.postgres_ok

HELLO = {"subject": "Parking data: new attributes", "body": "From 1 June alpha/parking serves spots per level."}


@pytest.fixture
def world(db_url, tmp_path, monkeypatch) -> TwoCities:
    # mail delivered after each request goes to this test's folder, not ./var
    settings = Settings(_env_file=None, var_dir=tmp_path, smtp_url=None)
    monkeypatch.setattr(mail, "get_settings", lambda: settings)
    with transaction(db_url) as session:
        return build_two_cities(session)


@pytest.fixture
def client(db_url, world) -> Iterator[TestClient]:
    with TestClient(create_app(db_url)) as test_client:
        yield test_client


def send(client: TestClient, sender, **payload):
    return client.post("/api/v1/messages", json={**HELLO, **payload}, headers=sender.headers if sender else {})


def counts(db_url: str) -> tuple[int, int]:
    """(messages, mails) stored."""
    with new_session(db_url) as session:
        return (
            session.scalar(select(func.count()).select_from(Message)),
            session.scalar(select(func.count()).select_from(OutboxMail)),
        )


def inbox_of(client: TestClient, someone, **params) -> dict:
    response = client.get("/api/v1/messages", params=params, headers=someone.headers)
    assert response.status_code == 200, response.text
    return response.json()


# ---- who may send to whom --------------------------------------------------------


def test_the_platform_admin_sends_to_chosen_users_inbox_and_mail(client, world, db_url):
    response = send(client, world.admin, to=[world.dev_alpha.user.id, world.dev_pending.user.id, world.dev_alpha.user.id])

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["sent"] == 2 and body["recipients"] == [world.dev_alpha.user.id, world.dev_pending.user.id]
    [message] = inbox_of(client, world.dev_alpha)["items"]
    assert message["subject"] == HELLO["subject"] and message["body"] == HELLO["body"]
    assert message["sender"] == {"id": world.admin.user.id, "name": world.admin.user.name, "role": "admin"}
    assert message["read"] is False and message["readAt"] is None
    assert inbox_of(client, world.dev_pending)["unreadCount"] == 1
    assert inbox_of(client, world.dev_beta)["items"] == []
    with new_session(db_url) as session:
        mails = session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        assert [m.to_address for m in mails] == ["ada@alpha-apps.example", "pat@pending.example"]
        assert all(m.subject == HELLO["subject"] and m.sent_at is not None for m in mails)  # delivered after commit


def test_the_platform_admin_sends_to_every_approved_developer(client, world):
    response = send(client, world.admin, toAllDevelopers=True)

    assert response.status_code == 201, response.text
    approved = [world.dev_alpha, world.colleague, world.dev_beta, world.dev_idle]
    assert response.json()["recipients"] == [p.user.id for p in approved]
    for someone in approved:
        assert inbox_of(client, someone)["unreadCount"] == 1
    for someone in (world.dev_pending, world.alpha_admin, world.admin):
        assert inbox_of(client, someone)["unreadCount"] == 0


def test_a_city_admin_sends_to_developers_whose_apps_asked_for_its_cities_systems(client, world):
    # the request of Alpha Apps is still pending: it is enough, and it reaches the whole organisation
    response = send(client, world.alpha_admin, to=[world.dev_alpha.user.id, world.colleague.user.id])

    assert response.status_code == 201, response.text
    [message] = inbox_of(client, world.colleague)["items"]
    assert message["sender"]["role"] == "city_admin"
    assert send(client, world.beta_admin, to=[world.dev_beta.user.id]).status_code == 201


@pytest.mark.parametrize("outsider", ["dev_beta", "dev_idle", "admin", "beta_admin", "unknown"])
def test_a_city_admin_is_refused_any_other_recipient_naming_it_and_nothing_is_written(client, world, db_url, outsider):
    outsider_id = 999_999 if outsider == "unknown" else getattr(world, outsider).user.id

    response = send(client, world.alpha_admin, to=[world.dev_alpha.user.id, outsider_id])

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["param"] == "to[1]" and f"user {outsider_id}" in problem["detail"]
    assert counts(db_url) == (0, 0)  # not even the allowed first recipient's


def test_only_the_platform_admin_sends_to_every_developer(client, world, db_url):
    response = send(client, world.alpha_admin, toAllDevelopers=True)
    assert response.status_code == 403
    assert counts(db_url) == (0, 0)


def test_developers_keys_and_anonymous_callers_cannot_send(client, world, db_url):
    to = [world.dev_idle.user.id]
    assert send(client, world.dev_alpha, to=to).status_code == 403
    assert send(client, world.dev_pending, to=to).status_code == 403
    by_key = client.post("/api/v1/messages", json={**HELLO, "to": to}, headers={"X-API-Key": world.alpha_key})
    assert by_key.status_code == 403
    anonymous = send(client, None, to=to)
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")
    assert counts(db_url) == (0, 0)


# ---- bad bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field",
    [
        ({"subject": None}, "subject"),  # missing
        ({"body": None}, "body"),
        ({"subject": ""}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 301}, "subject"),
        ({"subject": "Hello\nBcc: everyone@example.org"}, "subject"),  # would become a mail header
        ({"body": "x" * 20_001}, "body"),
        ({"subject": 12}, "subject"),
        ({"to": "12"}, "to"),
        ({"to": ["twelve"]}, "to.0"),
        ({"to": []}, "to"),
        ({"toAllDevelopers": "yes"}, "toAllDevelopers"),
        ({"toAllDevelopers": True}, "to"),  # both
        ({"to": None}, "to"),  # neither
        ({"cc": [1]}, "cc"),  # unknown field
        ({"to": "unknown user"}, "to[1]"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_nothing_is_written(client, world, db_url, change, field):
    payload = {**HELLO, "to": [world.dev_alpha.user.id]}
    for key, value in change.items():
        if value is None:
            payload.pop(key)
        elif value == "unknown user":
            payload[key] = [world.dev_alpha.user.id, 999_999]
        else:
            payload[key] = value

    response = client.post("/api/v1/messages", json=payload, headers=world.admin.headers)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == field
    assert counts(db_url) == (0, 0)


def test_a_body_of_the_longest_accepted_size_is_sent(client, world):
    response = send(client, world.admin, to=[world.dev_idle.user.id], subject="s" * 300, body="b" * 20_000)
    assert response.status_code == 201, response.text


# ---- the inbox ----------------------------------------------------------------------


def fill_inbox(db_url: str, recipient_id: int, count: int) -> list[int]:
    """`count` messages from the platform, created out of id order; ids newest first."""
    base = datetime(2024, 5, 1, tzinfo=timezone.utc)
    with transaction(db_url) as session:
        recipient = session.get(User, recipient_id)
        made = []
        for i in range(count):
            message = messages.notify(session, recipient, f"note {i}", f"body {i}")
            message.created_at = base + timedelta(hours=(i * 7) % count)  # a shuffled order of times
            made.append(message)
    return [m.id for m in sorted(made, key=lambda m: m.created_at, reverse=True)]


def test_the_inbox_is_newest_first_and_paginated_with_a_cursor(client, world, db_url):
    newest_first = fill_inbox(db_url, world.dev_idle.user.id, 5)

    first = client.get("/api/v1/messages?limit=2", headers=world.dev_idle.headers)
    assert first.status_code == 200
    page = first.json()
    assert [m["id"] for m in page["items"]] == newest_first[:2]
    assert page["unreadCount"] == 5 and page["items"][0]["sender"] is None  # from the platform
    assert 'rel="next"' in first.headers["link"]

    seen = [m["id"] for m in page["items"]]
    while page["nextCursor"]:
        page = inbox_of(client, world.dev_idle, limit=2, cursor=page["nextCursor"])
        seen += [m["id"] for m in page["items"]]
    assert seen == newest_first

    bad = client.get("/api/v1/messages?cursor=garbage", headers=world.dev_idle.headers)
    assert bad.status_code == 400 and bad.json()["param"] == "cursor"


def test_reading_a_message_marks_it_once_and_the_unread_filter_follows(client, world, db_url):
    newest_first = fill_inbox(db_url, world.dev_idle.user.id, 3)
    target = newest_first[1]

    marked = client.post(f"/api/v1/messages/{target}/read", headers=world.dev_idle.headers)
    assert marked.status_code == 200, marked.text
    assert marked.json()["read"] is True
    first_read_at = marked.json()["readAt"]
    again = client.post(f"/api/v1/messages/{target}/read", headers=world.dev_idle.headers)
    assert again.status_code == 200 and again.json()["readAt"] == first_read_at  # idempotent

    unread = inbox_of(client, world.dev_idle, unread="true")
    assert [m["id"] for m in unread["items"]] == [newest_first[0], newest_first[2]]
    assert unread["unreadCount"] == 2
    everything = inbox_of(client, world.dev_idle)
    assert [m["read"] for m in everything["items"]] == [False, True, False]

    one = client.get(f"/api/v1/messages/{target}", headers=world.dev_idle.headers)
    assert one.status_code == 200 and one.json()["readAt"] == first_read_at


def test_someone_elses_message_is_not_found_and_stays_unread(client, world, db_url):
    [theirs, *_] = fill_inbox(db_url, world.dev_beta.user.id, 1)

    for call in (client.get, client.post):
        path = f"/api/v1/messages/{theirs}" + ("/read" if call == client.post else "")
        response = call(path, headers=world.dev_idle.headers)
        assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"
        assert call(path, headers=world.admin.headers).status_code == 404  # not even the platform admin's to read
    assert client.get("/api/v1/messages/999999", headers=world.dev_beta.headers).status_code == 404
    assert inbox_of(client, world.dev_beta)["unreadCount"] == 1


def test_the_inbox_needs_a_logged_in_user(client, world, db_url):
    [mine] = fill_inbox(db_url, world.dev_alpha.user.id, 1)
    key = {"X-API-Key": world.alpha_key}
    assert client.get("/api/v1/messages", headers=key).status_code == 403
    assert client.get(f"/api/v1/messages/{mine}", headers=key).status_code == 403
    assert client.post(f"/api/v1/messages/{mine}/read", headers=key).status_code == 403
    assert client.get("/api/v1/messages").status_code == 401
    assert client.post(f"/api/v1/messages/{mine}/read").status_code == 401
    # a developer not approved yet still reads what the platform tells them
    fill_inbox(db_url, world.dev_pending.user.id, 1)
    assert inbox_of(client, world.dev_pending)["unreadCount"] == 1
