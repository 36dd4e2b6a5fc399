"""The Redis-backed limiter against the real Redis server (127.0.0.1:6379, or
ICITY_TEST_REDIS_URL). Not skipped when Redis is down: these tests fail then,
as CI has Redis. Each test counts under a namespace of its own and removes its
keys afterwards."""

import os
import time
import uuid

import pytest
import redis
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from icity.services.ratelimit import PLANS, Plan, RateLimiter
from tests import people
from tests.network import build_network

REDIS_URL = os.environ.get("ICITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_PLANS = {
    **PLANS,
    "minute-5": Plan("minute-5", per_second=100, per_minute=5, per_day=1_000),
    "day-3": Plan("day-3", per_second=100, per_minute=100, per_day=3),
}


@pytest.fixture
def namespace():
    """A namespace of this test's own; its keys are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    leftovers = list(client.scan_iter(match=f"LIMITS:{name}*"))
    if leftovers:
        client.delete(*leftovers)
    client.close()


@pytest.fixture
def workers(namespace):
    """Two limiters on the same Redis and namespace, as two worker processes have."""
    first, second = (RateLimiter(REDIS_URL, namespace=namespace, plans=TEST_PLANS) for _ in range(2))
    assert first.healthy() and second.healthy(), f"Redis at {REDIS_URL} does not answer"
    if time.time() % 60 > 58:  # stay within one minute-aligned counter (see test_rate_limits)
        time.sleep(2.1)
    return first, second


def test_two_workers_share_the_minute_limit_of_a_key(workers):
    first, second = workers
    verdicts = [(first if i % 2 else second).check(41, "minute-5") for i in range(6)]

    assert [v.allowed for v in verdicts] == [True] * 5 + [False]
    assert [v.remaining for v in verdicts[:5]] == [4, 3, 2, 1, 0]
    assert verdicts[-1].refused_by == "minute" and 1 <= verdicts[-1].reset_s <= 60
    # and the other worker refuses too
    assert not first.check(41, "minute-5").allowed


def test_two_workers_share_the_daily_quota_and_the_burst(workers):
    first, second = workers
    assert [first.check(7, "day-3").allowed, second.check(7, "day-3").allowed, first.check(7, "day-3").allowed] == [True] * 3
    refused = second.check(7, "day-3")
    assert not refused.allowed and refused.refused_by == "day"

    burst = [(first if i % 2 else second).check(8, "free") for i in range(11)]
    assert [v.allowed for v in burst] == [True] * 10 + [False]
    assert burst[-1].refused_by == "burst" and burst[-1].reset_s == 1


def test_keys_and_namespaces_do_not_share_counts(workers, namespace):
    first, _ = workers
    for _ in range(5):
        assert first.check(1, "minute-5").allowed
    assert not first.check(1, "minute-5").allowed
    assert first.check(2, "minute-5").allowed  # another key

    elsewhere = RateLimiter(REDIS_URL, namespace=f"{namespace}-elsewhere", plans=TEST_PLANS)
    try:
        assert elsewhere.check(1, "minute-5").allowed  # another deployment on the same Redis
    finally:
        elsewhere.reset()


def test_two_api_workers_on_redis_refuse_a_key_over_its_limit_together(db_url, namespace):
    with transaction(db_url) as session:
        build_network(session)
        developer = people.person(session, "dev@redis.example")
        _, key = people.app_with_key(session, developer, plan="minute-5")
    clients = []
    for _ in range(2):
        app = create_app(db_url)
        app.state.rate_limiter = RateLimiter(REDIS_URL, namespace=namespace, plans=TEST_PLANS)
        assert app.state.rate_limiter.healthy(), f"Redis at {REDIS_URL} does not answer"
        clients.append(TestClient(app))
    if time.time() % 60 > 58:
        time.sleep(2.1)

    responses = [clients[i % 2].get("/api/v1/entities?limit=1", headers={"X-API-Key": key}) for i in range(6)]

    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert [r.headers["RateLimit-Remaining"] for r in responses[:5]] == ["4", "3", "2", "1", "0"]
    assert responses[-1].json()["type"].endswith("/rate-limited")
    assert "Retry-After" in responses[-1].headers


def test_two_api_workers_on_redis_count_an_apps_keys_together(db_url, namespace):
    with transaction(db_url) as session:
        build_network(session)
        developer = people.person(session, "dev@redis.example")
        app, first_key = people.app_with_key(session, developer, plan="minute-5")
        keys = [first_key, people.another_key(session, app), people.another_key(session, app)]
    clients = []
    for _ in range(2):
        api = create_app(db_url)
        api.state.rate_limiter = RateLimiter(REDIS_URL, namespace=namespace, plans=TEST_PLANS)
        clients.append(TestClient(api))
    if time.time() % 60 > 58:
        time.sleep(2.1)

    responses = [clients[i % 2].get("/api/v1/entities?limit=1", headers={"X-API-Key": keys[i % 3]}) for i in range(6)]

    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert "all its API keys together" in responses[-1].json()["detail"]
