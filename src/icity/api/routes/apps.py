"""Routes: developers' apps and their API keys."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.access_schemas import AppChanges, AppIn, AppPublic, KeyIn, KeyPublic, NewKeyOut, PlanIn, RotationIn
from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import Page, RowId
from icity.services import apps

router = APIRouter(tags=["apps and keys"])
NOT_FOUND = {404: {"description": "No such app in your organisation"}}


@router.get("/apps", response_model=Page[AppPublic], summary="Your organisation's apps (all apps for the platform admin)")
def list_apps(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description="active or withdrawn", examples=["active"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    return json_page(apps.list_apps(session, principal, status=status, limit=limit, cursor=cursor).as_dict(), request)


@router.post("/apps", status_code=201, response_model=AppPublic, summary="Create an app")
def create_app(body: AppIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(apps.create_app(session, principal, body.model_dump(mode="json")), status_code=201)


@router.get("/apps/{app_id}", response_model=AppPublic, summary="One app", responses=NOT_FOUND)
def get_app(app_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(apps.get_app(session, principal, app_id))


@router.patch("/apps/{app_id}", response_model=AppPublic, summary="Change an app's description", responses=NOT_FOUND)
def update_app(app_id: RowId, body: AppChanges, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(apps.update_app(session, principal, app_id, body.model_dump(mode="json", exclude_unset=True)))


@router.delete("/apps/{app_id}", response_model=AppPublic, summary="Withdraw an app: its keys and grants end at once", responses=NOT_FOUND)
def withdraw_app(app_id: RowId, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(apps.withdraw_app(session, principal, app_id))


@router.put("/apps/{app_id}/plan", response_model=AppPublic, summary="Set an app's plan: its rate limit and daily quota (platform admin)")
def set_plan(app_id: RowId, body: PlanIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(apps.set_plan(session, principal, app_id, body.plan))


@router.get("/apps/{app_id}/keys", response_model=list[KeyPublic], summary="An app's API keys (prefix, dates; never the secret)")
def list_keys(app_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(apps.list_keys(session, principal, app_id))


@router.post("/apps/{app_id}/keys", status_code=201, response_model=NewKeyOut, summary="Create an API key (the secret is shown once)")
def create_key(app_id: RowId, session: TransactionDep, principal: PrincipalDep, body: KeyIn | None = None):
    return JSONResponse(apps.create_key(session, principal, app_id, body.name if body else ""), status_code=201)


@router.delete("/apps/{app_id}/keys/{key_id}", response_model=KeyPublic, summary="Revoke an API key, effective immediately")
def revoke_key(app_id: RowId, key_id: RowId, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(apps.revoke_key(session, principal, app_id, key_id))


@router.post(
    "/apps/{app_id}/keys/{key_id}/rotate",
    status_code=201,
    response_model=NewKeyOut,
    summary="Rotate an API key: a new key, the old one working for an overlap period",
)
def rotate_key(app_id: RowId, key_id: RowId, session: TransactionDep, principal: PrincipalDep, body: RotationIn | None = None):
    return JSONResponse(
        apps.rotate_key(session, principal, app_id, key_id, body.overlap_hours if body else None), status_code=201
    )
