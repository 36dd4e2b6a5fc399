"""Typed dependencies shared by the routes."""

import difflib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

import anyio
from fastapi import BackgroundTasks, Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from icity.config import get_settings
from icity.db.engine import as_background, begin_immediate, new_session, sqlite_writer_lock
from icity.errors import bad_parameter, invalid_credentials, overloaded
from icity.services import authentication, mail, ratelimit
from icity.services.access import ANONYMOUS, Principal

SESSION_COOKIE = "icity_session"


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. Made in the event loop: a new session opens no connection until it is
    first used, so making it needs no hop to a worker thread (each hop costs more than a read of
    SQLite: see bench/query.py's profile). Closed in the loop on SQLite (ending a local read is
    microseconds), in a worker thread elsewhere when it holds a connection (a round trip)."""
    session = new_session(request.app.state.database_url)
    try:
        yield session
    finally:
        if session.in_transaction() and not request.app.state.database_url.startswith("sqlite"):
            await run_in_threadpool(session.close)
        else:
            session.close()


def get_read_session(request: Request, session: Annotated[Session, Depends(get_session)]) -> Iterator[Session]:
    """The session of a read-only route: on the read replica when ICITY_DATABASE_READ_URL is set
    (the caller is still recognised on the primary: a key made a moment ago works at once), else
    the request's own session."""
    read_url = request.app.state.read_database_url
    if read_url == request.app.state.database_url:
        yield session
        return
    with new_session(read_url) as read_session:
        yield read_session


def get_transaction(request: Request, session: Annotated[Session, Depends(get_session)], tasks: BackgroundTasks):
    """The request's session, committed when the route returns without error (and
    before the response is sent: an acknowledged write is durable). Mail the
    transaction queued is delivered after the response."""
    yield session
    session.commit()
    queued = mail.queued_ids(session)
    if queued:
        after_response(tasks, mail.deliver, queued, request.app.state.database_url)


# Work a request leaves to do after its response (mail, a harvest run) takes neither a thread of
# the request pool nor its connections: a harvest waiting for the write lock on a request thread
# could hold the very thread the writer it waited for needed.
_AFTER_RESPONSE = anyio.CapacityLimiter(8)


def after_response(tasks: BackgroundTasks, target, *args) -> None:
    """Run `target(*args)` once the response is sent, as background work."""
    tasks.add_task(_run_after_response, target, *args)


async def _run_after_response(target, *args) -> None:
    await anyio.to_thread.run_sync(as_background(target), *args, limiter=_AFTER_RESPONSE)


async def get_write_transaction(request: Request, session: Annotated[Session, Depends(get_session)]) -> AsyncIterator[Session]:
    """Like the request's transaction, for routes that read and then write a lot (push): on
    SQLite it takes this process's writer lock first (see `writing`), so concurrent pushes queue
    instead of failing."""
    async with writing(session, request.app.state.database_url):
        yield session


@asynccontextmanager
async def writing(session: Session, database_url: str) -> AsyncIterator[Session]:
    """The session's writes, committed on leaving (rolled back on an error). On SQLite this holds
    this process's writer lock for the block only: a route that must call out (a city's server)
    reads first, calls out, then writes in this block. The wait is in the event loop, holding
    neither a thread of the request pool nor a connection (a push waiting so once held both, and
    the writer it waited for needed them: the server hung), and bounded: 503 when the lock is not
    free in ICITY_DB_LOCK_TIMEOUT_S. On other databases (no writer lock) it only commits."""
    lock = sqlite_writer_lock(database_url)
    if lock is None:
        yield session
        await run_in_threadpool(session.commit)
        return
    await _acquire(lock, get_settings().db_lock_timeout_s)
    try:
        await run_in_threadpool(_begin_write, session)
        yield session
        await run_in_threadpool(session.commit)
    except BaseException:
        await run_in_threadpool(session.rollback)
        raise
    finally:
        lock.release()


def _begin_write(session: Session) -> None:
    session.rollback()  # ends a read made before in this session (authentication): BEGIN IMMEDIATE must come first
    begin_immediate(session)


async def _acquire(lock: threading.Lock, timeout_s: float) -> None:
    """Take `lock` without blocking the event loop or a thread: try, then sleep a little (1 to 10 ms)."""
    deadline = time.monotonic() + timeout_s
    pause = 0.001
    while not lock.acquire(blocking=False):
        if time.monotonic() >= deadline:
            raise overloaded(f"other writes held the database for over {timeout_s:g} s")
        await anyio.sleep(pause)
        pause = min(pause * 2, 0.01)


def credentials(request: Request) -> str | None:
    """The token a request carries: `Authorization: Bearer`, `X-API-Key`, or the session cookie."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise invalid_credentials("Send credentials as `Authorization: Bearer <key or token>`.")
        return token.strip()
    return request.headers.get("x-api-key") or request.cookies.get(SESSION_COOKIE)


async def get_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> Principal:
    """Who is calling, as a dependency: an anonymous caller is known without a worker thread; a
    token is looked up (and its rate limit counted) in one."""
    token = credentials(request)
    if not token:
        principal = ANONYMOUS
        request.state.principal = principal
        return principal
    return await run_in_threadpool(principal_of_request, request, session, token)


def principal_of_request(request: Request, session: Session, token: str | None = None) -> Principal:
    """Who is calling: the one place a principal is made from a request. A
    program's key is also counted against its plan's limits here (429 when over)."""
    principal = authentication.principal_for(session, token if token is not None else credentials(request))
    request.state.principal = principal
    if principal.kind == "app":
        request.state.rate_limit = ratelimit.enforce(request.app.state.rate_limiter, principal.app_id, principal.plan)
    return principal


SessionDep = Annotated[Session, Depends(get_session)]
ReadSessionDep = Annotated[Session, Depends(get_read_session)]
TransactionDep = Annotated[Session, Depends(get_transaction, scope="function")]
WriteTransactionDep = Annotated[Session, Depends(get_write_transaction, scope="function")]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
_settings = get_settings()
LimitParam = Annotated[
    int,
    Query(ge=1, le=_settings.page_size_max, description="Items per page.", examples=[20]),
]
CursorParam = Annotated[
    str | None,
    Query(description="Opaque cursor: the `nextCursor` of the previous page, unchanged."),
]
DEFAULT_LIMIT = _settings.page_size_default


async def refuse_unknown_query_params(request: Request) -> None:
    """One rule for every /api/v1 route: a query parameter the route does not declare is a 400
    naming it (with the closest declared one), not silently ignored (`?typ=…` returned everything)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    declared = getattr(route, "icity_query_params", None)
    if declared is None:  # worked out once per route, kept on it
        declared = route.icity_query_params = _declared_query_params(route.dependant)
    for name in request.query_params:
        if name not in declared:
            close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.6)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            accepted = ", ".join(sorted(declared)) or "none"
            raise bad_parameter(name, f"Unknown query parameter '{name}'.{hint} This path accepts: {accepted}.")


def _declared_query_params(dependant: Dependant) -> frozenset[str]:
    """The query parameters a route reads, with those of its dependencies (by their public alias)."""
    names: set[str] = set()
    for param in _query_params(dependant):
        annotation = param.field_info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):  # a query-parameter model
            names.update(f.alias or n for n, f in annotation.model_fields.items())
        else:
            names.add(param.alias)
    return frozenset(names)


def _query_params(dependant: Dependant) -> Iterator:
    yield from dependant.query_params
    for dependency in dependant.dependencies:
        yield from _query_params(dependency)
