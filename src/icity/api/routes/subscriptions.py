"""Routes: apps' subscriptions to changes, and the log of their webhook deliveries."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import BigRowId, Page, Problem, RowId
from icity.api.subscription_schemas import (
    DeliveryPublic,
    NewSubscriptionOut,
    SubscriptionChanges,
    SubscriptionIn,
    SubscriptionPublic,
)
from icity.services import subscriptions

router = APIRouter(tags=["subscriptions"])
NOT_FOUND = {404: {"model": Problem, "description": "No such subscription of your app or organisation"}}


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=NewSubscriptionOut,
    summary="Subscribe an app to changes (the webhook secret is in this answer only)",
    responses={
        404: {"model": Problem, "description": "The named app or information system is not one you can see."},
        422: {"model": Problem, "description": "A field is not valid: `errors` names each; nothing is stored."},
    },
)
def create_subscription(body: SubscriptionIn, session: TransactionDep, principal: PrincipalDep):
    created = subscriptions.create_subscription(session, principal, body.model_dump(exclude_unset=True))
    return JSONResponse(created, status_code=201)


@router.get(
    "/subscriptions",
    response_model=Page[SubscriptionPublic],
    summary="Subscriptions: the key's app's, your organisation's apps' (developer), all (platform admin)",
)
def list_subscriptions(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    app: Annotated[RowId | None, Query(description="Only this app's", examples=[3])] = None,
    status: Annotated[str | None, Query(description="active or paused", examples=["active"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = subscriptions.list_subscriptions(session, principal, app_id=app, status=status, limit=limit, cursor=cursor)
    return json_page(page.as_dict(), request)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionPublic, summary="One subscription", responses=NOT_FOUND)
def get_subscription(subscription_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(subscriptions.get_subscription(session, principal, subscription_id))


@router.patch(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionPublic,
    summary="Pause, resume, or change what a subscription selects and where it is sent",
    responses=NOT_FOUND,
)
def update_subscription(subscription_id: RowId, body: SubscriptionChanges, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(subscriptions.update_subscription(session, principal, subscription_id, body.model_dump(exclude_unset=True)))


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    summary="Delete a subscription and its delivery log",
    responses=NOT_FOUND,
)
def delete_subscription(subscription_id: RowId, session: TransactionDep, principal: PrincipalDep):
    subscriptions.delete_subscription(session, principal, subscription_id)
    return Response(status_code=204)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response_model=Page[DeliveryPublic],
    summary="The webhook delivery log of a subscription, newest first",
    responses=NOT_FOUND,
)
def list_deliveries(
    subscription_id: RowId,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description="pending, delivered, dead or withheld", examples=["dead"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = subscriptions.list_deliveries(session, principal, subscription_id, status=status, limit=limit, cursor=cursor)
    return json_page(page.as_dict(), request)


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryPublic,
    summary="Send a dead letter again",
    responses={**NOT_FOUND, 409: {"model": Problem, "description": "The delivery is not a dead letter."}},
)
def retry_delivery(subscription_id: RowId, delivery_id: BigRowId, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(subscriptions.retry_delivery(session, principal, subscription_id, delivery_id))
