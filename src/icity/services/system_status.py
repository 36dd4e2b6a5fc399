"""An information system's status: draft → trial → open → retired, and who may open one: a city at
level pilot or above, an owner that is a member of the network."""

from __future__ import annotations

from sqlalchemy.orm import Session

from icity.db.models import City, InformationSystem, utcnow
from icity.errors import FieldProblem, invalid, not_found, rule_violation
from icity.services.cities import OPEN_STATUSES, OPENING_LEVELS
from icity.services.owners import require_member

STATUSES = ("draft", "trial", "open", "retired")
# draft → trial → open → retired; a trial may go back to draft; a retired system is reopened as a draft.
NEXT_STATUSES = {
    "draft": ("trial", "open", "retired"),
    "trial": ("draft", "open", "retired"),
    "open": ("trial", "retired"),
    "retired": ("draft",),
}


def get_system_row(session: Session, system_id: str) -> InformationSystem:
    system = session.get(InformationSystem, system_id)
    if system is None:
        raise not_found("information system", system_id)
    return system


def set_status(session: Session, system_id: str, status: str) -> InformationSystem:
    """Move an IS through draft → trial → open → retired, enforcing its publisher's standing: a city's
    level, an owner's membership."""
    system = get_system_row(session, system_id)
    if status not in STATUSES:
        raise invalid([FieldProblem("status", f"status must be one of {', '.join(STATUSES)}")])
    if status not in NEXT_STATUSES[system.status]:
        raise rule_violation(
            f"{system_id} is '{system.status}'; from there it can move to {' or '.join(NEXT_STATUSES[system.status])}.",
            code="status-transition",
            param="status",
        )
    if status in OPEN_STATUSES and system.owner_id is not None:
        require_member(session, system.owner_id)
    elif status in OPEN_STATUSES:
        city = session.get(City, system.city_id)
        if city.level not in OPENING_LEVELS:
            raise rule_violation(
                f"{city.name} is at level '{city.level}'; only cities at level pilot or consortium may put an "
                f"information system in '{status}'. Record the city's technical trial (level 'pilot', evidence "
                f"'technical_trial') first, or keep the system in 'draft' until then.",
                code="city-level-too-low",
                param="status",
            )
    if status in OPEN_STATUSES and system.opened_at is None:
        system.opened_at = utcnow()
    system.status = status
    session.flush()
    return system
