"""Who may see and read which information system: the one place authorisation lives.

Every read path (catalogue, entities, history, geo queries, counts, "where can
this app run") filters through `readable_systems`, and the catalogue through
`discoverable_systems`, so a rule changed here changes it everywhere. Grants are
read inside the same SQL statement as the data, so an approval or a revocation
takes effect on the very next request.

Policies of a served IS (status trial or open):
- `public`: anyone;
- `registered`: any approved user (a developer's session or app key, a city admin);
- `approval`: apps holding an approved access request (and, through a session,
  the developers of the organisation owning such an app).
An IS is published by its city or by an infrastructure owner (`owner_id`). Its publisher's
admins manage it (`manages`, `administered_systems`) and read it whatever its status or policy:
city admins the IS their cities publish, owner admins the IS their owners publish. City admins
also discover (not read) the IS owners publish in their cities, so they can object before one
opens. The platform admin reads everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy import and_, false, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from icity.db.models import AccessRequest, App, InformationSystem
from icity.errors import authentication_required, forbidden, not_found

SERVED_STATUSES = ("trial", "open")
ROLES = ("developer", "city_admin", "owner_admin", "admin")


@dataclass(frozen=True)
class Principal:
    """The caller of a use case: anonymous, a user (session) or an app (API key)."""

    kind: str = "anonymous"  # anonymous | user | app | provider
    user_id: int | None = None
    email: str = ""
    role: str | None = None  # developer | city_admin | owner_admin | admin
    approved: bool = False
    organisation_id: int | None = None
    city_ids: frozenset[str] = field(default_factory=frozenset)
    owner_ids: frozenset[str] = field(default_factory=frozenset)
    app_id: int | None = None
    key_id: int | None = None
    plan: str | None = None
    provider_id: int | None = None  # a provider token: whose, and the one IS it pushes into
    system_id: str | None = None
    # the login session a user came with, to check it again later (a stream); not part of what the
    # principal may do, so principals of two sessions of one user are equal (readable_systems' cache)
    session_digest: str | None = field(default=None, compare=False, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin" and self.approved

    @property
    def is_developer(self) -> bool:
        return self.role == "developer"

    def administers(self, city_id: str) -> bool:
        """Is an admin of this city (or the platform admin): its network record, its incident reports."""
        return self.is_admin or (self.role == "city_admin" and self.approved and city_id in self.city_ids)

    def manages(self, system: InformationSystem) -> bool:
        """May manage this IS (sources, status, offer, access requests): its publisher's admins,
        the platform admin. A city's admins do not manage what an owner publishes in their city."""
        if system.owner_id is None:
            return self.administers(system.city_id)
        return self.is_admin or (self.role == "owner_admin" and self.approved and system.owner_id in self.owner_ids)

    @property
    def is_publisher_admin(self) -> bool:
        """An approved admin of a city or of an infrastructure owner."""
        return self.approved and self.role in ("city_admin", "owner_admin")

    @property
    def label(self) -> str:
        """How the audit log names the caller."""
        return self.email or self.kind


ANONYMOUS = Principal()
CLI = Principal(kind="user", email="cli", role="admin", approved=True)


def require_user(principal: Principal) -> Principal:
    """Account endpoints need a person logged in, not a program's key."""
    if principal.kind == "anonymous":
        raise authentication_required(
            "Log in first: send the session token from POST /api/v1/auth/login as `Authorization: Bearer`."
        )
    if principal.kind != "user":
        raise forbidden("API keys read data; manage accounts, apps and keys with a session from /api/v1/auth/login.")
    return principal


def require_approved_developer(principal: Principal) -> Principal:
    require_user(principal)
    if not principal.is_developer:
        raise forbidden("Only developers (IT partners) do this.")
    if not principal.approved:
        raise forbidden(
            "Your account is not approved yet: a platform admin approves it after you verify your email.",
            code="account-not-approved",
        )
    return principal


def require_admin(principal: Principal) -> Principal:
    require_user(principal)
    if not principal.is_admin:
        raise forbidden("Only the platform admin does this.")
    return principal


def require_any_admin(principal: Principal) -> Principal:
    """A platform admin, a city admin or an infrastructure owner's admin."""
    require_user(principal)
    if not (principal.is_admin or principal.is_publisher_admin):
        raise forbidden("Only platform, city and infrastructure owner admins do this.")
    return principal


def administered_system(session: Session, principal: Principal, system_id: str) -> InformationSystem:
    """The IS, if the caller manages it (its sources, runs, status, offer). Others get 404 for an
    IS they cannot discover (a draft) and 403 for one they can, so drafts do not leak."""
    require_user(principal)
    system = session.get(InformationSystem, system_id)
    if system is None or not (principal.manages(system) or _discovers(principal, system)):
        raise not_found("information system", system_id)
    if not principal.manages(system):
        raise forbidden(f"Only {managers_of(system)} and the platform admin manage {system_id}.")
    return system


def managers_of(system: InformationSystem) -> str:
    """Who manages an IS, as error messages name them."""
    return f"the admins of {system.owner_id or system.city_id}"


def _discovers(principal: Principal, system: InformationSystem) -> bool:
    if system.status in SERVED_STATUSES:
        return True
    return system.owner_id is not None and principal.role == "city_admin" and principal.administers(system.city_id)


def _granted_systems(principal: Principal):
    """IS ids the caller's app (key) or organisation's active apps (session) hold a grant for."""
    granted = select(AccessRequest.information_system_id).where(AccessRequest.status == "approved")
    if principal.app_id is not None:
        return granted.where(AccessRequest.app_id == principal.app_id)
    apps = select(App.id).where(App.organisation_id == principal.organisation_id, App.status == "active")
    return granted.where(AccessRequest.app_id.in_(apps))


# The condition depends only on the (immutable) principal and holds no grant
# itself (grants are read by the statement it goes into), so one is built per
# principal and reused: building it took about 0.07 ms of each request with a key.
@lru_cache(maxsize=4096)
def readable_systems(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on InformationSystem: the systems whose data `principal` may read."""
    if principal.is_admin:
        return true()
    policies: list[ColumnElement[bool]] = [InformationSystem.access_policy == "public"]
    if principal.approved:
        policies.append(InformationSystem.access_policy == "registered")
        if principal.is_developer and (principal.app_id is not None or principal.organisation_id is not None):
            policies.append(
                and_(
                    InformationSystem.access_policy == "approval",
                    InformationSystem.id.in_(_granted_systems(principal)),
                )
            )
    readable = and_(InformationSystem.status.in_(SERVED_STATUSES), or_(*policies))
    return or_(readable, administered_systems(principal))


def readable_system_ids(session: Session, principal: Principal) -> set[str]:
    """The IS whose data `principal` may read now (grants as they stand in the database): for
    work done on an app's behalf outside a data query (webhook deliveries, streams)."""
    return set(session.scalars(select(InformationSystem.id).where(readable_systems(principal))))


def discoverable_systems(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on InformationSystem: the systems `principal` may see in the
    catalogue. Every served IS is listed, whatever its policy, so developers can
    find it and ask for access; its data stays behind `readable_systems`."""
    if principal.is_admin:
        return true()
    return or_(InformationSystem.status.in_(SERVED_STATUSES), administered_systems(principal), _located_in_own_cities(principal))


def administered_systems(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on InformationSystem: the systems `principal` manages (see Principal.manages)."""
    if principal.is_admin:
        return true()
    if principal.role == "city_admin" and principal.approved and principal.city_ids:
        return and_(InformationSystem.city_id.in_(sorted(principal.city_ids)), InformationSystem.owner_id.is_(None))
    if principal.role == "owner_admin" and principal.approved and principal.owner_ids:
        return InformationSystem.owner_id.in_(sorted(principal.owner_ids))
    return false()


def _located_in_own_cities(principal: Principal) -> ColumnElement[bool]:
    """Every IS in a city admin's cities, an owner's drafts included: the city may object to an opening."""
    if principal.role == "city_admin" and principal.approved and principal.city_ids:
        return InformationSystem.city_id.in_(sorted(principal.city_ids))
    return false()
