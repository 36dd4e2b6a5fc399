"""Typed dependencies shared by the routes."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.db.engine import new_session
from icity.services.access import ANONYMOUS, Principal


def get_session(request: Request) -> Iterator[Session]:
    with new_session(request.app.state.database_url) as session:
        yield session


def get_principal(request: Request) -> Principal:
    """Who is calling. The next step of the platform resolves API keys and
    sessions here; every route already receives the principal from this one place."""
    return ANONYMOUS


SessionDep = Annotated[Session, Depends(get_session)]
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
