"""The developer's subscriptions: create one with a form (selector, area drawn on a map,
attributes, webhook or stream only, throttling, expiry), pause, resume, delete, read the
delivery log and send a dead letter again, and watch the live stream in the page.

Every action is a call to services/subscriptions.py, as the API makes it. The live view
is the API's own SSE route (/api/v1/subscriptions/{id}/events): it reads the portal's
session cookie as any /api/v1 route does, so the stream follows the same access rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.api.schemas import BigRowId, RowId
from icity.api.subscription_schemas import SubscriptionIn
from icity.errors import ICityError
from icity.services import apps, catalogue, cities, subscriptions
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.forms import blank_as_none, problems
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

DELIVERIES_SHOWN = 50
LISTED = 1000
DONE = {
    "created": "The subscription is created: changes committed from now on are told to it.",
    "paused": "Paused: nothing is told to it until you resume it.",
    "resumed": "Resumed: it is told about changes from now on, not about those made while it was paused.",
    "deleted": "The subscription and its delivery log are deleted.",
    "retried": "The dead letter is back in the outbox: it is sent again shortly.",
}
# the form's labels, by the API field each fills
FIELD_LABELS = {
    "appId": "App", "name": "Name", "entityTypes": "Entity types", "city": "City", "informationSystem": "Information system",
    "q": "Condition (q)", "area": "Area", "attributes": "Attributes", "throttlingS": "Throttling",
    "expiresAt": "Expires at", "endpoint": "Webhook URL",
}  # fmt: skip


def _is_developer(viewer: Principal) -> bool:
    return viewer.is_developer and viewer.approved


def _list_page(request: Request, session: Session, viewer: Principal, status_code: int = 200, **extra: Any):
    if not _is_developer(viewer):
        return render(request, "developer/not_developer.html", status_code=status_code)
    own_apps = apps.list_apps(session, viewer, status="active", limit=100, cursor=None).items
    listed = subscriptions.list_subscriptions(session, viewer, app_id=None, status=None, limit=LISTED, cursor=None).items
    return render(
        request,
        "developer/subscriptions.html",
        status_code=status_code,
        apps=own_apps,
        app_names={app["id"]: app["name"] for app in own_apps},
        subscriptions=listed,
        cities=cities.list_cities(session, level="all", limit=LISTED, cursor=None).items,
        systems=catalogue.list_systems(session, viewer, limit=LISTED, cursor=None).items,
        entity_types=catalogue.offered_entity_types(session, viewer),
        done=DONE.get(request.query_params.get("done", "")),
        posted=extra.pop("posted", {}),
        **extra,
    )


@router.get("/dashboard/subscriptions")
def subscriptions_page(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _list_page(request, session, viewer)


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _utc(value: str) -> str | None:
    """A `datetime-local` value (no zone) is read as UTC, as the form's label says."""
    value = value.strip()
    if not value:
        return None
    return value if value.endswith("Z") else f"{value}Z"


@router.post("/dashboard/subscriptions", dependencies=[Depends(web_session.check_csrf)])
def create_subscription(
    request: Request,
    viewer: ViewerDep,
    session: TransactionDep,
    app: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    entity_types: Annotated[str, Form()] = "",
    city: Annotated[str, Form()] = "",
    information_system: Annotated[str, Form()] = "",
    q: Annotated[str, Form()] = "",
    bbox: Annotated[str, Form()] = "",
    attributes: Annotated[str, Form()] = "",
    delivery: Annotated[str, Form()] = "stream",
    endpoint: Annotated[str, Form()] = "",
    throttling_s: Annotated[str, Form()] = "",
    expires_at: Annotated[str, Form()] = "",
):
    if redirect := sign_in_first(request, viewer):
        return redirect
    posted = {
        "app": app, "name": name, "entity_types": entity_types, "city": city, "information_system": information_system,
        "q": q, "bbox": bbox, "attributes": attributes, "delivery": delivery, "endpoint": endpoint,
        "throttling_s": throttling_s, "expires_at": expires_at,
    }  # fmt: skip
    fields = {
        "appId": blank_as_none(app),
        "name": name,
        "entityTypes": _items(entity_types),
        "city": blank_as_none(city),
        "informationSystem": blank_as_none(information_system),
        "q": blank_as_none(q),
        "area": {"bbox": bbox.strip()} if bbox.strip() else None,
        "attributes": _items(attributes),
        "throttlingS": blank_as_none(throttling_s) or 0,
        "expiresAt": _utc(expires_at),
        # stream only: no endpoint, whatever the hidden field still holds
        "endpoint": blank_as_none(endpoint) if delivery == "webhook" else None,
    }
    try:
        body = SubscriptionIn.model_validate(fields)
        created = subscriptions.create_subscription(session, viewer, body.model_dump(exclude_unset=True))
    except (ValidationError, ICityError) as error:
        session.rollback()  # a refused form writes nothing
        status_code = 422 if isinstance(error, ValidationError) else error.status
        return _list_page(request, session, viewer, status_code=status_code, errors=problems(error, FIELD_LABELS), posted=posted)
    if created["endpoint"]:  # answered here, not after a redirect: the webhook secret exists only in this answer
        return _detail_page(request, session, viewer, created["id"], secret=created["secret"], done=DONE["created"])
    return RedirectResponse(f"/dashboard/subscriptions/{created['id']}?done=created", status_code=303)


def _detail_page(request: Request, session: Session, viewer: Principal, subscription_id: int, status_code: int = 200, **extra: Any):
    if not _is_developer(viewer):
        return render(request, "developer/not_developer.html", status_code=403)
    # not the caller's: the service's 404, rendered as the error page (web/errors.py)
    subscription = subscriptions.get_subscription(session, viewer, subscription_id)
    deliveries = subscriptions.list_deliveries(session, viewer, subscription_id, status=None, limit=DELIVERIES_SHOWN, cursor=None).items
    app_names = {app["id"]: app["name"] for app in apps.list_apps(session, viewer, status=None, limit=100, cursor=None).items}
    extra.setdefault("done", DONE.get(request.query_params.get("done", "")))
    return render(
        request,
        "developer/subscription.html",
        status_code=status_code,
        subscription=subscription,
        app_name=app_names.get(subscription["app"], f"app {subscription['app']}"),
        live=subscription["status"] == "active" and not subscription["expired"],
        deliveries=deliveries,
        **extra,
    )


@router.get("/dashboard/subscriptions/{subscription_id}")
def subscription_page(request: Request, subscription_id: RowId, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _detail_page(request, session, viewer, subscription_id)


def _refused(request: Request, session: Session, viewer: Principal, subscription_id: int, error: ICityError):
    session.rollback()  # a refused action writes nothing
    if error.status == 404:  # not the caller's subscription (or delivery): the error page, as for a GET
        raise error
    return _detail_page(request, session, viewer, subscription_id, status_code=error.status, error=error.detail)


def _set_status(request: Request, session: Session, viewer: Principal, subscription_id: int, status: str, done: str):
    if redirect := sign_in_first(request, viewer):
        return redirect
    try:
        subscriptions.update_subscription(session, viewer, subscription_id, {"status": status})
    except ICityError as error:
        return _refused(request, session, viewer, subscription_id, error)
    return RedirectResponse(f"/dashboard/subscriptions/{subscription_id}?done={done}", status_code=303)


@router.post("/dashboard/subscriptions/{subscription_id}/pause", dependencies=[Depends(web_session.check_csrf)])
def pause(request: Request, subscription_id: RowId, viewer: ViewerDep, session: TransactionDep):
    return _set_status(request, session, viewer, subscription_id, "paused", "paused")


@router.post("/dashboard/subscriptions/{subscription_id}/resume", dependencies=[Depends(web_session.check_csrf)])
def resume(request: Request, subscription_id: RowId, viewer: ViewerDep, session: TransactionDep):
    return _set_status(request, session, viewer, subscription_id, "active", "resumed")


@router.post("/dashboard/subscriptions/{subscription_id}/delete", dependencies=[Depends(web_session.check_csrf)])
def delete(request: Request, subscription_id: RowId, viewer: ViewerDep, session: TransactionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    try:
        subscriptions.delete_subscription(session, viewer, subscription_id)
    except ICityError as error:
        return _refused(request, session, viewer, subscription_id, error)
    return RedirectResponse("/dashboard/subscriptions?done=deleted", status_code=303)


@router.post(
    "/dashboard/subscriptions/{subscription_id}/deliveries/{delivery_id}/retry", dependencies=[Depends(web_session.check_csrf)]
)
def retry(request: Request, subscription_id: RowId, delivery_id: BigRowId, viewer: ViewerDep, session: TransactionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    try:
        subscriptions.retry_delivery(session, viewer, subscription_id, delivery_id)
    except ICityError as error:
        return _refused(request, session, viewer, subscription_id, error)
    return RedirectResponse(f"/dashboard/subscriptions/{subscription_id}?done=retried#deliveries", status_code=303)
