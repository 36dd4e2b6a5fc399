"""Route: a subscription's notifications as a Server-Sent Events stream, resumable with Last-Event-ID.

Each event is one changed entity: `id:` the change's position in the change log, `event:
notification`, `data:` the notification (services/subscriptions.py). A client that comes back
with `Last-Event-ID` (browsers' EventSource send it by themselves) first gets, from the log,
every matching change it missed, in order, then the live ones. Access is decided per batch
at delivery time, so a revoked grant stops events at once; a paused, deleted or expired
subscription, a withdrawn app, a revoked or expired key, an ended session, an account no
longer approved or a client too slow to keep up ends the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio.to_thread
import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import StreamingResponse

from icity.api.deps import principal_of_request
from icity.api.schemas import Problem, RowId
from icity.db.engine import new_session
from icity.db.models import Change, Subscription, utcnow
from icity.errors import authentication_required, bad_parameter, rule_violation
from icity.services import authentication, changes, subscriptions
from icity.services.authentication import Credential
from icity.services.change_feed import KEEP_ALIVE, ChangeFeed, Stream, Views, load_views

router = APIRouter(tags=["subscriptions"])

KEEP_ALIVE_S = 15.0  # a comment this often keeps proxies from closing an idle stream
RETRY_MS = 2000  # how long EventSource waits before it reconnects
REPLAY_PAGE = 1000


def _seconds_left(subscription: Subscription) -> float | None:
    if subscription.expires_at is None:
        return None
    return (subscription.expires_at - utcnow()).total_seconds()


def _opened(request: Request, subscription_id: int) -> tuple[Subscription, Credential]:
    """Authenticate (and count against the key's rate limit) and find the caller's subscription,
    in a session closed before streaming starts: a stream holds no database connection. With it,
    the key or session that opened it, checked again with every batch for as long as it lasts."""
    with new_session(request.app.state.database_url) as session:
        principal = principal_of_request(request, session)
        subscription = subscriptions.owned_subscription(session, principal, subscription_id)
        if subscription.status != "active":
            raise rule_violation(
                "This subscription is paused: resume it (PATCH it with status `active`) before opening its stream.",
                code="subscription-paused",
            )
        if not subscriptions.is_live(subscription):
            raise rule_violation(
                "This subscription has expired: extend its `expiresAt` (PATCH) or create another.",
                code="subscription-expired",
            )
        credential = authentication.credential_of(principal)
        if credential is None:  # owned_subscription lets only a key or a session through
            raise authentication_required("Open a stream with the app's API key or a developer's session token.")
        return subscription, credential


def _event(change: Change, subscription: Subscription) -> bytes:
    body = subscriptions.notification(subscription, [change])
    return b"id: %d\nevent: notification\ndata: %s\n\n" % (change.id, orjson.dumps(body))


def _events(
    batch: list[Change], views: Views, subscription_id: int, credential: Credential, after: int
) -> tuple[list[bytes], int, bool]:
    """The events of a batch for one stream: (events, last change id sent, may the stream go on)."""
    fresh = [change for change in batch if change.id > after]
    selected = views.deliverable(subscription_id, credential, fresh)
    if selected is None:
        return [], after, False
    subscription = views.subscriptions[subscription_id]
    return [_event(change, subscription) for change in selected], fresh[-1].id if fresh else after, True


def _replay_page(
    database_url: str, subscription_id: int, credential: Credential, after: int, upto: int
) -> tuple[list[bytes], int, bool, bool]:
    """One page of missed changes from the log: (events, position reached, go on, more to read)."""
    with new_session(database_url) as session:
        page = [c for c in changes.read_since(session, after, REPLAY_PAGE) if c.id <= upto]
        views = load_views(session, [(subscription_id, credential)])
    events, reached, go_on = _events(page, views, subscription_id, credential, after)
    more = len(page) == REPLAY_PAGE and reached < upto
    return events, reached, go_on, more


async def watch_disconnect(request: Request, stream: Stream) -> None:
    """Close the stream as soon as the client goes, not at the next write."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            stream.close("client gone")
            return


async def _event_stream(
    request: Request, feed: ChangeFeed, resume_after: int | None, subscription: Subscription, credential: Credential
) -> AsyncIterator[bytes]:
    database_url = request.app.state.database_url
    # connected here, not before the response: a generator never started never runs its `finally`
    stream, start = feed.connect(subscription.id, credential)
    watcher = asyncio.create_task(watch_disconnect(request, stream))
    try:
        yield b"retry: %d\n\n" % RETRY_MS
        sent = start if resume_after is None else resume_after  # live changes up to it are not sent again
        if resume_after is not None and resume_after < start:
            more = True
            while more:
                events, sent, go_on, more = await anyio.to_thread.run_sync(
                    _replay_page, database_url, subscription.id, credential, sent, start
                )
                for event in events:
                    yield event
                if not go_on:
                    return
            sent = max(sent, start)
        while True:
            left = _seconds_left(subscription)
            if left is not None and left <= 0:
                return
            item = await stream.next(KEEP_ALIVE_S if left is None else min(KEEP_ALIVE_S, left))
            if item is None:  # closed: too slow, server stopping or client gone
                return
            if item is KEEP_ALIVE:  # a quiet while: may the stream go on (paused, deleted, extended, key revoked)?
                views = await anyio.to_thread.run_sync(_views_now, database_url, subscription.id, credential)
                if views.deliverable(subscription.id, credential, []) is None:
                    return
                subscription = views.subscriptions[subscription.id]
                yield b": keep-alive\n\n"
                continue
            views = item.views
            if (subscription.id, credential) not in views.followed:  # connected while the feed was loading it
                views = await anyio.to_thread.run_sync(_views_now, database_url, subscription.id, credential)
            events, sent, go_on = _events(item.changes, views, subscription.id, credential, sent)
            for event in events:
                yield event
            if not go_on:
                return
            subscription = views.subscriptions[subscription.id] or subscription  # its expiry may have moved
    finally:
        watcher.cancel()
        feed.disconnect(stream)


def _views_now(database_url: str, subscription_id: int, credential: Credential) -> Views:
    with new_session(database_url) as session:
        return load_views(session, [(subscription_id, credential)])


def _last_event_id(header: str | None, query: int | None) -> int | None:
    if header is None:
        return query
    if not header.strip().isdigit():
        raise bad_parameter("Last-Event-ID", "Send the `id` of the last event received (a whole number), or nothing.")
    return int(header.strip())


EVENT_STREAM_EXAMPLE = (
    "id: 1042\nevent: notification\n"
    'data: {"id":"urn:ngsi-ld:Notification:…","type":"Notification","subscriptionId":7,'
    '"notifiedAt":"2026-11-25T10:00:01+00:00","data":[{"id":"urn:ngsi-ld:AirQualityObserved:barcelona:s1",'
    '"type":"AirQualityObserved","no2":41.2}]}\n\n'
)


@router.get(
    "/subscriptions/{subscription_id}/events",
    summary="The subscription's notifications as a Server-Sent Events stream (resume with Last-Event-ID)",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "An endless `text/event-stream`: one `notification` event per changed entity, "
            "`id` its position in the change log; a `: keep-alive` comment every 15 s.",
            "content": {"text/event-stream": {"schema": {"type": "string", "examples": [EVENT_STREAM_EXAMPLE]}}},
        },
        401: {"model": Problem, "description": "No credentials, or not valid ones."},
        404: {"model": Problem, "description": "No such subscription of the caller's app or organisation."},
        409: {"model": Problem, "description": "The subscription is paused or has expired."},
    },
)
async def subscription_events(
    request: Request,
    subscription_id: RowId,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="The `id` of the last event received: the stream first replays every later matching change.",
        ),
    ] = None,
    lastEventId: Annotated[
        int | None,
        Query(ge=0, description="As the `Last-Event-ID` header, for clients that cannot set headers.", examples=[1042]),
    ] = None,
) -> Any:
    resume_after = _last_event_id(last_event_id, lastEventId)
    subscription, credential = await anyio.to_thread.run_sync(_opened, request, subscription_id)
    feed: ChangeFeed = request.app.state.change_feed
    await feed.ensure_running()
    return StreamingResponse(
        _event_stream(request, feed, resume_after, subscription, credential),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},  # no buffering by nginx
    )
