"""Push over MQTT: observations published to a broker (Mosquitto), ingested like HTTP pushes.

A device (or its gateway) publishes to ``icity/<city>/<is>/<device>/attrs`` a JSON object in
the style of FIWARE's IoT Agent JSON — ``{"no2": 41.2, "pm10": 18}``, with an optional
``"TimeInstant"`` (ISO 8601 with its zone; else the time of receipt). MQTT does not tell a
subscriber who published, so each message carries its provider token as the MQTT 5 user
property ``authorization`` = ``Bearer icp_…``; a message without a valid token of the
topic's IS is rejected.

The paho network thread only parses the envelope and hands each message to a worker
through a bounded queue (when it is full, reading from the broker waits: backpressure).
The worker takes what arrived — up to ``batch_max`` messages or ``batch_wait_s`` — groups
it per IS and per token, and stores each group with `ingest.push` in one write
transaction. A group refused as a whole (422) is stored again without the messages its
problems point at, so one malformed message never blocks the others. Rejected messages
are counted per device (``devices.rejected_messages``, with the last reason and time);
nothing a publisher sends stops the consumer.

Token lookups are cached for ``token_ttl_s`` (30 s): a revoked token stops within that.
A message is acknowledged to the broker (PUBACK, QoS 1) only once the batch holding it is
committed — stored, or its rejection recorded. With a stable ``client_id`` the session is
persistent (``session_expiry_s``): a process killed with messages queued or in flight gets
them again from the broker when it comes back under the same id (Mosquitto keeps them with
the dead session; it does not hand them to another member of the share group). Stored
again, they write nothing twice: an observation is keyed by (entity, attribute, time), so
a message that carries its ``TimeInstant`` is stored once however often it arrives (one
without takes the time of receipt, which differs on redelivery). When the database fails
(not a message), the batch is tried again, with backoff; if it still fails it is left
unacknowledged, for the broker to send again after a reconnection.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

import orjson
import paho.mqtt.client as mqtt
from sqlalchemy import update

from icity.db.engine import background_thread, new_session, write_transaction
from icity.db.models import Device, utcnow
from icity.errors import ICityError
from icity.realtime.mqtt import BrokerConnection, bearer_token
from icity.services import ingest
from icity.services.access import Principal
from icity.services.authentication import principal_for_provider_token
from icity.services.filters import to_utc
from icity.services.wire import json_problems

log = logging.getLogger(__name__)

TIME_KEY = "TimeInstant"
RETRY_DELAYS_S = (1, 2, 5, 10, 30)  # a database that fails: the batch is tried again after each
SHARE_GROUP = "icity"  # `icity serve` and `icity worker` share the messages instead of both storing each
# How long the broker keeps the session of a worker that went away (with ICITY_WORKER_ID): a
# supervisor restarts it well within this; a worker gone for good loses its share after it.
SESSION_EXPIRY_S = 3600


@dataclass(slots=True)
class Message:
    system_id: str
    device: str
    payload: bytes
    token: str | None
    received_at: datetime
    mid: int = 0  # the broker's packet id, acknowledged once stored
    qos: int = 0
    generation: int = 0  # the connection it came on
    measure: ingest.Measure | None = None
    principal: Principal | None = None


@dataclass(slots=True)
class Rejections:
    """What was refused in one batch, per (IS, device): how many, the last reason and time."""

    counts: Counter = field(default_factory=Counter)
    last: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)

    def add(self, message: Message, reason: str) -> None:
        key = (message.system_id, message.device)
        self.counts[key] += 1
        self.last[key] = (reason, message.received_at)


class TokenCache:
    """Provider token → Principal (or the reason it is refused), remembered `ttl_s` seconds."""

    def __init__(self, ttl_s: float = 30.0, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal | str]] = {}
        self.lookups = 0

    def resolve(self, session_factory, tokens: set[str]) -> dict[str, Principal | str]:
        now = time.monotonic()
        found: dict[str, Principal | str] = {}
        missing = []
        for token in tokens:
            entry = self._entries.get(token)
            if entry is not None and entry[0] > now:
                found[token] = entry[1]
            else:
                missing.append(token)
        if missing:
            if len(self._entries) + len(missing) > self.max_entries:
                self._entries = {token: entry for token, entry in self._entries.items() if entry[0] > now}
                if len(self._entries) + len(missing) > self.max_entries:
                    self._entries.clear()
            with session_factory() as session:
                for token in missing:
                    self.lookups += 1
                    try:
                        result: Principal | str = principal_for_provider_token(session, token)
                    except ICityError as error:
                        result = error.detail
                    self._entries[token] = (now + self.ttl_s, result)
                    found[token] = result
        return found


class MqttIngest:
    """Subscribes to ``<prefix>/+/+/+/attrs`` and stores what providers publish; start() / stop()."""

    def __init__(
        self,
        url: str,
        database_url: str | None = None,
        *,
        prefix: str = "icity",
        share_group: str | None = SHARE_GROUP,
        batch_max: int = 500,
        batch_wait_s: float = 0.05,
        queue_max: int = 20_000,
        token_ttl_s: float = 30.0,
        client_id: str | None = None,
        session_expiry_s: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.prefix = prefix
        self.batch_max = batch_max
        self.batch_wait_s = batch_wait_s
        self.tokens = TokenCache(token_ttl_s)
        self.stats: Counter = Counter()  # received, stored, rejected, unknown_device, failed
        self._queue: queue.Queue[Message] = queue.Queue(maxsize=queue_max)
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        # The broker sends a subscriber only so many unacknowledged QoS 1 messages at a time (Mosquitto:
        # 20) and queues the rest up to a limit (max_queued_messages, 1000), dropping beyond it: while the
        # worker stores a batch, a burst would overflow it. Receiving up to 65,535 keeps them flowing to
        # this process, whose bounded queue then decides when reading waits.
        self.broker = BrokerConnection(
            url, f"{prefix}/+/+/+/attrs", self._on_message, share_group=share_group,
            client_name="icity-ingest", client_id=client_id, receive_maximum=65_535,
            manual_ack=True, session_expiry_s=session_expiry_s if client_id else None,
        )  # fmt: skip
        self.subscribed = self.broker.subscribed

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (retrying until the broker answers) and start storing."""
        self._worker = background_thread(self._work, name="mqtt ingest")
        self._worker.start()
        self.broker.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking messages, store (and acknowledge) what is already queued, end the worker, disconnect."""
        self.broker.unsubscribe()
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout_s)
        self.broker.stop()

    def wait_subscribed(self, timeout_s: float = 10.0) -> bool:
        return self.broker.wait_subscribed(timeout_s)

    # -- paho's network thread ----------------------------------------------------------------

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        levels = message.topic.split("/")
        if len(levels) != 5 or levels[4] != "attrs":
            self.broker.ack(message.mid, message.qos, self.broker.generation)
            return
        item = Message(
            f"{levels[1]}/{levels[2]}", levels[3], message.payload, bearer_token(message), utcnow(),
            mid=message.mid, qos=message.qos, generation=self.broker.generation,
        )  # fmt: skip
        self.stats["received"] += 1
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=1.0)  # full: the broker waits for us (backpressure)
                return
            except queue.Full:
                log.warning("MQTT: the ingest queue is full; the database is not keeping up")

    # -- the worker ---------------------------------------------------------------------------

    def _work(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + self.batch_wait_s
            while len(batch) < self.batch_max:
                remaining = deadline - time.monotonic()
                try:
                    batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
                except queue.Empty:
                    break
            self._handle_retrying(batch)

    def _handle_retrying(self, batch: list[Message]) -> None:
        for delay in (*RETRY_DELAYS_S, None):
            try:
                self.handle(batch)
            except Exception:
                if delay is None:
                    self.stats["failed"] += len(batch)
                    log.exception("MQTT: %s message(s) could not be stored; left to the broker", len(batch))
                    return
                log.exception("MQTT: %s message(s) could not be stored; trying again in %s s", len(batch), delay)
                self._stop.wait(delay)  # when stopping, the remaining tries come at once
            else:
                for message in batch:  # committed: the broker may forget them
                    self.broker.ack(message.mid, message.qos, message.generation)
                return

    def handle(self, batch: list[Message]) -> None:
        """Store one batch: read, authenticate, group per IS and token, push; record rejections."""
        rejections = Rejections()
        good = self._read(batch, rejections)
        groups: dict[tuple[str, int], list[Message]] = defaultdict(list)
        for message in good:
            groups[(message.system_id, message.principal.key_id)].append(message)
        for group in groups.values():
            for chunk in _chunks(group):
                self._push(chunk, rejections)
        self._record(rejections)

    def _read(self, batch: list[Message], rejections: Rejections) -> list[Message]:
        tokens = {message.token for message in batch if message.token}
        principals = self.tokens.resolve(lambda: new_session(self.database_url), tokens) if tokens else {}
        good = []
        for message in batch:
            if not message.token:
                rejections.add(message, "no provider token: send it as the MQTT 5 user property authorization = 'Bearer icp_…'")
                continue
            principal = principals[message.token]
            if isinstance(principal, str):
                rejections.add(message, principal)
                continue
            if principal.system_id != message.system_id:
                rejections.add(message, f"the provider token is not one of {message.system_id}")
                continue
            problem = self._parse(message)
            if problem:
                rejections.add(message, problem)
                continue
            message.principal = principal
            good.append(message)
        return good

    @staticmethod
    def _parse(message: Message) -> str | None:
        """Fill message.measure from its JSON payload; or what is wrong with it."""
        try:
            payload = orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            return "the payload is not JSON"
        if not isinstance(payload, dict):
            return 'the payload must be a JSON object of attributes, e.g. {"no2": 41.2}'
        problems = json_problems(payload, limit=1)  # the same limits as an HTTP body's
        if problems:
            return f"{problems[0].path}: {problems[0].detail}"
        observed_at = message.received_at
        if TIME_KEY in payload:
            stamp = payload.pop(TIME_KEY)
            try:
                observed_at = datetime.fromisoformat(stamp) if isinstance(stamp, str) else None
            except ValueError:
                observed_at = None
            if observed_at is None or observed_at.tzinfo is None:
                return f"{TIME_KEY} must be an ISO 8601 time with its zone, e.g. 2026-11-25T10:00:00Z"
            try:
                observed_at = to_utc(observed_at)
            except ValueError as error:
                return f"{TIME_KEY} {error}"
        message.measure = ingest.Measure(message.device, observed_at, payload)
        return None

    def _push(self, group: list[Message], rejections: Rejections) -> None:
        """Store the group in one transaction; refused, store it again without the messages its
        problems name (or, when a problem names none, each message on its own)."""
        pending = group
        while pending:
            try:
                self._store(pending)
                return
            except ICityError as error:
                if error.status != 422 or len(pending) == 1:
                    for message in pending:
                        rejections.add(message, _reason(error))
                    return
                named = _problems_by_index(error)
                if not named:  # e.g. too many observations: one by one
                    for message in pending:
                        self._push([message], rejections)
                    return
                for index, problems in named.items():
                    rejections.add(pending[index], "; ".join(problems))
                pending = [message for index, message in enumerate(pending) if index not in named]

    def _store(self, messages: list[Message]) -> None:
        principal = messages[0].principal
        with write_transaction(self.database_url) as session:
            ingest.push(session, principal, messages[0].system_id, [message.measure for message in messages])
        self.stats["stored"] += len(messages)

    def _record(self, rejections: Rejections) -> None:
        if not rejections.counts:
            return
        with write_transaction(self.database_url) as session:
            for (system_id, device), count in rejections.counts.items():
                reason, at = rejections.last[(system_id, device)]
                stored = session.execute(
                    update(Device)
                    .where(Device.information_system_id == system_id, Device.local_id == device)
                    .values(rejected_messages=Device.rejected_messages + count, last_rejection=reason[:1000], last_rejection_at=at)
                ).rowcount
                if stored:
                    log.info("MQTT: rejected %s message(s) of %s device %s: %s", count, system_id, device, reason)
                else:
                    self.stats["unknown_device"] += count
                    log.warning("MQTT: rejected %s message(s) for unknown device %s of %s: %s", count, device, system_id, reason)
        # counted once recorded: whoever reads the count finds the devices' rejections stored
        self.stats["rejected"] += sum(rejections.counts.values())


def _chunks(group: list[Message]) -> Iterator[list[Message]]:
    """The group in pieces of at most ingest.MAX_OBSERVATIONS attribute values (a push's limit)."""
    chunk: list[Message] = []
    size = 0
    for message in group:
        count = len(message.measure.values)
        if chunk and size + count > ingest.MAX_OBSERVATIONS:
            yield chunk
            chunk, size = [], 0
        chunk.append(message)
        size += count
    if chunk:
        yield chunk


def _problems_by_index(error: ICityError) -> dict[int, list[str]]:
    """measures[i]… paths of a refused push → the problems of each message i, in MQTT terms.
    Empty when a problem names no one message."""
    named: dict[int, list[str]] = defaultdict(list)
    for problem in error.errors:
        if not problem.path.startswith("measures["):
            return {}
        index, _, rest = problem.path.removeprefix("measures[").partition("]")
        named[int(index)].append(_problem_text(rest.lstrip("."), problem.detail))
    return named


def _problem_text(path: str, detail: str) -> str:
    if path == "observedAt":
        path = TIME_KEY
    path = path.removeprefix("values.")
    return f"{path}: {detail}" if path and path != "device" else detail


def _reason(error: ICityError) -> str:
    if error.errors and error.status == 422:
        first = error.errors[0]
        return _problem_text(first.path.partition("].")[2] or first.path, first.detail)
    return error.detail
