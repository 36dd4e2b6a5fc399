"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a copy per
request): admission (how many requests a worker serves at once), the request-body
size limit, and usage metering of API-key calls.

Routes say which information systems a response served with `served`; the
metering middleware adds the status and the bytes sent and hands the call to
the worker's UsageMeter (memory only; flushed to the database in the background).
"""

from __future__ import annotations

from typing import Any, Iterable

import anyio
import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from icity.api.responses import PROBLEM_JSON
from icity.errors import ICityError, overloaded
from icity.services import gate
from icity.services.usage import UsageMeter

PRINCIPAL = "principal"  # request.state.principal, set by api.deps.get_principal
RATE_LIMIT = "rate_limit"  # request.state.rate_limit: the key's ratelimit.Verdict
SERVED_SYSTEMS = "served_systems"  # request.state.served_systems: the IS ids a response served


def served(request: Request, systems: Iterable[str], data: bool = True) -> None:
    """Report the information systems whose data this response carries, for
    metering. Only calls made with an API key are metered, so only those pay
    for listing them. A data read (not a catalogue description) of a priced IS
    beyond the app's free allowance, without the offer accepted, is refused
    here with 402 (services/gate.py); the refused call counts under no IS."""
    principal = request.scope.get("state", {}).get(PRINCIPAL)
    if principal is not None and principal.kind == "app":
        ids = list(dict.fromkeys(systems))
        if data and ids:
            gate.check(request.app.state.database_url, request.app.state.usage_meter, principal.app_id, ids)
        request.scope["state"][SERVED_SYSTEMS] = ids


async def send_problem(send: Send, error: ICityError, path: str) -> None:
    body = orjson.dumps(error.problem(instance=path))
    headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def body_too_large(max_bytes: int) -> ICityError:
    return ICityError(
        detail=f"The request body is larger than the {max_bytes:,} bytes accepted: send less per request "
        "(split a batch into several).",
        status=413,
        code="body-too-large",
        title="Request body too large",
        headers={"Connection": "close"},
    )


class AdmissionMiddleware:
    """At most `limit` requests of this worker at once; the others wait their turn in the event
    loop, holding no thread and no connection, for up to `wait_s`, then get 503 with Retry-After.

    Sync routes and dependencies run on a few threads, and a request keeps its database
    connection from one thread hop to the next: with no bound, 50 clients' requests each held a
    connection while waiting for a thread, and the threads waited for a connection: the server
    hung. With at most `limit` requests in flight, and the request pool sized for them
    (db/engine), a connection is always free. Long-lived event streams hold no connection while
    they stream, static files none at all: they are not counted.
    """

    def __init__(self, app: ASGIApp, limit: int, wait_s: float, exempt_prefixes: tuple[str, ...] = ()):
        self.app = app
        self.limit = limit
        self.slots = anyio.Semaphore(limit)
        self.wait_s = wait_s
        self.exempt_prefixes = exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(self.exempt_prefixes) or path.endswith("/events"):
            await self.app(scope, receive, send)
            return
        admitted = False
        with anyio.move_on_after(self.wait_s):  # bounds the wait for a turn, never the request
            await self.slots.acquire()
            admitted = True
        if not admitted:
            await send_problem(send, overloaded(f"{self.limit} requests under way"), path)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()


class BodyLimitMiddleware:
    """413 for request bodies over `max_bytes`: at once when Content-Length says
    so (nothing is read), and as soon as a body streamed without one passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: tuple[tuple[str, int], ...] = ()):
        self.app = app
        self.default_max_bytes = max_bytes
        self.larger = larger  # (path prefix, its limit): batch operations take larger bodies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = next((limit for prefix, limit in self.larger if scope["path"].startswith(prefix)), self.default_max_bytes)
        length: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = True
        if length is not None:
            if length.isdigit() and int(length) > max_bytes:
                await send_problem(send, body_too_large(max_bytes), scope["path"])
                return
            # the server reads exactly Content-Length bytes: nothing more can come
            await self.app(scope, receive, send)
            return
        if not chunked:  # no body at all
            await self.app(scope, receive, send)
            return
        await self._streamed(scope, receive, send, max_bytes)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, max_bytes: int) -> None:
        """A body without Content-Length is read here, up to the limit, before the
        app runs: a route that never reads its body is refused the same way, and
        the app gets the body whole, as it would have read it."""
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: the app hears it
                first = message
                break
            body = message.get("body", b"")
            received += len(body)
            if received > max_bytes:
                await send_problem(send, body_too_large(max_bytes), scope["path"])
                return
            chunks.append(body)
            if not message.get("more_body", False):
                first = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first
            return await receive()

        await self.app(scope, replay, send)


class UsageMiddleware:
    """Meters every call made with an API key (status, bytes out, IS served) and
    puts the key's RateLimit-* headers on its response."""

    def __init__(self, app: ASGIApp, meter: UsageMeter):
        self.app = app
        self.meter = meter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500  # unless a response starts: an unhandled error
        bytes_out = 0

        async def metered_send(message: Message) -> None:
            nonlocal status, bytes_out
            if message["type"] == "http.response.start":
                status = message["status"]
                verdict = state.get(RATE_LIMIT)
                if verdict is not None:
                    message["headers"] = [*message.get("headers", ()), *verdict.header_items()]
            elif message["type"] == "http.response.body":
                bytes_out += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, metered_send)
        finally:
            principal = state.get(PRINCIPAL)
            if principal is not None and principal.kind == "app":
                self.meter.record(principal.app_id, principal.key_id, state.get(SERVED_SYSTEMS), status, bytes_out)
