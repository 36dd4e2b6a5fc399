"""Delivering device commands, and recording what devices answer.

Over MQTT (a device without `command_url`), in the style of FIWARE's IoT Agent JSON:
the dispatcher publishes ``{"<command>": <parameters>, "commandId": <id>}`` to
``icity/<city>/<is>/<device>/cmd`` with QoS 1 — the command is `sent` once the broker
acknowledges it — and the device answers on ``…/<device>/cmdexe`` with
``{"<command>": <result>, "commandId": <id>}`` → `acknowledged`, or with an
``"error"`` (at the top, or in its result object) → `failed`. Without a commandId the
reply answers the oldest `sent` command of that name. A reply carries a provider token
of the IS as the MQTT 5 user property ``authorization``, like observations on
``…/attrs``; replies that are refused are counted on their device.

The reply handling lives here, in the dispatcher's own MQTT client, rather than in
MqttIngest: the command's whole way (publish, reply, expiry) is in one place, and
MqttIngest stays about observations. Its shared subscription (``$share/icity-commands``)
gives each reply to one of the running dispatchers (`icity serve`, `icity worker`).

Over HTTP: a POST of ``{"id", "command", "parameters"}`` to the device's `command_url`;
2xx → acknowledged (the JSON answer, if any, is the result), 3xx/4xx → failed, 5xx or
no answer → tried again with backoff until the command expires. Each attempt runs in
a thread of its own (up to `http_parallel`), so a slow device delays no other.

Every attempt is first claimed in the database (a lease on `next_attempt_at`), so
several dispatchers never deliver the same attempt twice; a dispatcher that dies with
an attempt claimed leaves it to be tried again once the lease ends. Pending or sent
commands past their expiry become `expired`. Before each attempt the sending app's grant is
checked again: a command of an app whose access was revoked (or that was withdrawn) in the
meantime fails instead of reaching the device.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
from sqlalchemy import update

from icity.config import get_settings
from icity.db.engine import background_thread, new_session, write_transaction
from icity.db.models import Device, utcnow
from icity.realtime.mqtt import BrokerConnection, bearer_token
from icity.services import commands, outbound
from icity.services.mqtt_ingest import TokenCache

log = logging.getLogger(__name__)

SHARE_GROUP = "icity-commands"
RETRY_DELAYS_S = (1, 2, 5, 10, 30, 60)  # after the 1st, 2nd… failed HTTP attempt (then 60 s) until expiry
PUBLISH_WAIT_S = 5.0  # the broker's PUBACK; without it the command is published again after the lease
MQTT_LEASE_S = 30.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One claimed delivery: what it needs, detached from the database session."""

    command_id: int
    name: str
    parameters: dict[str, Any]
    system_id: str
    device: str
    command_url: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Reply:
    system_id: str
    device: str
    payload: bytes
    token: str | None
    received_at: datetime


class CommandDispatcher:
    """Delivers pending commands (MQTT and HTTP), records replies, expires the overdue; start() / stop()."""

    def __init__(
        self,
        database_url: str | None = None,
        mqtt_url: str | None = None,
        *,
        prefix: str = "icity",
        share_group: str | None = SHARE_GROUP,
        poll_s: float = 0.5,
        http_timeout_s: float | None = None,
        http_parallel: int = 8,
        batch: int = 100,
        token_ttl_s: float = 30.0,
    ) -> None:
        self.database_url = database_url
        self.prefix = prefix
        self.poll_s = poll_s
        self.http_timeout_s = http_timeout_s or get_settings().command_http_timeout_s
        self.http_parallel = http_parallel
        self.batch = batch
        self.stats: Counter = Counter()  # sent, acknowledged, failed, expired, retried, replies_rejected
        self.tokens = TokenCache(token_ttl_s)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self._replies: queue.Queue[Reply] = queue.Queue(maxsize=10_000)
        self._http = httpx.Client(timeout=self.http_timeout_s, follow_redirects=False)
        self._pool = ThreadPoolExecutor(max_workers=http_parallel, thread_name_prefix="command http")
        self._in_flight: set[Future] = set()
        self.broker: BrokerConnection | None = None
        if mqtt_url:
            self.broker = BrokerConnection(
                mqtt_url, f"{prefix}/+/+/+/cmdexe", self._on_reply, share_group=share_group,
                client_name="icity-commands", on_connected=self._wake.set,  # commands waiting for the broker can go now
            )  # fmt: skip

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Connect to the broker (retrying in the background) and deliver until stop()."""
        self._connect()
        self._loop = background_thread(self._run, name="command dispatcher")
        self._loop.start()

    def _connect(self) -> None:
        """Wake on new commands of this process and, with a broker, connect to it."""
        commands.add_waker(self._wake)
        if self.broker is not None:
            self.broker.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        commands.remove_waker(self._wake)
        if self._loop is not None:
            self._loop.join(timeout_s)
        self._pool.shutdown(wait=True)
        if self.broker is not None:
            self.broker.stop()
        self._http.close()

    def wait_subscribed(self, timeout_s: float = 10.0) -> bool:
        return self.broker is not None and self.broker.wait_subscribed(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            try:
                self.run_once(wait=False)
            except Exception:  # a database hiccup must not end the deliveries
                log.exception("command dispatching failed; trying again")
                self._stop.wait(1.0)

    # -- one round ------------------------------------------------------------------------

    def run_once(self, wait: bool = True) -> None:
        """Record the replies received, expire the overdue, deliver what is due. With `wait`,
        return only once this round's HTTP attempts have ended (tests, `--once`)."""
        self._record_replies()
        now = utcnow()
        with write_transaction(self.database_url) as session:
            self.stats["expired"] += commands.expire_due(session, now)
        if self.broker is not None and self.broker.is_connected():
            self._publish(self._claim("mqtt", self.batch, MQTT_LEASE_S))
        self._in_flight = {future for future in self._in_flight if not future.done()}
        free = self.http_parallel - len(self._in_flight)
        if free > 0:
            for attempt in self._claim("http", free, 4 * self.http_timeout_s + 10):
                self._in_flight.add(self._pool.submit(self._post, attempt))
        if wait and self._in_flight:
            wait_all(self._in_flight)

    def _claim(self, channel: str, limit: int, lease_s: float) -> list[Attempt]:
        now = utcnow()
        claimed = []
        with write_transaction(self.database_url) as session:
            for command, device in commands.due(session, now, limit, channel):
                refusal = commands.no_longer_allowed(session, command)
                if refusal is not None:
                    if commands.complete(session, command.id, error=refusal, delivered=False):
                        self.stats["failed"] += 1
                    continue
                if commands.claim(session, command, now, lease_s):
                    claimed.append(
                        Attempt(command.id, command.name, command.parameters, device.information_system_id,
                                device.local_id, device.command_url, (command.attempts or 0) + 1)
                    )  # fmt: skip
        return claimed

    # -- MQTT -----------------------------------------------------------------------------

    def _publish(self, attempts: list[Attempt]) -> None:
        if not attempts:
            return
        published = []
        for attempt in attempts:
            payload = orjson.dumps({attempt.name: attempt.parameters, "commandId": attempt.command_id})
            topic = f"{self.prefix}/{attempt.system_id}/{attempt.device}/cmd"
            published.append((attempt, self.broker.publish(topic, payload, qos=1)))
        sent = []
        for attempt, info in published:
            try:
                info.wait_for_publish(PUBLISH_WAIT_S)
            except (RuntimeError, ValueError) as error:
                log.warning("MQTT: command %s not published: %s; trying again", attempt.command_id, error)
                continue
            if info.is_published():
                sent.append(attempt.command_id)
            else:
                log.warning("MQTT: the broker did not acknowledge command %s; trying again", attempt.command_id)
        if sent:
            now = utcnow()
            with write_transaction(self.database_url) as session:
                for command_id in sent:
                    commands.mark_sent(session, command_id, now)
            self.stats["sent"] += len(sent)

    def _on_reply(self, message: mqtt.MQTTMessage) -> None:
        levels = message.topic.split("/")
        if len(levels) != 5 or levels[4] != "cmdexe":
            return
        reply = Reply(f"{levels[1]}/{levels[2]}", levels[3], message.payload, bearer_token(message), utcnow())
        try:
            self._replies.put_nowait(reply)
        except queue.Full:
            log.warning("MQTT: too many command replies waiting; one from %s dropped", message.topic)

    def _record_replies(self) -> None:
        replies: list[Reply] = []
        while len(replies) < 1000:
            try:
                replies.append(self._replies.get_nowait())
            except queue.Empty:
                break
        if not replies:
            return
        tokens = {reply.token for reply in replies if reply.token}
        principals = self.tokens.resolve(lambda: new_session(self.database_url), tokens) if tokens else {}
        rejected: list[tuple[Reply, str]] = []
        with write_transaction(self.database_url) as session:
            for reply in replies:
                principal = principals.get(reply.token) if reply.token else None
                if principal is None:
                    problem = "no provider token: send it as the MQTT 5 user property authorization = 'Bearer icp_…'"
                elif isinstance(principal, str):
                    problem = principal
                elif principal.system_id != reply.system_id:
                    problem = f"the provider token is not one of {reply.system_id}"
                else:
                    problem = self._record_reply(session, reply)
                if problem:
                    rejected.append((reply, problem))
            for reply, problem in rejected:
                self._count_rejection(session, reply, problem)
        self.stats["replies_rejected"] += len(rejected)

    def _record_reply(self, session, reply: Reply) -> str | None:
        """Complete the command a reply answers; or what is wrong with the reply."""
        try:
            payload = orjson.loads(reply.payload)
        except orjson.JSONDecodeError:
            return "the reply is not JSON"
        if not isinstance(payload, dict):
            return 'a reply is a JSON object: {"<command>": <result>, "commandId": <id>}'
        command_id = payload.pop("commandId", None)
        if command_id is not None:
            try:
                command_id = int(command_id)
            except (TypeError, ValueError):
                return "commandId is the id of the command, a number"
        error = payload.pop("error", None)
        if len(payload) > 1:
            return f"a reply answers one command, not {', '.join(sorted(payload))}"
        name = next(iter(payload), None)
        target = commands.awaited_by_reply(session, reply.system_id, reply.device, command_id, name)
        if isinstance(target, str):
            return target
        result = payload.get(name) if name else None
        if error is None and isinstance(result, dict) and result.get("error") is not None:
            error = result["error"]
        if error is not None and not isinstance(error, str):
            error = orjson.dumps(error).decode()
        if commands.complete(session, target.id, result=result, error=error):
            self.stats["failed" if error is not None else "acknowledged"] += 1
        return None

    @staticmethod
    def _count_rejection(session, reply: Reply, problem: str) -> None:
        log.info("MQTT: rejected a command reply of %s device %s: %s", reply.system_id, reply.device, problem)
        session.execute(
            update(Device)
            .where(Device.information_system_id == reply.system_id, Device.local_id == reply.device)
            .values(
                rejected_messages=Device.rejected_messages + 1,
                last_rejection=f"command reply: {problem}"[:1000],
                last_rejection_at=reply.received_at,
            )
        )

    # -- HTTP -----------------------------------------------------------------------------

    def _post(self, attempt: Attempt) -> None:
        refused = outbound.refusal(attempt.command_url)  # checked when declared; DNS may have changed since
        if refused:
            self._retry(attempt, f"not sent: {refused}")
            return
        body = {"id": attempt.command_id, "command": attempt.name, "parameters": attempt.parameters}
        try:
            response = self._http.post(attempt.command_url, json=body)
        except httpx.HTTPError as error:
            self._retry(attempt, f"no answer from {attempt.command_url}: {error or type(error).__name__}")
            return
        except Exception:
            log.exception("command %s: the POST to %s failed", attempt.command_id, attempt.command_url)
            self._retry(attempt, f"the POST to {attempt.command_url} failed")
            return
        if response.status_code >= 500:
            self._retry(attempt, f"the device's endpoint answered {response.status_code}")
            return
        result = _json_or_none(response)
        error = None if response.is_success else f"the device's endpoint answered {response.status_code}"
        with write_transaction(self.database_url) as session:
            if commands.complete(session, attempt.command_id, result=result, error=error):
                self.stats["failed" if error else "acknowledged"] += 1

    def _retry(self, attempt: Attempt, error: str) -> None:
        delay = RETRY_DELAYS_S[min(attempt.attempts, len(RETRY_DELAYS_S)) - 1]
        with write_transaction(self.database_url) as session:
            commands.retry_later(session, attempt.command_id, error, utcnow() + timedelta(seconds=delay))
        self.stats["retried"] += 1
        log.info("command %s: %s; trying again in %s s", attempt.command_id, error, delay)


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
