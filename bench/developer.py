"""The benchmark's developer: an approved developer of an organisation, an app on
the `partner` plan (limits far above what the benchmark sends) and a fresh API
key, written straight into the data set with the ORM (as the platform stores
them), so query (a) can be asked with a key beside the same query anonymously.

Each run replaces the app's keys with a new one (keys are stored hashed: the
secret only exists when it is made). Usage rows the servers metered are kept
between runs and reported per run as the difference.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

APPROVAL_SYSTEM = "barcelona/parking"  # switched to `approval` (and granted) for the approval variant only
ORGANISATION = "iCity benchmark"
EMAIL = "bench-developer@icity.example"
APP = "Benchmark app"
PLAN = "partner"
LOCKED = "!"  # not an argon2 hash: this account cannot log in


def ensure_key(db_path: Path) -> tuple[str, int]:
    """A new API key of the benchmark app (returned once) and the app's id."""
    return ensure_key_at(f"sqlite:///{db_path}")


def ensure_key_at(url: str) -> tuple[str, int]:
    """The same, in the database at `url` (SQLite or PostgreSQL)."""
    from sqlalchemy import delete, select

    from icity.db.engine import get_engine, transaction
    from icity.db.models import ApiKey, App, InformationSystem, Organisation, User
    from icity.services.secrets import new_api_key

    try:
        with transaction(url) as session:
            organisation = session.scalar(select(Organisation).where(Organisation.name == ORGANISATION))
            if organisation is None:
                organisation = Organisation(name=ORGANISATION, description="Runs the benchmark")
                session.add(organisation)
                session.flush()
            user = session.scalar(select(User).where(User.email == EMAIL))
            if user is None:
                now = datetime.now(timezone.utc)
                user = User(
                    email=EMAIL,
                    name="Benchmark",
                    password_hash=LOCKED,
                    role="developer",
                    status="approved",
                    organisation_id=organisation.id,
                    email_verified_at=now,
                    decided_at=now,
                )
                session.add(user)
                session.flush()
            app = session.scalar(select(App).where(App.organisation_id == organisation.id, App.name == APP))
            if app is None:
                app = App(organisation_id=organisation.id, created_by=user.id, name=APP, plan=PLAN)
                session.add(app)
                session.flush()
            app.plan, app.status = PLAN, "active"
            session.execute(delete(ApiKey).where(ApiKey.app_id == app.id))
            # a run stopped during the approval variant leaves the system restricted
            system = session.get(InformationSystem, APPROVAL_SYSTEM)
            if system is not None:
                system.access_policy = "public"
            key = new_api_key()
            session.add(ApiKey(app_id=app.id, prefix=key.prefix, secret_digest=key.digest, created_by=user.id, name="bench"))
            return key.key, app.id
    finally:
        get_engine(url).dispose()  # the server gets the file to itself


def metered_calls(db_path: Path, app_id: int) -> int:
    """Calls of the benchmark app recorded in usage_daily (all days, all systems)."""
    import sqlite3

    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return db.execute("SELECT coalesce(sum(calls), 0) FROM usage_daily WHERE app_id = ?", (app_id,)).fetchone()[0]
    finally:
        db.close()


def set_policy(db_path: Path, app_id: int, policy: str, system_id: str = APPROVAL_SYSTEM) -> None:
    """Give `system_id` this access policy, the benchmark app holding an approved
    access request for it. The server reads policies and grants with every
    query, so the change applies to the next request."""
    from sqlalchemy import select

    from icity.db.engine import get_engine, transaction
    from icity.db.models import AccessRequest, App, InformationSystem

    url = f"sqlite:///{db_path}"
    try:
        with transaction(url) as session:
            session.get(InformationSystem, system_id).access_policy = policy
            granted = session.scalar(
                select(AccessRequest.id).where(
                    AccessRequest.app_id == app_id,
                    AccessRequest.information_system_id == system_id,
                    AccessRequest.status == "approved",
                )
            )
            if granted is None:
                app = session.get(App, app_id)
                session.add(
                    AccessRequest(
                        app_id=app_id,
                        information_system_id=system_id,
                        purpose="benchmark of the approval policy",
                        status="approved",
                        requested_by=app.created_by,
                        decided_at=datetime.now(timezone.utc),
                    )
                )
    finally:
        get_engine(url).dispose()
