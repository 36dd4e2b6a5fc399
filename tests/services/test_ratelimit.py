"""The in-memory storage of the limits: the library's, with expired counters
swept inline instead of by a timer thread started on writes (see
icity.services.ratelimit.SweepingMemoryStorage). These tests fail if an
upgrade of `limits` stops calling the replaced method."""

import threading
import time

from limits import RateLimitItemPerMinute
from limits.strategies import SlidingWindowCounterRateLimiter

from icity.services.ratelimit import RateLimiter, SweepingMemoryStorage


def test_counting_starts_no_thread(monkeypatch):
    storage = SweepingMemoryStorage()
    time.sleep(0.05)  # the library's one timer of the constructor has run
    started = []
    start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda thread: (started.append(thread), start(thread)))

    for i in range(500):
        storage.incr(f"key-{i}", 60)
        if i % 100 == 0:
            time.sleep(0.02)  # the library would have started a timer again by now
    SlidingWindowCounterRateLimiter(storage).hit(RateLimitItemPerMinute(5), "someone")

    assert started == []


def test_expired_counters_are_swept_by_a_later_write():
    storage = SweepingMemoryStorage()
    for i in range(100):
        storage.incr(f"short-{i}", 1)
    assert len(storage.storage) == 100
    time.sleep(1.05)
    storage._next_sweep = 0  # a sweep is due
    storage.incr("fresh", 60)

    assert set(storage.storage) == {"fresh"}


def test_expired_counters_count_as_zero_before_any_sweep():
    storage = SweepingMemoryStorage()
    storage.incr("k", 1)
    time.sleep(1.05)
    assert storage.get("k") == 0
    assert storage.incr("k", 1) == 1


def test_the_default_limiter_counts_in_the_sweeping_memory_storage():
    assert isinstance(RateLimiter().storage, SweepingMemoryStorage)
