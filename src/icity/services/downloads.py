"""Whole downloads: an information system's current entities, and one attribute's history over a
time range. Access is decided once, before the first byte; the rows are then read in keyset
chunks, each in a short session of its own, so memory stays flat whatever the size and no
connection or read snapshot is held while a slow client takes its time.

A download is as consistent as following the API's pages: an entity changed while it streams
appears as it is when its chunk is read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.engine import new_session
from icity.db.models import Entity, Observation
from icity.db.types import json_keys
from icity.services import catalogue, entities
from icity.services.access import Principal

CHUNK = 1000  # rows read at a time: about 1 MB of entities, a few ms of SQL each


@dataclass(frozen=True)
class EntityDownload:
    system_id: str
    attributes: tuple[str, ...]  # the attributes its current entities hold, sorted by name


def entity_download(session: Session, principal: Principal, system_id: str) -> EntityDownload:
    """What a download of the IS's entities holds, if `principal` may read its data: 404 for an IS
    it cannot discover, 401/403 saying why for a listed one it may not read (as its devices)."""
    catalogue.get_readable_system(session, principal, system_id)
    keys = json_keys(Entity.attributes, session.connection().dialect.name)
    names = session.scalars(select(keys.c.key).select_from(Entity).distinct().where(*_current(system_id)))
    return EntityDownload(system_id, tuple(sorted(names)))


def _current(system_id: str) -> tuple[Any, ...]:
    return Entity.information_system_id == system_id, Entity.retired_at.is_(None)


# what a table of entities shows: the representative point of a location rather than its geometry
TABLE_COLUMNS = (Entity.id, Entity.type, Entity.observed_at, Entity.lat, Entity.lon, Entity.attributes)


def entity_chunks(
    database_url: str, system_id: str, columns: tuple[Any, ...] = entities.ENTITY_COLUMNS, size: int = CHUNK
) -> Iterator[list[Any]]:
    """The IS's current entities in id order, `size` rows at a time: rows of services.entities'
    ENTITY_COLUMNS (entities.entity_dict shapes them as the API does), or of other `columns`."""
    statement = select(*columns).where(*_current(system_id)).order_by(Entity.id).limit(size)
    after: str | None = None
    while True:
        page = statement if after is None else statement.where(Entity.id > after)
        with new_session(database_url) as session:
            rows = session.connection().execute(page).all()
        if rows:
            yield rows
        if len(rows) < size:
            return
        after = rows[-1].id


@dataclass(frozen=True)
class HistoryDownload:
    entity_id: str
    information_system_id: str
    attribute: str
    unit_code: str | None  # the attribute's NGSI-LD unitCode, when the entity gives one
    start: datetime | None
    end: datetime | None


def history_download(
    session: Session, principal: Principal, entity_id: str, attribute: str, start: datetime | None, end: datetime | None
) -> HistoryDownload:
    """What a download of one attribute's history holds, checked as the history API checks it."""
    entity = entities.readable_history(session, principal, entity_id, attribute, start, end)
    details = session.scalar(select(Entity.details).where(Entity.id == entity_id)) or {}
    unit_code = (details.get(attribute) or {}).get("unitCode")
    return HistoryDownload(entity_id, entity.information_system_id, attribute, unit_code, start, end)


def history_chunks(database_url: str, download: HistoryDownload, size: int = CHUNK) -> Iterator[list[tuple[datetime, Any]]]:
    """(observedAt, value) of the attribute in the range, in time order, `size` at a time."""
    window = [Observation.entity_id == download.entity_id, Observation.attribute == download.attribute]
    if download.end is not None:
        window.append(Observation.observed_at < download.end)
    statement = select(Observation.observed_at, Observation.value_number, Observation.value).order_by(Observation.observed_at).limit(size)
    after = None
    while True:
        if after is not None:
            bound = Observation.observed_at > after
        elif download.start is not None:
            bound = Observation.observed_at >= download.start
        else:
            bound = Observation.observed_at.is_not(None)
        with new_session(database_url) as session:
            rows = session.connection().execute(statement.where(*window, bound)).all()
        if rows:
            yield [(r.observed_at, r.value_number if r.value is None else r.value) for r in rows]
        if len(rows) < size:
            return
        after = rows[-1].observed_at
