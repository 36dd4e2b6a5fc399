"""Typed dependencies shared by the routes."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Query, Request
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.db.engine import new_session, write_transaction
from icity.errors import invalid_credentials
from icity.services import authentication, mail, ratelimit
from icity.services.access import Principal

SESSION_COOKIE = "icity_session"


def get_session(request: Request) -> Iterator[Session]:
    with new_session(request.app.state.database_url) as session:
        yield session


def get_transaction(request: Request, session: Annotated[Session, Depends(get_session)], tasks: BackgroundTasks):
    """The request's session, committed when the route returns without error (and
    before the response is sent: an acknowledged write is durable). Mail the
    transaction queued is delivered after the response."""
    yield session
    session.commit()
    queued = mail.queued_ids(session)
    if queued:
        tasks.add_task(mail.deliver, queued, request.app.state.database_url)


def get_write_transaction(request: Request) -> Iterator[Session]:
    """Like the request's transaction, for routes that read and then write a lot (push): on
    SQLite it takes the write lock first, so concurrent pushes queue instead of failing."""
    with write_transaction(request.app.state.database_url) as session:
        yield session


def credentials(request: Request) -> str | None:
    """The token a request carries: `Authorization: Bearer`, `X-API-Key`, or the session cookie."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise invalid_credentials("Send credentials as `Authorization: Bearer <key or token>`.")
        return token.strip()
    return request.headers.get("x-api-key") or request.cookies.get(SESSION_COOKIE)


def get_principal(request: Request, session: Annotated[Session, Depends(get_session)]) -> Principal:
    """Who is calling: the one place a principal is made from a request. A
    program's key is also counted against its plan's limits here (429 when over)."""
    principal = authentication.principal_for(session, credentials(request))
    request.state.principal = principal
    if principal.kind == "app":
        request.state.rate_limit = ratelimit.enforce(request.app.state.rate_limiter, principal.app_id, principal.plan)
    return principal


SessionDep = Annotated[Session, Depends(get_session)]
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
