"""Access requests: an app asks for an `approval` IS; the owning city decides.

An approved request is the app's grant. `access.readable_systems` reads grants in
the same statement as the data, so approving or revoking takes effect on the
next request. The developer is told of every decision (message and mail), the
city's admins of every new request, and each step is audited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from icity.db.models import AccessRequest, App, Device, InformationSystem, Organisation, User, utcnow
from icity.errors import bad_parameter, conflict, forbidden, not_found
from icity.services import audit, messages, offers
from icity.services.access import (
    Principal,
    administered_systems,
    discoverable_systems,
    managers_of,
    require_approved_developer,
    require_user,
)
from icity.services.app_access import managed_app
from icity.services.pagination import Page, SortKey, keyset_page
from icity.services.publishers import platform_admins, publisher_admins

REQUEST_STATUSES = ("pending", "approved", "refused", "revoked", "withdrawn")
LIVE_STATUSES = ("pending", "approved")  # a request still waiting, or a grant in force


def request_dict(request: AccessRequest, app: App, organisation_name: str) -> dict[str, Any]:
    """The organisation is named because the city decides on who asks, not only on which app."""
    return {
        "id": request.id,
        "app": {"id": app.id, "name": app.name, "organisation": app.organisation_id, "organisationName": organisation_name},
        "informationSystem": request.information_system_id,
        "purpose": request.purpose,
        "status": request.status,
        "requestedAt": request.requested_at.isoformat(),
        "decidedAt": request.decided_at.isoformat() if request.decided_at else None,
        "reason": request.reason,
        "revokedAt": request.revoked_at.isoformat() if request.revoked_at else None,
    }


def accepts_commands(session: Session, system_id: str) -> bool:
    """Does a device of the IS accept commands? Then sending them needs an approved request, whatever its read policy."""
    declarations = session.scalars(select(Device.commands).where(Device.information_system_id == system_id))
    return any(bool(commands) for commands in declarations)  # JSON lists: compared here, alike on SQLite and PostgreSQL


def request_access(
    session: Session, principal: Principal, *, app_id: int, system_id: str, purpose: str, offer_version: Any = None
) -> dict[str, Any]:
    """Ask for access; a priced IS's offer is accepted with the request (`offer_version`), or the
    request is refused with 402 naming the offer, and nothing is written."""
    require_approved_developer(principal)
    app = managed_app(session, principal, app_id)
    system = session.scalar(
        select(InformationSystem).where(InformationSystem.id == system_id, discoverable_systems(principal))
    )
    if system is None:
        raise not_found("information system", system_id)
    if system.access_policy != "approval" and not accepts_commands(session, system_id):
        # a request on an open IS can only be for its commands, which act on the physical world
        raise conflict(
            f"{system_id} is {system.access_policy}: any "
            + ("caller" if system.access_policy == "public" else "approved developer's key")
            + " reads it without a request, and none of its devices accepts commands.",
            param="informationSystem",
        )
    existing = session.scalar(
        select(AccessRequest).where(
            AccessRequest.app_id == app.id,
            AccessRequest.information_system_id == system_id,
            AccessRequest.status.in_(LIVE_STATUSES),
        )
    )
    if existing is not None:
        raise conflict(f"App {app.id} already has a {existing.status} request ({existing.id}) for {system_id}.")
    if offer_version is not None:
        offers.record_acceptance(session, principal, app.id, system, offer_version)
    else:
        priced = offers.required_acceptance(session, system_id)
        if priced is not None and not offers.has_accepted(session, app.id, system_id, priced.version):
            raise offers.offer_not_accepted(system_id, priced, f"{system_id} is priced: accept its offer with the request (offerVersion).")
    request = AccessRequest(
        app_id=app.id, information_system_id=system_id, purpose=purpose, status="pending", requested_by=principal.user_id
    )
    session.add(request)
    session.flush()
    # the publisher decides; one with no admin of its own yet relies on the platform admin
    deciders = publisher_admins(session, system) or platform_admins(session)
    for admin in deciders:
        messages.notify(
            session,
            admin,
            f"Access request for {system_id}: {app.name}",
            f"The app '{app.name}' asks to use {system_id}.\nPurpose: {purpose}\n\n"
            f"Approve or refuse it: POST /api/v1/access-requests/{request.id}/approve or /refuse.\n",
        )
    audit.record(session, principal, "access.requested", "access_request", request.id, city_id=system.city_id, owner_id=system.owner_id, details={"app": app.id, "informationSystem": system_id})
    return request_dict(request, app, session.get(Organisation, app.organisation_id).name)


def _visible(principal: Principal):
    """SQL condition on AccessRequest: those the caller may see."""
    if principal.is_admin:
        return None
    if principal.is_developer:
        return AccessRequest.app_id.in_(select(App.id).where(App.organisation_id == principal.organisation_id))
    if principal.is_publisher_admin:
        return administered_systems(principal)
    return AccessRequest.id.is_(None)


def list_requests(
    session: Session,
    principal: Principal,
    *,
    status: str | None,
    system_id: str | None,
    app_id: int | None,
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
) -> Page[dict[str, Any]]:
    require_user(principal)
    if status is not None and status not in REQUEST_STATUSES:
        raise bad_parameter("status", f"status must be one of {', '.join(REQUEST_STATUSES)}")
    statement = (
        select(AccessRequest, App, Organisation.name)
        .join(App, App.id == AccessRequest.app_id)
        .join(Organisation, Organisation.id == App.organisation_id)
        .join(InformationSystem, InformationSystem.id == AccessRequest.information_system_id)
    )
    visible = _visible(principal)
    if visible is not None:
        statement = statement.where(visible)
    if status:
        statement = statement.where(AccessRequest.status == status)
    if system_id:
        statement = statement.where(AccessRequest.information_system_id == system_id)
    if app_id is not None:
        statement = statement.where(AccessRequest.app_id == app_id)
    rows, next_cursor = keyset_page(
        statement.add_columns(AccessRequest.id), [SortKey(AccessRequest.id, descending=newest_first)], "id", limit, cursor,
        lambda s: session.execute(s).all(),
    )
    return Page([request_dict(row[0], row[1], row[2]) for row in rows], next_cursor)


def _request(session: Session, principal: Principal, request_id: int) -> tuple[AccessRequest, App, InformationSystem, str]:
    require_user(principal)
    statement = (
        select(AccessRequest, App, InformationSystem, Organisation.name)
        .join(App, App.id == AccessRequest.app_id)
        .join(Organisation, Organisation.id == App.organisation_id)
        .join(InformationSystem, InformationSystem.id == AccessRequest.information_system_id)
        .where(AccessRequest.id == request_id)
    )
    visible = _visible(principal)
    if visible is not None:
        statement = statement.where(visible)
    row = session.execute(statement).first()
    if row is None:
        raise not_found("access request", str(request_id))
    return row[0], row[1], row[2], row[3]


def get_request(session: Session, principal: Principal, request_id: int) -> dict[str, Any]:
    request, app, _, organisation_name = _request(session, principal, request_id)
    return request_dict(request, app, organisation_name)


DECISIONS = {
    # action: (from statuses, new status, audit action, needs a reason)
    "approve": (("pending",), "approved", "access.approved", False),
    "refuse": (("pending",), "refused", "access.refused", True),
    "revoke": (("approved",), "revoked", "access.revoked", True),
}


def decide(session: Session, principal: Principal, request_id: int, action: str, reason: str | None = None) -> dict[str, Any]:
    """Approve, refuse or revoke: the IS's publisher's admins and the platform admin only."""
    request, app, system, organisation_name = _request(session, principal, request_id)
    if not principal.manages(system):
        raise forbidden(f"Only {managers_of(system)} decide on access to {system.id}.")
    allowed, new_status, audit_action, needs_reason = DECISIONS[action]
    if request.status not in allowed:
        raise conflict(f"Cannot {action} a request that is {request.status} (only {' or '.join(allowed)}).")
    if needs_reason and not (reason and reason.strip()):
        raise bad_parameter("reason", f"Say why you {action} this request: the developer is told.")
    now = utcnow()
    request.status = new_status
    request.reason = reason
    if action == "revoke":
        request.revoked_at, request.revoked_by = now, principal.user_id
    else:
        request.decided_at, request.decided_by = now, principal.user_id
    verdict = {"approve": "approved", "refuse": "refused", "revoke": "revoked"}[action]
    body = f"Access of your app '{app.name}' to {system.id} was {verdict}."
    if reason:
        body += f"\nReason: {reason}"
    developers = session.scalars(
        select(User).where(or_(User.id == request.requested_by, User.id == app.created_by)).distinct()
    )
    for developer in developers:
        messages.notify(session, developer, f"Access to {system.id} {verdict}", body + "\n", sender_id=principal.user_id)
    audit.record(
        session,
        principal,
        audit_action,
        "access_request",
        request.id,
        city_id=system.city_id, owner_id=system.owner_id,
        details={"app": app.id, "informationSystem": system.id, **({"reason": reason} if reason else {})},
    )
    session.flush()
    return request_dict(request, app, organisation_name)


def withdraw(session: Session, principal: Principal, request_id: int) -> dict[str, Any]:
    """The developer withdraws a pending request or gives up a grant."""
    request, app, system, organisation_name = _request(session, principal, request_id)
    if not (principal.is_developer and app.organisation_id == principal.organisation_id):
        raise forbidden("Only the developers of the requesting app withdraw its request.")
    managed_app(session, principal, app.id)
    if request.status not in LIVE_STATUSES:
        raise conflict(f"Cannot withdraw a request that is {request.status}.")
    request.status = "withdrawn"
    audit.record(session, principal, "access.withdrawn", "access_request", request.id, city_id=system.city_id, owner_id=system.owner_id, details={"app": app.id})
    session.flush()
    return request_dict(request, app, organisation_name)
