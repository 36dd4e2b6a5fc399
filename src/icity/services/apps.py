"""Developers' apps and their API keys.

An app belongs to its developer's organisation: every developer of the
organisation manages it. Keys are shown once, stored as a digest, listed by
their public prefix; rotating a key issues a new one and lets the old one work
for an overlap period, so a deployed app can switch without downtime.
"""

from __future__ import annotations

import difflib
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.datamodels import get_registry
from icity.db.models import AccessRequest, ApiKey, App, User, utcnow
from icity.errors import FieldProblem, bad_parameter, conflict, invalid, not_found
from icity.services import audit, recertification
from icity.services.access import Principal, require_admin, require_approved_developer, require_user
from icity.services.app_access import managed_app, visible_app
from icity.services.pagination import Page, SortKey, keyset_page
from icity.services.ratelimit import PLANS
from icity.services.secrets import new_api_key

APP_FIELDS = ("name", "description", "functionalities", "advantages", "platforms", "entity_types")


def app_dict(app: App) -> dict[str, Any]:
    return {
        "id": app.id,
        "name": app.name,
        "description": app.description,
        "functionalities": app.functionalities,
        "advantages": app.advantages,
        "platforms": app.platforms,
        "entityTypes": app.entity_types,
        "organisation": app.organisation_id,
        "plan": app.plan,
        "status": app.status,
        "certification": app.certification,
        "createdAt": app.created_at.isoformat(),
        "updatedAt": app.updated_at.isoformat(),
    }


def key_dict(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "createdAt": key.created_at.isoformat(),
        "lastUsedAt": key.last_used_at.isoformat() if key.last_used_at else None,
        "expiresAt": key.expires_at.isoformat() if key.expires_at else None,
        "revokedAt": key.revoked_at.isoformat() if key.revoked_at else None,
        "active": key.revoked_at is None and (key.expires_at is None or key.expires_at > utcnow()),
    }


def check_entity_types(entity_types: list[str]) -> None:
    """Every declared type is a Smart Data Model the platform knows (certification reads them against grants)."""
    registry = get_registry()
    problems = []
    for index, name in enumerate(entity_types):
        if name not in registry:
            hint = difflib.get_close_matches(name, registry.names(), n=1)
            suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
            problems.append(FieldProblem(f"entityTypes[{index}]", f"'{name}' is not a Smart Data Model the platform knows.{suggestion}"))
    if problems:
        raise invalid(problems)


def new_app(session: Session, owner: User, fields: dict[str, Any]) -> App:
    check_entity_types(fields.get("entity_types") or [])
    app = App(organisation_id=owner.organisation_id, created_by=owner.id, **{f: fields[f] for f in APP_FIELDS if f in fields})
    session.add(app)
    session.flush()
    return app


def create_app(session: Session, principal: Principal, fields: dict[str, Any]) -> dict[str, Any]:
    require_approved_developer(principal)
    owner = session.get(User, principal.user_id)
    app = new_app(session, owner, fields)
    audit.record(session, principal, "app.created", "app", app.id, details={"name": app.name})
    return app_dict(app)


def list_apps(session: Session, principal: Principal, *, status: str | None, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    require_user(principal)
    statement = select(App)
    if not principal.is_admin:
        if not principal.is_developer:
            return Page([], None)
        statement = statement.where(App.organisation_id == principal.organisation_id)
    if status is not None:
        if status not in ("active", "withdrawn"):
            raise bad_parameter("status", "status must be active or withdrawn")
        statement = statement.where(App.status == status)
    rows, next_cursor = keyset_page(
        statement.add_columns(App.id), [SortKey(App.id)], "id", limit, cursor, lambda s: session.execute(s).all()
    )
    return Page([app_dict(row[0]) for row in rows], next_cursor)


def get_app(session: Session, principal: Principal, app_id: int) -> dict[str, Any]:
    return app_dict(visible_app(session, principal, app_id))


def update_app(session: Session, principal: Principal, app_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change the given fields. A certified app whose entity types change is reviewed again."""
    app = managed_app(session, principal, app_id)
    if changes.get("entity_types") is not None:
        check_entity_types(changes["entity_types"])
    entity_types_before = list(app.entity_types)
    for field, value in changes.items():
        if field in APP_FIELDS:
            setattr(app, field, value)
    app.updated_at = utcnow()
    recertification.entity_types_changed(session, principal, app, entity_types_before)
    session.flush()
    return app_dict(app)


def withdraw_app(session: Session, principal: Principal, app_id: int) -> dict[str, Any]:
    """Withdraw an app: its keys are revoked and its grants end, at once."""
    app = managed_app(session, principal, app_id)
    now = utcnow()
    app.status = "withdrawn"
    app.withdrawn_at = now
    for key in session.scalars(select(ApiKey).where(ApiKey.app_id == app.id, ApiKey.revoked_at.is_(None))):
        key.revoked_at = now
    for grant in session.scalars(
        select(AccessRequest).where(AccessRequest.app_id == app.id, AccessRequest.status.in_(("pending", "approved")))
    ):
        grant.status = "withdrawn"
    audit.record(session, principal, "app.withdrawn", "app", app.id, details={"name": app.name})
    session.flush()
    return app_dict(app)


def set_plan(session: Session, principal: Principal, app_id: int, plan: str) -> dict[str, Any]:
    require_admin(principal)
    if plan not in PLANS:
        raise bad_parameter("plan", f"plan must be one of {', '.join(PLANS)}")
    app = visible_app(session, principal, app_id)
    before, app.plan = app.plan, plan
    audit.record(session, principal, "app.plan_changed", "app", app.id, details={"from": before, "to": plan})
    session.flush()
    return app_dict(app)


# ---- keys -----------------------------------------------------------------------


def list_keys(session: Session, principal: Principal, app_id: int) -> list[dict[str, Any]]:
    app = visible_app(session, principal, app_id)
    return [key_dict(k) for k in session.scalars(select(ApiKey).where(ApiKey.app_id == app.id).order_by(ApiKey.id))]


def _issue_key(session: Session, principal: Principal, app: App, name: str) -> dict[str, Any]:
    new = new_api_key()
    key = ApiKey(app_id=app.id, prefix=new.prefix, secret_digest=new.digest, name=name, created_by=principal.user_id)
    session.add(key)
    session.flush()
    return {**key_dict(key), "key": new.key}


def create_key(session: Session, principal: Principal, app_id: int, name: str = "") -> dict[str, Any]:
    """A new key; the only time its secret is shown."""
    app = managed_app(session, principal, app_id)
    most = get_settings().max_keys_per_app
    live = session.scalar(
        select(func.count())
        .select_from(ApiKey)
        .where(
            ApiKey.app_id == app.id,
            ApiKey.revoked_at.is_(None),
            ApiKey.replaced_by.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > utcnow()),
        )
    )
    if live >= most:
        raise conflict(
            f"{app.name} already has {live} live API keys, the most an app may hold ({most}): "
            "revoke one it no longer uses, or rotate a key to replace it."
        )
    body = _issue_key(session, principal, app, name)
    audit.record(session, principal, "key.created", "api_key", body["id"], details={"app": app.id, "prefix": body["prefix"]})
    return body


def _key(session: Session, app: App, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None or key.app_id != app.id:
        raise not_found("API key", str(key_id))
    return key


def revoke_key(session: Session, principal: Principal, app_id: int, key_id: int) -> dict[str, Any]:
    """Revoke at once: the next request with this key is refused."""
    app = visible_app(session, principal, app_id)
    if not principal.is_admin:
        require_approved_developer(principal)
    key = _key(session, app, key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(session, principal, "key.revoked", "api_key", key.id, details={"app": app.id, "prefix": key.prefix})
    session.flush()
    return key_dict(key)


def rotate_key(session: Session, principal: Principal, app_id: int, key_id: int, overlap_hours: float | None) -> dict[str, Any]:
    """A new key for the app; the old one keeps working for `overlap_hours`, then expires."""
    app = managed_app(session, principal, app_id)
    old = _key(session, app, key_id)
    now = utcnow()
    if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
        raise conflict("This key was revoked or has expired: create a new key instead of rotating it.")
    if old.replaced_by is not None:  # else rotating one key again and again would multiply the live keys past the cap
        raise conflict("This key was already rotated: rotate or revoke its replacement instead.")
    hours = get_settings().key_overlap_hours if overlap_hours is None else overlap_hours
    if not 0 <= hours <= 24 * 30:
        raise bad_parameter("overlapHours", "overlapHours must be between 0 and 720.")
    body = _issue_key(session, principal, app, old.name)
    expires_at = now + timedelta(hours=hours)
    old.expires_at = expires_at if old.expires_at is None else min(old.expires_at, expires_at)
    old.replaced_by = body["id"]
    audit.record(
        session,
        principal,
        "key.rotated",
        "api_key",
        old.id,
        details={"app": app.id, "prefix": old.prefix, "replacedBy": body["prefix"], "oldExpiresAt": old.expires_at.isoformat()},
    )
    session.flush()
    return {**body, "replaces": {"id": old.id, "prefix": old.prefix, "expiresAt": old.expires_at.isoformat()}}
