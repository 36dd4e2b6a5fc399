"""How an IS's data arrives, as its managers see it: harvested from its source (the connector's
health), pushed by its providers over HTTP or MQTT (the latest observation, how many arrived in
the last hour and day, which devices report, what was rejected), or nothing set up yet.

For the IS's publisher admins and the platform admin only (access.administered_system)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.db.models import Device, Entity, InformationSystem, Observation, ProviderToken, utcnow
from icity.services import catalogue, harvest
from icity.services.access import Principal, administered_system

REPORTING, SILENT, NEVER_HEARD = "reporting", "silent", "never-heard"


def device_status(device: Device, now: datetime) -> str:
    """reporting: heard within its period (or heard, without one); silent: overdue; never heard."""
    if device.last_seen_at is None:
        return NEVER_HEARD
    return SILENT if catalogue.is_silent(device, now) else REPORTING  # the API's own `silent`


def arrival(session: Session, principal: Principal, system_id: str, *, counts: bool = True) -> dict[str, Any]:
    """{"ways": ["harvest", "push"] or [] (nothing set up yet), "harvest": the source with its
    health or None, "push": the pushed data's figures or None}. Without `counts`, the observations
    of the last hour and day are not counted (a list of many IS)."""
    system = administered_system(session, principal, system_id)
    now = utcnow()
    source = harvest.source_view(session, system) if system.connector else None
    pushed = _push_figures(session, system, now, counts)
    ways = (["harvest"] if source else []) + (["push"] if pushed else [])
    return {"ways": ways, "harvest": source, "push": pushed}


def _push_figures(session: Session, system: InformationSystem, now: datetime, counts: bool) -> dict[str, Any] | None:
    """None when the IS has neither devices nor provider tokens: nobody pushes into it."""
    devices = list(session.scalars(select(Device).where(Device.information_system_id == system.id)))
    tokens = session.scalar(select(func.count()).where(ProviderToken.information_system_id == system.id)) or 0
    if not devices and not tokens:
        return None
    statuses = [device_status(device, now) for device in devices]
    rejected = [d for d in devices if d.rejected_messages]
    last_rejected = max(rejected, key=lambda d: d.last_rejection_at or now - timedelta(days=36500), default=None)
    entities = select(Entity.id).where(Entity.information_system_id == system.id).scalar_subquery()

    def observations_since(since: datetime) -> int | None:
        if not counts:
            return None
        statement = select(func.count()).where(Observation.entity_id.in_(entities), Observation.observed_at >= since)
        return session.scalar(statement) or 0

    last_seen = max((d.last_seen_at for d in devices if d.last_seen_at), default=None)
    return {
        "devices": len(devices),
        "tokens": tokens,
        "lastObservationAt": last_seen.isoformat() if last_seen else None,
        "ageSeconds": int((now - last_seen).total_seconds()) if last_seen else None,
        "observationsLastHour": observations_since(now - timedelta(hours=1)),
        "observationsLastDay": observations_since(now - timedelta(days=1)),
        REPORTING: statuses.count(REPORTING),
        SILENT: statuses.count(SILENT),
        NEVER_HEARD: statuses.count(NEVER_HEARD),
        "rejectedMessages": sum(d.rejected_messages or 0 for d in devices),
        "lastRejection": last_rejected.last_rejection if last_rejected else None,
        "lastRejectionAt": last_rejected.last_rejection_at.isoformat() if last_rejected and last_rejected.last_rejection_at else None,
        "lastRejectionDevice": last_rejected.local_id if last_rejected else None,
    }
