"""Public-interest projects: a goal several cities work on together, the entity types it needs,
its member (and invited) cities and the certified apps built for it.

Anyone reads a project, with each city's readiness computed live (services/project_readiness).
The platform admin and the admins of the project's member cities manage it; developers attach
their own organisation's certified apps. Every change is audited; a refused one writes nothing.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.db.models import App, City, Organisation, Project, ProjectApp, ProjectMember, ProjectPartner, utctoday
from icity.errors import FieldProblem, ICityError, conflict, forbidden, invalid, not_found, rule_violation
from icity.services import audit, project_partners
from icity.services.access import ANONYMOUS, Principal, require_any_admin, require_approved_developer, require_user
from icity.services.pagination import Page, SortKey, keyset_page
from icity.services.project_readiness import readiness

ROLES = ("member", "invited")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


# ---- reads -------------------------------------------------------------------


def get_project_row(session: Session, slug: str) -> Project:
    project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise not_found("project", slug, param="slug")
    return project


def list_projects(session: Session, *, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    """Every project, by slug, with how many member cities and apps it has."""
    members = (
        select(func.count()).where(ProjectMember.project_id == Project.id, ProjectMember.role == "member").scalar_subquery()
    )
    invited = (
        select(func.count()).where(ProjectMember.project_id == Project.id, ProjectMember.role == "invited").scalar_subquery()
    )
    apps = select(func.count()).where(ProjectApp.project_id == Project.id).scalar_subquery()
    partners = select(func.count()).where(ProjectPartner.project_id == Project.id).scalar_subquery()
    statement = select(Project, members, invited, partners, apps, Project.slug)
    rows, next_cursor = keyset_page(
        statement, [SortKey(Project.slug)], "slug", limit, cursor, lambda s: session.execute(s).all()
    )
    return Page(
        [
            {**_summary(p), "memberCount": m, "invitedCount": i, "partnerCount": o, "appCount": a}
            for p, m, i, o, a, _ in rows
        ],
        next_cursor,
    )


def get_project(session: Session, slug: str, viewer: Principal = ANONYMOUS) -> dict[str, Any]:
    """The project, its cities and apps, and what each city can run and still has to open (IS not
    open yet named only to whom the catalogue shows them: `viewer`'s)."""
    project = get_project_row(session, slug)
    cities = [
        {
            "city": city.id,
            "name": city.name,
            "level": city.level,
            "role": member.role,
            "joinedOn": member.joined_on.isoformat(),
        }
        for member, city in session.execute(
            select(ProjectMember, City)
            .join(City, City.id == ProjectMember.city_id)
            .where(ProjectMember.project_id == project.id)
            .order_by(ProjectMember.joined_on, City.name)
        )
    ]
    apps = [
        {
            "id": app.id,
            "name": app.name,
            "description": app.description,
            "developer": {"id": organisation.id, "name": organisation.name},
            "entityTypes": list(app.entity_types),
            "certification": app.certification,
            "status": app.status,
            "attachedAt": attached.attached_at.isoformat(),
        }
        for attached, app, organisation in session.execute(
            select(ProjectApp, App, Organisation)
            .join(App, App.id == ProjectApp.app_id)
            .join(Organisation, Organisation.id == App.organisation_id)
            .where(ProjectApp.project_id == project.id)
            .order_by(App.name, App.id)
        )
    ]
    ready = readiness(session, viewer, list(project.entity_types), cities, apps)
    needed = set(project.entity_types) | {t for app in apps for t in app["entityTypes"]}
    return {
        **_summary(project),
        "members": [c for c in ready["cities"] if c["role"] == "member"],
        "invited": [c for c in ready["cities"] if c["role"] == "invited"],
        "partners": project_partners.partners_of(session, project, needed),
        "apps": ready["apps"],
    }


def _summary(project: Project) -> dict[str, Any]:
    return {
        "slug": project.slug,
        "name": project.name,
        "description": project.description,
        "entityTypes": list(project.entity_types),
        "createdBy": project.created_by,
        "createdAt": project.created_at.isoformat(),
    }


# ---- who manages ----------------------------------------------------------------


def require_manager(session: Session, actor: Principal, project: Project) -> Principal:
    """The platform admin, or an admin of one of the project's member cities."""
    require_any_admin(actor)
    if actor.is_admin:
        return actor
    members = set(
        session.scalars(
            select(ProjectMember.city_id).where(ProjectMember.project_id == project.id, ProjectMember.role == "member")
        )
    )
    if not members & actor.city_ids:
        raise forbidden(
            f"Only the platform admin and the admins of the member cities of '{project.slug}' "
            f"({', '.join(sorted(members)) or 'none yet'}) manage it; none of your cities is a member."
        )
    return actor


def may_manage(session: Session, viewer: Principal, project: Project) -> bool:
    """Whether `viewer` manages `project` (the portal shows its forms only then)."""
    if not (viewer.is_admin or (viewer.role == "city_admin" and viewer.approved)):
        return False
    try:
        require_manager(session, viewer, project)
    except ICityError:
        return False
    return True


def attachable_apps(session: Session, viewer: Principal, project: Project) -> list[dict[str, Any]]:
    """The certified, active apps of the viewer's organisation not attached to `project` yet (a developer's)."""
    if not (viewer.kind == "user" and viewer.is_developer and viewer.approved and viewer.organisation_id):
        return []
    attached = select(ProjectApp.app_id).where(ProjectApp.project_id == project.id)
    rows = session.execute(
        select(App.id, App.name)
        .where(
            App.organisation_id == viewer.organisation_id, App.certification == "certified", App.status == "active",
            App.id.not_in(attached),
        )
        .order_by(App.name, App.id)
    )  # fmt: skip
    return [{"id": app_id, "name": name} for app_id, name in rows]


def _checked_entity_types(entity_types: list[str]) -> list[str]:
    registry = get_registry()
    problems = [
        FieldProblem(f"entityTypes[{i}]", f"'{t}' is not a Smart Data Model entity type (e.g. AirQualityObserved)")
        for i, t in enumerate(entity_types)
        if t not in registry
    ]
    if not entity_types:
        problems.append(FieldProblem("entityTypes", "name the entity types the project needs, e.g. AirQualityObserved"))
    if problems:
        raise invalid(problems)
    return list(dict.fromkeys(entity_types))  # in the order given, once each


def _city(session: Session, city_id: str, field: str = "city") -> City:
    city = session.get(City, city_id)
    if city is None:
        raise invalid([FieldProblem(field, f"No city '{city_id}' in the network (GET /api/v1/cities?level=all lists them).")])
    return city


def _checked_joined_on(joined_on: date | None) -> date:
    if joined_on is not None and joined_on > utctoday():
        raise invalid([FieldProblem("joinedOn", "a city cannot have joined a project after today")])
    return joined_on or utctoday()


# ---- writes ----------------------------------------------------------------------


def create_project(
    session: Session,
    actor: Principal,
    *,
    slug: str,
    name: str,
    description: str = "",
    entity_types: list[str],
    city: str | None = None,
    joined_on: date | None = None,
) -> Project:
    """The platform admin or a city admin starts a project. A city admin names one of their
    cities (`city`), which becomes its first member; the platform admin may."""
    require_any_admin(actor)
    if not (actor.is_admin or actor.role == "city_admin"):
        raise forbidden("Projects are started by the platform admin or a city admin; ask one to add your organisation as a partner.")
    problems = []
    if not SLUG.match(slug):
        problems.append(FieldProblem("slug", "lower-case letters, digits and hyphens, e.g. clean-air-for-schools"))
    if not name.strip():
        problems.append(FieldProblem("name", "give the project a name"))
    if problems:
        raise invalid(problems)
    entity_types = _checked_entity_types(entity_types)
    if city is None and not actor.is_admin:
        raise invalid([FieldProblem("city", f"name the city of yours that starts the project ({', '.join(sorted(actor.city_ids))})")])
    first = _city(session, city) if city is not None else None
    if first is not None and not actor.administers(first.id):
        raise forbidden(f"You start projects for the cities you administer ({', '.join(sorted(actor.city_ids))}), not for '{first.id}'.")
    if first is not None and first.level == "prospect":
        raise _prospect_cannot_be_member(first)
    joined = _checked_joined_on(joined_on)
    if session.scalar(select(Project.id).where(Project.slug == slug)) is not None:
        raise conflict(f"A project '{slug}' exists already.", param="slug")
    project = Project(slug=slug, name=name.strip(), description=description.strip(), entity_types=entity_types, created_by=actor.label)
    session.add(project)
    session.flush()
    audit.record(session, actor, "project.created", "project", slug, city_id=city, details={"name": project.name, "entityTypes": entity_types})
    if first is not None:
        _add(session, actor, project, first, "member", joined)
    session.flush()
    return project


def update_project(
    session: Session,
    actor: Principal,
    slug: str,
    *,
    name: str | None = None,
    description: str | None = None,
    entity_types: list[str] | None = None,
) -> Project:
    project = get_project_row(session, slug)
    require_manager(session, actor, project)
    changed: dict[str, Any] = {}
    if name is not None:
        if not name.strip():
            raise invalid([FieldProblem("name", "give the project a name")])
        changed["name"] = name.strip()
    if description is not None:
        changed["description"] = description.strip()
    if entity_types is not None:
        changed["entityTypes"] = _checked_entity_types(entity_types)
    if not changed:
        return project  # nothing to change: nothing written, nothing to audit
    project.name = changed.get("name", project.name)
    project.description = changed.get("description", project.description)
    project.entity_types = changed.get("entityTypes", project.entity_types)
    audit.record(session, actor, "project.updated", "project", slug, details=changed)
    session.flush()
    return project


def add_member(
    session: Session, actor: Principal, slug: str, *, city: str, role: str = "member", joined_on: date | None = None
) -> ProjectMember:
    """A manager adds a city: a `member` (a city of the network, sig and above) or an
    `invited` city (any, prospects included)."""
    project = get_project_row(session, slug)
    require_manager(session, actor, project)
    if role not in ROLES:
        raise invalid([FieldProblem("role", f"role must be one of {', '.join(ROLES)}")])
    added = _city(session, city)
    if role == "member" and added.level == "prospect":
        raise _prospect_cannot_be_member(added)
    joined = _checked_joined_on(joined_on)
    existing = session.scalar(
        select(ProjectMember).where(ProjectMember.project_id == project.id, ProjectMember.city_id == added.id)
    )
    if existing is not None:
        raise conflict(f"{added.name} is already in '{slug}' (as {existing.role} since {existing.joined_on}).", param="city")
    member = _add(session, actor, project, added, role, joined)
    session.flush()
    return member


def _prospect_cannot_be_member(city: City):
    return rule_violation(
        f"{city.name} is a prospect, outside the network: add it with role 'invited'; it becomes a member "
        "once it joins the network (level sig or above).",
        code="prospect-not-member",
        param="role",
    )


def _add(session: Session, actor: Principal, project: Project, city: City, role: str, joined: date) -> ProjectMember:
    member = ProjectMember(project_id=project.id, city_id=city.id, role=role, joined_on=joined, added_by=actor.label)
    session.add(member)
    audit.record(
        session, actor, "project.member_added", "project", project.slug, city_id=city.id,
        details={"city": city.id, "role": role, "joinedOn": joined.isoformat()},
    )  # fmt: skip
    return member


def remove_member(session: Session, actor: Principal, slug: str, city_id: str) -> None:
    project = get_project_row(session, slug)
    require_manager(session, actor, project)
    member = session.scalar(
        select(ProjectMember).where(ProjectMember.project_id == project.id, ProjectMember.city_id == city_id)
    )
    if member is None:
        raise not_found(f"city of project '{slug}'", city_id, param="city_id")
    session.delete(member)
    audit.record(session, actor, "project.member_removed", "project", slug, city_id=city_id, details={"city": city_id, "role": member.role})
    session.flush()


def add_partner(session: Session, actor: Principal, slug: str, *, owner: str, joined_on: date | None = None):
    """A manager adds an infrastructure owner (a member of the network) as a partner."""
    project = get_project_row(session, slug)
    require_manager(session, actor, project)
    return project_partners.add_partner(session, actor, project, owner=owner, joined_on=_checked_joined_on(joined_on))


def remove_partner(session: Session, actor: Principal, slug: str, owner_id: str) -> None:
    project = get_project_row(session, slug)
    require_manager(session, actor, project)
    project_partners.remove_partner(session, actor, project, owner_id)


def attach_app(session: Session, actor: Principal, slug: str, app_id: int) -> ProjectApp:
    """A developer attaches a certified app of their own organisation."""
    require_approved_developer(actor)
    project = get_project_row(session, slug)
    app = session.get(App, app_id)
    if app is None:
        raise invalid([FieldProblem("app", f"No app with id {app_id}.")])
    if app.organisation_id != actor.organisation_id:
        raise forbidden("You attach the apps of your own organisation; this one is another organisation's.")
    if app.certification != "certified" or app.status != "active":
        raise rule_violation(
            f"'{app.name}' is not certified (its certification is '{app.certification}'"
            f"{'' if app.status == 'active' else ', and it is withdrawn'}): submit it for certification "
            "(POST /api/v1/apps/{id}/submission) and attach it once certified.",
            code="app-not-certified",
            param="app",
        )
    if session.get(ProjectApp, (project.id, app.id)) is not None:
        raise conflict(f"'{app.name}' is already attached to '{slug}'.", param="app")
    attached = ProjectApp(project_id=project.id, app_id=app.id, attached_by=actor.user_id)
    session.add(attached)
    audit.record(session, actor, "project.app_attached", "project", slug, details={"app": app.id, "name": app.name})
    session.flush()
    return attached


def detach_app(session: Session, actor: Principal, slug: str, app_id: int) -> None:
    """The app's developers, or the project's managers, take an app off the project."""
    require_user(actor)
    project = get_project_row(session, slug)
    attached = session.get(ProjectApp, (project.id, app_id))
    if attached is None:
        raise not_found(f"app attached to '{slug}'", str(app_id), param="app_id")
    app = session.get(App, app_id)
    if not (actor.is_developer and actor.approved and app is not None and app.organisation_id == actor.organisation_id):
        require_manager(session, actor, project)
    session.delete(attached)
    audit.record(session, actor, "project.app_detached", "project", slug, details={"app": app_id})
    session.flush()
