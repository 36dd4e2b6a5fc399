"""The city network: levels of involvement, their history, engagement actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.db.models import City, EngagementAction, InfrastructureOwner, InformationSystem, LevelChange, utctoday
from icity.errors import FieldProblem, bad_parameter, conflict, invalid, not_found, rule_violation
from icity.services import audit
from icity.services.access import Principal, require_admin, require_any_admin
from icity.services.pagination import Page, SortKey, keyset_page

LEVELS = ("prospect", "sig", "pilot", "consortium")  # from less to more involved
MEMBER_LEVELS = ("sig", "pilot", "consortium")  # the network proper; prospects are the coordinator's pipeline
OPENING_LEVELS = ("pilot", "consortium")  # levels at which a city may open an IS
OPEN_STATUSES = ("trial", "open")

# What proves that a city reached a level.
EVIDENCE_KINDS = {
    "prospect": ("withdrawal",),
    "sig": ("letter_of_commitment",),
    "pilot": ("technical_trial", "first_opened_is"),
    "consortium": ("consortium_agreement",),
}
ACTION_KINDS = (
    "event",
    "meeting",
    "call",
    "presentation",
    "letter_sent",
    "letter_signed",
    "trial_started",
    "other",
)


def create_city(
    session: Session,
    actor: Principal,
    *,
    id: str,
    name: str,
    country: str,
    lon: float,
    lat: float,
    bbox: list[float],
) -> City:
    """The platform admin adds a city to the network as a prospect (audited)."""
    require_admin(actor)
    problems = []
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        problems.append(FieldProblem("lon", "lon must be within [-180, 180] and lat within [-90, 90]"))
    if len(bbox) != 4 or not (bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]):
        problems.append(FieldProblem("bbox", "bbox must be [min_lon, min_lat, max_lon, max_lat] around the centre"))
    if problems:
        raise invalid(problems)
    if session.get(City, id):
        raise conflict(f"City '{id}' already exists.", param="id")
    if session.get(InfrastructureOwner, id):  # cities and owners are publishers, named by one id
        raise conflict(f"An infrastructure owner already has the id '{id}'.", param="id")
    city = City(id=id, name=name, country=country.upper(), level="prospect", lon=lon, lat=lat, bbox=bbox)
    session.add(city)
    audit.record(session, actor, "city.created", "city", id, city_id=id, details={"name": name, "country": city.country})
    session.flush()
    return city


def get_city_row(session: Session, city_id: str) -> City:
    city = session.get(City, city_id)
    if city is None:
        raise not_found("city", city_id, param="city_id")
    return city


def change_level(
    session: Session,
    actor: Principal,
    city_id: str,
    *,
    to_level: str,
    effective_on: date,
    evidence_kind: str,
    evidence: str,
) -> LevelChange:
    """The platform admin moves a city to another level, keeping the dated change
    attributed to `actor` in the city's history and in the audit log."""
    require_admin(actor)
    city = get_city_row(session, city_id)
    if to_level not in LEVELS:
        raise invalid([FieldProblem("level", f"level must be one of {', '.join(LEVELS)}")])
    if to_level == city.level:
        raise conflict(f"{city.name} is already at level '{to_level}'.", param="level")
    if evidence_kind not in EVIDENCE_KINDS[to_level]:
        allowed = " or ".join(EVIDENCE_KINDS[to_level])
        raise invalid([FieldProblem("evidenceKind", f"reaching '{to_level}' is evidenced by {allowed}")])
    if not evidence.strip():
        raise invalid([FieldProblem("evidence", "describe the evidence (document, date, signatories)")])
    last = session.scalar(
        select(func.max(LevelChange.effective_on)).where(LevelChange.city_id == city_id)
    )
    if last is not None and effective_on < last:
        raise invalid([FieldProblem("effectiveOn", f"the last change of {city.name} took effect on {last}; a new one cannot be earlier")])
    if to_level not in OPENING_LEVELS and _opened_count(session, city_id):
        raise rule_violation(
            f"{city.name} has information systems in trial or open; retire them before moving it to "
            f"'{to_level}', since only pilot and consortium cities may open information systems.",
            code="city-has-open-systems",
            param="level",
        )
    change = LevelChange(
        city_id=city_id,
        from_level=city.level,
        to_level=to_level,
        effective_on=effective_on,
        evidence_kind=evidence_kind,
        evidence=evidence.strip(),
        recorded_by=actor.label,
    )
    city.level = to_level
    session.add(change)
    audit.record(
        session,
        actor,
        "city.level_changed",
        "city",
        city_id,
        city_id=city_id,
        details={
            "from": change.from_level,
            "to": to_level,
            "effectiveOn": effective_on.isoformat(),
            "evidenceKind": evidence_kind,
        },
    )
    session.flush()
    return change


def add_engagement_action(
    session: Session,
    actor: Principal,
    city_id: str,
    *,
    kind: str,
    title: str,
    happened_on: date,
    outcome: str = "",
    next_step: str | None = None,
    next_step_due: date | None = None,
) -> EngagementAction:
    """The platform admin records an engagement action with a city, attributed to
    `actor` and audited."""
    require_admin(actor)
    get_city_row(session, city_id)
    problems = []
    if kind not in ACTION_KINDS:
        problems.append(FieldProblem("kind", f"kind must be one of {', '.join(ACTION_KINDS)}"))
    if not title.strip():
        problems.append(FieldProblem("title", "give the action a title"))
    if next_step_due and not next_step:
        problems.append(FieldProblem("nextStep", "a due date needs the next step it is for"))
    if next_step_due and next_step_due < happened_on:
        problems.append(FieldProblem("nextStepDue", "the next step cannot be due before the action happened"))
    if problems:
        raise invalid(problems)
    action = EngagementAction(
        city_id=city_id,
        kind=kind,
        title=title.strip(),
        happened_on=happened_on,
        outcome=outcome,
        next_step=next_step,
        next_step_due=next_step_due,
        recorded_by=actor.label,
    )
    session.add(action)
    session.flush()  # the action's id, for the audit log
    audit.record(
        session,
        actor,
        "city.engagement_action_recorded",
        "engagement_action",
        action.id,
        city_id=city_id,
        details={"kind": kind, "happenedOn": happened_on.isoformat(), "nextStepDue": _iso(next_step_due)},
    )
    session.flush()
    return action


def complete_next_step(
    session: Session, actor: Principal, action_id: int, *, city_id: str | None = None
) -> EngagementAction:
    """The platform admin marks an action's next step done (audited). With `city_id`, an
    action of another city is not found: a URL naming one city never changes another's.
    Marking a step already done again changes nothing and records nothing."""
    require_admin(actor)
    action = session.get(EngagementAction, action_id)
    if action is None or (city_id is not None and action.city_id != city_id):
        raise not_found("engagement action", str(action_id), param="action_id")
    if action.next_step is None:
        raise conflict(f"Action {action_id} has no next step to mark done.", param="action_id")
    if action.next_step_done:
        return action
    action.next_step_done = True
    audit.record(
        session,
        actor,
        "city.next_step_done",
        "engagement_action",
        action.id,
        city_id=action.city_id,
        details={"nextStep": action.next_step, "nextStepDue": _iso(action.next_step_due)},
    )
    session.flush()
    return action  # its city tells the caller where the step was


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# ---- reads -----------------------------------------------------------------


def _opened_count(session: Session, city_id: str) -> int:
    return session.scalar(
        select(func.count())
        .select_from(InformationSystem)
        .where(InformationSystem.city_id == city_id, InformationSystem.status.in_(OPEN_STATUSES))
    )


def _opened_counts(session: Session, city_ids: list[str]) -> dict[str, dict[str, int]]:
    rows = session.execute(
        select(InformationSystem.city_id, InformationSystem.category_id, func.count())
        .where(InformationSystem.city_id.in_(city_ids), InformationSystem.status.in_(OPEN_STATUSES))
        .group_by(InformationSystem.city_id, InformationSystem.category_id)
    )
    counts: dict[str, dict[str, int]] = {}
    for city_id, category_id, n in rows:
        counts.setdefault(city_id, {})[category_id] = n
    return counts


def city_summary(city: City, opened_by_category: dict[str, int]) -> dict[str, Any]:
    return {
        "id": city.id,
        "name": city.name,
        "country": city.country,
        "level": city.level,
        "location": {"type": "Point", "coordinates": [city.lon, city.lat]},
        "bbox": city.bbox,
        "openedInformationSystems": sum(opened_by_category.values()),
        "openedByCategory": opened_by_category,
    }


def level_change_dict(change: LevelChange) -> dict[str, Any]:
    return {
        "from": change.from_level,
        "to": change.to_level,
        "effectiveOn": change.effective_on.isoformat(),
        "evidenceKind": change.evidence_kind,
        "evidence": change.evidence,
        "recordedBy": change.recorded_by,
        "recordedAt": change.recorded_at.isoformat(),
    }


def action_dict(action: EngagementAction, today: date | None = None) -> dict[str, Any]:
    today = today or utctoday()
    return {
        "id": action.id,
        "city": action.city_id,
        "kind": action.kind,
        "title": action.title,
        "happenedOn": action.happened_on.isoformat(),
        "outcome": action.outcome,
        "nextStep": action.next_step,
        "nextStepDue": _iso(action.next_step_due),
        "nextStepDone": action.next_step_done,
        "overdue": bool(action.next_step_due and not action.next_step_done and action.next_step_due < today),
    }


def list_cities(session: Session, *, level: str | None, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    """Cities at `level`; by default the members of the network, `all` adds the prospects."""
    statement = select(City)
    if level is None:
        statement = statement.where(City.level.in_(MEMBER_LEVELS))
    elif level in LEVELS:
        statement = statement.where(City.level == level)
    elif level != "all":
        raise bad_parameter("level", f"level must be one of {', '.join(LEVELS)} or all")
    keys = [SortKey(City.id)]
    rows, next_cursor = keyset_page(
        statement.add_columns(City.id), keys, "id", limit, cursor, lambda s: session.execute(s).all()
    )
    counts = _opened_counts(session, [row[0].id for row in rows])
    return Page([city_summary(row[0], counts.get(row[0].id, {})) for row in rows], next_cursor)


def get_city(session: Session, city_id: str) -> dict[str, Any]:
    city = get_city_row(session, city_id)
    history = session.scalars(
        select(LevelChange).where(LevelChange.city_id == city_id).order_by(LevelChange.effective_on, LevelChange.id)
    )
    actions = session.scalars(
        select(EngagementAction)
        .where(EngagementAction.city_id == city_id)
        .order_by(EngagementAction.happened_on, EngagementAction.id)
    )
    body = city_summary(city, _opened_counts(session, [city_id]).get(city_id, {}))
    body["levelHistory"] = [level_change_dict(c) for c in history]
    body["engagementActions"] = [action_dict(a) for a in actions]
    return body


def managed_cities(session: Session, principal: Principal) -> list[dict[str, str]]:
    """The cities whose IS the principal opens and runs, by name: a city admin's own, every city
    for the platform admin; anyone else is refused."""
    require_any_admin(principal)
    statement = select(City.id, City.name).order_by(City.name)
    if not principal.is_admin:
        statement = statement.where(City.id.in_(principal.city_ids))
    return [{"id": city_id, "name": name} for city_id, name in session.execute(statement)]


def overdue_follow_ups(session: Session, today: date) -> list[dict[str, Any]]:
    """Cities with an engagement next step past its due date, most overdue first."""
    actions = session.scalars(
        select(EngagementAction)
        .where(EngagementAction.next_step_due < today, EngagementAction.next_step_done.is_(False))
        .order_by(EngagementAction.next_step_due, EngagementAction.id)
    ).all()
    by_city: dict[str, list[EngagementAction]] = {}
    for action in actions:
        by_city.setdefault(action.city_id, []).append(action)
    cities = {c.id: c for c in session.scalars(select(City).where(City.id.in_(by_city)))}
    return [
        {
            "city": city_id,
            "name": cities[city_id].name,
            "level": cities[city_id].level,
            "daysOverdue": (today - city_actions[0].next_step_due).days,
            "overdueActions": [action_dict(a, today) for a in city_actions],
        }
        for city_id, city_actions in by_city.items()
    ]


def pipeline(session: Session, today: date) -> dict[str, list[dict[str, Any]]]:
    """Every city, prospects included, grouped by level (LEVELS order), by name: each
    with the change that brought it to its level (`since`: its evidence and date; none
    for a prospect never moved) and its earliest open next step (`nextStep`)."""
    every_city = session.scalars(select(City).order_by(City.name)).all()
    counts = _opened_counts(session, [city.id for city in every_city])
    latest: dict[str, LevelChange] = {}
    for change in session.scalars(select(LevelChange).order_by(LevelChange.effective_on, LevelChange.id)):
        latest[change.city_id] = change  # the last one wins: the change to the current level
    open_steps: dict[str, EngagementAction] = {}
    for action in session.scalars(
        select(EngagementAction)
        .where(EngagementAction.next_step.is_not(None), EngagementAction.next_step_done.is_(False))
        .order_by(EngagementAction.next_step_due.is_(None), EngagementAction.next_step_due, EngagementAction.id)
    ):
        open_steps.setdefault(action.city_id, action)
    by_level: dict[str, list[dict[str, Any]]] = {level: [] for level in LEVELS}
    for city in every_city:
        body = city_summary(city, counts.get(city.id, {}))
        change = latest.get(city.id)
        body["since"] = level_change_dict(change) if change else None
        step = open_steps.get(city.id)
        body["nextStep"] = action_dict(step, today) if step else None
        by_level[city.level].append(body)
    return by_level
