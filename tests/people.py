"""Users, apps and keys for tests, written straight to the database so that a
test sets up any role in a millisecond (the account flows themselves are tested
through the API in tests/api/test_accounts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy.orm import Session

from icity.db.models import AccessRequest, ApiKey, App, CityAdmin, Organisation, OwnerAdmin, User, UserSession
from icity.services.secrets import digest, hash_password, new_api_key, new_session_token

PASSWORD = "correct horse battery staple"
PASSWORD_HASH = hash_password(PASSWORD)


@dataclass
class Person:
    user: User
    token: str  # a live session token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def organisation(session: Session, name: str) -> Organisation:
    org = Organisation(name=name)
    session.add(org)
    session.flush()
    return org


def person(
    session: Session,
    email: str,
    *,
    role: str = "developer",
    status: str = "approved",
    org: Organisation | None = None,
    cities: tuple[str, ...] = (),
    owners: tuple[str, ...] = (),
) -> Person:
    if role == "developer" and org is None:
        org = organisation(session, f"{email} Ltd")
    user = User(
        email=email,
        name=email.split("@")[0].title(),
        password_hash=PASSWORD_HASH,
        role=role,
        status=status,
        organisation_id=org.id if org else None,
        email_verified_at=None if status == "unverified" else datetime.now(timezone.utc),
    )
    session.add(user)
    session.flush()
    for city in cities:
        session.add(CityAdmin(user_id=user.id, city_id=city))
    for owner in owners:
        session.add(OwnerAdmin(user_id=user.id, owner_id=owner))
    token = new_session_token()
    session.add(
        UserSession(token_digest=digest(token), user_id=user.id, expires_at=datetime.now(timezone.utc) + timedelta(hours=1))
    )
    session.flush()
    return Person(user, token)


def app_with_key(session: Session, owner: Person, name: str = "App", plan: str = "free") -> tuple[App, str]:
    """An active app of `owner`'s organisation and a working API key for it."""
    app = App(organisation_id=owner.user.organisation_id, created_by=owner.user.id, name=name, plan=plan)
    session.add(app)
    session.flush()
    key = new_api_key()
    session.add(ApiKey(app_id=app.id, prefix=key.prefix, secret_digest=key.digest, created_by=owner.user.id))
    session.flush()
    return app, key.key


def another_key(session: Session, app: App) -> str:
    """One more working API key of `app`."""
    key = new_api_key()
    session.add(ApiKey(app_id=app.id, prefix=key.prefix, secret_digest=key.digest, created_by=app.created_by))
    session.flush()
    return key.key


def grant(session: Session, app: App, system_id: str, status: str = "approved") -> AccessRequest:
    request = AccessRequest(
        app_id=app.id,
        information_system_id=system_id,
        purpose="tests",
        status=status,
        requested_by=app.created_by,
    )
    session.add(request)
    session.flush()
    return request
