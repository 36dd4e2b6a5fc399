"""Information systems, their categories, providers and devices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.datamodels.registry import SMART_DATA_MODELS, VALIDATIONS
from icity.db.models import (
    Category,
    City,
    Device,
    InformationSystem,
    InformationSystemEntityType,
    Provider,
    utcnow,
)
from icity.errors import (
    FieldProblem,
    ICityError,
    authentication_required,
    bad_parameter,
    conflict,
    forbidden,
    invalid,
    not_found,
    rule_violation,
)
from icity.services import audit, openings
from icity.services.access import (
    Principal,
    administered_system,
    discoverable_systems,
    readable_systems,
    require_user,
)
from icity.services.cities import OPEN_STATUSES, get_city_row
from icity.services.command_declarations import declaration_problems
from icity.services.owners import require_owner_admin
from icity.services.pagination import Page, SortKey, keyset_page
from icity.services.publishers import Publisher, publisher_of, publishers_of
from icity.services.system_status import NEXT_STATUSES, STATUSES, get_system_row, set_status  # noqa: F401  (the catalogue's)

CATEGORIES = {
    "sensor-data": ("Sensor Data", "Networks of sensors: air, noise, traffic, meteorology, devices."),
    "transport-mobility": ("Transport and Mobility", "Public transport, parking, bike sharing, traffic."),
    "environment": ("Environment", "Air quality, noise, water, waste, green areas."),
    "e-government": ("e-Government", "City agenda, incident reporting, procedures, open government."),
    "tourism-culture": ("Tourism and Culture", "Points of interest, museums, cultural events."),
    "wifi": ("WiFi", "Public WiFi hotspots and their status."),
    "gis": ("Geographic Information Systems", "Cartography and GIS layers of the city."),
    "energy": ("Energy", "Electric vehicle charging and energy data."),
}
ACCESS_POLICIES = ("public", "registered", "approval")


def ensure_categories(session: Session) -> None:
    existing = set(session.scalars(select(Category.id)))
    for category_id, (name, description) in CATEGORIES.items():
        if category_id not in existing:
            session.add(Category(id=category_id, name=name, description=description))
    session.flush()


def list_categories(session: Session) -> list[dict[str, Any]]:
    return [
        {"id": c.id, "name": c.name, "description": c.description}
        for c in session.scalars(select(Category).order_by(Category.name))
    ]


def _check_properties(problems: list[FieldProblem], field: str, properties: list[dict[str, Any]]) -> None:
    for i, prop in enumerate(properties):
        if not isinstance(prop, dict) or not isinstance(prop.get("name"), str) or not prop["name"]:
            problems.append(FieldProblem(f"{field}[{i}].name", "each property needs a name"))
        elif "unit" in prop and not (isinstance(prop["unit"], str) and prop["unit"].strip()):
            problems.append(FieldProblem(f"{field}[{i}].unit", "a property's unit is text, e.g. µg/m³ or dB(A)"))


def create_information_system(
    session: Session,
    *,
    city_id: str,
    slug: str,
    name: str,
    category: str,
    entity_types: list[str],
    description: str = "",
    access_policy: str = "public",
    validation: str = SMART_DATA_MODELS,
    licence: str = "",
    provider: str = "",
    documentation_url: str | None = None,
    properties_in: list[dict[str, Any]] | None = None,
    properties_out: list[dict[str, Any]] | None = None,
    connector: dict[str, Any] | None = None,
    owner_id: str | None = None,
) -> InformationSystem:
    """Register an IS in `draft` (published by `owner_id`, or else by its city); open it with set_status."""
    get_city_row(session, city_id)
    problems: list[FieldProblem] = []
    if category not in CATEGORIES:
        problems.append(FieldProblem("category", f"category must be one of {', '.join(CATEGORIES)}"))
    if access_policy not in ACCESS_POLICIES:
        problems.append(FieldProblem("accessPolicy", f"accessPolicy must be one of {', '.join(ACCESS_POLICIES)}"))
    if validation not in VALIDATIONS:
        problems.append(FieldProblem("validation", f"validation must be one of {', '.join(VALIDATIONS)}"))
    if not entity_types:
        problems.append(FieldProblem("entityTypes", "name at least one entity type"))
    registry = get_registry()
    for i, entity_type in enumerate(entity_types):
        if validation == SMART_DATA_MODELS and entity_type not in registry:
            problems.append(FieldProblem(f"entityTypes[{i}]", f"'{entity_type}' is not a Smart Data Model"))
    _check_properties(problems, "propertiesIn", properties_in or [])
    _check_properties(problems, "propertiesOut", properties_out or [])
    if problems:
        raise invalid(problems)
    system_id = f"{city_id}/{slug}"
    if session.get(InformationSystem, system_id):
        raise conflict(f"Information system '{system_id}' already exists.", param="slug")
    system = InformationSystem(
        id=system_id,
        city_id=city_id,
        owner_id=owner_id,
        slug=slug,
        name=name,
        description=description,
        category_id=category,
        access_policy=access_policy,
        validation=validation,
        licence=licence,
        provider=provider,
        documentation_url=documentation_url,
        properties_in=properties_in or [],
        properties_out=properties_out or [],
        connector=connector,
    )
    session.add(system)
    session.add_all(InformationSystemEntityType(information_system_id=system_id, entity_type=t) for t in set(entity_types))
    session.flush()
    return system


def register_system(
    session: Session, principal: Principal, city_id: str, owner_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A city admin registers one of the city's systems, an owner's admin one of the owner's located
    in a city (or the platform admin either), in draft."""
    require_user(principal)
    get_city_row(session, city_id)
    if owner_id is not None:
        require_owner_admin(session, principal, owner_id)
    elif not principal.administers(city_id):
        raise forbidden(f"Only the admins of {city_id} and the platform admin register its information systems.")
    system = create_information_system(session, city_id=city_id, owner_id=owner_id, **fields)
    audit.record(session, principal, "system.registered", "information_system", system.id, city_id=city_id, owner_id=owner_id)
    return _system_body(session, system)


def change_status(session: Session, principal: Principal, system_id: str, status: str) -> dict[str, Any]:
    """Draft → trial → open → retired, by the publisher's admins and the platform admin. An owner's IS
    opens the first time through an opening notice to its city (services/openings.py)."""
    system = administered_system(session, principal, system_id)
    if system.owner_id is not None and status in OPEN_STATUSES and system.opened_at is None and status in NEXT_STATUSES[system.status]:
        openings.request_opening(session, principal, system, status)
        return _system_body(session, system)
    previous = system.status
    set_status(session, system.id, status)
    audit.record(
        session, principal, "system.status_changed", "information_system", system.id,
        city_id=system.city_id, owner_id=system.owner_id, details={"from": previous, "to": status},
    )
    return _system_body(session, system)


def _system_body(session: Session, system: InformationSystem, can_read: bool = True) -> dict[str, Any]:
    """An IS as its manager sees it: with its publisher and the opening notice that stands, if any."""
    body = system_dict(system, entity_types_of(session, [system.id]).get(system.id, []), publisher_of(session, system), can_read)
    notice = openings.pending_notice(session, system.id) if system.owner_id else None
    body["openingNotice"] = openings.notice_dict(notice) if notice else None
    return body


# ---- reads -----------------------------------------------------------------


def entity_types_of(session: Session, system_ids: list[str]) -> dict[str, list[str]]:
    rows = session.execute(
        select(InformationSystemEntityType.information_system_id, InformationSystemEntityType.entity_type)
        .where(InformationSystemEntityType.information_system_id.in_(system_ids))
        .order_by(InformationSystemEntityType.entity_type)
    )
    types: dict[str, list[str]] = {}
    for system_id, entity_type in rows:
        types.setdefault(system_id, []).append(entity_type)
    return types


def system_dict(system: InformationSystem, entity_types: list[str], publisher: Publisher, can_read: bool = True) -> dict[str, Any]:
    return {
        "id": system.id,
        "city": system.city_id,
        "publisher": publisher.as_dict(),
        "slug": system.slug,
        "name": system.name,
        "description": system.description,
        "category": system.category_id,
        "status": system.status,
        "accessPolicy": system.access_policy,
        "validation": system.validation,
        "licence": system.licence,
        "provider": system.provider,
        "documentationUrl": system.documentation_url,
        "entityTypes": entity_types,
        "propertiesIn": system.properties_in,
        "propertiesOut": system.properties_out,
        "openedAt": system.opened_at.isoformat() if system.opened_at else None,
        "canRead": can_read,
    }


def _choice(param: str, value: str | None, allowed) -> None:
    if value is not None and value not in allowed:
        raise bad_parameter(param, f"{param} must be one of {', '.join(allowed)}")


def list_systems(
    session: Session,
    principal: Principal,
    *,
    city: str | None = None,
    category: str | None = None,
    status: str | None = None,
    entity_type: str | None = None,
    access_policy: str | None = None,
    text: str | None = None,
    publisher: str | None = None,
    limit: int,
    cursor: str | None,
) -> Page[dict[str, Any]]:
    _choice("category", category, CATEGORIES)
    _choice("status", status, STATUSES)
    _choice("accessPolicy", access_policy, ACCESS_POLICIES)
    statement: Select[Any] = select(InformationSystem, readable_systems(principal).label("can_read")).where(
        discoverable_systems(principal)
    )
    if city is not None:
        statement = statement.where(InformationSystem.city_id == city)
    if category is not None:
        statement = statement.where(InformationSystem.category_id == category)
    if publisher is not None:  # an owner's id, or a city's for what the city itself publishes
        statement = statement.where(
            or_(InformationSystem.owner_id == publisher, and_(InformationSystem.owner_id.is_(None), InformationSystem.city_id == publisher))
        )
    if status is not None:
        statement = statement.where(InformationSystem.status == status)
    if access_policy is not None:
        statement = statement.where(InformationSystem.access_policy == access_policy)
    if text:
        # every word somewhere in the name, description or provider, in any case
        for word in text.lower().split():
            statement = statement.where(
                or_(*(func.lower(column).contains(word, autoescape=True) for column in
                      (InformationSystem.name, InformationSystem.description, InformationSystem.provider)))
            )  # fmt: skip
    if entity_type is not None:
        statement = statement.where(
            InformationSystem.id.in_(
                select(InformationSystemEntityType.information_system_id).where(
                    InformationSystemEntityType.entity_type == entity_type
                )
            )
        )
    keys = [SortKey(InformationSystem.id)]
    rows, next_cursor = keyset_page(
        statement.add_columns(InformationSystem.id), keys, "id", limit, cursor, lambda s: session.execute(s).all()
    )
    types = entity_types_of(session, [r[0].id for r in rows])
    publishers = publishers_of(session, [r[0] for r in rows])
    return Page([system_dict(r[0], types.get(r[0].id, []), publishers[r[0].id], bool(r[1])) for r in rows], next_cursor)


def offered_entity_types(session: Session, principal: Principal) -> list[str]:
    """The entity types of the systems `principal` may see in the catalogue (for filters)."""
    return list(
        session.scalars(
            select(InformationSystemEntityType.entity_type)
            .join(InformationSystem, InformationSystem.id == InformationSystemEntityType.information_system_id)
            .where(discoverable_systems(principal))
            .distinct()
            .order_by(InformationSystemEntityType.entity_type)
        )
    )


def get_readable_system(session: Session, principal: Principal, system_id: str) -> InformationSystem:
    """The IS if this principal may read it. One the catalogue lists to this principal but whose data
    it may not read is a 401 (anonymous) or 403 saying why; any other is a 404, never revealing it."""
    row = session.execute(
        select(InformationSystem, readable_systems(principal).label("can_read")).where(
            InformationSystem.id == system_id, discoverable_systems(principal)
        )
    ).first()
    if row is None:
        raise not_found("information system", system_id)
    system, can_read = row[0], bool(row[1])
    if not can_read:
        raise _not_readable(system, principal)
    return system


def _not_readable(system: InformationSystem, principal: Principal) -> ICityError:
    """Why a listed IS's data are not readable to this caller, and what to do about it."""
    if system.access_policy == "approval":
        need = "only apps whose access request the city approved read them: ask with POST /api/v1/access-requests"
    else:
        need = "any approved developer's API key reads them"
    detail = f"The data of {system.id} are not readable to you: {need}."
    if principal.kind == "anonymous":
        return authentication_required(detail)
    return forbidden(detail, code="not-readable")


def get_system(session: Session, principal: Principal, system_id: str) -> dict[str, Any]:
    """An IS as the catalogue shows it; its providers only to those who may read its data."""
    row = session.execute(
        select(InformationSystem, readable_systems(principal).label("can_read")).where(
            InformationSystem.id == system_id, discoverable_systems(principal)
        )
    ).first()
    if row is None:
        raise not_found("information system", system_id)
    system, can_read = row[0], bool(row[1])
    body = system_dict(system, entity_types_of(session, [system_id]).get(system_id, []), publisher_of(session, system), can_read)
    body["providers"] = list_providers(session, principal, system_id) if can_read else []
    return body


# ---- providers and devices ------------------------------------------------------


def add_provider(session: Session, system_id: str, *, name: str, kind: str = "operator", url: str | None = None) -> Provider:
    get_system_row(session, system_id)
    if kind not in ("operator", "manufacturer"):
        raise invalid([FieldProblem("kind", "kind must be operator or manufacturer")])
    provider = Provider(information_system_id=system_id, name=name, kind=kind, url=url)
    session.add(provider)
    session.flush()
    return provider


def add_device(
    session: Session,
    system_id: str,
    *,
    local_id: str,
    provider_id: int | None = None,
    name: str = "",
    device_type: str = "",
    lon: float | None = None,
    lat: float | None = None,
    entity_id: str | None = None,
    commands: list[dict[str, Any]] | None = None,
    reporting_period_s: int | None = None,
    last_seen_at: datetime | None = None,
) -> Device:
    get_system_row(session, system_id)
    problems: list[FieldProblem] = []
    if (lon is None) != (lat is None) or (lon is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90)):
        problems.append(FieldProblem("location", "give both lon in [-180, 180] and lat in [-90, 90], or neither"))
    if provider_id is not None:
        provider = session.get(Provider, provider_id)
        if provider is None or provider.information_system_id != system_id:
            problems.append(FieldProblem("provider", f"provider {provider_id} does not belong to {system_id}"))
    problems += declaration_problems(commands or [], None)
    if problems:
        raise invalid(problems)
    duplicate = select(Device.id).where(Device.information_system_id == system_id, Device.local_id == local_id)
    if session.scalar(duplicate) is not None:
        raise conflict(f"{system_id} already has a device '{local_id}'.", param="localId")
    device = Device(
        information_system_id=system_id,
        local_id=local_id,
        provider_id=provider_id,
        name=name,
        device_type=device_type,
        lon=lon,
        lat=lat,
        entity_id=entity_id,
        commands=commands or [],
        reporting_period_s=reporting_period_s,
        last_seen_at=last_seen_at,
        silent_after=Device.silent_after_seen(last_seen_at, reporting_period_s) if last_seen_at else None,
    )
    session.add(device)
    session.flush()
    return device


def list_providers(session: Session, principal: Principal, system_id: str) -> list[dict[str, Any]]:
    get_readable_system(session, principal, system_id)
    return [
        {"id": p.id, "name": p.name, "kind": p.kind, "url": p.url}
        for p in session.scalars(
            select(Provider).where(Provider.information_system_id == system_id).order_by(Provider.id)
        )
    ]


def is_silent(device: Device, now: datetime) -> bool:
    """A device that declared a reporting period and has sent nothing for longer than it."""
    if not device.reporting_period_s:
        return False
    return device.silent_after is None or device.silent_after < now


def device_dict(device: Device, now: datetime | None = None) -> dict[str, Any]:
    return {
        "id": device.local_id,
        "informationSystem": device.information_system_id,
        "provider": device.provider_id,
        "name": device.name,
        "deviceType": device.device_type,
        "location": None if device.lon is None else {"type": "Point", "coordinates": [device.lon, device.lat]},
        "entity": device.entity_id,
        "commands": device.commands,
        "commandUrl": device.command_url,  # where commands go by HTTP POST; null: over MQTT (…/<device>/cmd)
        "reportingPeriodSeconds": device.reporting_period_s,
        "lastSeenAt": device.last_seen_at.isoformat() if device.last_seen_at else None,
        "silent": is_silent(device, now or utcnow()),
        "rejectedMessages": device.rejected_messages or 0,
        "lastRejection": device.last_rejection,
        "lastRejectionAt": device.last_rejection_at.isoformat() if device.last_rejection_at else None,
    }


def list_devices(
    session: Session,
    principal: Principal,
    system_id: str,
    *,
    provider: int | None,
    silent: bool | None = None,
    limit: int,
    cursor: str | None,
) -> Page[dict[str, Any]]:
    get_readable_system(session, principal, system_id)
    statement = select(Device).where(Device.information_system_id == system_id)
    if provider is not None:
        statement = statement.where(Device.provider_id == provider)
    now = utcnow()
    if silent is not None:
        # silent: a declared period, and nothing seen within it (never seen counts)
        overdue = or_(Device.silent_after.is_(None), Device.silent_after < now)
        condition = and_(Device.reporting_period_s > 0, overdue)
        statement = statement.where(condition if silent else or_(Device.reporting_period_s.is_(None), not_(condition)))
    keys = [SortKey(Device.local_id)]
    rows, next_cursor = keyset_page(
        statement.add_columns(Device.local_id), keys, "id", limit, cursor, lambda s: session.execute(s).all()
    )
    return Page([device_dict(r[0], now) for r in rows], next_cursor)


