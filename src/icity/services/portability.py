""""Where can this app run": the cities that open every entity type (or category)
an app needs, and through which information systems."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from icity.datamodels import get_registry
from icity.db.models import City, InformationSystem, InformationSystemEntityType, InfrastructureOwner
from icity.errors import bad_parameter
from icity.services.access import Principal, readable_systems
from icity.services.catalogue import CATEGORIES
from icity.services.publishers import Publisher


Requirement = tuple[str, str]  # ("entityType", "AirQualityObserved") or ("category", "environment")


def offers_by_city(
    session: Session, systems: ColumnElement[bool], requirements: list[Requirement], cities: list[str] | None = None
) -> dict[str, dict[Requirement, dict[str, dict[str, Any]]]]:
    """Per city, per requirement met: the IS (among those `systems` selects) that meet it, by id.
    The one reading of "which city offers what" behind both an app's cities (readable by it) and a
    project's readiness (opened by the city, whatever the policy); `cities` narrows it."""
    statement = (
        select(
            InformationSystem.city_id,
            InformationSystem.id,
            InformationSystem.name,
            InformationSystem.category_id,
            InformationSystem.access_policy,
            InformationSystemEntityType.entity_type,
            InfrastructureOwner.id,
            InfrastructureOwner.name,
            City.name,
        )
        .join(InformationSystemEntityType, InformationSystemEntityType.information_system_id == InformationSystem.id)
        .join(City, City.id == InformationSystem.city_id)
        .outerjoin(InfrastructureOwner, InfrastructureOwner.id == InformationSystem.owner_id)
        .where(systems)
        .order_by(InformationSystem.city_id, InformationSystem.id)
    )
    if cities is not None:
        statement = statement.where(InformationSystem.city_id.in_(cities))
    offers: dict[str, dict[Requirement, dict[str, dict[str, Any]]]] = {}
    for city_id, system_id, name, category, policy, entity_type, owner_id, owner_name, city_name in session.execute(statement).all():
        publisher = Publisher("owner", owner_id, owner_name) if owner_id else Publisher("city", city_id, city_name)
        for requirement in requirements:
            kind, value = requirement
            if (kind == "entityType" and entity_type == value) or (kind == "category" and category == value):
                found = offers.setdefault(city_id, {}).setdefault(requirement, {})
                found.setdefault(system_id, {
                    "id": system_id, "name": name, "category": category, "accessPolicy": policy,
                    "publisher": publisher.as_dict(), "entityTypes": [],
                })  # fmt: skip
                found[system_id]["entityTypes"].append(entity_type)
    return offers


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

    requirements = [("entityType", t) for t in entity_types] + [("category", c) for c in categories]
    offers = offers_by_city(session, readable_systems(principal), requirements)
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
                    {"requirement": {kind: value}, "informationSystems": [_as_offered(s) for s in offers[city][(kind, value)].values()]}
                    for kind, value in requirements
                ],
            }
            for city in capable
        ],
    }


def _as_offered(system: dict[str, Any]) -> dict[str, Any]:
    """An IS as "where can this app run" shows it: the caller reads it, so its policy is not news."""
    return {key: value for key, value in system.items() if key != "accessPolicy"}
