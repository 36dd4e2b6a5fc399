"""Rate limits and daily quotas of apps, set by the app's plan and counted over all
its keys together (a second key must not double an app's allowance).

Three limits per app, checked in this order so that a refused request does not
eat into the longer ones:
- burst: requests per second (fixed one-second window);
- rate: requests per minute (sliding-window counter: no doubled burst at a
  window edge, constant memory per app);
- quota: requests per UTC calendar day (fixed window whose identifier carries
  the date, so it resets at midnight UTC whatever time the first call came).

The algorithms and storages are those of the `limits` library: in memory
(each worker counts on its own) by default, in Redis when `ICITY_REDIS_URL` is
set (every worker shares the counts). Should Redis stop answering, requests
are served unlimited (and the log says so) rather than refused. Anonymous calls
and portal sessions are not limited here: limits are a contract with programs,
which use keys.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from limits import RateLimitItemPerDay, RateLimitItemPerMinute, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter, SlidingWindowCounterRateLimiter

from icity.errors import ICityError

log = logging.getLogger(__name__)

MEMORY = "memory://"
NAMESPACE = "icity"
# A Redis that does not answer must not hold every request: give up quickly.
REDIS_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class Plan:
    name: str
    per_second: int
    per_minute: int
    per_day: int

    @property
    def policy(self) -> str:
        """The `RateLimit-Policy` value: every limit as quota;w=window-seconds."""
        return f"{self.per_minute};w=60, {self.per_second};w=1, {self.per_day};w=86400"


# The plans an app can be on; an app's plan names one of them.
PLANS: dict[str, Plan] = {
    plan.name: plan
    for plan in (
        Plan("free", per_second=10, per_minute=60, per_day=10_000),
        Plan("standard", per_second=50, per_minute=600, per_day=200_000),
        Plan("partner", per_second=2_000, per_minute=120_000, per_day=50_000_000),
    )
}
DEFAULT_PLAN = "free"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one request's check, and what the RateLimit-* headers say.

    The headers describe the limit closest to running out among the per-minute
    rate and the daily quota (the per-second burst only when it refused), as the
    IETF RateLimit header fields draft asks when several policies apply."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until `remaining` grows again
    policy: str
    refused_by: str | None = None  # burst | minute | day
    enforced: bool = True  # False while the storage does not answer: nothing to tell

    def headers(self) -> dict[str, str]:
        if not self.enforced:
            return {}
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_s),
            "RateLimit-Policy": self.policy,
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, self.reset_s))
        return headers

    def header_items(self) -> list[tuple[bytes, bytes]]:
        """The headers as an ASGI response carries them."""
        return [(name.lower().encode(), value.encode()) for name, value in self.headers().items()]


class SweepingMemoryStorage(MemoryStorage):
    """The library's in-memory storage with one change: expired counters are
    swept inline every few seconds. The library instead starts a timer thread on
    a write whenever the previous one has ended (every 10 ms under load), and
    starting a thread waits for that thread to run: with the interpreter lock
    busy serving requests, that wait cost about 0.4 ms per request — a fifth of
    a small query. Counters are exact either way: reads skip expired ones."""

    SWEEP_EVERY_S = 5.0

    def __init__(self, uri: str | None = None, **options) -> None:
        super().__init__(uri, **options)
        self._next_sweep = time.monotonic() + self.SWEEP_EVERY_S
        self._sweeping = threading.Lock()

    # Replaces MemoryStorage.__schedule_expiry (name-mangled), which every write
    # calls; limits is pinned, and tests/services/test_ratelimit.py checks it still is.
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_sweep or not self._sweeping.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.SWEEP_EVERY_S
            self._MemoryStorage__expire_events()
        finally:
            self._sweeping.release()


# Subclassing a storage wraps its methods in the library's error translation once
# more: the parent's wrapped methods do it already.
for _method in ("incr", "get", "get_expiry", "check", "reset", "clear"):
    delattr(SweepingMemoryStorage, _method)


class _CountingFixedWindow(FixedWindowRateLimiter):
    """The library's fixed window, returning the count the hit reached: the
    remaining allowance then needs no second round trip to the storage."""

    def hit_count(self, item, *identifiers: str) -> int:
        return self.storage.incr(item.key_for(*identifiers), item.get_expiry(), amount=1)


def _seconds_to_midnight(now: datetime) -> int:
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), timezone.utc)
    return max(1, math.ceil((midnight - now).total_seconds()))


class RateLimiter:
    """Checks apps (all their keys together) against their plan's limits. One per process (and per
    storage): it holds the storage's connections, or the counts themselves."""

    def __init__(
        self, storage_uri: str = MEMORY, *, namespace: str = NAMESPACE, plans: dict[str, Plan] | None = None
    ) -> None:
        self.storage_uri = storage_uri
        self.namespace = namespace
        self.plans = plans or PLANS
        options: dict = {"wrap_exceptions": True}
        if storage_uri.startswith(("redis", "rediss", "valkey")):
            options.update(
                key_prefix=f"LIMITS:{namespace}",
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
        if storage_uri == MEMORY:
            self.storage: Storage = SweepingMemoryStorage(**options)
        else:
            self.storage = storage_from_string(storage_uri, **options)
        self._burst = _CountingFixedWindow(self.storage)
        self._minute = SlidingWindowCounterRateLimiter(self.storage)
        self._day = _CountingFixedWindow(self.storage)
        self._items = {
            name: (
                RateLimitItemPerSecond(plan.per_second, namespace=namespace),
                RateLimitItemPerMinute(plan.per_minute, namespace=namespace),
                RateLimitItemPerDay(plan.per_day, namespace=namespace),
            )
            for name, plan in self.plans.items()
        }
        self._storage_failing_since: float | None = None

    def plan(self, name: str | None) -> Plan:
        """An app's plan; an unknown name gets the most restrictive default."""
        return self.plans.get(name or DEFAULT_PLAN) or self.plans.get(DEFAULT_PLAN) or PLANS[DEFAULT_PLAN]

    def healthy(self) -> bool:
        return bool(self.storage.check())

    def check(self, app_id: int, plan_name: str | None, now: datetime | None = None) -> Verdict:
        """Count one request of app `app_id` (whichever of its keys made it). `now` only decides the UTC day of the quota."""
        plan = self.plan(plan_name)
        burst, minute, day = self._items.get(plan.name) or self._items[DEFAULT_PLAN]
        now = now or datetime.now(timezone.utc)
        app = str(app_id)
        try:
            burst_count = self._burst.hit_count(burst, "app", app)
            if burst_count > plan.per_second:
                reset = math.ceil(self.storage.get_expiry(burst.key_for("app", app)) - time.time())
                return Verdict(False, plan.per_second, 0, max(1, reset), plan.policy, "burst")
            if not self._minute.hit(minute, "app", app):
                stats = self._minute.get_window_stats(minute, "app", app)
                reset = math.ceil(stats.reset_time - time.time())
                return Verdict(False, plan.per_minute, 0, max(1, reset), plan.policy, "minute")
            day_count = self._day.hit_count(day, "app", app, now.date().isoformat())
            if day_count > plan.per_day:
                return Verdict(False, plan.per_day, 0, _seconds_to_midnight(now), plan.policy, "day")
            stats = self._minute.get_window_stats(minute, "app", app)
        except StorageError as exc:
            return self._storage_down(plan, exc)
        self._storage_failing_since = None
        minute_remaining = stats.remaining
        day_remaining = plan.per_day - day_count
        if day_remaining < minute_remaining:
            return Verdict(True, plan.per_day, day_remaining, _seconds_to_midnight(now), plan.policy)
        minute_reset = max(0, math.ceil(stats.reset_time - time.time()))
        return Verdict(True, plan.per_minute, minute_remaining, minute_reset, plan.policy)

    def _storage_down(self, plan: Plan, exc: Exception) -> Verdict:
        """The limits' storage (Redis) does not answer: serve the request rather
        than take the whole API down with it, and say so in the log once a minute."""
        now = time.monotonic()
        if self._storage_failing_since is None or now - self._storage_failing_since > 60:
            log.warning("rate limits not enforced: storage %s failed: %s", self.storage_uri.split("@")[-1], exc)
            self._storage_failing_since = now
        return Verdict(True, plan.per_minute, plan.per_minute, 60, plan.policy, enforced=False)

    def reset(self) -> None:
        """Forget every count (tests; the Redis keys of this namespace only)."""
        self.storage.reset()


def refusal(verdict: Verdict) -> ICityError:
    """The 429 problem for a refused request, with what to do about it."""
    retry = max(1, verdict.reset_s)
    if verdict.refused_by == "day":
        return ICityError(
            detail=f"This app (all its API keys together) used its daily quota of {verdict.limit:,} requests (UTC day). It renews at "
            f"midnight UTC, in {retry} s; for a larger quota, ask the platform admin for another plan.",
            status=429,
            code="quota-exceeded",
            title="Daily quota exceeded",
            headers=verdict.headers(),
        )
    window = "second" if verdict.refused_by == "burst" else "minute"
    return ICityError(
        detail=f"Too many requests: this app (all its API keys together) may make {verdict.limit} per {window}. Retry after {retry} s "
        "(Retry-After), and pace requests using the RateLimit-* headers.",
        status=429,
        code="rate-limited",
        title="Too many requests",
        headers=verdict.headers(),
    )


def enforce(limiter: RateLimiter, app_id: int, plan_name: str | None) -> Verdict:
    """Count one request of an app; raise the 429 problem when it is over a limit."""
    verdict = limiter.check(app_id, plan_name)
    if not verdict.allowed:
        raise refusal(verdict)
    return verdict
