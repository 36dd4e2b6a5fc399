"""The change feed of one API worker: reads the change log once per wake-up and hands each new
batch to every SSE stream connected to this worker.

It wakes on a commit in this process (changes.on_commit), on a message on the Redis channel
changes.CHANNEL when ICITY_REDIS_URL is set (commits in other workers and `icity worker`),
and every `poll_s` seconds besides (a lost wake-up delays a change, never loses it: the log
is the source of truth).

With each batch it loads, once for all streams, what delivery decides on: the connected
streams' subscriptions as they are now, for each of their apps the IS it may read now
(None: the app was withdrawn), and whether the key or session that opened each stream is
still valid — so a revoked grant or key, an ended session or a paused subscription takes
effect on the next batch. A stream's queue is bounded: a client too slow to keep up is
closed, and resumes from the log with Last-Event-ID, instead of holding memory or slowing
the others.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import anyio.to_thread
from sqlalchemy import select

from icity.db.engine import new_session
from icity.db.models import Change, Subscription
from icity.services import changes, subscriptions
from icity.services.access import Principal
from icity.services.authentication import Credential

log = logging.getLogger(__name__)

READ_LIMIT = 1000  # changes read per query; a longer backlog is read in several
STREAM_CAPACITY = 256  # batches a stream may hold before it is closed as too slow
REDIS_RETRY_S = (1, 2, 5, 10, 30)
KEEP_ALIVE = object()  # Stream.next: nothing arrived in time


@dataclass
class Views:
    """What decides delivery, as it is now: subscriptions (None: deleted); per app, the IS it may
    read (None: the app was withdrawn or its owner's account is not approved); per stream
    (subscription, credential that opened it), whether that credential may still follow it."""

    subscriptions: dict[int, Subscription | None] = field(default_factory=dict)
    readable: dict[int, frozenset[str] | None] = field(default_factory=dict)
    followed: dict[tuple[int, Credential], bool] = field(default_factory=dict)

    def deliverable(self, subscription_id: int, credential: Credential, changed: list[Change]) -> list[Change] | None:
        """The changes that go to this stream (subscriptions.deliverable); None once the stream must end."""
        if not self.followed.get((subscription_id, credential)):
            return None
        subscription = self.subscriptions.get(subscription_id)
        readable = self.readable.get(subscription.app_id) if subscription is not None else None
        return subscriptions.deliverable(subscription, readable, changed)


@dataclass
class Batch:
    changes: list[Change]
    views: Views


def load_views(session, streams: Iterable[tuple[int, Credential]]) -> Views:
    """The views of these streams, each (subscription id, credential that opened it): one lookup per app."""
    views = Views()
    wanted = set(streams)
    principals: dict[Credential, Principal | None] = {}  # streams opened with the same key: one lookup
    ids = {subscription_id for subscription_id, _ in wanted}
    found = {s.id: s for s in session.scalars(select(Subscription).where(Subscription.id.in_(ids)))} if ids else {}
    for subscription_id, credential in wanted:
        subscription = views.subscriptions[subscription_id] = found.get(subscription_id)
        if subscription is None:
            continue
        subscriptions.readable_by_app(session, subscription.app_id, views.readable)
        views.followed[subscription_id, credential] = subscriptions.may_follow(session, credential, subscription, principals)
    return views


class Stream:
    """One connected client's queue of batches, filled by the feed, emptied by its response: a
    subscription's stream, or (subscription_id None) a portal page following changes live."""

    def __init__(self, subscription_id: int | None, credential: Credential | None, capacity: int = STREAM_CAPACITY):
        self.subscription_id = subscription_id
        self.credential = credential  # what authenticated its client: checked again with each batch
        self.closed: str | None = None  # why, once closed
        self._queue: asyncio.Queue[Batch | None] = asyncio.Queue(capacity)

    def offer(self, batch: Batch) -> None:
        if self.closed:
            return
        try:
            self._queue.put_nowait(batch)
        except asyncio.QueueFull:
            log.info("stream of subscription %s closed: the client reads too slowly", self.subscription_id)
            self.close("too slow")

    def close(self, reason: str) -> None:
        """End the stream: what it holds is dropped (the client resumes from the log)."""
        if self.closed:
            return
        self.closed = reason
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def next(self, timeout_s: float) -> Batch | None | object:
        """The next batch; None once closed; KEEP_ALIVE when nothing came within `timeout_s`."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout_s)
        except TimeoutError:
            return KEEP_ALIVE


class ChangeFeed:
    """One per API worker process; start() and stop() run in the application's event loop."""

    def __init__(self, database_url: str, redis_url: str | None = None, poll_s: float = 1.0):
        self.database_url = database_url
        self.redis_url = redis_url
        self.poll_s = poll_s
        self.position = 0  # the last change handed to the streams
        self._streams: set[Stream] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._unregister = None
        self._signal_handlers: list[tuple[int, object, object]] = []  # (signal, the server's handler, ours)

    @property
    def running(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        return self._loop is loop and any(not task.done() for task in self._tasks)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        try:
            self.position = await anyio.to_thread.run_sync(self._latest)
        except Exception as error:  # a database not reachable yet: the first read catches up
            log.warning("change feed: could not read the change log's head (%s)", error)
        self._unregister = changes.on_commit(self._wake_threadsafe)
        self._close_streams_on_shutdown_signals()
        self._tasks = [asyncio.create_task(self._run(), name="change-feed")]
        if self.redis_url:
            self._tasks.append(asyncio.create_task(self._listen_redis(), name="change-feed-redis"))

    async def ensure_running(self) -> None:
        """Start in this event loop if not running there (an app used without its lifespan, as in tests)."""
        if not self.running:
            self._streams.clear()  # streams of a loop that is gone: nothing reads them any more
            await self.stop()
            await self.start()

    async def stop(self) -> None:
        self._restore_signal_handlers()
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        loop = asyncio.get_running_loop()
        ours = [task for task in self._tasks if task.get_loop() is loop]  # others belong to a loop that is gone
        for task in ours:
            task.cancel()
        for task in ours:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks = []
        self.close_streams()
        self._streams.clear()

    def close_streams(self, reason: str = "server stopping") -> None:
        """End every stream now; their clients reconnect (to another worker, or after a restart) with Last-Event-ID."""
        for stream in list(self._streams):
            stream.close(reason)

    def _close_streams_on_shutdown_signals(self) -> None:
        """uvicorn, told to stop, waits for the responses under way, and a stream never ends by itself:
        on SIGTERM or SIGINT the streams are closed first, then the server's own handler runs."""
        if threading.current_thread() is not threading.main_thread():  # a server in a thread (tests)
            return
        loop = self._loop
        for number in (signal.SIGTERM, signal.SIGINT):
            server_handler = signal.getsignal(number)
            if not callable(server_handler):  # no server is handling it: nothing waits for the streams
                continue

            def handler(signum, frame, server_handler=server_handler) -> None:
                loop.call_soon_threadsafe(self.close_streams)
                server_handler(signum, frame)

            signal.signal(number, handler)
            self._signal_handlers.append((number, server_handler, handler))

    def _restore_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for number, server_handler, ours in self._signal_handlers:
            if signal.getsignal(number) is ours:
                signal.signal(number, server_handler)
        self._signal_handlers = []

    def connect(self, subscription_id: int | None, credential: Credential | None) -> tuple[Stream, int]:
        """A new stream, and the position after which it receives every change: replay up to it from the log."""
        stream = Stream(subscription_id, credential)
        self._streams.add(stream)
        return stream, self.position

    def disconnect(self, stream: Stream) -> None:
        self._streams.discard(stream)

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    def wake(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _wake_threadsafe(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self.wake)
            except RuntimeError:  # the loop closed meanwhile
                pass

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the change feed could not read the change log; trying again")
                await asyncio.sleep(self.poll_s)

    async def _read(self) -> None:
        while True:
            if not self._streams:  # nobody to hand changes to: keep up without reading them
                self.position = max(self.position, await anyio.to_thread.run_sync(self._latest))
                return
            # a portal page's live stream (no subscription) decides what it shows by itself
            followed = {(s.subscription_id, s.credential) for s in self._streams if s.subscription_id is not None}
            batch = await anyio.to_thread.run_sync(self._load, self.position, followed)
            if not batch.changes:
                return
            self.position = batch.changes[-1].id
            for stream in list(self._streams):
                stream.offer(batch)
            if len(batch.changes) < READ_LIMIT:
                return

    def _latest(self) -> int:
        with new_session(self.database_url) as session:
            return changes.latest_id(session)

    def _load(self, position: int, followed: set[tuple[int, Credential]]) -> Batch:
        with new_session(self.database_url) as session:
            found = changes.read_since(session, position, READ_LIMIT)
            views = load_views(session, followed) if found else Views()
            return Batch(found, views)

    async def _listen_redis(self) -> None:
        import redis.asyncio as redis

        failures = 0
        while True:
            client = redis.Redis.from_url(self.redis_url, socket_connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(changes.CHANNEL)
                    if failures:
                        log.warning("change feed: listening to Redis again")
                    failures = 0
                    self.wake()  # what was announced while not listening
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            self.wake()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                delay = REDIS_RETRY_S[min(failures, len(REDIS_RETRY_S) - 1)]
                failures += 1
                log.warning(
                    "change feed: Redis unreachable (%s); polling every %s s, retrying in %s s", error, self.poll_s, delay
                )
                await asyncio.sleep(delay)
            finally:
                await client.aclose()
