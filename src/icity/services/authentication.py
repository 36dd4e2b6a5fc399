"""Turning the credentials of a request into a Principal.

An API key identifies an app (for programs); a session token identifies a person
(for the portal and account management). Both are checked against the database
on every request, so a revoked key, a withdrawn app or a suspended account stops
working on the next request, in every worker.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from icity.db.models import ApiKey, App, CityAdmin, OwnerAdmin, Provider, ProviderToken, User, UserSession
from icity.errors import ICityError, invalid_credentials
from icity.services.access import ANONYMOUS, Principal
from icity.services.secrets import KEY_PREFIX, PROVIDER_PREFIX, SESSION_PREFIX, digest, key_prefix, same_digest


def principal_for(session: Session, token: str | None) -> Principal:
    """The caller presenting `token` (an API key or a session token); anonymous without one."""
    if not token:
        return ANONYMOUS
    if token.startswith(KEY_PREFIX):
        return principal_for_key(session, token)
    if token.startswith(SESSION_PREFIX):
        return principal_for_session(session, token)
    if token.startswith(PROVIDER_PREFIX):
        return principal_for_provider_token(session, token)
    raise invalid_credentials(
        f"Unrecognised credentials: send an API key ({KEY_PREFIX}…), a session token ({SESSION_PREFIX}…)"
        f" or, to push observations, a provider token ({PROVIDER_PREFIX}…)."
    )


# Built once and run on the session's connection (no ORM layer): every request
# with a key runs it, and this costs an eighth of building and running it through
# the ORM each time (see the developer-access figures of bench/query.py).
_KEY_ROW = (
    select(
        ApiKey.id,
        ApiKey.secret_digest,
        ApiKey.expires_at,
        ApiKey.revoked_at,
        App.id,
        App.status,
        App.plan,
        App.organisation_id,
        User.id,
        User.email,
        User.status,
    )
    .join(App, App.id == ApiKey.app_id)
    .join(User, User.id == ApiKey.created_by)
)
_KEY_LOOKUP = _KEY_ROW.where(ApiKey.prefix == bindparam("prefix"))
_KEY_BY_ID = _KEY_ROW.where(ApiKey.id == bindparam("key_id"))


def principal_for_key(session: Session, key: str, now: datetime | None = None) -> Principal:
    prefix = key_prefix(key)
    row = None
    if prefix is not None:
        row = session.connection().execute(_KEY_LOOKUP, {"prefix": prefix}).first()
    if row is None or not same_digest(key, row[1]):
        raise invalid_credentials("This API key is not valid: check it was copied whole.")
    return _key_principal(row, now or datetime.now(timezone.utc))


def _key_principal(row, now: datetime) -> Principal:
    """The app a row of _KEY_ROW stands for, if the key, its app and its account are all still valid."""
    key_id, _, expires_at, revoked_at, app_id, app_status, plan, organisation_id, user_id, email, user_status = row
    if revoked_at is not None or (expires_at is not None and expires_at <= now):
        raise invalid_credentials("This API key was revoked or has expired: use the app's current key.")
    if app_status != "active" or user_status != "approved":
        raise invalid_credentials("This API key's app was withdrawn or its account is not active.")
    return Principal(
        kind="app",
        user_id=user_id,
        email=email,
        role="developer",
        approved=True,
        organisation_id=organisation_id,
        app_id=app_id,
        key_id=key_id,
        plan=plan,
    )


def principal_of_app(session: Session, app_id: int) -> Principal | None:
    """The app as its keys present it, for work done on its behalf without a request (webhook
    deliveries, streams): None once the app is withdrawn or its creator's account is not approved."""
    row = session.execute(
        select(App.status, App.plan, App.organisation_id, User.id, User.email, User.status)
        .join(User, User.id == App.created_by)
        .where(App.id == app_id)
    ).first()
    if row is None or row[0] != "active" or row[5] != "approved":
        return None
    _, plan, organisation_id, user_id, email, _ = row
    return Principal(
        kind="app", user_id=user_id, email=email, role="developer", approved=True,
        organisation_id=organisation_id, app_id=app_id, plan=plan,
    )  # fmt: skip


def principal_for_provider_token(session: Session, token: str) -> Principal:
    prefix = key_prefix(token, PROVIDER_PREFIX)
    row = None
    if prefix is not None:
        row = session.execute(
            select(ProviderToken.secret_digest, ProviderToken.revoked_at, ProviderToken.provider_id,
                   ProviderToken.information_system_id, ProviderToken.id, Provider.name)
            .join(Provider, Provider.id == ProviderToken.provider_id)
            .where(ProviderToken.prefix == prefix)
        ).first()  # fmt: skip
    if row is None or not same_digest(token, row[0]):
        raise invalid_credentials("This provider token is not valid: check it was copied whole.")
    _, revoked_at, provider_id, system_id, token_id, provider_name = row
    if revoked_at is not None:
        raise invalid_credentials("This provider token was revoked: ask the city for a new one.")
    return Principal(
        kind="provider", email=f"provider {provider_name}", provider_id=provider_id, system_id=system_id, key_id=token_id
    )


def principal_for_session(session: Session, token: str, now: datetime | None = None) -> Principal:
    return _session_principal(session, UserSession.token_digest == digest(token), now)


def _session_principal(session: Session, which, now: datetime | None) -> Principal:
    row = session.execute(
        select(User, UserSession.token_digest)
        .join(UserSession, UserSession.user_id == User.id)
        .where(which, UserSession.expires_at > (now or datetime.now(timezone.utc)))
    ).first()
    if row is None:
        raise invalid_credentials("This session has ended: log in again.")
    return replace(principal_of_user(session, row[0]), session_digest=row[1])


@dataclass(frozen=True)
class Credential:
    """What authenticated a request, to be checked again for as long as what the request opened
    lasts (an SSE stream): an API key (`key`, by its id) or a login session (`session`, by the
    digest it is stored under; the token itself is not kept)."""

    kind: str
    id: int | str


def credential_of(principal: Principal) -> Credential | None:
    """The credential a principal came with; None for one made without a request (an app's own work, the CLI)."""
    if principal.kind == "app" and principal.key_id is not None:
        return Credential("key", principal.key_id)
    if principal.kind == "user" and principal.session_digest is not None:
        return Credential("session", principal.session_digest)
    return None


def principal_for_credential(session: Session, credential: Credential, now: datetime | None = None) -> Principal | None:
    """Who the credential stands for now, checked as on a new request; None once the key was revoked
    or has expired, its app withdrawn, the session ended, or the account is no longer approved."""
    try:
        if credential.kind == "key":
            row = session.connection().execute(_KEY_BY_ID, {"key_id": credential.id}).first()
            return None if row is None else _key_principal(row, now or datetime.now(timezone.utc))
        principal = _session_principal(session, UserSession.token_digest == credential.id, now)
    except ICityError:
        return None
    return principal if principal.approved else None


def principal_of_user(session: Session, user: User) -> Principal:
    city_ids: frozenset[str] = frozenset()
    if user.role == "city_admin":
        city_ids = frozenset(session.scalars(select(CityAdmin.city_id).where(CityAdmin.user_id == user.id)))
    owner_ids: frozenset[str] = frozenset()
    if user.role == "owner_admin":
        owner_ids = frozenset(session.scalars(select(OwnerAdmin.owner_id).where(OwnerAdmin.user_id == user.id)))
    return Principal(
        kind="user",
        user_id=user.id,
        email=user.email,
        role=user.role,
        approved=user.status == "approved",
        organisation_id=user.organisation_id,
        city_ids=city_ids,
        owner_ids=owner_ids,
    )
