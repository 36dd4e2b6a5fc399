"""How the portal shows the readings of the IS a visitor may read: each attribute's unit and
the measure charted first (icity.datamodels.measures), and the city's own GIS layers that an
offline map draws under its markers."""

from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.datamodels.measures import chart_spec
from icity.db.models import InformationSystem
from icity.services.access import SERVED_STATUSES, Principal, discoverable_systems, readable_systems

GIS_CATEGORY = "gis"
MAX_LAYERS = 50  # GIS layers drawn under one map: a city opens a handful


def chart_specs(session: Session, principal: Principal, shown: Iterable[tuple[str, str]]) -> dict[str, dict[str, Any]]:
    """{IS id: {entity type: chart spec}} for the (IS id, entity type) pairs of the entities shown;
    only of the IS `principal` may see in the catalogue (their properties OUT are public there)."""
    pairs = set(shown)
    system_ids = {system_id for system_id, _ in pairs}
    declared = dict(
        session.execute(
            select(InformationSystem.id, InformationSystem.properties_out).where(
                InformationSystem.id.in_(system_ids), discoverable_systems(principal)
            )
        ).all()
    )
    specs: dict[str, dict[str, Any]] = {}
    for system_id, entity_type in sorted(pairs):
        if system_id in declared:
            specs.setdefault(system_id, {})[entity_type] = chart_spec(entity_type, declared[system_id] or [])
    return specs


def gis_layers(session: Session, principal: Principal, city_ids: Iterable[str]) -> list[dict[str, str]]:
    """The GIS-category IS of these cities whose data `principal` may read, served (trial or open):
    [{id, name, city}], for a map to fetch through the API (the same rules again) and draw."""
    cities = set(city_ids)
    if not cities:
        return []
    rows = session.execute(
        select(InformationSystem.id, InformationSystem.name, InformationSystem.city_id)
        .where(
            InformationSystem.city_id.in_(cities),
            InformationSystem.category_id == GIS_CATEGORY,
            InformationSystem.status.in_(SERVED_STATUSES),
            readable_systems(principal),
        )
        .order_by(InformationSystem.id)
        .limit(MAX_LAYERS)
    ).all()
    return [{"id": system_id, "name": name, "city": city} for system_id, name, city in rows]
