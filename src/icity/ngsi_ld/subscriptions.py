"""Subscriptions (CIM 009 clauses 5.8.1–5.8.5; the Subscription type, 5.2.12; NotificationParams, 5.2.14).

An NGSI-LD subscription is an iCity subscription of the caller's app (an app's API key makes
it): the same row /api/v1/subscriptions shows, the same outbox, retries, access check at delivery
and signature header. This module reads and writes the NGSI-LD members of that row; its
notifications are rendered by ngsi_ld/notifications.py.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from icity.api.deps import PrincipalDep, SessionDep, TransactionDep
from icity.db.models import Subscription, utcnow
from icity.ngsi_ld.contexts import Context, shown_name, stored_name
from icity.ngsi_ld.errors import bad_request_data, operation_not_supported
from icity.ngsi_ld.geo_query import parse_geo_query_body
from icity.ngsi_ld.http import GEO_JSON, JSON, LD_JSON, Body, LinkContext, Tenant, accepted, answer, body_context, paging
from icity.ngsi_ld.notifications import STANDARD
from icity.ngsi_ld.query_language import parse_q
from icity.services import subscriptions

router = APIRouter(tags=["NGSI-LD"])

PATH = "/ngsi-ld/v1/subscriptions"
# NGSI-LD's 201 has no body: the secret that signs the notifications (X-iCity-Signature) is in this header, once
SECRET_HEADER = "X-iCity-Webhook-Secret"
FORMATS = ("normalized", "keyValues", "concise")
ACCEPTS = (JSON, LD_JSON)
# notificationTrigger values ↔ the alterations iCity's subscriptions name (services/subscriptions.TRIGGERS)
TRIGGERS = {
    "entityCreated": "entity-created", "entityUpdated": "entity-updated", "entityDeleted": "entity-deleted",
    "attributeCreated": "attribute-created", "attributeUpdated": "attribute-updated", "attributeDeleted": "attribute-deleted",
}  # fmt: skip
DEFAULT_TRIGGERS = ("attributeCreated", "attributeUpdated")  # the spec's default
UNSUPPORTED = {
    "scopeQ": "Entities here have no scopes: leave scopeQ out.",
    "csf": "There are no context sources here (federation is by harvesting): leave csf out.",
    "temporalQ": "temporalQ is not supported on subscriptions here.",
    "jsonldContext": "jsonldContext is not supported: notifications use the subscription's own @context.",
}
UNSUPPORTED_NOTIFICATION = {
    "showChanges": "showChanges is not supported: notifications carry the entity as it is after the change.",
    "join": "Linked-entity joins are not supported in notifications.",
    "joinLevel": "Linked-entity joins are not supported in notifications.",
}


def default_uri(row_id: int) -> str:
    return f"urn:ngsi-ld:Subscription:{row_id}"


# ---- routes ------------------------------------------------------------------------------------


@router.post("/subscriptions", status_code=201, summary="Create a subscription (CIM 009 5.8.1)")
def create_subscription(request: Request, body: Body, session: TransactionDep, principal: PrincipalDep, tenant: Tenant):
    context = body_context(request, body)
    fields, columns = parse_subscription(body, context, tenant)
    created = subscriptions.create_door_subscription(session, principal, fields, columns, default_uri)
    return Response(status_code=201, headers={"Location": f"{PATH}/{created.uri}", SECRET_HEADER: created.secret or ""})


@router.get("/subscriptions", summary="Query subscriptions (CIM 009 5.8.4)")
def query_subscriptions(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    context: LinkContext,
    limit: Annotated[int | None, Query()] = None,
    offset: Annotated[int | None, Query()] = None,
    count: Annotated[bool, Query()] = False,
):
    media_type = accepted(request, allow_geo=False)
    limit, offset = paging(limit, offset, count)
    rows, total = subscriptions.door_subscriptions(session, principal, STANDARD, limit=limit, offset=offset)
    headers = {"NGSILD-Results-Count": str(total)} if count else {}
    return answer([subscription_body(row, context) for row in rows], media_type, context, headers=headers)


@router.get("/subscriptions/{subscription_id:path}", summary="Retrieve a subscription (CIM 009 5.8.3)")
def retrieve_subscription(subscription_id: str, request: Request, session: SessionDep, principal: PrincipalDep, context: LinkContext):
    media_type = accepted(request, allow_geo=False)
    subscription = _found(session, principal, subscription_id)
    return answer(subscription_body(subscription, context), media_type, context)


@router.patch("/subscriptions/{subscription_id:path}", status_code=204, summary="Update a subscription (CIM 009 5.8.2)")
def update_subscription(
    subscription_id: str, request: Request, body: Body, session: TransactionDep, principal: PrincipalDep, tenant: Tenant
):
    context = body_context(request, body)
    subscription = _found(session, principal, subscription_id)
    if not isinstance(body, dict) or not [key for key in body if key != "@context"]:
        raise bad_request_data("The body is a fragment of a Subscription: the members to change")
    if body.get("id", subscription.uri) != subscription.uri or body.get("type", "Subscription") != "Subscription":
        raise bad_request_data("id and type of a subscription cannot be changed", param="id")
    current = subscription_body(subscription, context, with_state=False)
    merged = {**current, **{key: value for key, value in body.items() if key != "@context"}}
    if isinstance(body.get("notification"), dict):
        merged["notification"] = {**current["notification"], **body["notification"]}
    fields, columns = parse_subscription(merged, context, (subscription.city_id, subscription.information_system_id))
    columns.pop("uri")
    subscriptions.update_door_subscription(session, principal, subscription, fields, columns)
    return Response(status_code=204)


@router.delete("/subscriptions/{subscription_id:path}", status_code=204, summary="Delete a subscription (CIM 009 5.8.5)")
def delete_subscription(subscription_id: str, session: TransactionDep, principal: PrincipalDep):
    subscription = _found(session, principal, subscription_id)
    subscriptions.delete_subscription(session, principal, subscription.id)
    return Response(status_code=204)


def _found(session: Any, principal: Any, subscription_id: str) -> Subscription:
    _check_uri(subscription_id, "id")
    return subscriptions.subscription_by_uri(session, principal, subscription_id)


# ---- body → row --------------------------------------------------------------------------------


def parse_subscription(
    body: Any, context: Context, tenant: tuple[str | None, str | None]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the fields of an /api/v1 body, the door's columns) of an NGSI-LD Subscription; BadRequestData
    naming the member for anything wrong, OperationNotSupported for what is not done here."""
    if not isinstance(body, dict):
        raise bad_request_data("The body is a Subscription (a JSON object)")
    if body.get("type", "Subscription") != "Subscription":
        raise bad_request_data("type must be Subscription", param="type")
    for member, reason in UNSUPPORTED.items():
        if body.get(member) is not None:
            raise operation_not_supported(reason)
    uri = body.get("id")
    if uri is not None:
        _check_uri(uri, "id")
    name, description = _text(body, "subscriptionName"), _text(body, "description")
    selectors = _selectors(body.get("entities"), context)
    watched = _names(body.get("watchedAttributes"), context, "watchedAttributes")
    interval = _seconds(body.get("timeInterval"), "timeInterval")
    throttling = _seconds(body.get("throttling"), "throttling")
    if not selectors and watched is None:
        raise bad_request_data("A subscription names entities, watchedAttributes or both", param="entities")
    if interval is not None and watched is not None:
        raise bad_request_data("timeInterval and watchedAttributes exclude each other", param="timeInterval")
    if interval is not None and throttling is not None:
        raise bad_request_data("timeInterval and throttling exclude each other", param="throttling")
    q = body.get("q")
    if q is not None:
        if not isinstance(q, str) or not q.strip():
            raise bad_request_data("q is a query (NGSI-LD query language)", param="q")
        parse_q(q, lambda term: stored_name(term, context))
    geo_q = _geo_q(body.get("geoQ"), context)
    triggers = _triggers(body.get("notificationTrigger"))
    is_active = body.get("isActive", True)
    if not isinstance(is_active, bool):
        raise bad_request_data("isActive is true or false", param="isActive")
    expires_at = _instant(body.get("expiresAt"), "expiresAt")
    if expires_at is not None and expires_at <= utcnow():
        raise bad_request_data("expiresAt must be in the future", param="expiresAt")
    lang = body.get("lang")
    if lang is not None and not isinstance(lang, str):
        raise bad_request_data("lang is a language tag (or a comma-separated list of them)", param="lang")
    notification = _notification(body.get("notification"), context)
    types = [selector.get("type") for selector in selectors]
    fields = {
        "name": name or "",
        "entityTypes": types if types and all(types) else [],
        "city": tenant[0],
        "informationSystem": tenant[1],
        "attributes": notification["attributes"],
        "throttlingS": math.ceil(throttling) if throttling else 0,
        "expiresAt": expires_at,
        "endpoint": notification["uri"],
        "status": "active" if is_active else "paused",
    }
    rendering = {key: notification[key] for key in ("format", "accept", "receiverInfo", "sysAttrs") if notification[key]}
    rendering["context"] = context.body_context() if not context.is_platform else None
    if lang is not None:
        rendering["lang"] = lang
    selection = {key: value for key, value in (("entities", selectors), ("q", q), ("geoQ", geo_q)) if value}
    columns = {
        "uri": uri, "standard": STANDARD, "description": description, "selection": selection, "rendering": rendering,
        "watched_attributes": watched, "triggers": [TRIGGERS[t] for t in triggers],
        "interval_s": math.ceil(interval) if interval else None,
    }  # fmt: skip
    return fields, columns


def _check_uri(value: Any, member: str) -> None:
    if not isinstance(value, str) or ":" not in value or any(c.isspace() for c in value):
        raise bad_request_data(f"{member} must be a URI, e.g. urn:ngsi-ld:Subscription:my-subscription", param=member)


def _text(body: dict[str, Any], member: str) -> str | None:
    value = body.get(member)
    if value is not None and not isinstance(value, str):
        raise bad_request_data(f"{member} is a text", param=member)
    return value


def _selectors(value: Any, context: Context) -> list[dict[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list) or not value or not all(isinstance(item, dict) for item in value):
        raise bad_request_data("entities is a non-empty list of {id, idPattern, type} selectors", param="entities")
    selectors = []
    for index, item in enumerate(value):
        selector = {}
        for member in ("id", "idPattern", "type"):
            text = item.get(member)
            if text is None:
                continue
            if not isinstance(text, str) or not text:
                raise bad_request_data(f"entities[{index}].{member} is a text", param="entities")
            selector[member] = text
        if not selector:
            raise bad_request_data(f"entities[{index}] names an id, an idPattern or a type", param="entities")
        if "id" in selector:
            _check_uri(selector["id"], f"entities[{index}].id")
        if "idPattern" in selector:
            try:
                re.compile(selector["idPattern"])
            except re.error as error:
                raise bad_request_data(f"entities[{index}].idPattern is not a regular expression: {error}", param="entities") from None
        if "type" in selector:
            selector["type"] = stored_name(selector["type"], context)
        selectors.append(selector)
    return selectors


def _names(value: Any, context: Context, member: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise bad_request_data(f"{member} is a non-empty list of attribute names", param=member)
    return list(dict.fromkeys(stored_name(item, context) for item in value))


def _seconds(value: Any, member: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise bad_request_data(f"{member} is a number of seconds greater than 0", param=member)
    return float(value)


def _instant(value: Any, member: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise bad_request_data(f"{member} is a date-time with its time zone, e.g. 2030-01-01T00:00:00Z", param=member)
    return parsed


def _geo_q(value: Any, context: Context) -> dict[str, Any] | None:
    if value is None:
        return None
    parse_geo_query_body(value)
    geo_q = {key: value[key] for key in ("georel", "geometry", "coordinates") if key in value}
    if value.get("geoproperty") is not None:
        geo_q["geoproperty"] = stored_name(str(value["geoproperty"]), context)
    return geo_q


def _triggers(value: Any) -> list[str]:
    if value is None:
        return list(DEFAULT_TRIGGERS)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise bad_request_data("notificationTrigger is a non-empty list of triggers", param="notificationTrigger")
    unknown = [item for item in value if item not in TRIGGERS]
    if unknown:
        raise bad_request_data(
            f"notificationTrigger: '{unknown[0]}' is not one of {', '.join(TRIGGERS)}", param="notificationTrigger"
        )
    return list(dict.fromkeys(value))


def _notification(value: Any, context: Context) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request_data("notification is an object with at least endpoint.uri", param="notification")
    for member, reason in UNSUPPORTED_NOTIFICATION.items():
        if value.get(member):
            raise operation_not_supported(reason)
    attributes = _names(value.get("attributes"), context, "notification.attributes") or []
    form = value.get("format", "normalized")
    if form not in FORMATS:
        raise bad_request_data(f"notification.format is one of {', '.join(FORMATS)}", param="notification.format")
    sys_attrs = value.get("sysAttrs", False)
    if not isinstance(sys_attrs, bool):
        raise bad_request_data("notification.sysAttrs is true or false", param="notification.sysAttrs")
    endpoint = value.get("endpoint")
    if not isinstance(endpoint, dict) or not isinstance(endpoint.get("uri"), str):
        raise bad_request_data("notification.endpoint.uri is the URI notifications are sent to", param="notification.endpoint")
    uri = endpoint["uri"]
    scheme = uri.split(":", 1)[0].lower()
    if scheme in ("mqtt", "mqtts"):
        raise operation_not_supported("MQTT endpoints are not supported here: give an http:// or https:// endpoint.uri")
    if scheme not in ("http", "https"):
        raise bad_request_data("notification.endpoint.uri is an http:// or https:// URL", param="notification.endpoint.uri")
    accept = endpoint.get("accept", JSON)
    if accept == GEO_JSON:
        raise operation_not_supported("Notifications are sent as application/json or application/ld+json, not GeoJSON")
    if accept not in ACCEPTS:
        raise bad_request_data(f"notification.endpoint.accept is one of {', '.join(ACCEPTS)}", param="notification.endpoint.accept")
    receiver_info = endpoint.get("receiverInfo")
    if receiver_info is not None and not (
        isinstance(receiver_info, list)
        and all(isinstance(item, dict) and set(item) == {"key", "value"} and all(isinstance(v, str) and v for v in item.values())
                for item in receiver_info)
    ):  # fmt: skip
        raise bad_request_data("notification.endpoint.receiverInfo is a list of {key, value} texts", param="notification.endpoint.receiverInfo")
    if endpoint.get("notifierInfo"):
        raise operation_not_supported("notifierInfo configures MQTT notifications, which are not supported here")
    return {
        "attributes": attributes, "format": form if form != "normalized" else None, "accept": accept if accept != JSON else None,
        "receiverInfo": receiver_info, "sysAttrs": sys_attrs, "uri": uri,
    }  # fmt: skip


# ---- row → body --------------------------------------------------------------------------------


def subscription_body(subscription: Subscription, context: Context, with_state: bool = True) -> dict[str, Any]:
    """The subscription as NGSI-LD shows it, its terms compacted with `context`; `with_state`: with the
    read-only members (status, the notification's counters and times)."""
    selection = subscription.selection or {}
    rendering = subscription.rendering or {}
    body: dict[str, Any] = {"id": subscription.uri, "type": "Subscription"}
    if subscription.name:
        body["subscriptionName"] = subscription.name
    if subscription.description:
        body["description"] = subscription.description
    if selection.get("entities"):
        body["entities"] = [
            {key: shown_name(value, context) if key == "type" else value for key, value in selector.items()}
            for selector in selection["entities"]
        ]
    if subscription.watched_attributes:
        body["watchedAttributes"] = [shown_name(name, context) for name in subscription.watched_attributes]
    body["notificationTrigger"] = [next(k for k, v in TRIGGERS.items() if v == t) for t in subscription.triggers or ()]
    if selection.get("q"):
        body["q"] = selection["q"]
    if selection.get("geoQ"):
        geo_q = dict(selection["geoQ"])
        if "geoproperty" in geo_q:
            geo_q["geoproperty"] = shown_name(geo_q["geoproperty"], context)
        body["geoQ"] = geo_q
    if subscription.interval_s:
        body["timeInterval"] = subscription.interval_s
    if subscription.throttling_s:
        body["throttling"] = subscription.throttling_s
    if subscription.expires_at is not None:
        body["expiresAt"] = _time(subscription.expires_at)
    if rendering.get("lang"):
        body["lang"] = rendering["lang"]
    body["isActive"] = subscription.status == "active"
    endpoint: dict[str, Any] = {"uri": subscription.endpoint, "accept": rendering.get("accept") or JSON}
    if rendering.get("receiverInfo"):
        endpoint["receiverInfo"] = rendering["receiverInfo"]
    notification: dict[str, Any] = {}
    if subscription.attributes:
        notification["attributes"] = [shown_name(name, context) for name in subscription.attributes]
    notification["format"] = rendering.get("format") or "normalized"
    if rendering.get("sysAttrs"):
        notification["sysAttrs"] = True
    notification["endpoint"] = endpoint
    body["notification"] = notification
    if not with_state:
        return body
    expired = subscription.expires_at is not None and subscription.expires_at <= utcnow()
    body["status"] = "expired" if expired else "active" if subscription.status == "active" else "paused"
    if subscription.times_sent:
        failed_last = subscription.last_failure_at is not None and (
            subscription.last_success_at is None or subscription.last_failure_at > subscription.last_success_at
        )
        notification["status"] = "failed" if failed_last else "ok"
    notification["timesSent"] = subscription.times_sent
    notification["timesFailed"] = subscription.times_failed
    for member, value in (("lastNotification", subscription.last_notified_at), ("lastSuccess", subscription.last_success_at),
                          ("lastFailure", subscription.last_failure_at)):  # fmt: skip
        if value is not None:
            notification[member] = _time(value)
    return body


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
