"""Infrastructure owners: organisations that run infrastructure in cities of the network and open it
as publishers. An owner joins as an applicant and becomes a member on its letter of commitment, a
dated, evidenced change recorded by the platform admin (like a city's levels); only members open IS."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.db.models import City, InfrastructureOwner, InformationSystem, MembershipChange, OwnerAdmin, User
from icity.errors import FieldProblem, bad_parameter, conflict, forbidden, invalid, not_found, rule_violation
from icity.services import audit
from icity.services.access import Principal, require_admin

KINDS = (
    "transport_operator",
    "utility",
    "port_authority",
    "car_park_operator",
    "charge_point_operator",
    "campus",
    "other",
)
MEMBERSHIPS = ("applicant", "member")
# What proves a change of membership.
EVIDENCE_KINDS = {"member": ("letter_of_commitment",), "applicant": ("withdrawal",)}
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
OPEN_STATUSES = ("trial", "open")


def create_owner(
    session: Session,
    actor: Principal,
    *,
    id: str,
    name: str,
    kind: str,
    country: str,
    website: str | None = None,
    description: str = "",
) -> InfrastructureOwner:
    """The platform admin records an owner applying to join the network (audited)."""
    require_admin(actor)
    problems = []
    if not SLUG.match(id):
        problems.append(FieldProblem("id", "id is a slug: 3 to 64 lower-case letters, digits and dashes"))
    if not name.strip():
        problems.append(FieldProblem("name", "give the owner's name"))
    if kind not in KINDS:
        problems.append(FieldProblem("kind", f"kind must be one of {', '.join(KINDS)}"))
    if not re.fullmatch(r"[A-Za-z]{2}", country):
        problems.append(FieldProblem("country", "country is an ISO 3166-1 alpha-2 code, e.g. ES"))
    if problems:
        raise invalid(problems)
    # cities and owners are publishers, named by one id (the catalogue's `publisher` filter)
    if session.get(InfrastructureOwner, id) or session.get(City, id):
        raise conflict(f"A publisher with id '{id}' already exists.", param="id")
    if session.scalar(select(InfrastructureOwner.id).where(InfrastructureOwner.name == name.strip())):
        raise conflict(f"An owner named '{name.strip()}' already exists.", param="name")
    owner = InfrastructureOwner(
        id=id, name=name.strip(), kind=kind, country=country.upper(), website=website, description=description,
        membership="applicant",
    )  # fmt: skip
    session.add(owner)
    audit.record(session, actor, "owner.created", "owner", id, owner_id=id, details={"name": owner.name, "kind": kind})
    session.flush()
    return owner


def get_owner_row(session: Session, owner_id: str) -> InfrastructureOwner:
    owner = session.get(InfrastructureOwner, owner_id)
    if owner is None:
        raise not_found("infrastructure owner", owner_id, param="owner_id")
    return owner


def change_membership(
    session: Session,
    actor: Principal,
    owner_id: str,
    *,
    to_membership: str,
    effective_on: date,
    evidence_kind: str,
    evidence: str,
) -> MembershipChange:
    """The platform admin makes an applicant a member (on its letter of commitment) or takes a member
    back to applicant (on its withdrawal), dated and attributed in the owner's history and the audit log."""
    require_admin(actor)
    owner = get_owner_row(session, owner_id)
    if to_membership not in MEMBERSHIPS:
        raise invalid([FieldProblem("membership", f"membership must be one of {', '.join(MEMBERSHIPS)}")])
    if to_membership == owner.membership:
        raise conflict(f"{owner.name} is already {to_membership}.", param="membership")
    if evidence_kind not in EVIDENCE_KINDS[to_membership]:
        allowed = " or ".join(EVIDENCE_KINDS[to_membership])
        raise invalid([FieldProblem("evidenceKind", f"becoming {to_membership} is evidenced by {allowed}")])
    if not evidence.strip():
        raise invalid([FieldProblem("evidence", "describe the evidence (document, date, signatories)")])
    last = session.scalar(select(func.max(MembershipChange.effective_on)).where(MembershipChange.owner_id == owner_id))
    if last is not None and effective_on < last:
        raise invalid([FieldProblem("effectiveOn", f"the last change of {owner.name} took effect on {last}; a new one cannot be earlier")])
    if to_membership == "applicant" and _opened_count(session, owner_id):
        raise rule_violation(
            f"{owner.name} has information systems in trial or open; retire them before it leaves the network.",
            code="owner-has-open-systems",
            param="membership",
        )
    change = MembershipChange(
        owner_id=owner_id, from_membership=owner.membership, to_membership=to_membership, effective_on=effective_on,
        evidence_kind=evidence_kind, evidence=evidence.strip(), recorded_by=actor.label,
    )  # fmt: skip
    owner.membership = to_membership
    session.add(change)
    audit.record(
        session, actor, "owner.membership_changed", "owner", owner_id, owner_id=owner_id,
        details={"from": change.from_membership, "to": to_membership, "effectiveOn": effective_on.isoformat(), "evidenceKind": evidence_kind},
    )  # fmt: skip
    session.flush()
    return change


def require_owner_admin(session: Session, principal: Principal, owner_id: str) -> InfrastructureOwner:
    """The owner, if the caller administers it (or is the platform admin)."""
    owner = get_owner_row(session, owner_id)
    if not (principal.is_admin or (principal.role == "owner_admin" and principal.approved and owner_id in principal.owner_ids)):
        raise forbidden(f"Only the admins of {owner_id} and the platform admin act for it.")
    return owner


def require_member(session: Session, owner_id: str) -> InfrastructureOwner:
    """The owner, if its membership allows opening information systems."""
    owner = get_owner_row(session, owner_id)
    if owner.membership != "member":
        raise rule_violation(
            f"{owner.name} is an applicant; only members of the network open information systems. Its letter of "
            f"commitment makes it a member (recorded by the platform admin).",
            code="owner-not-member",
            param="status",
        )
    return owner


def check_owners(session: Session, owners: list[str]) -> None:
    known = set(session.scalars(select(InfrastructureOwner.id).where(InfrastructureOwner.id.in_(owners))))
    for i, owner in enumerate(owners):
        if owner not in known:
            raise bad_parameter(f"owners[{i}]", f"No infrastructure owner with id '{owner}'.")


def set_admin_scope(session: Session, user: User, owners: list[str]) -> None:
    session.query(OwnerAdmin).filter(OwnerAdmin.user_id == user.id).delete()
    for owner in sorted(set(owners)):
        session.add(OwnerAdmin(user_id=user.id, owner_id=owner))
    session.flush()


# ---- reads -----------------------------------------------------------------


def _opened_count(session: Session, owner_id: str) -> int:
    return session.scalar(
        select(func.count())
        .select_from(InformationSystem)
        .where(InformationSystem.owner_id == owner_id, InformationSystem.status.in_(OPEN_STATUSES))
    )


def _visible(principal: Principal):
    """Members are public; applicants only to the platform admin and their own admins."""
    if principal.is_admin:
        return None
    visible = InfrastructureOwner.membership == "member"
    if principal.role == "owner_admin" and principal.approved and principal.owner_ids:
        visible = visible | InfrastructureOwner.id.in_(sorted(principal.owner_ids))
    return visible


def owner_dict(owner: InfrastructureOwner, cities: list[str]) -> dict[str, Any]:
    return {
        "id": owner.id,
        "name": owner.name,
        "kind": owner.kind,
        "country": owner.country,
        "website": owner.website,
        "description": owner.description,
        "membership": owner.membership,
        "cities": cities,  # where it opens IS (trial or open)
    }


def _cities_by_owner(session: Session, owner_ids: list[str]) -> dict[str, list[str]]:
    rows = session.execute(
        select(InformationSystem.owner_id, InformationSystem.city_id)
        .where(InformationSystem.owner_id.in_(owner_ids), InformationSystem.status.in_(OPEN_STATUSES))
        .distinct()
        .order_by(InformationSystem.city_id)
    ).all()
    cities: dict[str, list[str]] = {owner_id: [] for owner_id in owner_ids}
    for owner_id, city_id in rows:
        cities[owner_id].append(city_id)
    return cities


def list_owners(session: Session, principal: Principal) -> list[dict[str, Any]]:
    statement = select(InfrastructureOwner).order_by(InfrastructureOwner.name)
    visible = _visible(principal)
    if visible is not None:
        statement = statement.where(visible)
    owners = list(session.scalars(statement))
    cities = _cities_by_owner(session, [o.id for o in owners])
    return [owner_dict(o, cities[o.id]) for o in owners]


def get_owner(session: Session, principal: Principal, owner_id: str) -> dict[str, Any]:
    """An owner with its membership history (newest first)."""
    statement = select(InfrastructureOwner).where(InfrastructureOwner.id == owner_id)
    visible = _visible(principal)
    if visible is not None:
        statement = statement.where(visible)
    owner = session.scalar(statement)
    if owner is None:
        raise not_found("infrastructure owner", owner_id, param="owner_id")
    body = owner_dict(owner, _cities_by_owner(session, [owner_id])[owner_id])
    history = session.scalars(
        select(MembershipChange).where(MembershipChange.owner_id == owner_id).order_by(MembershipChange.effective_on.desc(), MembershipChange.id.desc())
    )
    body["history"] = [
        {"from": c.from_membership, "to": c.to_membership, "effectiveOn": c.effective_on.isoformat(),
         "evidenceKind": c.evidence_kind, "evidence": c.evidence, "recordedBy": c.recorded_by}
        for c in history
    ]  # fmt: skip
    return body
