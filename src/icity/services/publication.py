"""The catalogue as other catalogues harvest it (DCAT-AP): every served information system (trial or
open, whatever its access policy: it is listed so that people find it and ask for access), with
what a catalogue record says of it that iCity knows — its city, the time span of its history, its
last change. Metadata only: no entity, no value; reading the data stays behind `readable_systems`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from icity.db.models import City, Entity, InformationSystem, Observation
from icity.errors import ICityError
from icity.services.access import SERVED_STATUSES, Principal, discoverable_systems
from icity.services.catalogue import CATEGORIES, entity_types_of
from icity.services.cities import get_city_row
from icity.services.filters import parse_time
from icity.services.publishers import Publisher, publishers_of

SERVICE_REQUESTS = "service_requests"  # the entity type Open311 serves


@dataclass(frozen=True)
class PublishedCity:
    id: str
    name: str
    country: str
    lon: float | None
    lat: float | None
    bbox: list[float] | None


@dataclass(frozen=True)
class PublishedSystem:
    id: str
    city_id: str
    slug: str
    name: str
    description: str
    category: str
    category_name: str
    status: str
    access_policy: str
    licence: str
    provider: str
    documentation_url: str | None
    entity_types: list[str]
    publisher: Publisher  # the city it lies in, or the infrastructure owner that opened it there
    opened_at: datetime | None
    history_start: datetime | None  # the earliest time its data speak of (history or current state)
    history_end: datetime | None  # the latest
    last_change: datetime  # its description or any of its entities, whichever changed last

    @property
    def restricted(self) -> bool:
        """Its data are read only with an approved developer's key (registered) or a granted app's (approval)."""
        return self.access_policy != "public"

    @property
    def serves_service_requests(self) -> bool:
        return SERVICE_REQUESTS in self.entity_types


@dataclass(frozen=True)
class Publication:
    """One page of the published catalogue, and what the catalogue as a whole says (all pages)."""

    systems: list[PublishedSystem]
    total: int
    page: int
    page_size: int
    cities: dict[str, PublishedCity]  # the city asked for, or every city with a listed system
    last_change: datetime | None
    first_opened: datetime | None

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.page_size))


def parse_modified_since(text: str | None) -> datetime | None:
    """A date-time with a zone, or a date (its midnight, UTC): 400 naming the parameter otherwise."""
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return parse_time("modified_since", text)
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def _changed_since(since: datetime):
    """The IS whose description or any of whose entities changed at or after `since`."""
    changed = aliased(Entity)  # apart from the Entity a caller's statement may join
    entity_changed = exists(
        select(changed.id).where(changed.information_system_id == InformationSystem.id, changed.modified_at >= since)
    ).correlate(InformationSystem)
    return or_(InformationSystem.updated_at >= since, entity_changed)


def published_systems(
    session: Session,
    principal: Principal,
    *,
    city: str | None = None,
    modified_since: datetime | None = None,
    page: int = 1,
    page_size: int = 100,
) -> Publication:
    """The served IS (of one city, or of the network), in id order, `page_size` to a page."""
    cities: dict[str, PublishedCity] = {}
    if city is not None:
        cities[city] = _published_city(get_city_row(session, city))
    listed = and_(InformationSystem.status.in_(SERVED_STATUSES), discoverable_systems(principal))
    if city is not None:
        listed = and_(listed, InformationSystem.city_id == city)
    if modified_since is not None:
        listed = and_(listed, _changed_since(modified_since))
    total, first_opened, updated = session.execute(
        select(func.count(), func.min(InformationSystem.opened_at), func.max(InformationSystem.updated_at)).where(listed)
    ).one()
    pages = max(1, -(-total // page_size))
    if page > pages:
        raise ICityError(
            detail=f"There is no page {page}: the catalogue has {total} dataset(s), {pages} page(s) of {page_size}.",
            status=404, code="not-found", title="Not found", param="page",
        )  # fmt: skip
    entities_changed = session.scalar(
        select(func.max(Entity.modified_at)).join(InformationSystem, InformationSystem.id == Entity.information_system_id).where(listed)
    )
    if city is None:
        city_ids = select(InformationSystem.city_id).where(listed).distinct()
        for row in session.scalars(select(City).where(City.id.in_(city_ids)).order_by(City.id)):
            cities[row.id] = _published_city(row)
    rows = list(
        session.scalars(select(InformationSystem).where(listed).order_by(InformationSystem.id).offset((page - 1) * page_size).limit(page_size))
    )
    return Publication(
        systems=_described(session, rows),
        total=total,
        page=page,
        page_size=page_size,
        cities=cities,
        last_change=_latest(updated, entities_changed),
        first_opened=first_opened,
    )


def _published_city(city: City) -> PublishedCity:
    return PublishedCity(city.id, city.name, city.country, city.lon, city.lat, list(city.bbox) if city.bbox else None)


def _latest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def _earliest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


def history_spans(session: Session, system_ids: list[str]) -> dict[str, tuple[datetime | None, datetime | None]]:
    """(earliest, latest) time the data of each IS speak of: its stored history and its entities' current state."""
    spans: dict[str, tuple[datetime | None, datetime | None]] = {}
    if not system_ids:
        return spans
    history = session.execute(
        select(Entity.information_system_id, func.min(Observation.observed_at), func.max(Observation.observed_at))
        .join(Entity, Entity.id == Observation.entity_id)
        .where(Entity.information_system_id.in_(system_ids))
        .group_by(Entity.information_system_id)
    )
    current = session.execute(
        select(Entity.information_system_id, func.min(Entity.observed_at), func.max(Entity.observed_at))
        .where(Entity.information_system_id.in_(system_ids))
        .group_by(Entity.information_system_id)
    )
    for system_id, start, end in [*history, *current]:
        known_start, known_end = spans.get(system_id, (None, None))
        spans[system_id] = (_earliest(known_start, start), _latest(known_end, end))
    return spans


def last_changes(session: Session, systems: list[InformationSystem]) -> dict[str, datetime]:
    """When each IS last changed: its own description, or any of its entities (a retirement too)."""
    entities = dict(
        session.execute(
            select(Entity.information_system_id, func.max(Entity.modified_at))
            .where(Entity.information_system_id.in_([s.id for s in systems]))
            .group_by(Entity.information_system_id)
        ).all()
    )
    return {s.id: _latest(s.updated_at, entities.get(s.id)) or s.created_at for s in systems}


def _described(session: Session, rows: list[InformationSystem]) -> list[PublishedSystem]:
    ids = [row.id for row in rows]
    types = entity_types_of(session, ids)
    spans = history_spans(session, ids)
    changed = last_changes(session, rows)
    publishers = publishers_of(session, rows)
    return [
        PublishedSystem(
            id=row.id, city_id=row.city_id, slug=row.slug, name=row.name, description=row.description or "",
            category=row.category_id, category_name=CATEGORIES.get(row.category_id, (row.category_id,))[0],
            status=row.status, access_policy=row.access_policy, licence=row.licence or "", provider=row.provider or "",
            documentation_url=row.documentation_url, entity_types=types.get(row.id, []), publisher=publishers[row.id],
            opened_at=row.opened_at,
            history_start=spans.get(row.id, (None, None))[0], history_end=spans.get(row.id, (None, None))[1],
            last_change=changed[row.id],
        )  # fmt: skip
        for row in rows
    ]
