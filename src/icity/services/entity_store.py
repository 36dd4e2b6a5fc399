"""Writing harmonised entities and their history (validated against Smart Data Models).

Connectors and the push API both come through `upsert_entities`, so every
entity in the store has a known type, known attribute names and types, a
valid location and a URN of the form urn:ngsi-ld:<Type>:<city>:<local-id>.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.datamodels import get_registry
from icity.datamodels.identifiers import entity_urn  # noqa: F401 - callers make ids through this module too
from icity.datamodels.registry import CORE_KEYS, OPEN, SMART_DATA_MODELS, unusable_value
from icity.db.bulk import insert_many, update_many, upsert_many
from icity.db.models import Entity, InformationSystemEntityType, Observation, utcnow
from icity.errors import FieldProblem, ICityError, conflict, invalid
from icity.services import changes
from icity.services.catalogue import get_system_row
from icity.services.entities import entity_body
from icity.services.filters import parse_time

ABSOLUTE_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
MAX_ID_LENGTH, MAX_TYPE_LENGTH = 300, 100  # the entities table's columns

GEOMETRY_TYPES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"}


def _positions(coordinates: Any) -> Iterable[list[float]]:
    if isinstance(coordinates, list) and coordinates and isinstance(coordinates[0], (int, float)):
        yield coordinates
    elif isinstance(coordinates, list):
        for item in coordinates:
            yield from _positions(item)


def representative_point(geometry: dict[str, Any], path: str) -> tuple[tuple[float, float] | None, list[FieldProblem]]:
    """(lon, lat) of a GeoJSON geometry — the point itself, or its bounding box centre."""
    if not isinstance(geometry, dict) or geometry.get("type") not in GEOMETRY_TYPES:
        return None, [FieldProblem(f"{path}.type", f"location must be a GeoJSON geometry: {', '.join(sorted(GEOMETRY_TYPES))}")]
    coordinates = geometry.get("coordinates")
    if geometry["type"] == "Point" and type(coordinates) is list and len(coordinates) in (2, 3):
        points = [coordinates] if all(isinstance(c, (int, float)) for c in coordinates) else list(_positions(coordinates))
    else:
        points = list(_positions(coordinates))
    valid = points and all(
        len(p) in (2, 3)
        and all(isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c) for c in p)
        and -180 <= p[0] <= 180
        and -90 <= p[1] <= 90
        for p in points
    )
    if not valid:
        return None, [FieldProblem(f"{path}.coordinates", "coordinates must be [lon, lat] positions in WGS84 degrees")]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return ((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2), []


def half_extent(geometry: dict[str, Any]) -> float:
    """Half the larger side of a valid geometry's bounding box, in degrees (0 for a point): with the
    representative point, a box every point of the geometry lies in, for geo-queries to prefilter on."""
    if geometry["type"] == "Point":
        return 0.0
    points = list(_positions(geometry["coordinates"]))
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return max(max(lons) - min(lons), max(lats) - min(lats)) / 2


@dataclass(frozen=True, slots=True)
class ObservationWindow:
    """The observation times a push or a harvest accepts: from ICITY_OBSERVED_SINCE (1970 by
    default: older times are typing errors or unset clocks, and time buckets count from 1970)
    to ICITY_OBSERVED_AHEAD_MIN minutes ahead of the platform's clock (devices' clock skew)."""

    earliest: datetime
    ahead_min: int
    latest: datetime

    def problem_with(self, observed_at: datetime) -> str | None:
        if observed_at < self.earliest:
            return f"is before {self.earliest.isoformat()}, the earliest observation time accepted"
        if observed_at > self.latest:
            return f"is more than {self.ahead_min} min in the future: check the device's clock"
        return None


def observation_window() -> ObservationWindow:
    settings = get_settings()
    ahead = settings.observed_ahead_min
    return ObservationWindow(_earliest(settings.observed_since), ahead, utcnow() + timedelta(minutes=ahead))


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=4)
def _earliest(text: str) -> datetime:
    # never before 1970: time buckets and SQLite's stored times count from it
    return max(parse_time("ICITY_OBSERVED_SINCE", text), EPOCH)


def _check_entity(
    payload: dict[str, Any],
    index: int,
    city_id: str,
    served_types: set[str],
    window: ObservationWindow | None = None,
    validation: str = SMART_DATA_MODELS,
    derive_times: bool = True,
) -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    prefix = f"[{index}]."
    problems: list[FieldProblem] = []
    entity_type = payload.get("type")
    entity_id = payload.get("id")
    if validation == OPEN:
        model = None
        if not isinstance(entity_type, str) or not entity_type.strip() or len(entity_type) > MAX_TYPE_LENGTH:
            problems.append(FieldProblem(f"{prefix}type", f"type must be a name of 1 to {MAX_TYPE_LENGTH} characters"))
        if not isinstance(entity_id, str) or not ABSOLUTE_URI.match(entity_id) or len(entity_id) > MAX_ID_LENGTH:
            problems.append(FieldProblem(f"{prefix}id", f"id must be a URI of at most {MAX_ID_LENGTH} characters, e.g. urn:ngsi-ld:<Type>:<local-id>"))
    else:
        model = get_registry().get(entity_type) if isinstance(entity_type, str) else None
        if model is None:
            problems.append(FieldProblem(f"{prefix}type", f"'{entity_type}' is not a Smart Data Model entity type"))
        elif entity_type not in served_types:
            problems.append(
                FieldProblem(f"{prefix}type", f"this information system serves {', '.join(sorted(served_types))}, not {entity_type}")
            )
        expected_prefix = f"urn:ngsi-ld:{entity_type}:{city_id}:"
        if not isinstance(entity_id, str) or not entity_id.startswith(expected_prefix) or entity_id == expected_prefix:
            problems.append(FieldProblem(f"{prefix}id", f"id must be {expected_prefix}<local-id>"))
    point = None
    if payload.get("location") is not None:
        point, location_problems = representative_point(payload["location"], f"{prefix}location")
        problems += location_problems
    observed_at = None
    if payload.get("observedAt") is not None:
        try:
            observed_at = _observed_at(str(payload["observedAt"]))
        except ICityError:
            problems.append(FieldProblem(f"{prefix}observedAt", "observedAt must be an ISO 8601 date-time with a time zone"))
        else:
            outside = (window or observation_window()).problem_with(observed_at)
            if outside:
                problems.append(FieldProblem(f"{prefix}observedAt", outside))
    attributes = {k: v for k, v in payload.items() if k not in CORE_KEYS}
    if model is not None:
        problems += model.validate(attributes, prefix=prefix)
    else:
        problems += [FieldProblem(*found) for name, value in attributes.items() if (found := unusable_value(value, f"{prefix}{name}"))]
    if problems:
        return None, problems
    # the model's own time of observation follows observedAt unless the record gives it; the
    # history keeps observedAt already, so these copies are not written there
    derived = (
        tuple(name for name in model.observation_times if name not in attributes) if observed_at and model and derive_times else ()
    )
    for name in derived:
        attributes[name] = observed_at.isoformat()
    return {
        "derived": derived,
        "id": entity_id,
        "type": entity_type,
        "location": payload.get("location"),
        "point": point,
        "extent": half_extent(payload["location"]) if point else None,
        "observed_at": observed_at,
        "attributes": attributes,
    }, []


@lru_cache(maxsize=4096)  # a batch's entities share a few observation times; failures are not cached
def _observed_at(text: str) -> datetime:
    return parse_time("observedAt", text)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _historised(name: str, value: Any, previous: dict[str, Any] | None) -> bool:
    """Numbers and booleans are measurements: every value is kept. Text (a name, a
    level) is kept when it changes on an entity that already existed."""
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and previous is not None and name in previous and previous[name] != value


def served_types(session: Session, system_id: str) -> set[str]:
    return set(
        session.scalars(
            select(InformationSystemEntityType.entity_type).where(
                InformationSystemEntityType.information_system_id == system_id
            )
        )
    )


def check_entity(
    payload: Any,
    city_id: str,
    served: set[str],
    index: int = 0,
    validation: str = SMART_DATA_MODELS,
    derive_times: bool = True,
) -> tuple[dict[str, Any] | None, list[FieldProblem]]:
    """One entity checked against its data model and its IS: (the entity ready to write, []) or (None, problems).
    With `derive_times`, the model's own observation-time attributes follow observedAt (a push,
    a harvest); without, an entity holds the attributes it was given and no others."""
    if not isinstance(payload, dict):
        return None, [FieldProblem(f"[{index}]", "each entity must be a JSON object")]
    return _check_entity(payload, index, city_id, served, validation=validation, derive_times=derive_times)


def upsert_entities(session: Session, system_id: str, payloads: list[dict[str, Any]]) -> dict[str, int]:
    """Validate every entity first, then create or update them and append history.

    All or nothing: one invalid entity refuses the whole call with every problem's path.
    """
    system = get_system_row(session, system_id)
    served = served_types(session, system_id)
    checked, problems = [], []
    for index, payload in enumerate(payloads):
        entity, entity_problems = check_entity(payload, system.city_id, served, index, system.validation)
        problems += entity_problems
        if entity:
            checked.append(entity)
    if problems:
        raise invalid(problems, detail=f"{len(problems)} problem(s); first: {problems[0].path}: {problems[0].detail}")
    return write_checked(session, system.id, system.city_id, checked)


_ENTITY_FIELDS = ("id", "type", "city_id", "information_system_id", "location", "lon", "lat", "attributes",
                  "observed_at", "modified_at", "retired_at", "created_at", "details", "extent")  # fmt: skip
_CHANGING = ("attributes", "location", "lon", "lat", "extent", "observed_at", "modified_at", "retired_at", "created_at", "details")
_LOCATION = ("location", "lon", "lat", "extent")
_ENTITY_FIELDS_BUT_LOCATION = tuple(name for name in _ENTITY_FIELDS if name not in _LOCATION)
_CHANGING_BUT_LOCATION = tuple(name for name in _CHANGING if name not in _LOCATION)


class _EntityState:
    """An entity's stored (or about to be created) fields, which the update rules read and set.
    Plain objects rather than ORM instances: a harvest compares and writes thousands per batch."""

    __slots__ = _ENTITY_FIELDS + ("changed", "cleared_location", "altered")

    def __init__(self, **fields: Any) -> None:
        for name in _ENTITY_FIELDS:
            setattr(self, name, fields.get(name))
        self.changed: bool | None = False
        self.cleared_location = False
        # the state this write started from, for changes.alterations (worked out only when someone listens)
        self.altered: tuple[Any, ...] | None = None

    def row(self, names: tuple[str, ...] = _ENTITY_FIELDS) -> dict[str, Any]:
        return {name: getattr(self, name) for name in names}


def write_checked(
    session: Session, system_id: str, city_id: str, checked: list[dict[str, Any]], *, replace: bool = False
) -> dict[str, int]:
    """Create or update entities that `check_entity` accepted, and append their history.

    An entity whose values did not change is not written and adds no history, so
    reading an unchanged source twice changes nothing. Entities are read, inserted
    and updated a batch at a time with bulk statements, not through the ORM's unit
    of work: a harvest writes thousands per batch.

    By default the given attributes are merged into the stored ones; `replace` makes them the
    entity's only attributes (a retired entity written again is always new: it starts empty).
    An item may also carry `details` (see Entity.details; a name mapped to None drops its
    details) and `remove` (names of attributes to drop).
    """
    table = Entity.__table__
    stored = session.execute(
        select(*(getattr(Entity, name) for name in _ENTITY_FIELDS)).where(Entity.id.in_([c["id"] for c in checked]))
    )
    existing: dict[str, _EntityState] = {row.id: _EntityState(**row._mapping) for row in stored}
    others = sorted({entity.information_system_id for entity in existing.values()} - {system_id})
    if others:
        # Ids are unique per city and type, not per IS: another system's entities are not this one's to change.
        taken = [entity.id for entity in existing.values() if entity.information_system_id != system_id]
        raise conflict(
            f"{len(taken)} entity id(s) already belong to {', '.join(others)}, e.g. {taken[0]}: "
            f"{system_id} may not change them; give its entities other ids."
        )
    now = utcnow()
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    history: list[dict[str, Any]] = []
    created: list[_EntityState] = []
    for item in checked:
        entity = existing.get(item["id"])
        if entity is not None and entity.retired_at is not None and (replace or "details" in item):
            entity.attributes, entity.details, entity.created_at, entity.location = {}, None, None, None
        previous = dict(entity.attributes) if entity else None
        before = previous if entity is not None and entity.retired_at is None else None  # a retired entity comes back new
        details_before, location_before = (entity.details, entity.location) if entity is not None else (None, None)
        observed_at = item["observed_at"]
        if observed_at:
            entity_id = item["id"]
            history += [
                # observation_row, inlined: a harvest makes hundreds of thousands
                {"entity_id": entity_id, "attribute": name, "observed_at": observed_at, "value_number": float(value), "value": None}
                if isinstance(value, (int, float)) and not isinstance(value, bool)
                else observation_row(entity_id, name, observed_at, value)
                for name, value in item["attributes"].items()
                if name not in item.get("derived", ()) and _historised(name, value, previous)
            ]
        previous = previous or {}
        if entity is None:
            entity = _EntityState(
                id=item["id"], type=item["type"], city_id=city_id, information_system_id=system_id, attributes={}
            )
            entity.changed = None
            created.append(entity)
            existing[item["id"]] = entity
            counts["created"] += 1
        attributes = _next_attributes(previous, item, replace)
        details = _next_details(entity, item, attributes) if (entity.details or "details" in item) else entity.details
        if entity.created_at is None:
            entity.created_at = now
        if entity.changed is None:  # just created
            entity.changed = False
        elif (
            entity.retired_at is None
            and attributes == previous
            and details == entity.details
            and (item["location"] is None or item["location"] == entity.location)
            and (item["observed_at"] is None or item["observed_at"] == entity.observed_at)
        ):
            counts["unchanged"] += 1
            continue
        else:
            counts["updated"] += 1
            entity.changed = True
        entity.attributes = attributes
        entity.details = details
        if replace and item["location"] is None and entity.location is not None:
            entity.location, entity.lon, entity.lat, entity.extent = None, None, None, None
            entity.cleared_location = True
        if item["location"] is not None:
            entity.location = item["location"]
            entity.lon, entity.lat = item["point"]
            entity.extent = item["extent"]
        if item["observed_at"] and (entity.observed_at is None or item["observed_at"] >= entity.observed_at):
            entity.observed_at = item["observed_at"]
        entity.modified_at = now
        entity.retired_at = None
        entity.altered = (before, details_before, location_before)
    new_ids = {entity.id for entity in created}
    updated = [entity for entity in existing.values() if entity.changed and entity.id not in new_ids]
    # Without a location, the location columns are left out (as the ORM did): NULL stays NULL,
    # where the JSON type would write the JSON text 'null'.
    for with_location, names in ((True, _CHANGING), (False, _CHANGING_BUT_LOCATION)):
        rows = [
            entity.row(("id",) + names)
            for entity in updated
            if (entity.location is not None or entity.cleared_location) == with_location
        ]
        if rows:
            # UPDATE … WHERE id = ? for each (one executemany on SQLite, one statement on PostgreSQL)
            update_many(session, Entity, rows)
    for entity in updated:  # an instance this session holds would show the old values
        instance = session.identity_map.get(session.identity_key(Entity, entity.id))
        if instance is not None:
            session.expire(instance)
    for with_location, names in ((True, _ENTITY_FIELDS), (False, _ENTITY_FIELDS_BUT_LOCATION)):
        rows = [entity.row(names) for entity in created if (entity.location is not None) == with_location]
        if rows:
            insert_many(session, table, rows)
    if history:
        add_observations(session, history)
    if (created or updated) and changes.listening(session, system_id, city_id):
        changes.record(session, [_change(entity) for entity in (*created, *updated)])
    return counts


def _next_attributes(previous: dict[str, Any] | None, item: dict[str, Any], replace: bool) -> dict[str, Any]:
    attributes = dict(item["attributes"]) if replace else {**(previous or {}), **item["attributes"]}
    for name in item.get("remove", ()):
        attributes.pop(name, None)
    return attributes


def _next_details(entity: _EntityState, item: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any] | None:
    """The entity's details after this write: those given replace an attribute's; an attribute
    written without details loses its stale observation time (the write has its own)."""
    given = item.get("details") or {}
    details = {name: value for name, value in (entity.details or {}).items() if name in attributes}
    for name in item["attributes"]:
        if name in given:
            continue
        if name in details and "observedAt" in details[name]:
            details[name] = {key: value for key, value in details[name].items() if key != "observedAt"}
    for name, value in given.items():
        if value:
            details[name] = value
        else:
            details.pop(name, None)
    details = {name: value for name, value in details.items() if value}
    return details or None


def _change(entity: _EntityState) -> dict[str, Any]:
    body = entity_body(
        entity.id, entity.type, entity.city_id, entity.information_system_id,
        entity.attributes, entity.location, entity.observed_at, entity.modified_at,
    )  # fmt: skip
    before, details_before, location_before = entity.altered or (None, None, None)
    altered = changes.alterations(
        before, entity.attributes, details_before=details_before, details_after=entity.details,
        location_moved=entity.location != location_before,
    )  # fmt: skip
    return changes.change_row(body, entity.lon, entity.lat, details=entity.details, altered=altered)


def observation_row(entity_id: str, attribute: str, observed_at: datetime, value: Any) -> dict[str, Any]:
    numeric = _is_number(value)
    return {
        "entity_id": entity_id,
        "attribute": attribute,
        "observed_at": observed_at,
        "value_number": float(value) if numeric else None,
        "value": None if numeric else value,
    }


def add_observations(session: Session, rows: list[dict[str, Any]]) -> None:
    """Append history rows (see observation_row). One row per (entity, attribute, time): a
    value sent again for the same time is a correction and replaces the stored one (re-sending
    the same value changes nothing), as the entity's current state takes the later value."""
    now = utcnow()
    for row in rows:
        row["recorded_at"] = now
    upsert_many(session, Observation.__table__, rows)


def correct_observation(session: Session, entity_id: str, attribute: str, observed_at: datetime, value: Any) -> bool:
    """Replace the value of one stored observation (a correction); False if there is none at that time."""
    row = observation_row(entity_id, attribute, observed_at, value)
    done = session.execute(
        update(Observation)
        .where(Observation.entity_id == entity_id, Observation.attribute == attribute, Observation.observed_at == observed_at)
        .values(value_number=row["value_number"], value=row["value"], recorded_at=utcnow())
    )
    return done.rowcount > 0


def delete_history(session: Session, entity_id: str, attribute: str | None = None, observed_at: datetime | None = None) -> int:
    """Delete an entity's observations: all, one attribute's, or one (at `observed_at`); how many went."""
    where = [Observation.entity_id == entity_id]
    if attribute is not None:
        where.append(Observation.attribute == attribute)
    if observed_at is not None:
        where.append(Observation.observed_at == observed_at)
    return session.execute(delete(Observation).where(*where)).rowcount
