"""Webhook delivery of subscriptions: a durable outbox, signed POSTs, retries, dead letters.

Two steps, each safe to run in several processes at once:

1. Outbox fill — for every live webhook subscription, the changes after its position
   that its selector matches and its app may read become `Delivery` rows (one per
   change), and the position moves past them, in one transaction: a change is queued
   exactly once, and the queue survives restarts.
2. Sending — due deliveries are claimed (one attempt counted, held for a lease), POSTed,
   and recorded: 2xx → `delivered`; otherwise retried after `backoff * 2^(attempts-1)`
   seconds, and after ICITY_WEBHOOK_MAX_ATTEMPTS failures → `dead` (a dead letter; the
   developer re-queues it through the API). Delivery is at least once: a process that
   dies while sending sends again once the lease ends.

Order per entity: a delivery is never sent while an older one of the same subscription
and entity is still pending, so a receiver sees each entity's changes in order (a dead
letter stops blocking: later changes then proceed).

Access is checked again when sending: if the app may no longer read the change's IS
(grant revoked, app withdrawn), the delivery is `withheld` — nothing is sent and its
body is dropped.

An endpoint inside the platform's own network (services/outbound.py) is refused when saved
and again before each request: the attempt then fails, and nothing is sent. A failed attempt
keeps the status code and reason phrase only: the developer reads the log, and what the
endpoint answered is not theirs to read.

Throttling (`throttlingS`): at most one request per subscription in that period. While a
delivery of an entity waits for its first attempt, a newer change of that entity replaces
it (coalesced: the receiver gets the latest state, not every step in between).

Periodic subscriptions (`interval_s`) are told no changes: every interval, the entities they
select that their app may read now are queued as one notification per IS (so that the access
check when sending stays per IS), through the same outbox.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import orjson
from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from icity.config import get_settings
from icity.db.engine import background_thread, new_session, write_transaction
from icity.db.models import Change, Delivery, Subscription, utcnow
from icity.db.types import epoch_seconds
from icity.services import changes, outbound
from icity.services.authentication import principal_of_app
from icity.services.subscription_doors import DOORS
from icity.services.subscriptions import deliverable, notification, readable_by_app

log = logging.getLogger(__name__)

PERIODIC = "*"  # the entity of a periodic notification's delivery (it is about several)
SIGNATURE_HEADER = "X-iCity-Signature"
DELIVERY_HEADER = "X-iCity-Delivery"
MAX_BACKOFF_S = 3600
FILL_BATCH = 1000  # changes read per outbox transaction
SEND_BATCH = 100  # deliveries claimed at once
SENDERS = 8  # concurrent requests: a slow endpoint delays no other
LEASE_MARGIN_S = 30  # beyond the timeout, before a claimed delivery may be sent again
MAX_ERROR_CHARS = 500
PRUNE_EVERY_S = 3600


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-iCity-Signature value: `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, header: str, body: bytes, tolerance_s: int = 300, now: float | None = None) -> bool:
    """What a receiver does: recompute the MAC over the raw body, compare in constant time,
    and refuse old timestamps (replays)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), f"t={timestamp},v1={parts.get('v1', '')}")


def backoff_s(attempts: int) -> float:
    """The wait after the `attempts`-th failure."""
    return min(get_settings().webhook_backoff_s * 2 ** (attempts - 1), MAX_BACKOFF_S)


def _live(now: datetime):
    return (
        Subscription.status == "active",
        Subscription.endpoint.is_not(None),
        or_(Subscription.expires_at.is_(None), Subscription.expires_at > now),
    )


# --- 1. Outbox fill ------------------------------------------------------------------------


def fill_outbox(database_url: str | None = None) -> int:
    """Queue the deliveries of the changes logged since the last fill; how many were queued."""
    queued = 0
    while True:
        with new_session(database_url) as session:  # a cheap look first: no write lock when idle
            behind = session.scalar(select(func.min(Subscription.position)).where(*_live(utcnow())))
            if behind is None or behind >= changes.latest_id(session):
                return queued
        with write_transaction(database_url) as session:
            added, full = _fill_batch(session)
        queued += added
        if not full:
            return queued


def _fill_batch(session: Session) -> tuple[int, bool]:
    now = utcnow()
    # locked (PostgreSQL) so that two processes filling at once do not queue a change twice
    subscriptions = list(session.scalars(select(Subscription).where(*_live(now)).order_by(Subscription.id).with_for_update()))
    if not subscriptions:
        return 0, False
    batch = changes.read_since(session, min(s.position for s in subscriptions), limit=FILL_BATCH)
    if not batch:
        return 0, False
    known: dict[int, frozenset[str] | None] = {}  # app → the IS it may read now
    added = 0
    for subscription in subscriptions:
        fresh = [change for change in batch if change.id > subscription.position]
        if not fresh:
            continue
        subscription.position = fresh[-1].id
        readable = readable_by_app(session, subscription.app_id, known)
        added += _queue(session, subscription, deliverable(subscription, readable, fresh) or [])
    return added, len(batch) == FILL_BATCH


def _queue(session: Session, subscription: Subscription, selected: list[Change]) -> int:
    if not selected:
        return 0
    waiting: dict[str, Delivery] = {}
    if subscription.throttling_s:
        # deliveries not tried yet, which a newer change of their entity replaces. Locked, and those a
        # sender holds skipped (it is claiming them: they are no longer waiting), so that no new body
        # is written into a delivery already on its way, and no two transactions wait for each other
        waiting = {
            d.entity_id: d
            for d in session.scalars(
                select(Delivery)
                .where(Delivery.subscription_id == subscription.id, Delivery.status == "pending", Delivery.attempts == 0)
                .order_by(Delivery.id)
                .with_for_update(skip_locked=True)
            )
        }
    added = 0
    for change in selected:
        body = notification(subscription, [change])
        coalesced = waiting.get(change.entity_id)
        if coalesced is not None:
            coalesced.change_id, coalesced.payload = change.id, body
            continue
        delivery = Delivery(
            subscription_id=subscription.id,
            change_id=change.id,
            entity_id=change.entity_id,
            information_system_id=change.information_system_id,
            payload=body,
            status="pending",
            attempts=0,
            next_attempt_at=utcnow(),
        )
        session.add(delivery)
        added += 1
        if subscription.throttling_s:
            waiting[change.entity_id] = delivery
    session.flush()
    return added


def fill_periodic(database_url: str | None = None) -> int:
    """Queue the notifications of the periodic subscriptions that are due; how many were queued."""
    now = utcnow()
    due = (*_live(now), Subscription.interval_s > 0, Subscription.next_periodic_at <= now)
    with new_session(database_url) as session:  # no write lock when none is due
        if session.scalar(select(Subscription.id).where(*due).limit(1)) is None:
            return 0
    queued = 0
    with write_transaction(database_url) as session:
        for subscription in list(session.scalars(select(Subscription).where(*due).with_for_update(skip_locked=True))):
            subscription.next_periodic_at = now + timedelta(seconds=subscription.interval_s)
            principal = principal_of_app(session, subscription.app_id)
            if principal is None or subscription.standard is None:
                continue
            door = DOORS[subscription.standard]
            by_system: dict[str, list] = {}
            for row in door.current(session, principal, subscription):
                by_system.setdefault(row.information_system_id, []).append(row)
            for system_id, rows in by_system.items():
                session.add(Delivery(
                    subscription_id=subscription.id, change_id=0, entity_id=PERIODIC, information_system_id=system_id,
                    payload=door.body(subscription, rows), status="pending", attempts=0, next_attempt_at=now,
                ))  # fmt: skip
                queued += 1
    return queued


# --- 2. Sending ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    endpoint: str
    secret: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()  # a door's: its media type, context link, the receiver's own


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _due(now: datetime):
    older = aliased(Delivery)
    earlier_pending = exists().where(
        older.subscription_id == Delivery.subscription_id,
        older.entity_id == Delivery.entity_id,
        older.status == "pending",
        older.id < Delivery.id,
    )
    # decided here, not after the batch is read: a throttled subscription's deliveries would
    # otherwise fill every batch and hold back every other subscription's
    throttled = and_(
        Subscription.throttling_s > 0,
        Subscription.last_notified_at.is_not(None),
        epoch_seconds(Subscription.last_notified_at) + Subscription.throttling_s > now.timestamp(),
    )
    return (
        select(Delivery, Subscription)
        .join(Subscription, Subscription.id == Delivery.subscription_id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now, *_live(now), ~earlier_pending, ~throttled)
        .order_by(Delivery.id)
        .limit(SEND_BATCH)
    )


def claim(database_url: str | None = None) -> tuple[list[Attempt], int]:
    """Take the due deliveries to send now (counting their attempt and holding them for a lease),
    and withhold those whose app may no longer read their IS. Returns (attempts, withheld)."""
    now = utcnow()
    with new_session(database_url) as session:  # no write lock when nothing is due
        if session.execute(_due(now).limit(1)).first() is None:
            return [], 0
    lease = timedelta(seconds=get_settings().webhook_timeout_s + LEASE_MARGIN_S)
    attempts: list[Attempt] = []
    withheld = 0
    with write_transaction(database_url) as session:
        known: dict[int, frozenset[str] | None] = {}  # app → the IS it may read now
        throttled: set[int] = set()  # subscriptions given their one request of the period in this batch
        for delivery, subscription in session.execute(_due(now).with_for_update(of=Delivery, skip_locked=True)).all():
            readable = readable_by_app(session, subscription.app_id, known)
            if readable is None or delivery.information_system_id not in readable:  # what deliverable() decided, again
                delivery.status, delivery.payload = "withheld", {}
                delivery.last_error = f"the app may no longer read {delivery.information_system_id}: nothing was sent"
                withheld += 1
                continue
            if subscription.throttling_s:  # those still inside their period are not due (_due)
                if subscription.id in throttled:
                    continue
                throttled.add(subscription.id)
            delivery.attempts += 1
            delivery.next_attempt_at = now + lease
            subscription.last_notified_at = now
            headers = DOORS[subscription.standard].headers(subscription) if subscription.standard else {}
            attempts.append(
                Attempt(delivery.id, subscription.endpoint, subscription.secret or "", orjson.dumps(delivery.payload),
                        tuple(headers.items()))
            )  # fmt: skip
    return attempts, withheld


def send(client: httpx.Client, attempt: Attempt) -> Outcome:
    """POST the attempt, unless its endpoint now resolves to an address it may not reach."""
    refused = outbound.refusal(attempt.endpoint)
    if refused:
        return Outcome(attempt.delivery_id, None, f"not sent: {refused}")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        **dict(attempt.headers),
        SIGNATURE_HEADER: signature(attempt.secret, timestamp, attempt.body),
        DELIVERY_HEADER: str(attempt.delivery_id),
    }
    try:
        response = client.post(attempt.endpoint, content=attempt.body, headers=headers)
    except httpx.HTTPError as error:
        return Outcome(attempt.delivery_id, None, f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS] or "request failed")
    if 200 <= response.status_code < 300:
        return Outcome(attempt.delivery_id, response.status_code, None)
    return Outcome(attempt.delivery_id, response.status_code, f"HTTP {response.status_code} {response.reason_phrase}".strip())


def record(outcomes: list[Outcome], database_url: str | None = None) -> dict[str, int]:
    """Write what the attempts gave: delivered, to retry later, or dead."""
    settings = get_settings()
    counts = {"delivered": 0, "failed": 0, "dead": 0}
    if not outcomes:
        return counts
    now = utcnow()
    with write_transaction(database_url) as session:
        for outcome in outcomes:
            delivery = session.get(Delivery, outcome.delivery_id)
            if delivery is None or delivery.status != "pending":  # its subscription was deleted meanwhile
                continue
            delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
            _count(session, delivery.subscription_id, outcome.delivered, now)
            if outcome.delivered:
                delivery.status, delivery.delivered_at = "delivered", now
                counts["delivered"] += 1
            elif delivery.attempts >= settings.webhook_max_attempts:
                delivery.status = "dead"
                counts["dead"] += 1
            else:
                delivery.next_attempt_at = now + timedelta(seconds=backoff_s(delivery.attempts))
                counts["failed"] += 1
    return counts


def _count(session: Session, subscription_id: int, delivered: bool, now: datetime) -> None:
    """The subscription's tally of requests sent, failed, and when it last succeeded or failed."""
    subscription = session.get(Subscription, subscription_id)
    if subscription is None:
        return
    subscription.times_sent += 1
    if delivered:
        subscription.last_success_at = now
    else:
        subscription.times_failed += 1
        subscription.last_failure_at = now


def prune(database_url: str | None = None, now: datetime | None = None) -> int:
    """Forget finished deliveries older than ICITY_WEBHOOK_LOG_DAYS; how many were forgotten."""
    before = (now or utcnow()) - timedelta(days=get_settings().webhook_log_days)
    with write_transaction(database_url) as session:
        finished = delete(Delivery).where(Delivery.status != "pending", Delivery.created_at < before)
        return session.execute(finished).rowcount


# --- The background worker -----------------------------------------------------------------


class WebhookDispatcher:
    """Fills the outbox and sends what is due: woken by each commit that logged changes in this
    process (and, through changes.RedisWakeups, in the others), polling every ICITY_WEBHOOK_POLL_S anyway."""

    def __init__(self, database_url: str | None = None, poll_s: float | None = None) -> None:
        settings = get_settings()
        self.database_url = database_url
        self.poll_s = settings.webhook_poll_s if poll_s is None else poll_s
        self._client = httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="webhook")
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unregister = None

    def run_once(self) -> dict[str, int]:
        """One round: queue new changes, then send until nothing more is due now. Counts what happened."""
        queued = fill_outbox(self.database_url) + fill_periodic(self.database_url)
        totals = {"queued": queued, "delivered": 0, "failed": 0, "dead": 0, "withheld": 0}
        while not self._stop.is_set():
            attempts, withheld = claim(self.database_url)
            totals["withheld"] += withheld
            if not attempts and not withheld:
                break
            outcomes = list(self._pool.map(lambda attempt: send(self._client, attempt), attempts))
            for name, count in record(outcomes, self.database_url).items():
                totals[name] += count
        return totals

    def _run(self) -> None:
        pruned_at = 0.0
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                self.run_once()
                if time.monotonic() - pruned_at > PRUNE_EVERY_S:
                    prune(self.database_url)
                    pruned_at = time.monotonic()
            except Exception:  # a database hiccup must not end deliveries
                log.exception("webhook deliveries failed; trying again in %s s", self.poll_s)
                self._stop.wait(self.poll_s)

    def start(self) -> None:
        self._unregister = changes.on_commit(self._wake.set)
        self._thread = background_thread(self._run, name="webhook dispatcher")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._unregister is not None:
            self._unregister()
        if self._thread is not None:
            self._thread.join()
        self._pool.shutdown()
        self._client.close()

    def close(self) -> None:
        """Release the HTTP client and threads of a dispatcher that was never started (tests)."""
        self._pool.shutdown()
        self._client.close()
