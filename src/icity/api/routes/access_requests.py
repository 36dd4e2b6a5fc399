"""Routes: access requests to `approval` information systems, and the cities' decisions."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.access_schemas import AccessRequestIn, AccessRequestPublic, ReasonIn
from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.routes.offers import OFFER_NOT_ACCEPTED
from icity.api.schemas import Page, RowId
from icity.services import access_requests

router = APIRouter(tags=["access requests"])


@router.post(
    "/access-requests",
    status_code=201,
    response_model=AccessRequestPublic,
    summary="Ask for an app's access to an `approval` IS, or to the device commands of any IS",
    responses=OFFER_NOT_ACCEPTED,
)
def request_access(body: AccessRequestIn, session: TransactionDep, principal: PrincipalDep):
    created = access_requests.request_access(
        session, principal, app_id=body.app, system_id=body.information_system, purpose=body.purpose, offer_version=body.offer_version
    )
    return JSONResponse(created, status_code=201)


@router.get(
    "/access-requests",
    response_model=Page[AccessRequestPublic],
    summary="Access requests: your apps' (developer), your cities' IS (city admin), all (platform admin)",
)
def list_access_requests(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description="pending, approved, refused, revoked, withdrawn", examples=["pending"])] = None,
    information_system: Annotated[str | None, Query(alias="informationSystem", examples=["london/parking"])] = None,
    app: Annotated[RowId | None, Query(examples=[1])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = access_requests.list_requests(
        session, principal, status=status, system_id=information_system, app_id=app, limit=limit, cursor=cursor
    )
    return json_page(page.as_dict(), request)


@router.get("/access-requests/{request_id}", response_model=AccessRequestPublic, summary="One access request")
def get_access_request(request_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(access_requests.get_request(session, principal, request_id))


@router.post("/access-requests/{request_id}/approve", response_model=AccessRequestPublic, summary="Approve: the app may read the IS from its next request")
def approve(request_id: RowId, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(access_requests.decide(session, principal, request_id, "approve"))


@router.post("/access-requests/{request_id}/refuse", response_model=AccessRequestPublic, summary="Refuse, saying why")
def refuse(request_id: RowId, body: ReasonIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(access_requests.decide(session, principal, request_id, "refuse", body.reason))


@router.post("/access-requests/{request_id}/revoke", response_model=AccessRequestPublic, summary="Revoke a grant, effective on the app's next request")
def revoke(request_id: RowId, body: ReasonIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(access_requests.decide(session, principal, request_id, "revoke", body.reason))


@router.post("/access-requests/{request_id}/withdraw", response_model=AccessRequestPublic, summary="Withdraw your request or give up a grant")
def withdraw(request_id: RowId, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(access_requests.withdraw(session, principal, request_id))
