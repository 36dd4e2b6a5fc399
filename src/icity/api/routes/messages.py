"""Routes: messages to developers, and the audit log (read only: it has no update
or delete, here or anywhere)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import AuditEventPublic, Inbox, MessagePublic, MessageToSend, MessagesSent, Page, RowId, UtcTimeOrNaive
from icity.services import audit, messages

router = APIRouter(tags=["messages and audit"])

NOT_LOGGED_IN = {401: {"description": "Not logged in"}}
FORBIDDEN = {403: {"description": "An API key, or a caller without the role"}}


@router.post(
    "/messages",
    status_code=201,
    response_model=MessagesSent,
    summary="Send a message to developers",
    description="The platform admin sends to any users (`to`) or to every approved developer (`toAllDevelopers`); "
    "a city admin only to developers whose apps asked for access to its cities' information systems. "
    "Each recipient gets it in their inbox and by mail. One refused recipient refuses the whole sending.",
    responses={**NOT_LOGGED_IN, **FORBIDDEN},
)
def send_message(message: MessageToSend, session: TransactionDep, principal: PrincipalDep):
    sent = messages.send(
        session,
        principal,
        subject=message.subject,
        body=message.body,
        to=message.to,
        to_all_developers=message.toAllDevelopers,
    )
    return JSONResponse(sent, status_code=201)


@router.get(
    "/messages",
    response_model=Inbox,
    summary="My inbox",
    description="The caller's messages, newest first, with the number still unread.",
    responses={**NOT_LOGGED_IN, **FORBIDDEN},
)
def list_messages(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    unread: Annotated[bool, Query(description="Only the messages not read yet.", examples=[True])] = False,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    return json_page(messages.inbox(session, principal, unread=unread, limit=limit, cursor=cursor), request)


@router.get(
    "/messages/{message_id}",
    response_model=MessagePublic,
    summary="One message of my inbox",
    responses={**NOT_LOGGED_IN, **FORBIDDEN, 404: {"description": "No such message in your inbox"}},
)
def get_message(message_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(messages.get_message(session, principal, message_id))


@router.post(
    "/messages/{message_id}/read",
    response_model=MessagePublic,
    summary="Mark a message read",
    description="Idempotent: marking it again keeps the time it was first read.",
    responses={**NOT_LOGGED_IN, **FORBIDDEN, 404: {"description": "No such message in your inbox"}},
)
def mark_message_read(message_id: RowId, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(messages.mark_read(session, principal, message_id))


@router.get(
    "/audit",
    response_model=Page[AuditEventPublic],
    summary="The audit log",
    description="Security-relevant actions, newest first: approvals, refusals, grants, revocations, keys, "
    "level and role changes. The platform admin sees every event; a city admin the events of its own cities. "
    "Append-only: there is no way to change or delete an event.",
    responses={**NOT_LOGGED_IN, **FORBIDDEN},
)
def list_audit_events(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    action: Annotated[
        str | None, Query(description="An action, or a family of actions: `access.*`.", examples=["access.approved"])
    ] = None,
    city: Annotated[str | None, Query(description="Only the events of this city.", examples=["alpha"])] = None,
    since: Annotated[
        UtcTimeOrNaive | None,
        Query(alias="from", description="From this time, included (UTC if no offset).", examples=["2024-05-01T00:00:00Z"]),
    ] = None,
    until: Annotated[
        UtcTimeOrNaive | None,
        Query(alias="to", description="Until this time, excluded (UTC if no offset).", examples=["2024-06-01T00:00:00Z"]),
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = audit.list_events(
        session, principal, action=action, city=city, since=since, until=until, limit=limit, cursor=cursor
    )
    return json_page(page.as_dict(), request)
