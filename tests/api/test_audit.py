"""The audit log: read through the API, scoped by role, filtered, paginated — and
append-only (no endpoint or ORM path changes or deletes an event)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import AuditEvent
from icity.errors import ICityError
from icity.services import audit, cities
from icity.services.access import CLI
from icity.services.authentication import principal_of_user
from tests.api.two_cities import TwoCities, build_two_cities

pytestmark = pytest.mark.postgres_ok

# (at, action, city): appended after the two cities' level changes, which happen "now"
EVENTS = [
    (datetime(2024, 5, 1, 9, tzinfo=timezone.utc), "user.approved", None),
    (datetime(2024, 5, 2, 9, tzinfo=timezone.utc), "access.requested", "alpha"),
    (datetime(2024, 5, 3, 9, tzinfo=timezone.utc), "access.approved", "beta"),
    (datetime(2024, 5, 4, 9, tzinfo=timezone.utc), "access.refused", "alpha"),
    (datetime(2024, 5, 5, 9, tzinfo=timezone.utc), "key.created", None),
]


@pytest.fixture
def world(db_url) -> TwoCities:
    with transaction(db_url) as session:
        built = build_two_cities(session)
        for at, action, city in EVENTS:  # dated in the past, as they would have been recorded then
            session.add(AuditEvent(at=at, actor="someone@example.org", action=action, target_type="x", target_id="1", city_id=city))
    return built


@pytest.fixture
def client(db_url, world) -> Iterator[TestClient]:
    with TestClient(create_app(db_url)) as test_client:
        yield test_client


def audit_log(client: TestClient, someone, **params):
    return client.get("/api/v1/audit", params=params, headers=someone.headers if someone else {})


def actions(response) -> list[tuple[str, str | None]]:
    assert response.status_code == 200, response.text
    return [(e["action"], e["city"]) for e in response.json()["items"]]


# the newest: each city of two_cities created, then moved to pilot
NETWORK_EVENTS = [("city.level_changed", "beta"), ("city.created", "beta"), ("city.level_changed", "alpha"), ("city.created", "alpha")]
PAST_NEWEST_FIRST = [(action, city) for _, action, city in reversed(EVENTS)]


def test_the_platform_admin_reads_every_event_newest_first(client, world):
    assert actions(audit_log(client, world.admin, limit=100)) == NETWORK_EVENTS + PAST_NEWEST_FIRST


def test_a_level_change_is_recorded_with_its_city_actor_and_details(client, world):
    response = audit_log(client, world.admin, action="city.level_changed", city="alpha")
    [event] = response.json()["items"]
    assert event["actor"] == "tests" and event["actorId"] is None
    assert (event["targetType"], event["targetId"], event["city"]) == ("city", "alpha", "alpha")
    assert event["details"] == {"from": "prospect", "to": "pilot", "effectiveOn": "2014-04-01", "evidenceKind": "technical_trial"}


def test_a_city_admin_reads_only_the_events_of_its_own_cities(client, world):
    assert actions(audit_log(client, world.alpha_admin)) == [
        ("city.level_changed", "alpha"),
        ("city.created", "alpha"),
        ("access.refused", "alpha"),
        ("access.requested", "alpha"),
    ]
    assert actions(audit_log(client, world.beta_admin, city="beta")) == [
        ("city.level_changed", "beta"),
        ("city.created", "beta"),
        ("access.approved", "beta"),
    ]
    elsewhere = audit_log(client, world.alpha_admin, city="beta")
    assert elsewhere.status_code == 403 and "alpha" in elsewhere.json()["detail"]


def test_developers_keys_and_anonymous_callers_cannot_read_the_log(client, world):
    for someone in (world.dev_alpha, world.dev_beta, world.dev_pending):
        assert audit_log(client, someone).status_code == 403
    assert client.get("/api/v1/audit", headers={"X-API-Key": world.alpha_key}).status_code == 403
    anonymous = audit_log(client, None)
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"action": "access.approved"}, [("access.approved", "beta")]),
        ({"action": "access.*"}, [("access.refused", "alpha"), ("access.approved", "beta"), ("access.requested", "alpha")]),
        ({"action": "access"}, []),  # an exact name, not a prefix
        ({"city": "alpha", "action": "access.*"}, [("access.refused", "alpha"), ("access.requested", "alpha")]),
        ({"from": "2024-05-02T09:00:00Z", "to": "2024-05-04T09:00:00Z"}, [("access.approved", "beta"), ("access.requested", "alpha")]),
        ({"from": "2024-05-04T11:00:00+02:00", "to": "2024-05-05T00:00:00"}, [("access.refused", "alpha")]),  # offsets; none is UTC
        ({"to": "2024-05-02"}, [("user.approved", None)]),
        ({"city": "gamma"}, []),
    ],
)
def test_filters(client, world, params, expected):
    assert actions(audit_log(client, world.admin, **params)) == expected


@pytest.mark.parametrize(
    "params, param",
    [
        ({"action": "access.%"}, "action"),
        ({"action": "DROP TABLE"}, "action"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2024-05-03T00:00:00Z", "to": "2024-05-02T00:00:00Z"}, "to"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
    ],
)
def test_bad_parameters_are_400_naming_them(client, world, params, param):
    response = audit_log(client, world.admin, **params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == param


def test_pages_follow_each_other_with_the_cursor_and_filters_kept(client, world):
    expected = NETWORK_EVENTS + PAST_NEWEST_FIRST
    first = audit_log(client, world.admin, limit=3)
    assert 'rel="next"' in first.headers["link"]
    page, seen = first.json(), actions(first)
    while page["nextCursor"]:
        response = audit_log(client, world.admin, limit=3, cursor=page["nextCursor"])
        page, seen = response.json(), seen + actions(response)
    assert seen == expected

    scoped = audit_log(client, world.alpha_admin, limit=2)
    rest = audit_log(client, world.alpha_admin, limit=2, cursor=scoped.json()["nextCursor"])
    assert actions(scoped) + actions(rest) == [
        ("city.level_changed", "alpha"),
        ("city.created", "alpha"),
        ("access.refused", "alpha"),
        ("access.requested", "alpha"),
    ]


# ---- append-only ---------------------------------------------------------------------


def test_the_api_offers_no_way_to_change_or_delete_an_event(client, world):
    spec = client.get("/openapi.json").json()
    audit_paths = {path: set(methods) for path, methods in spec["paths"].items() if path.startswith("/api/v1/audit")}
    assert audit_paths == {"/api/v1/audit": {"get"}}
    [event_id] = [e["id"] for e in audit_log(client, world.admin, action="user.approved").json()["items"]]
    for method in ("put", "patch", "delete", "post"):
        for path in ("/api/v1/audit", f"/api/v1/audit/{event_id}"):
            response = client.request(method.upper(), path, headers=world.admin.headers, json={"action": "nothing"})
            assert response.status_code in (404, 405), f"{method} {path}"
    assert actions(audit_log(client, world.admin, limit=100)) == NETWORK_EVENTS + PAST_NEWEST_FIRST


def test_the_orm_refuses_to_change_or_delete_an_event(db_url, world):
    with new_session(db_url) as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.approved")).one()
        event_id = event.id
        event.action = "nothing.happened"
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
        session.rollback()
        session.delete(session.get(AuditEvent, event_id))
        with pytest.raises(RuntimeError, match="append-only"):
            session.flush()
        session.rollback()
    with new_session(db_url) as session:
        assert session.scalars(select(AuditEvent.action).where(AuditEvent.id == event_id)).one() == "user.approved"


# ---- level changes, through the service ------------------------------------------------


def test_a_level_change_is_attributed_to_its_actor_in_the_history_and_the_log(db_url, world):
    with transaction(db_url) as session:
        admin = principal_of_user(session, world.admin.user)
        cities.change_level(
            session, admin, "alpha", to_level="consortium", effective_on=date(2015, 1, 1),
            evidence_kind="consortium_agreement", evidence="CA signed",
        )
        cities.create_city(session, CLI, id="gamma", name="Gamma", country="GB", lon=0.0, lat=51.0, bbox=[-1, 50, 1, 52])
        cities.change_level(
            session, CLI, "gamma", to_level="sig", effective_on=date(2015, 1, 1),
            evidence_kind="letter_of_commitment", evidence="letter signed",
        )
    with new_session(db_url) as session:
        latest = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "city.level_changed").order_by(AuditEvent.id.desc()).limit(2)
        ).all()
        assert cities.get_city(session, "alpha")["levelHistory"][-1]["recordedBy"] == "admin@icity.example"
    by_city = {e.city_id: e for e in latest}
    assert (by_city["alpha"].actor, by_city["alpha"].actor_id) == ("admin@icity.example", world.admin.user.id)
    assert by_city["alpha"].details["from"] == "pilot" and by_city["alpha"].details["to"] == "consortium"
    assert (by_city["gamma"].actor, by_city["gamma"].actor_id) == (CLI.label, None)
    assert audit.actor_named("cli") == CLI


def test_a_refused_level_change_records_nothing(db_url, world):
    with new_session(db_url) as session:
        before = len(session.scalars(select(AuditEvent.id)).all())
        with pytest.raises(ICityError):
            cities.change_level(
                session, CLI, "alpha", to_level="pilot", effective_on=date(2015, 1, 1),
                evidence_kind="technical_trial", evidence="again",
            )
        session.flush()
        assert len(session.scalars(select(AuditEvent.id)).all()) == before
