"""Accounts: developer registration, email verification, approval, login, users.

A developer registers (with their organisation, the IT partner, and optionally a
first app), verifies their email through a signed expiring link, and is then
approved by a platform admin. City admins and platform admins are created by a
platform admin (or `icity admin create`). Nothing here answers differently for
an email that has an account and one that has not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.db.models import City, CityAdmin, LoginThrottle, Organisation, OwnerAdmin, User, UserSession, utcnow
from icity.errors import ICityError, bad_parameter, conflict, forbidden, not_found
from icity.services import audit, mail, messages
from icity.services.access import ROLES, Principal, require_admin
from icity.services.authentication import principal_of_user
from icity.services.owners import check_owners, set_admin_scope
from icity.services.pagination import Page, SortKey, keyset_page
from icity.services.secrets import (
    LinkError,
    digest,
    hash_password,
    new_session_token,
    sign,
    unsign,
    verify_password,
)

USER_STATUSES = ("unverified", "pending", "approved", "refused", "suspended")
VERIFY = "verify-email"
FREE_FAILURES = 3  # failed logins allowed before the backoff starts
MAX_BACKOFF_S = 15 * 60


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def user_dict(
    user: User, organisation: Organisation | None = None, cities: list[str] | None = None, owners: list[str] | None = None
) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "phone": user.phone,
        "role": user.role,
        "status": user.status,
        "organisation": {"id": organisation.id, "name": organisation.name} if organisation else None,
        "cities": cities or [],
        "owners": owners or [],  # the infrastructure owners an owner admin acts for
        "emailVerifiedAt": user.email_verified_at.isoformat() if user.email_verified_at else None,
        "createdAt": user.created_at.isoformat(),
    }


# ---- registration and verification ----------------------------------------------


def _organisation_named(session: Session, name: str, website: str | None, country: str | None) -> Organisation:
    """The organisation of that name (case-insensitive), created if new. Joining an
    existing one is visible to the admin who approves the account."""
    existing = session.scalar(select(Organisation).where(func.lower(Organisation.name) == name.strip().lower()))
    if existing:
        return existing
    organisation = Organisation(name=name.strip(), website=website, country=country)
    session.add(organisation)
    session.flush()
    return organisation


def verification_link(user: User) -> str:
    token = sign(VERIFY, {"u": user.id, "e": user.email})
    # the portal's page, for a person opening the mail (GET /api/v1/registrations/verify takes the same token)
    return f"{get_settings().public_url}/verify-email?token={token}"


def _mail_verification(session: Session, user: User) -> None:
    hours = get_settings().verification_hours
    mail.queue(
        session,
        user.email,
        "Confirm your email address for iCity",
        f"Hello {user.name},\n\nConfirm your email address by opening this link within {hours} hours:\n\n"
        f"{verification_link(user)}\n\nA platform admin then reviews your account; "
        "you will get a mail when it is approved.\n",
    )


def register_developer(
    session: Session,
    *,
    name: str,
    email: str,
    password: str,
    phone: str | None,
    organisation: dict[str, Any],
    first_app: dict[str, Any] | None,
) -> None:
    """Create an unverified developer and mail them a verification link. For an
    address that already has an account, mail its owner instead: the caller sees
    the same answer either way."""
    email = normalise_email(email)
    existing = user_by_email(session, email)
    if existing is not None:
        mail.queue(
            session,
            email,
            "Someone tried to register with your address on iCity",
            "An account with this address already exists. If it was you, log in instead; "
            "otherwise you can ignore this mail.\n",
        )
        return
    org = _organisation_named(session, organisation["name"], organisation.get("website"), organisation.get("country"))
    user = User(
        email=email,
        name=name,
        phone=phone,
        password_hash=hash_password(password),
        role="developer",
        status="unverified",
        organisation_id=org.id,
    )
    session.add(user)
    session.flush()
    if first_app:
        from icity.services.apps import new_app

        new_app(session, user, first_app)
    audit.record(session, principal_of_user(session, user), "user.registered", "user", user.id, details={"organisation": org.name})
    _mail_verification(session, user)


def resend_verification(session: Session, email: str) -> None:
    user = user_by_email(session, email)
    if user is not None and user.status == "unverified":
        _mail_verification(session, user)


def _invalid_link() -> ICityError:
    return ICityError(
        detail="This verification link is not valid: open the link from the mail unchanged.",
        status=400,
        code="invalid-link",
        title="Invalid link",
        param="token",
    )


def verify_email(session: Session, token: str) -> dict[str, Any]:
    hours = get_settings().verification_hours
    try:
        payload = unsign(VERIFY, token, max_age_s=hours * 3600)
    except LinkError as error:
        if error.expired:
            raise ICityError(
                detail=f"This verification link is older than {hours} hours: ask for a new one with "
                "POST /api/v1/registrations/resend.",
                status=400,
                code="link-expired",
                title="Link expired",
                param="token",
            ) from error
        raise _invalid_link() from error
    user = session.get(User, payload.get("u"))
    if user is None or user.email != payload.get("e"):
        raise _invalid_link()
    if user.status == "unverified":
        user.status = "pending"
        user.email_verified_at = utcnow()
        for admin in session.scalars(select(User).where(User.role == "admin", User.status == "approved")):
            mail.queue(
                session,
                admin.email,
                f"Developer account to review: {user.email}",
                f"{user.name} <{user.email}> verified their address and waits for approval: "
                f"icity user approve {user.email}\n",
            )
    return {"email": user.email, "status": user.status}


# ---- login --------------------------------------------------------------------


@dataclass(frozen=True)
class Login:
    token: str
    expires_at: datetime
    user: dict[str, Any]




def login(session: Session, email: str, password: str, now: datetime | None = None) -> Login:
    """A session for the right email and password. After FREE_FAILURES consecutive
    failures for an address, each further attempt must wait twice as long as the
    last (up to 15 minutes), whether or not the address has an account."""
    now = now or utcnow()
    throttle = session.get(LoginThrottle, digest(normalise_email(email)))
    if throttle and throttle.blocked_until and throttle.blocked_until > now:
        wait = max(1, int((throttle.blocked_until - now).total_seconds() + 0.999))
        raise ICityError(
            detail=f"Too many failed logins for this address: try again in {wait} s.",
            status=429,
            code="login-backoff",
            title="Too many attempts",
            headers={"Retry-After": str(wait)},
        )
    user = user_by_email(session, email)
    if not verify_password(user.password_hash if user else None, password):
        if throttle is None:
            throttle = LoginThrottle(email_digest=digest(normalise_email(email)), failures=0)
            session.add(throttle)
        throttle.failures += 1
        throttle.last_failure_at = now
        if throttle.failures >= FREE_FAILURES:
            throttle.blocked_until = now + timedelta(seconds=min(2 ** (throttle.failures - FREE_FAILURES), MAX_BACKOFF_S))
        # the failure must count even though this request fails
        session.commit()
        raise ICityError(
            detail="Email or password is wrong.",
            status=401,
            code="login-failed",
            title="Login failed",
        )
    assert user is not None
    if user.status == "unverified":
        raise forbidden("Confirm your email address first: open the link in the mail we sent.", code="email-not-verified")
    if user.status in ("refused", "suspended"):
        raise forbidden(f"This account is {user.status}; write to the platform admin.", code=f"account-{user.status}")
    if throttle is not None:
        session.delete(throttle)
    token = new_session_token()
    expires_at = now + timedelta(hours=get_settings().session_hours)
    session.add(UserSession(token_digest=digest(token), user_id=user.id, expires_at=expires_at))
    return Login(token, expires_at, profile(session, user))


def logout(session: Session, token: str) -> None:
    session.query(UserSession).filter(UserSession.token_digest == digest(token)).delete()


def profile(session: Session, user: User) -> dict[str, Any]:
    organisation = session.get(Organisation, user.organisation_id) if user.organisation_id else None
    cities = sorted(session.scalars(select(CityAdmin.city_id).where(CityAdmin.user_id == user.id)))
    owners = sorted(session.scalars(select(OwnerAdmin.owner_id).where(OwnerAdmin.user_id == user.id)))
    return user_dict(user, organisation, cities, owners)


def me(session: Session, principal: Principal) -> dict[str, Any]:
    user = session.get(User, principal.user_id)
    if user is None:
        raise not_found("user", str(principal.user_id))
    return profile(session, user)


# ---- administration -------------------------------------------------------------


def _check_cities(session: Session, cities: list[str]) -> None:
    known = set(session.scalars(select(City.id).where(City.id.in_(cities))))
    for i, city in enumerate(cities):
        if city not in known:
            raise bad_parameter(f"cities[{i}]", f"No city with id '{city}'.")


def create_user(
    session: Session,
    actor: Principal,
    *,
    email: str,
    name: str,
    password: str,
    role: str,
    cities: list[str] | None = None,
    organisation: str | None = None,
    owners: list[str] | None = None,
) -> User:
    """A platform admin creates an approved account of any role."""
    require_admin(actor)
    if role not in ROLES:
        raise bad_parameter("role", f"role must be one of {', '.join(ROLES)}")
    cities = cities or []
    if role == "city_admin" and not cities:
        raise bad_parameter("cities", "A city admin needs at least one city.")
    if role != "city_admin" and cities:
        raise bad_parameter("cities", "Only city admins are scoped to cities.")
    owners = owners or []
    if role == "owner_admin" and not owners:
        raise bad_parameter("owners", "An infrastructure owner's admin needs at least one owner.")
    if role != "owner_admin" and owners:
        raise bad_parameter("owners", "Only owner admins are scoped to infrastructure owners.")
    check_owners(session, owners)
    if role == "developer" and not organisation:
        raise bad_parameter("organisation", "A developer belongs to an organisation.")
    _check_cities(session, cities)
    if user_by_email(session, email) is not None:
        raise conflict(f"An account with email {normalise_email(email)} already exists.", param="email")
    org = _organisation_named(session, organisation, None, None) if organisation else None
    now = utcnow()
    user = User(
        email=normalise_email(email),
        name=name,
        password_hash=hash_password(password),
        role=role,
        status="approved",
        organisation_id=org.id if org else None,
        email_verified_at=now,
        decided_at=now,
        decided_by=actor.user_id,
    )
    session.add(user)
    session.flush()
    for city in cities:
        session.add(CityAdmin(user_id=user.id, city_id=city))
    set_admin_scope(session, user, owners)
    details = {"email": user.email, "role": role, "cities": cities} | ({"owners": owners} if owners else {})
    audit.record(session, actor, "user.created", "user", user.id, details=details)
    return user


def set_cities(session: Session, actor: Principal, user_id: int, cities: list[str]) -> dict[str, Any]:
    """Change the cities a city admin administers (a role change, audited)."""
    require_admin(actor)
    user = _user(session, user_id)
    if user.role != "city_admin":
        raise conflict("Only a city admin is scoped to cities.", param="cities")
    if not cities:
        raise bad_parameter("cities", "A city admin needs at least one city.")
    _check_cities(session, cities)
    before = sorted(session.scalars(select(CityAdmin.city_id).where(CityAdmin.user_id == user.id)))
    session.query(CityAdmin).filter(CityAdmin.user_id == user.id).delete()
    for city in sorted(set(cities)):
        session.add(CityAdmin(user_id=user.id, city_id=city))
    session.flush()
    audit.record(session, actor, "user.role_changed", "user", user.id, details={"cities": {"from": before, "to": sorted(set(cities))}})
    return profile(session, user)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user", str(user_id))
    return user


def list_users(
    session: Session, actor: Principal, *, status: str | None, role: str | None, limit: int, cursor: str | None
) -> Page[dict[str, Any]]:
    require_admin(actor)
    if status is not None and status not in USER_STATUSES:
        raise bad_parameter("status", f"status must be one of {', '.join(USER_STATUSES)}")
    if role is not None and role not in ROLES:
        raise bad_parameter("role", f"role must be one of {', '.join(ROLES)}")
    statement = select(User, Organisation).outerjoin(Organisation, Organisation.id == User.organisation_id)
    if status:
        statement = statement.where(User.status == status)
    if role:
        statement = statement.where(User.role == role)
    rows, next_cursor = keyset_page(
        statement.add_columns(User.id), [SortKey(User.id)], "id", limit, cursor, lambda s: session.execute(s).all()
    )
    return Page([user_dict(row[0], row[1]) for row in rows], next_cursor)


DECISIONS = {
    # action: (statuses it applies to, new status, audit action, subject)
    "approve": (("pending", "suspended"), "approved", "user.approved", "Your iCity developer account is approved"),
    "refuse": (("pending",), "refused", "user.refused", "Your iCity developer account was not approved"),
    "suspend": (("approved",), "suspended", "user.suspended", "Your iCity account is suspended"),
}


def decide_user(session: Session, actor: Principal, user_id: int, action: str, reason: str | None = None) -> dict[str, Any]:
    """Approve, refuse or suspend an account; the user is told by message and mail."""
    require_admin(actor)
    user = _user(session, user_id)
    allowed, new_status, audit_action, subject = DECISIONS[action]
    if user.status not in allowed:
        raise conflict(
            f"Cannot {action} an account that is {user.status} (only {' or '.join(allowed)})."
            + (" The developer must verify their email first." if user.status == "unverified" else "")
        )
    if action in ("refuse", "suspend") and not reason:
        raise bad_parameter("reason", f"Say why you {action} this account: the user is told.")
    if user.id == actor.user_id:
        raise conflict("You cannot change your own account's status.")
    user.status = new_status
    user.decided_at = utcnow()
    user.decided_by = actor.user_id
    user.decision_reason = reason
    if new_status == "suspended":
        session.query(UserSession).filter(UserSession.user_id == user.id).delete()
    body = {
        "approve": "You can now create apps and API keys and request access to information systems.",
        "refuse": f"Reason: {reason}",
        "suspend": f"Reason: {reason}\nYour sessions and API keys stop working.",
    }[action]
    messages.notify(session, user, subject, f"Hello {user.name},\n\n{body}\n", sender_id=actor.user_id)
    audit.record(session, actor, audit_action, "user", user.id, details={"email": user.email, "reason": reason} if reason else {"email": user.email})
    session.flush()
    return profile(session, user)

