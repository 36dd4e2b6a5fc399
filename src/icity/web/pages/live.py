"""The portal's live updates: a Server-Sent Events stream of the changes a page follows (an IS, an
entity type, entities or alarms), with its visitor's rights — anonymous visitors see public IS
only, and a signed-in visitor's rights are checked again at every keep-alive. Pages read it with
static/js/live.js. Unlike a subscription's stream it does not resume: a page shows what is now."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import anyio.to_thread
import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import StreamingResponse

from icity.api.routes.streams import KEEP_ALIVE_S, RETRY_MS, watch_disconnect
from icity.db.engine import new_session, write_transaction
from icity.db.models import Change
from icity.errors import not_found
from icity.services import authentication, live_views
from icity.services.authentication import Credential
from icity.services.change_feed import KEEP_ALIVE, ChangeFeed
from icity.services.live_views import LiveFilter
from icity.web import session as web_session

router = APIRouter(include_in_schema=False)


def _opened(request: Request, wanted: LiveFilter) -> tuple[Credential | None, frozenset[str], int]:
    """Who follows (their session, or anonymous), what they may read, and their view, registered so
    that the changes they follow are logged."""
    database_url = request.app.state.database_url
    with new_session(database_url) as session:
        credential = authentication.credential_of(web_session.viewer(request, session))
        readable = live_views.readable_now(session, credential) or frozenset()
    if wanted.system is not None and wanted.system not in readable:
        raise not_found("information system", wanted.system, param="system")
    with write_transaction(database_url) as session:
        view_id = live_views.open_view(session, wanted.system)
    return credential, readable, view_id


def _still_followed(database_url: str, credential: Credential | None, view_id: int) -> frozenset[str] | None:
    with write_transaction(database_url) as session:
        live_views.extend_view(session, view_id)
        return live_views.readable_now(session, credential)


def _closed(database_url: str, view_id: int) -> None:
    with write_transaction(database_url) as session:
        live_views.close_view(session, view_id)


def _events(changes: list[Change], readable: frozenset[str], wanted: LiveFilter) -> list[bytes]:
    return [
        b"id: %d\nevent: change\ndata: %s\n\n" % (change.id, orjson.dumps(live_views.event_data(change)))
        for change in live_views.shown(changes, readable, wanted)
    ]


@router.get("/live/events")
async def live_events(
    request: Request,
    system: Annotated[str | None, Query(max_length=140)] = None,
    type: Annotated[str | None, Query(max_length=100)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
) -> StreamingResponse:
    wanted = LiveFilter(system=system or None, entity_type=type or None, kind=kind or None)
    credential, readable, view_id = await anyio.to_thread.run_sync(_opened, request, wanted)
    feed: ChangeFeed = request.app.state.change_feed
    await feed.ensure_running()
    return StreamingResponse(
        _stream(request, feed, credential, readable, wanted, view_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request, feed: ChangeFeed, credential: Credential | None, readable: frozenset[str], wanted: LiveFilter, view_id: int
) -> AsyncIterator[bytes]:
    database_url = request.app.state.database_url
    stream, sent = feed.connect(None, credential)
    watcher = asyncio.create_task(watch_disconnect(request, stream))
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        while True:
            item = await stream.next(KEEP_ALIVE_S)
            if item is None:  # closed: too slow, server stopping or client gone
                return
            if item is KEEP_ALIVE:  # a quiet while: still signed in, and with which rights?
                now_readable = await anyio.to_thread.run_sync(_still_followed, database_url, credential, view_id)
                if now_readable is None:
                    return
                readable = now_readable
                yield b": keep-alive\n\n"
                continue
            fresh = [change for change in item.changes if change.id > sent]
            for event in _events(fresh, readable, wanted):
                yield event
            sent = fresh[-1].id if fresh else sent
    finally:
        watcher.cancel()
        feed.disconnect(stream)
        with anyio.CancelScope(shield=True):  # even when the response is cancelled (client gone)
            await anyio.to_thread.run_sync(_closed, database_url, view_id)
