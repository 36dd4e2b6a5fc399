"""Infrastructure owners as a project's partners: an owner that is a member of the network (a
transport operator, a charge-point operator…) works on the goal beside the cities. The IS it
opens lie in cities, so they already count in those cities' readiness; the project also lists
each partner with the IS it opens, those serving what the project needs first."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import InformationSystem, InformationSystemEntityType, InfrastructureOwner, Project, ProjectPartner
from icity.errors import FieldProblem, conflict, invalid, not_found, rule_violation
from icity.services import audit
from icity.services.access import SERVED_STATUSES, Principal


def partners_of(session: Session, project: Project, needed: set[str]) -> list[dict[str, Any]]:
    """The project's partners by joining date, each with the IS it opens (trial/open) and which
    of the types `needed` (the project's and its apps') each serves."""
    rows = session.execute(
        select(ProjectPartner, InfrastructureOwner)
        .join(InfrastructureOwner, InfrastructureOwner.id == ProjectPartner.owner_id)
        .where(ProjectPartner.project_id == project.id)
        .order_by(ProjectPartner.joined_on, InfrastructureOwner.name)
    ).all()
    owner_ids = [owner.id for _, owner in rows]
    opened: dict[str, dict[str, dict[str, Any]]] = {owner_id: {} for owner_id in owner_ids}
    for system, entity_type in session.execute(
        select(InformationSystem, InformationSystemEntityType.entity_type)
        .join(InformationSystemEntityType, InformationSystemEntityType.information_system_id == InformationSystem.id)
        .where(InformationSystem.owner_id.in_(owner_ids), InformationSystem.status.in_(SERVED_STATUSES))
        .order_by(InformationSystem.id)
    ):
        found = opened[system.owner_id].setdefault(
            system.id,
            {"id": system.id, "name": system.name, "city": system.city_id, "status": system.status,
             "accessPolicy": system.access_policy, "entityTypes": [], "servesProject": []},
        )  # fmt: skip
        found["entityTypes"].append(entity_type)
        if entity_type in needed:
            found["servesProject"].append(entity_type)
    return [
        {
            "owner": owner.id,
            "name": owner.name,
            "kind": owner.kind,
            "joinedOn": partner.joined_on.isoformat(),
            # those serving the project first, then by id
            "informationSystems": sorted(opened[owner.id].values(), key=lambda s: (not s["servesProject"], s["id"])),
        }
        for partner, owner in rows
    ]


def add_partner(session: Session, actor: Principal, project: Project, *, owner: str, joined_on: date) -> ProjectPartner:
    """`actor` manages `project` (checked by the caller); the owner must be a member of the network."""
    row = session.get(InfrastructureOwner, owner)
    if row is None or (row.membership != "member" and not actor.is_admin):
        # an applicant is visible to the platform admin only: to others it does not exist
        raise invalid([FieldProblem("owner", f"No infrastructure owner '{owner}' in the network (GET /api/v1/owners lists them).")])
    if row.membership != "member":
        raise rule_violation(
            f"{row.name} is an applicant: it becomes a partner once it is a member of the network (its letter of commitment).",
            code="owner-not-member",
            param="owner",
        )
    existing = session.scalar(
        select(ProjectPartner).where(ProjectPartner.project_id == project.id, ProjectPartner.owner_id == row.id)
    )
    if existing is not None:
        raise conflict(f"{row.name} is already a partner of '{project.slug}' (since {existing.joined_on}).", param="owner")
    partner = ProjectPartner(project_id=project.id, owner_id=row.id, joined_on=joined_on, added_by=actor.label)
    session.add(partner)
    audit.record(
        session, actor, "project.partner_added", "project", project.slug, owner_id=row.id,
        details={"owner": row.id, "joinedOn": joined_on.isoformat()},
    )  # fmt: skip
    session.flush()
    return partner


def remove_partner(session: Session, actor: Principal, project: Project, owner_id: str) -> None:
    partner = session.scalar(
        select(ProjectPartner).where(ProjectPartner.project_id == project.id, ProjectPartner.owner_id == owner_id)
    )
    if partner is None:
        raise not_found(f"partner of project '{project.slug}'", owner_id, param="owner_id")
    session.delete(partner)
    audit.record(session, actor, "project.partner_removed", "project", project.slug, owner_id=owner_id, details={"owner": owner_id})
    session.flush()
