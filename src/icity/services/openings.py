"""An infrastructure owner opening an IS located in a city: the city is told and may object.

An owner's IS opens (first goes to trial or open) only through an opening notice: its city's admins
get a message and may object until the deadline (ICITY_OWNER_OBJECTION_DAYS after the request). An
objection stops the opening until the city lifts it; without one, the IS opens at the deadline (the
OpeningClock, or the owner asking again). The city's level does not matter: the owner's membership is
what allows opening, since the owner, not the city, answers for the infrastructure and its data.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.db.models import City, InfrastructureOwner, InformationSystem, OpeningNotice, utcnow
from icity.errors import bad_parameter, conflict, forbidden, not_found, rule_violation
from icity.services import audit, messages
from icity.services.access import CLI, Principal, require_user
from icity.services.owners import require_member
from icity.services.publishers import city_admins, platform_admins, publisher_admins
from icity.services.system_status import set_status

log = logging.getLogger(__name__)

PLATFORM = replace(CLI, email="platform")  # who opens an IS when its objection period ends


def notice_dict(notice: OpeningNotice) -> dict[str, Any]:
    return {
        "id": notice.id,
        "informationSystem": notice.information_system_id,
        "requestedStatus": notice.requested_status,
        "requestedAt": notice.requested_at.isoformat(),
        "objectionDeadline": notice.objection_deadline.isoformat(),
        "status": notice.status,
        "objection": notice.objection,
        "settledAt": notice.settled_at.isoformat() if notice.settled_at else None,
    }


def _standing(session: Session, system_id: str) -> OpeningNotice | None:
    """The notice that stands for an IS: pending, or objected (until lifted)."""
    return session.scalar(
        select(OpeningNotice)
        .where(OpeningNotice.information_system_id == system_id, OpeningNotice.status.in_(("pending", "objected")))
        .order_by(OpeningNotice.id.desc())
    )


def request_opening(
    session: Session, principal: Principal, system: InformationSystem, status: str, now: datetime | None = None
) -> OpeningNotice:
    """The owner's admin asks to open `system` (caller already checked as its manager): notify the city."""
    now = now or utcnow()
    owner = require_member(session, system.owner_id)
    standing = _standing(session, system.id)
    if standing is not None and standing.status == "objected":
        raise rule_violation(
            f"{system.city_id} objected to opening {system.id}: {standing.objection} Settle it with the city; "
            f"once it lifts its objection, ask again.",
            code="opening-objected",
            param="status",
        )
    if standing is not None:
        if standing.objection_deadline <= now:
            return _open(session, standing, now)
        raise conflict(
            f"{system.id} opens on {standing.objection_deadline.isoformat()} unless {system.city_id} objects first.",
            param="status",
        )
    notice = OpeningNotice(
        information_system_id=system.id,
        requested_status=status,
        requested_by=principal.user_id,
        requested_at=now,
        objection_deadline=now + timedelta(days=get_settings().owner_objection_days),
        status="pending",
    )
    session.add(notice)
    session.flush()
    city = session.get(City, system.city_id)
    for admin in city_admins(session, city.id) or platform_admins(session):
        messages.notify(
            session,
            admin,
            f"{owner.name} opens {system.name} in {city.name}",
            f"{owner.name}, a member of the network, asks to put its information system '{system.name}' ({system.id}), "
            f"located in {city.name}, in '{status}'.\n{system.description}\n\n"
            f"It opens on {notice.objection_deadline:%Y-%m-%d %H:%M} UTC unless the city objects before then: "
            f"POST /api/v1/opening-notices/{notice.id}/object with the reason, or the city's admin page.\n",
        )
    audit.record(
        session, principal, "system.opening_requested", "information_system", system.id,
        city_id=system.city_id, owner_id=system.owner_id,
        details={"notice": notice.id, "status": status, "deadline": notice.objection_deadline.isoformat()},
    )  # fmt: skip
    if notice.objection_deadline <= now:  # no objection period configured: the city is told, the IS opens
        _open(session, notice, now)
    return notice


def _open(session: Session, notice: OpeningNotice, now: datetime) -> OpeningNotice:
    system = session.get(InformationSystem, notice.information_system_id)
    previous = system.status
    set_status(session, system.id, notice.requested_status)
    notice.status, notice.settled_at = "opened", now
    for admin in publisher_admins(session, system):
        messages.notify(
            session, admin, f"{system.name} is {notice.requested_status}",
            f"No objection from {system.city_id} by {notice.objection_deadline:%Y-%m-%d %H:%M} UTC: "
            f"{system.id} is now '{notice.requested_status}'.\n",
        )  # fmt: skip
    audit.record(
        session, PLATFORM, "system.status_changed", "information_system", system.id,
        city_id=system.city_id, owner_id=system.owner_id,
        details={"from": previous, "to": notice.requested_status, "notice": notice.id},
    )  # fmt: skip
    session.flush()
    return notice


def open_due(session: Session, now: datetime | None = None) -> int:
    """Open every IS whose objection period ended without objection; how many opened."""
    now = now or utcnow()
    due = session.scalars(
        select(OpeningNotice).where(OpeningNotice.status == "pending", OpeningNotice.objection_deadline <= now)
    ).all()
    for notice in due:
        owner_id = session.get(InformationSystem, notice.information_system_id).owner_id
        if session.get(InfrastructureOwner, owner_id).membership != "member":
            notice.status, notice.settled_at = "withdrawn", now  # the owner left the network meanwhile
            continue
        _open(session, notice, now)
    return len(due)


def _notice_for_city(session: Session, principal: Principal, notice_id: int) -> tuple[OpeningNotice, InformationSystem]:
    require_user(principal)
    notice = session.get(OpeningNotice, notice_id)
    system = session.get(InformationSystem, notice.information_system_id) if notice else None
    if system is None or not (principal.manages(system) or principal.administers(system.city_id)):
        raise not_found("opening notice", str(notice_id), param="notice_id")
    if not principal.administers(system.city_id):
        raise forbidden(f"Only the admins of {system.city_id} (where it lies) and the platform admin object to it.")
    return notice, system


def object_to(session: Session, principal: Principal, notice_id: int, reason: str, now: datetime | None = None) -> dict[str, Any]:
    """The city objects before the deadline: the IS stays closed, the owner is told why."""
    now = now or utcnow()
    notice, system = _notice_for_city(session, principal, notice_id)
    if not (reason or "").strip():
        raise bad_parameter("reason", "Say why the city objects: the owner is told.")
    if notice.status != "pending":
        raise conflict(f"Opening notice {notice_id} is {notice.status}; only a pending one can be objected to.")
    if notice.objection_deadline <= now:
        raise conflict(f"The objection period of notice {notice_id} ended on {notice.objection_deadline.isoformat()}.")
    notice.status, notice.objected_by, notice.objection, notice.settled_at = "objected", principal.user_id, reason.strip(), now
    for admin in publisher_admins(session, system):
        messages.notify(
            session, admin, f"{system.city_id} objects to opening {system.name}",
            f"The admins of {system.city_id} object to opening {system.id}:\n{reason.strip()}\n\n"
            f"It stays closed until the city lifts its objection.\n", sender_id=principal.user_id,
        )  # fmt: skip
    audit.record(
        session, principal, "system.opening_objected", "information_system", system.id,
        city_id=system.city_id, owner_id=system.owner_id, details={"notice": notice.id, "reason": reason.strip()},
    )  # fmt: skip
    session.flush()
    return notice_dict(notice)


def lift_objection(session: Session, principal: Principal, notice_id: int, now: datetime | None = None) -> dict[str, Any]:
    """The city lifts its objection: the owner may ask to open again (a new notice, a new period)."""
    now = now or utcnow()
    notice, system = _notice_for_city(session, principal, notice_id)
    if notice.status != "objected":
        raise conflict(f"Opening notice {notice_id} is {notice.status}; only an objection can be lifted.")
    notice.status, notice.settled_at = "withdrawn", now
    audit.record(
        session, principal, "system.opening_objection_lifted", "information_system", system.id,
        city_id=system.city_id, owner_id=system.owner_id, details={"notice": notice.id},
    )  # fmt: skip
    session.flush()
    return notice_dict(notice)


def list_notices(session: Session, principal: Principal, *, status: str | None = None) -> list[dict[str, Any]]:
    """The notices a caller deals with: its cities' (to object), its owners' (to follow); all for the platform admin."""
    require_user(principal)
    statement = select(OpeningNotice).join(InformationSystem, InformationSystem.id == OpeningNotice.information_system_id)
    if not principal.is_admin:
        scope = []
        if principal.role == "city_admin" and principal.approved:
            scope.append(InformationSystem.city_id.in_(sorted(principal.city_ids)))
        if principal.role == "owner_admin" and principal.approved:
            scope.append(InformationSystem.owner_id.in_(sorted(principal.owner_ids)))
        if not scope:
            raise forbidden("Only city and infrastructure owner admins and the platform admin see opening notices.")
        statement = statement.where(*scope)
    if status is not None:
        if status not in ("pending", "objected", "opened", "withdrawn"):
            raise bad_parameter("status", "status must be one of pending, objected, opened, withdrawn")
        statement = statement.where(OpeningNotice.status == status)
    return [notice_dict(n) for n in session.scalars(statement.order_by(OpeningNotice.id.desc()))]


def pending_notice(session: Session, system_id: str) -> OpeningNotice | None:
    return _standing(session, system_id)


class OpeningClock:
    """Opens, every `interval_s`, the owners' IS whose objection period ended without objection."""

    def __init__(self, database_url: str | None = None, interval_s: float = 60) -> None:
        self.database_url = database_url
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, now: datetime | None = None) -> int:
        from icity.db.engine import write_transaction

        with write_transaction(self.database_url) as session:
            return open_due(session, now)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:  # the next round tries again
                log.exception("opening owners' information systems failed")

    def start(self) -> None:
        from icity.db.engine import background_thread

        self._thread = background_thread(self._run, name="opening clock")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
