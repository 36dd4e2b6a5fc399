""""Where can this app run": the cities that open every entity type (or category)
an app needs, and through which information systems."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.db.models import City, InformationSystem, InformationSystemEntityType
from icity.errors import bad_parameter
from icity.services.access import Principal, readable_systems
from icity.services.catalogue import CATEGORIES


def where_can_app_run(
    session: Session, principal: Principal, *, entity_types: list[str], categories: list[str]
) -> dict[str, Any]:
    if not entity_types and not categories:
        raise bad_parameter("entityTypes", "name the entity types (or categories) the app needs, e.g. entityTypes=AirQualityObserved")
    registry = get_registry()
    for entity_type in entity_types:
        if entity_type not in registry:
            raise bad_parameter("entityTypes", f"'{entity_type}' is not a Smart Data Model entity type")
    for category in categories:
        if category not in CATEGORIES:
            raise bad_parameter("categories", f"'{category}' is not a category; use one of {', '.join(CATEGORIES)}")

    rows = session.execute(
        select(
            InformationSystem.city_id,
            InformationSystem.id,
            InformationSystem.name,
            InformationSystem.category_id,
            InformationSystemEntityType.entity_type,
        )
        .join(InformationSystemEntityType, InformationSystemEntityType.information_system_id == InformationSystem.id)
        .where(readable_systems(principal))
        .order_by(InformationSystem.city_id, InformationSystem.id)
    ).all()
    requirements = [("entityType", t) for t in entity_types] + [("category", c) for c in categories]
    # per city: requirement -> systems that meet it
    offers: dict[str, dict[tuple[str, str], dict[str, dict[str, Any]]]] = {}
    for city_id, system_id, name, category, entity_type in rows:
        for requirement in requirements:
            kind, value = requirement
            if (kind == "entityType" and entity_type == value) or (kind == "category" and category == value):
                systems = offers.setdefault(city_id, {}).setdefault(requirement, {})
                systems.setdefault(system_id, {"id": system_id, "name": name, "category": category, "entityTypes": []})
                systems[system_id]["entityTypes"].append(entity_type)
    capable = sorted(city for city, met in offers.items() if len(met) == len(requirements))
    cities = {c.id: c for c in session.execute(select(City.id, City.name, City.level).where(City.id.in_(capable)))}
    return {
        "entityTypes": entity_types,
        "categories": categories,
        "cities": [
            {
                "city": city,
                "name": cities[city].name,
                "level": cities[city].level,
                "provides": [
                    {"requirement": {kind: value}, "informationSystems": list(offers[city][(kind, value)].values())}
                    for kind, value in requirements
                ],
            }
            for city in capable
        ],
    }
