"""Subscriptions: an app's standing query on the change log, told by webhook or stream.

A subscription belongs to one app. The app's key, the developers of its organisation
and the platform admin read and change it. Creating one does not need read access to
what it selects: access is decided when a notification is made and again when it is
sent (see services/webhooks.py), so a grant revoked in between stops the data at once.

A subscription starts at the head of the change log: it is told about changes
committed after it was created (or resumed), never about older ones.

A standard's door (NGSI-LD) makes subscriptions of the same kind, on the same rows: it
registers a `Door` that selects what its own language says beyond iCity's filters (its `q`,
its geo-queries, id patterns), renders its notifications, and reads the current state for
periodic ones. What notifies — which alterations (`triggers`), of which attributes
(`watched_attributes`) — and when (`interval_s`, throttling, expiry, pause) is decided here,
in iCity's terms, for both doors.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.db.models import App, Change, City, Delivery, InformationSystem, Subscription, utcnow
from icity.errors import FieldProblem, ICityError, authentication_required, bad_parameter, conflict, invalid, not_found
from icity.services import audit, changes, filters, outbound
from icity.services.access import Principal, discoverable_systems, readable_system_ids, require_approved_developer
from icity.services.authentication import Credential, principal_for_credential, principal_of_app
from icity.services.pagination import Page, SortKey, keyset_page
from icity.services.selectors import IDENTITY, Selector
from icity.services.subscription_doors import DOORS, changed_entity, triggered

SECRET_PREFIX = "whsec_"
STATUSES = ("active", "paused")
DELIVERY_STATUSES = ("pending", "delivered", "dead", "withheld")
MAX_ENTITY_TYPES = 50
MAX_ATTRIBUTES = 100
# What a subscription's selection and delivery are made of, by their names in request bodies
SELECTION_FIELDS = ("entityTypes", "city", "informationSystem", "q", "area", "attributes")
CHANGEABLE_FIELDS = ("name", *SELECTION_FIELDS, "throttlingS", "expiresAt", "endpoint", "status")
# What a change can do to an entity, as Change.altered says it; a subscription's `triggers` names those that notify it
TRIGGERS = ("entity-created", "entity-updated", "entity-deleted", "attribute-created", "attribute-updated", "attribute-deleted")
# Columns a door decides for its subscriptions, beside the fields of an /api/v1 body
DOOR_COLUMNS = ("uri", "standard", "description", "selection", "rendering", "watched_attributes", "triggers", "interval_s")


# --- What the webhook dispatcher and the streams use: one rule for what goes where -------


def readable_by_app(session: Session, app_id: int, known: dict[int, frozenset[str] | None]) -> frozenset[str] | None:
    """The IS the app may read now; None once it is withdrawn or its owner's account is not
    approved. Looked up once per app in `known`: one batch holds many subscriptions of few apps."""
    if app_id not in known:
        principal = principal_of_app(session, app_id)
        known[app_id] = None if principal is None else frozenset(readable_system_ids(session, principal))
    return known[app_id]


def deliverable(subscription: Subscription | None, readable: frozenset[str] | None, changed: list[Change]) -> list[Change] | None:
    """Of these changes, those that go to the subscription, by webhook or stream: it is live, its
    app may read their IS (`readable`, from readable_by_app) and its selector matches them. None
    when nothing may go to it any more: deleted (None), paused, expired, or its app withdrawn."""
    if subscription is None or not is_live(subscription) or readable is None:
        return None
    if subscription.interval_s:  # periodic: told the current state every interval, not each change
        return []
    selector = selector_of(subscription)
    door = DOORS[subscription.standard].selects(subscription) if subscription.standard else None
    return [
        change for change in changed
        if change.information_system_id in readable and triggered(subscription, change) and selector.matches(change)
        and (door is None or door(changed_entity(change)))
    ]  # fmt: skip


def may_follow(
    session: Session, credential: Credential, subscription: Subscription, known: dict[Credential, Principal | None] | None = None
) -> bool:
    """Does the credential that opened a stream still stand for someone who may read this
    subscription (key not revoked nor expired, session not ended, account still approved)?
    `known`: who each credential stood for, looked up once for all the streams of a batch."""
    known = {} if known is None else known
    if credential not in known:
        known[credential] = principal_for_credential(session, credential)
    principal = known[credential]
    return principal is not None and _owns(session, principal, subscription)


def selector_of(subscription: Subscription) -> Selector:
    """What the subscription selects, and which attributes it shows (stored values were checked when written)."""
    entity_types = tuple(subscription.entity_types or ())
    conditions = filters.parse_q(subscription.q, entity_types[0] if len(entity_types) == 1 else None) if subscription.q else []
    area = subscription.area or {}
    bbox = filters.BBox(*area["bbox"]) if "bbox" in area else None
    near = filters.Near(*area["near"]) if "near" in area else None
    return Selector(
        entity_types=entity_types,
        city=subscription.city_id,
        system=subscription.information_system_id,
        conditions=tuple(conditions),
        bbox=bbox,
        near=near,
        attributes=tuple(subscription.attributes or ()),
    )


def notification(subscription: Subscription, changed: list[Change]) -> dict[str, Any]:
    """The body sent for these changes (NGSI-LD's Notification shape): each entity as it was
    after its change, with the attributes the subscription chose (a door renders its own)."""
    if subscription.standard:
        return DOORS[subscription.standard].body(subscription, [changed_entity(change) for change in changed])
    selector = selector_of(subscription)
    return {
        "id": f"urn:ngsi-ld:Notification:{uuid.uuid4()}",
        "type": "Notification",
        "subscriptionId": subscription.id,
        "notifiedAt": utcnow().isoformat(),
        "data": [selector.project(change.entity) for change in changed],
    }


def is_live(subscription: Subscription, now: datetime | None = None) -> bool:
    """Active and not expired: it is told about changes."""
    now = now or utcnow()
    return subscription.status == "active" and (subscription.expires_at is None or subscription.expires_at > now)


def owned_subscription(session: Session, principal: Principal, subscription_id: int) -> Subscription:
    """The subscription if the caller may read and change it: its app's key, a developer of the
    app's organisation, or the platform admin. Anyone else gets 404, so ids do not leak."""
    if principal.kind == "anonymous":
        raise authentication_required("Send the app's API key, or a developer's session token, as `Authorization: Bearer`.")
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or not _owns(session, principal, subscription):
        raise not_found("subscription", str(subscription_id))
    return subscription


def _owns(session: Session, principal: Principal, subscription: Subscription) -> bool:
    if principal.kind == "app":
        return principal.app_id == subscription.app_id
    if principal.kind != "user":
        return False
    if principal.is_admin:
        return True
    organisation = session.scalar(select(App.organisation_id).where(App.id == subscription.app_id))
    return principal.is_developer and principal.organisation_id is not None and organisation == principal.organisation_id


# --- The API's use cases --------------------------------------------------------------


def subscription_dict(subscription: Subscription) -> dict[str, Any]:
    area = subscription.area or None
    return {
        "id": subscription.id,
        "app": subscription.app_id,
        "name": subscription.name,
        "entityTypes": list(subscription.entity_types or ()),
        "city": subscription.city_id,
        "informationSystem": subscription.information_system_id,
        "q": subscription.q,
        "area": {kind: ",".join(_number(v) for v in values) for kind, values in area.items()} if area else None,
        "attributes": list(subscription.attributes or ()),
        "throttlingS": subscription.throttling_s,
        "expiresAt": subscription.expires_at.isoformat() if subscription.expires_at else None,
        "endpoint": subscription.endpoint,
        "status": subscription.status,
        "expired": subscription.expires_at is not None and subscription.expires_at <= utcnow(),
        "lastNotifiedAt": subscription.last_notified_at.isoformat() if subscription.last_notified_at else None,
        "createdAt": subscription.created_at.isoformat(),
        "standard": subscription.standard,
        "uri": subscription.uri,
    }


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def create_subscription(session: Session, principal: Principal, fields: dict[str, Any]) -> dict[str, Any]:
    """A new subscription (fields named as in the request body); the webhook secret is in this answer only."""
    app_id = _subscribing_app(session, principal, fields.get("appId"))
    values = _checked(session, principal, fields)
    subscription = Subscription(
        app_id=app_id,
        secret=SECRET_PREFIX + secrets.token_urlsafe(32),
        position=changes.latest_id(session),
        created_by=principal.user_id if principal.kind == "user" else None,
        **values,
    )
    session.add(subscription)
    session.flush()
    audit.record(session, principal, "subscription.created", "subscription", subscription.id, details={"app": app_id})
    return {**subscription_dict(subscription), "secret": subscription.secret}


def create_door_subscription(
    session: Session, principal: Principal, fields: dict[str, Any], columns: dict[str, Any], default_uri: Callable[[int], str]
) -> Subscription:
    """A subscription made through a standard's door: `fields` as an /api/v1 body has them, `columns`
    (DOOR_COLUMNS) as the door decided; named `default_uri(id)` unless the caller named it."""
    app_id = _subscribing_app(session, principal, None)
    values = _checked(session, principal, fields, door=True)
    _check_uri_free(session, columns.get("uri"))
    subscription = Subscription(
        app_id=app_id,
        secret=SECRET_PREFIX + secrets.token_urlsafe(32),
        position=changes.latest_id(session),
        created_by=principal.user_id if principal.kind == "user" else None,
        next_periodic_at=utcnow() if columns.get("interval_s") else None,  # the first at once
        **values,
        **columns,
    )
    session.add(subscription)
    session.flush()
    if subscription.uri is None:
        subscription.uri = default_uri(subscription.id)
        session.flush()
    audit.record(session, principal, "subscription.created", "subscription", subscription.id, details={"app": app_id})
    return subscription


def update_door_subscription(
    session: Session, principal: Principal, subscription: Subscription, fields: dict[str, Any], columns: dict[str, Any]
) -> Subscription:
    """Change a door's subscription: `fields` as an /api/v1 body names them, `columns` the door's own."""
    was_live, was_periodic = is_live(subscription), subscription.interval_s
    current = {
        "name": subscription.name, "entityTypes": subscription.entity_types, "attributes": subscription.attributes,
        "throttlingS": subscription.throttling_s, "expiresAt": subscription.expires_at, "endpoint": subscription.endpoint,
        "status": subscription.status,
    }  # fmt: skip
    values = _checked(session, principal, {**current, **fields}, changed=set(fields), door=True)
    for column, value in {**values, **columns}.items():
        setattr(subscription, column, value)
    if not was_live and is_live(subscription):  # not sent what came while it slept
        subscription.position = changes.latest_id(session)
    if subscription.interval_s and (not was_periodic or not was_live):
        subscription.next_periodic_at = utcnow()
    session.flush()
    audit.record(session, principal, "subscription.changed", "subscription", subscription.id, details={"fields": sorted(fields)})
    return subscription


def _check_uri_free(session: Session, uri: str | None) -> None:
    if uri is not None and session.scalar(select(Subscription.id).where(Subscription.uri == uri)) is not None:
        raise conflict(f"A subscription with id {uri} already exists.", param="id")


def subscription_by_uri(session: Session, principal: Principal, uri: str) -> Subscription:
    """A subscription by the id a door names it with, if the caller may read it (else 404)."""
    found = session.scalar(select(Subscription.id).where(Subscription.uri == uri))
    if found is None:
        if principal.kind == "anonymous":
            raise authentication_required("Send the app's API key, or a developer's session token, as `Authorization: Bearer`.")
        raise not_found("subscription", uri)
    try:
        return owned_subscription(session, principal, found)
    except ICityError as error:
        if error.status == 404:
            raise not_found("subscription", uri) from None
        raise


def door_subscriptions(
    session: Session, principal: Principal, standard: str, *, limit: int, offset: int
) -> tuple[list[Subscription], int]:
    """The subscriptions a door made that the caller may read (as list_subscriptions), by id; and how many."""
    if principal.kind == "anonymous":
        raise authentication_required("Send the app's API key, or a developer's session token, as `Authorization: Bearer`.")
    statement = select(Subscription).where(Subscription.standard == standard)
    if principal.kind == "app":
        statement = statement.where(Subscription.app_id == principal.app_id)
    elif not principal.is_admin:
        if not (principal.kind == "user" and principal.is_developer and principal.organisation_id is not None):
            return [], 0
        statement = statement.where(Subscription.app_id.in_(select(App.id).where(App.organisation_id == principal.organisation_id)))
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = list(session.scalars(statement.order_by(Subscription.id).offset(offset).limit(limit)))
    return rows, total


def _subscribing_app(session: Session, principal: Principal, app_id: Any) -> int:
    """Whose subscription this is: the key's app, or an active app of the developer's organisation."""
    if principal.kind == "anonymous":
        raise authentication_required("Subscribe with the app's API key, or with a developer's session naming `appId`.")
    if principal.kind == "app":
        if app_id is not None and app_id != principal.app_id:
            raise bad_parameter("appId", "An API key subscribes for its own app: leave appId out or give its own id.")
        return principal.app_id
    require_approved_developer(principal)
    if app_id is None:
        raise bad_parameter("appId", "Name the app the subscription is for (appId): one of your organisation's apps.")
    app = session.get(App, app_id)
    if app is None or app.organisation_id != principal.organisation_id:
        raise not_found("app", str(app_id))
    if app.status != "active":
        raise conflict(f"App {app_id} was withdrawn: it cannot subscribe.", param="appId")
    return app.id


def _checked(
    session: Session, principal: Principal, fields: dict[str, Any], changed: set[str] | None = None, door: bool = False
) -> dict[str, Any]:
    """The subscription's columns from request fields, each checked; a 422 naming every bad field.
    On a change (`changed`: the fields the caller changes) the IS and the expiry are checked only
    if changed: an IS that became a draft, or an expiry now past, does not block renaming. A door
    checked its own entity types and attribute names (an IS with open validation has its own)."""
    def checks(name: str) -> bool:
        return changed is None or name in changed

    problems: list[FieldProblem] = []
    registry = get_registry()
    entity_types = list(dict.fromkeys(fields.get("entityTypes") or []))
    for index, name in enumerate(entity_types):
        if name not in registry and not door:
            problems.append(FieldProblem(f"entityTypes[{index}]", f"'{name}' is not a Smart Data Models entity type"))
    if len(entity_types) > MAX_ENTITY_TYPES:
        problems.append(FieldProblem("entityTypes", f"at most {MAX_ENTITY_TYPES} entity types"))

    city_id = fields.get("city")
    if city_id is not None and session.get(City, city_id) is None:
        problems.append(FieldProblem("city", f"no city with id '{city_id}'"))
    system_id = fields.get("informationSystem")
    if system_id is not None and checks("informationSystem"):
        system = session.scalar(select(InformationSystem).where(InformationSystem.id == system_id, discoverable_systems(principal)))
        if system is None:
            raise not_found("information system", system_id)  # a draft stays unknown to those who cannot see it
        if city_id is not None and system.city_id != city_id:
            problems.append(FieldProblem("informationSystem", f"{system_id} is not an information system of {city_id}"))

    q = fields.get("q") or None
    if q is not None:
        try:
            filters.parse_q(q, entity_types[0] if len(entity_types) == 1 else None)
        except ICityError as error:
            problems.append(FieldProblem("q", error.detail))

    area = _checked_area(fields.get("area"), problems)
    attributes = list(dict.fromkeys(fields.get("attributes") or []))
    if not door:
        problems += _attribute_problems(attributes, entity_types)

    throttling_s = fields.get("throttlingS") or 0
    if not isinstance(throttling_s, int) or throttling_s < 0:
        problems.append(FieldProblem("throttlingS", "throttlingS must be a whole number of seconds, 0 or more"))
    expires_at = fields.get("expiresAt")
    if expires_at is not None and checks("expiresAt") and expires_at <= utcnow():
        problems.append(FieldProblem("expiresAt", "expiresAt must be in the future"))
    endpoint = fields.get("endpoint")
    if endpoint is not None and not _web_url(endpoint):
        problems.append(FieldProblem("endpoint", "endpoint must be an http:// or https:// URL, e.g. https://app.example/hooks/icity"))
    elif endpoint is not None and checks("endpoint") and (refused := outbound.refusal(endpoint)):
        problems.append(FieldProblem("endpoint", refused))
    status = fields.get("status", "active")
    if status not in STATUSES:
        problems.append(FieldProblem("status", "status must be active or paused"))
    if problems:
        raise invalid(problems)
    return {
        "name": fields.get("name") or "",
        "entity_types": entity_types,
        "city_id": city_id,
        "information_system_id": system_id,
        "q": q,
        "area": area,
        "attributes": attributes,
        "throttling_s": throttling_s,
        "expires_at": expires_at,
        "endpoint": endpoint,
        "status": status,
    }


def _checked_area(area: Any, problems: list[FieldProblem]) -> dict[str, list[float]] | None:
    """{"bbox": "minLon,minLat,maxLon,maxLat"} or {"near": "lat,lon,radius"}, stored as numbers."""
    if not area:
        return None
    if not isinstance(area, dict) or len(area) != 1 or not set(area) <= {"bbox", "near"}:
        problems.append(FieldProblem("area", 'area is {"bbox": "minLon,minLat,maxLon,maxLat"} or {"near": "lat,lon,radiusInMetres"}'))
        return None
    try:
        if "bbox" in area:
            box = filters.parse_bbox(str(area["bbox"]))
            return {"bbox": [box.min_lon, box.min_lat, box.max_lon, box.max_lat]}
        near = filters.parse_near(str(area["near"]))
        return {"near": [near.lat, near.lon, near.radius_m]}
    except ICityError as error:
        problems.append(FieldProblem(f"area.{next(iter(area))}", error.detail))
        return None


def _attribute_problems(attributes: list[str], entity_types: list[str]) -> list[FieldProblem]:
    problems = []
    if len(attributes) > MAX_ATTRIBUTES:
        problems.append(FieldProblem("attributes", f"at most {MAX_ATTRIBUTES} attributes"))
    models = [model for model in map(get_registry().get, entity_types) if model is not None]
    for index, name in enumerate(attributes):
        if not isinstance(name, str) or not filters.ATTRIBUTE_NAME.match(name):
            problems.append(FieldProblem(f"attributes[{index}]", f"'{name}' is not an attribute name"))
        elif models and name not in IDENTITY and name != "location" and not any(name in m.attributes for m in models):
            problems.append(FieldProblem(f"attributes[{index}]", f"'{name}' is not an attribute of {' or '.join(entity_types)}"))
    return problems


def _web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def list_subscriptions(
    session: Session, principal: Principal, *, app_id: int | None, status: str | None, limit: int, cursor: str | None
) -> Page[dict[str, Any]]:
    """The key's app's subscriptions, the developer's organisation's, or (platform admin) all."""
    if principal.kind == "anonymous":
        raise authentication_required("Send the app's API key, or a developer's session token, as `Authorization: Bearer`.")
    statement = select(Subscription)
    if principal.kind == "app":
        statement = statement.where(Subscription.app_id == principal.app_id)
    elif not principal.is_admin:
        if not (principal.kind == "user" and principal.is_developer and principal.organisation_id is not None):
            return Page([], None)
        organisation_apps = select(App.id).where(App.organisation_id == principal.organisation_id)
        statement = statement.where(Subscription.app_id.in_(organisation_apps))
    if app_id is not None:
        statement = statement.where(Subscription.app_id == app_id)
    if status is not None:
        if status not in STATUSES:
            raise bad_parameter("status", "status must be active or paused")
        statement = statement.where(Subscription.status == status)
    rows, next_cursor = keyset_page(
        statement.add_columns(Subscription.id), [SortKey(Subscription.id)], "id", limit, cursor,
        lambda s: session.execute(s).all(),
    )  # fmt: skip
    return Page([subscription_dict(row[0]) for row in rows], next_cursor)


def get_subscription(session: Session, principal: Principal, subscription_id: int) -> dict[str, Any]:
    return subscription_dict(owned_subscription(session, principal, subscription_id))


def update_subscription(session: Session, principal: Principal, subscription_id: int, fields: dict[str, Any]) -> dict[str, Any]:
    """Pause, resume, or change what it selects or where it is sent (fields as in the request body;
    null clears an optional one). A subscription coming back to life, or given an endpoint it had
    not (its webhooks start), starts at the head of the log: it is not sent what came before."""
    subscription = owned_subscription(session, principal, subscription_id)
    was_live = is_live(subscription)
    had_endpoint = subscription.endpoint is not None
    current = {
        "name": subscription.name,
        "entityTypes": subscription.entity_types,
        "city": subscription.city_id,
        "informationSystem": subscription.information_system_id,
        "q": subscription.q,
        "area": subscription_dict(subscription)["area"],
        "attributes": subscription.attributes,
        "throttlingS": subscription.throttling_s,
        "expiresAt": subscription.expires_at,
        "endpoint": subscription.endpoint,
        "status": subscription.status,
    }
    unknown = set(fields) - set(CHANGEABLE_FIELDS)
    if unknown:
        raise bad_parameter(sorted(unknown)[0], f"{sorted(unknown)[0]} cannot be changed; create another subscription")
    values = _checked(session, principal, {**current, **fields}, changed=set(fields))
    for column, value in values.items():
        setattr(subscription, column, value)
    # a stream-only subscription's position stood still: from there its whole backlog would be sent
    if (not was_live and is_live(subscription)) or (not had_endpoint and subscription.endpoint is not None):
        subscription.position = changes.latest_id(session)
    session.flush()
    audit.record(session, principal, "subscription.changed", "subscription", subscription.id, details={"fields": sorted(fields)})
    return subscription_dict(subscription)


def delete_subscription(session: Session, principal: Principal, subscription_id: int) -> None:
    """Delete it with its delivery log; nothing more is sent."""
    subscription = owned_subscription(session, principal, subscription_id)
    session.query(Delivery).filter(Delivery.subscription_id == subscription.id).delete(synchronize_session=False)
    session.delete(subscription)
    audit.record(session, principal, "subscription.deleted", "subscription", subscription_id, details={"app": subscription.app_id})
    session.flush()


# --- The delivery log -----------------------------------------------------------------


def delivery_dict(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "subscription": delivery.subscription_id,
        "change": delivery.change_id,
        "entityId": delivery.entity_id,
        "informationSystem": delivery.information_system_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "createdAt": delivery.created_at.isoformat(),
        "nextAttemptAt": delivery.next_attempt_at.isoformat() if delivery.status == "pending" else None,
        "deliveredAt": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
    }


def list_deliveries(
    session: Session, principal: Principal, subscription_id: int, *, status: str | None, limit: int, cursor: str | None
) -> Page[dict[str, Any]]:
    """The subscription's delivery log, newest first."""
    subscription = owned_subscription(session, principal, subscription_id)
    statement = select(Delivery).where(Delivery.subscription_id == subscription.id)
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise bad_parameter("status", f"status must be one of {', '.join(DELIVERY_STATUSES)}")
        statement = statement.where(Delivery.status == status)
    rows, next_cursor = keyset_page(
        statement.add_columns(Delivery.id), [SortKey(Delivery.id, descending=True)], "-id", limit, cursor,
        lambda s: session.execute(s).all(),
    )  # fmt: skip
    return Page([delivery_dict(row[0]) for row in rows], next_cursor)


def retry_delivery(session: Session, principal: Principal, subscription_id: int, delivery_id: int) -> dict[str, Any]:
    """Put a dead letter back in the outbox, with a fresh count of attempts."""
    subscription = owned_subscription(session, principal, subscription_id)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription.id:
        raise not_found("delivery", str(delivery_id))
    if delivery.status != "dead":
        raise conflict(f"Delivery {delivery_id} is {delivery.status}: only a dead letter is retried.")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = utcnow()
    session.flush()
    audit.record(session, principal, "delivery.retried", "delivery", delivery.id, details={"subscription": subscription.id})
    return delivery_dict(delivery)
