"""Several API workers: a stream on one server sees what is pushed through another, sharing one
database. With ICITY_REDIS_URL the other server is woken through Redis at once; without it, its
poll of the change log finds the change."""

from __future__ import annotations

import time

import pytest
import redis

from tests.api.test_streams import AIR, S0, EventReader, build_streams, entity_of, push, start_server, stop_server

pytestmark = pytest.mark.postgres_ok

REDIS_URL = "redis://127.0.0.1:6379/7"  # a database of its own; the channel is all these tests use


@pytest.fixture
def two_servers(network_copy, tmp_path, request):
    """Two `icity serve` processes on one database: (streams' world, base URL 1, base URL 2)."""
    settings = request.param
    streams = build_streams(network_copy)
    first, base_1 = start_server(network_copy, tmp_path / "one", **settings)
    try:
        second, base_2 = start_server(network_copy, tmp_path / "two", **settings)
    except BaseException:
        stop_server(first)
        raise
    yield streams, base_1, base_2
    stop_server(second)
    stop_server(first)


def redis_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


# A poll far longer than the wait: only Redis can wake the first server in time
@pytest.mark.parametrize("two_servers", [{"redis_url": REDIS_URL, "stream_poll_s": "60"}], indirect=True)
def test_through_redis_a_stream_on_one_server_sees_a_push_on_another(two_servers):
    assert redis_up(), "Redis is not running on 127.0.0.1:6379"
    streams, base_1, base_2 = two_servers
    with EventReader(streams.events_url(base_1, "air"), streams.key) as reader:
        for value in (71.0, 72.0, 73.0):
            push(base_2, streams.air_token, AIR, ("aq-0", {"no2": value}))
            acknowledged = time.monotonic()
            event = reader.next(timeout=5)
            assert (entity_of(event)["id"], entity_of(event)["no2"]) == (S0, value)
            assert time.monotonic() - acknowledged < 2, "the event came by polling, not through Redis"


@pytest.mark.parametrize("two_servers", [{"stream_poll_s": "0.5"}], indirect=True)
def test_without_redis_the_other_server_finds_the_push_by_polling(two_servers):
    streams, base_1, base_2 = two_servers
    with EventReader(streams.events_url(base_1, "air"), streams.key) as reader:
        push(base_2, streams.air_token, AIR, ("aq-0", {"no2": 74.0}))
        assert entity_of(reader.next(timeout=5))["no2"] == 74.0
