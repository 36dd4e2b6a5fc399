"""Per-app rate limits (all its keys together) and daily quotas: 429 with Retry-After and RateLimit-*
headers, through the real application and the in-memory storage."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from icity.services import ratelimit
from icity.services.ratelimit import PLANS, Plan, RateLimiter
from tests import people
from tests.network import build_network

# Small plans, so that a test reaches each limit in a few requests; the real
# plans' figures are checked where they are cheap to reach (the burst of `free`).
TEST_PLANS = {
    **PLANS,
    "minute-5": Plan("minute-5", per_second=100, per_minute=5, per_day=1_000),
    "day-3": Plan("day-3", per_second=100, per_minute=100, per_day=3),
}
ENTITIES = "/api/v1/entities?type=AirQualityObserved&city=alpha&limit=1"


def clear_of_a_minute_edge() -> None:
    """The per-minute counter is a sliding window over minute-aligned counters:
    a test counting exactly starts at least 2 s before the next minute (and so
    before midnight UTC, which the daily quota starts at)."""
    into_minute = time.time() % 60
    if into_minute > 58:
        time.sleep(60 - into_minute + 0.05)


@pytest.fixture
def setup(db_url):
    """A client on a fresh network, and a key on each plan: plan name → headers."""
    keys = {}
    with transaction(db_url) as session:
        build_network(session)
        developer = people.person(session, "dev@limits.example")
        other = people.person(session, "other@limits.example")
        for plan in ("free", "minute-5", "day-3"):
            app, key = people.app_with_key(session, developer, f"{plan} app", plan=plan)
            keys[plan] = {"X-API-Key": key}
            keys[f"{plan} second key"] = {"X-API-Key": people.another_key(session, app)}
        _, key = people.app_with_key(session, other, "other app", plan="minute-5")
        keys["other minute-5"] = {"Authorization": f"Bearer {key}"}
        keys["session"] = developer.headers
    app = create_app(db_url)
    app.state.rate_limiter = RateLimiter(plans=TEST_PLANS)
    clear_of_a_minute_edge()
    return TestClient(app), keys


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith(f"/{code}")
    assert problem["status"] == status
    return problem


def test_a_burst_over_ten_a_second_on_the_free_plan_is_refused_with_retry_after(setup):
    client, keys = setup
    statuses = [client.get(ENTITIES, headers=keys["free"]).status_code for _ in range(11)]

    assert statuses == [200] * 10 + [429]
    response = client.get(ENTITIES, headers=keys["free"])
    problem = assert_problem(response, 429, "rate-limited")
    assert "10 per second" in problem["detail"] and "Retry" in problem["detail"]
    assert response.headers["Retry-After"] == "1"
    assert response.headers["RateLimit-Limit"] == "10"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert response.headers["RateLimit-Reset"] == "1"
    assert response.headers["RateLimit-Policy"] == "60;w=60, 10;w=1, 10000;w=86400"


def test_successful_key_requests_carry_the_ratelimit_headers_of_the_minute(setup):
    client, keys = setup
    first = client.get(ENTITIES, headers=keys["free"])
    second = client.get("/api/v1/information-systems", headers=keys["free"])

    assert first.status_code == second.status_code == 200
    assert first.headers["RateLimit-Limit"] == "60"
    assert first.headers["RateLimit-Remaining"] == "59"
    assert 0 <= int(first.headers["RateLimit-Reset"]) <= 60
    assert second.headers["RateLimit-Remaining"] == "58"
    assert "Retry-After" not in first.headers


def test_the_minute_limit_refuses_the_request_after_it_and_says_when_to_retry(setup):
    client, keys = setup
    responses = [client.get(ENTITIES, headers=keys["minute-5"]) for _ in range(6)]

    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert [r.headers["RateLimit-Remaining"] for r in responses[:5]] == ["4", "3", "2", "1", "0"]
    refused = responses[-1]
    problem = assert_problem(refused, 429, "rate-limited")
    assert "5 per minute" in problem["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Limit"] == "5"
    assert refused.headers["RateLimit-Remaining"] == "0"


def test_the_daily_quota_refuses_with_quota_exceeded_until_midnight_utc(setup):
    client, keys = setup
    responses = [client.get(ENTITIES, headers=keys["day-3"]) for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    # the quota is closer to running out than the minute: the headers describe it
    assert [r.headers["RateLimit-Limit"] for r in responses[:3]] == ["3"] * 3
    assert [r.headers["RateLimit-Remaining"] for r in responses[:3]] == ["2", "1", "0"]
    now = datetime.now(timezone.utc)
    to_midnight = (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), timezone.utc) - now).total_seconds()
    refused = responses[-1]
    problem = assert_problem(refused, 429, "quota-exceeded")
    assert "daily quota of 3" in problem["detail"] and "midnight UTC" in problem["detail"]
    assert abs(int(refused.headers["Retry-After"]) - to_midnight) <= 5
    assert refused.headers["RateLimit-Reset"] == refused.headers["Retry-After"]


def test_the_daily_quota_renews_at_midnight_utc():
    limiter = RateLimiter(plans=TEST_PLANS)
    evening = datetime(2024, 5, 1, 23, 59, 58, tzinfo=timezone.utc)

    verdicts = [limiter.check(1, "day-3", now=evening) for _ in range(4)]
    next_day = limiter.check(1, "day-3", now=evening + timedelta(seconds=3))

    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].refused_by == "day" and verdicts[-1].reset_s == 2
    assert next_day.allowed and next_day.remaining == 2


@pytest.mark.parametrize(("plan", "limit", "code"), [("minute-5", 5, "rate-limited"), ("day-3", 3, "quota-exceeded")])
def test_an_apps_keys_share_its_limits_and_quota(setup, plan, limit, code):
    client, keys = setup
    statuses = [client.get(ENTITIES, headers=keys[plan if i % 2 else f"{plan} second key"]).status_code for i in range(limit)]
    assert statuses == [200] * limit
    for headers in (keys[plan], keys[f"{plan} second key"]):
        assert "all its API keys together" in assert_problem(client.get(ENTITIES, headers=headers), 429, code)["detail"]


def test_limits_are_per_app(setup):
    client, keys = setup
    for _ in range(5):
        assert client.get(ENTITIES, headers=keys["minute-5"]).status_code == 200
    assert client.get(ENTITIES, headers=keys["minute-5"]).status_code == 429

    other = client.get(ENTITIES, headers=keys["other minute-5"])
    assert other.status_code == 200
    assert other.headers["RateLimit-Remaining"] == "4"


def test_anonymous_callers_and_sessions_are_not_limited_by_key_plans(setup):
    client, keys = setup
    for headers in ({}, keys["session"]):
        responses = [client.get(ENTITIES, headers=headers) for _ in range(15)]
        assert {r.status_code for r in responses} == {200}
        assert not any(name.lower().startswith("ratelimit") for r in responses for name in r.headers)


def test_an_unknown_plan_gets_the_free_plan():
    limiter = RateLimiter()
    assert limiter.plan("no-such-plan") == PLANS["free"]
    assert limiter.plan(None) == PLANS["free"]
    assert limiter.check(1, "no-such-plan").limit == 60


def test_the_plans_grow_from_free_to_partner():
    free, standard, partner = PLANS["free"], PLANS["standard"], PLANS["partner"]
    assert (free.per_second, free.per_minute, free.per_day) == (10, 60, 10_000)
    for smaller, larger in ((free, standard), (standard, partner)):
        assert smaller.per_second < larger.per_second
        assert smaller.per_minute < larger.per_minute
        assert smaller.per_day < larger.per_day


def test_a_storage_that_does_not_answer_lets_requests_through_and_says_so_in_the_log(caplog):
    limiter = RateLimiter("redis://127.0.0.1:1/0")  # nothing listens on port 1
    caplog.set_level("WARNING", logger=ratelimit.__name__)

    verdicts = [limiter.check(1, "free") for _ in range(12)]

    assert all(v.allowed and not v.enforced and v.headers() == {} for v in verdicts)
    warnings = [r for r in caplog.records if r.name == ratelimit.__name__]
    assert len(warnings) == 1 and "not enforced" in warnings[0].getMessage()
