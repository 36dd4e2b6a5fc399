"""Reading harmonised entities: filtered lists, single entities, aggregated history."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Float, Select, bindparam, func, literal, not_, null, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from icity.datamodels import get_registry
from icity.datamodels.registry import closest
from icity.db.models import City, Entity, InformationSystem, Observation
from icity.db.types import bucket_start, json_value
from icity.errors import bad_parameter, not_found
from icity.services.access import Principal, readable_systems
from icity.services.filters import METRES_PER_DEGREE, BBox, Condition, Near
from icity.services.pagination import Page, SortKey, keyset_page, parse_datetime

# Entities that never observed anything sort as if observed at the epoch.
NEVER = datetime(1970, 1, 1, tzinfo=timezone.utc)
ENTITY_COLUMNS = (
    Entity.id,
    Entity.type,
    Entity.city_id,
    Entity.information_system_id,
    Entity.location,
    Entity.attributes,
    Entity.observed_at,
    Entity.modified_at,
)
SORTS = ("id", "-id", "observedAt", "-observedAt", "modifiedAt", "-modifiedAt", "distance")
AGGREGATES = ("avg", "min", "max", "sum", "count")


@dataclass(frozen=True)
class EntityQuery:
    type: str | None = None
    city: str | None = None
    information_system: str | None = None
    category: str | None = None
    bbox: BBox | None = None
    near: Near | None = None
    conditions: tuple[Condition, ...] = ()
    observed_from: datetime | None = None
    observed_to: datetime | None = None
    sort: str = "id"
    limit: int = 20
    cursor: str | None = None
    count: bool = False


def entity_body(
    entity_id: str,
    entity_type: str,
    city_id: str,
    system_id: str,
    attributes: dict[str, Any],
    location: dict[str, Any] | None,
    observed_at: datetime | None,
    modified_at: datetime,
) -> dict[str, Any]:
    """The NGSI-LD keyValues-like shape every API, page and notification shows, from an entity's fields."""
    body: dict[str, Any] = {"id": entity_id, "type": entity_type, "city": city_id, "informationSystem": system_id}
    body.update(attributes)
    body["location"] = location
    body["observedAt"] = observed_at.isoformat() if observed_at else None
    body["modifiedAt"] = modified_at.isoformat()
    return body


def entity_dict(row: Any, distance: float | None = None) -> dict[str, Any]:
    """An entity row as entity_body shapes it, with its distance for a `near` query."""
    body = entity_body(
        row.id, row.type, row.city_id, row.information_system_id, row.attributes, row.location, row.observed_at,
        row.modified_at,
    )  # fmt: skip
    if distance is not None:
        body["distance"] = round(distance, 1)
    return body


def _readable_systems(principal: Principal, query: EntityQuery) -> Select[Any]:
    """Subquery of the systems this query may read from (one round trip with the entities)."""
    statement = select(InformationSystem.id).where(readable_systems(principal))
    if query.city is not None:
        statement = statement.where(InformationSystem.city_id == query.city)
    if query.information_system is not None:
        statement = statement.where(InformationSystem.id == query.information_system)
    if query.category is not None:
        statement = statement.where(InformationSystem.category_id == query.category)
    return statement


def _condition(condition: Condition) -> ColumnElement[bool]:
    value = json_value(Entity.attributes, condition.attribute, condition.kind)
    if condition.op == "==":
        return value.in_(condition.values) if len(condition.values) > 1 else value == condition.values[0]
    if condition.op == "!=":
        # absent or of another type also counts as "not equal"
        return or_(value.is_(None), not_(value.in_(condition.values)))
    operators = {">": value > condition.values[0], ">=": value >= condition.values[0],
                 "<": value < condition.values[0], "<=": value <= condition.values[0]}
    return operators[condition.op]


def _squared_distance(near: Near) -> ColumnElement[float]:
    """Equirectangular distance² in m² from the query point: exact to well under 0.1 %
    within the 100 km radius we accept, and plain arithmetic on both databases."""
    dx = (Entity.lon - near.lon) * near.lon_scale
    dy = (Entity.lat - near.lat) * METRES_PER_DEGREE
    return dx * dx + dy * dy


def _sort_keys(query: EntityQuery, squared_distance: ColumnElement[float] | None) -> list[SortKey]:
    name, descending = query.sort.lstrip("-"), query.sort.startswith("-")
    if name == "id":
        return [SortKey(Entity.id, descending)]
    if name == "distance":
        if squared_distance is None:
            raise bad_parameter("sort", "sort=distance needs near=lat,lon,radius")
        return [SortKey(squared_distance, False, float), SortKey(Entity.id)]
    column = Entity.observed_at if name == "observedAt" else Entity.modified_at
    return [SortKey(func.coalesce(column, literal(NEVER, column.type)), descending, parse_datetime), SortKey(Entity.id)]


def _filtered(query: EntityQuery, systems: Select[Any]) -> tuple[Select[Any], ColumnElement[float] | None]:
    statement = select(*ENTITY_COLUMNS).where(Entity.information_system_id.in_(systems), Entity.retired_at.is_(None))
    if query.type is not None:
        statement = statement.where(Entity.type == query.type)
    if query.city is not None:
        statement = statement.where(Entity.city_id == query.city)
    if query.bbox is not None:
        b = query.bbox
        statement = statement.where(Entity.lon.between(b.min_lon, b.max_lon), Entity.lat.between(b.min_lat, b.max_lat))
    squared_distance = None
    if query.near is not None:
        n = query.near
        squared_distance = _squared_distance(n)
        statement = statement.where(
            Entity.lat.between(n.lat - n.degrees_lat, n.lat + n.degrees_lat),
            Entity.lon.between(n.lon - n.degrees_lon, n.lon + n.degrees_lon),
            squared_distance <= n.radius_m * n.radius_m,
        )
    if query.observed_from is not None:
        statement = statement.where(Entity.observed_at >= query.observed_from)
    if query.observed_to is not None:
        statement = statement.where(Entity.observed_at < query.observed_to)
    for condition in query.conditions:
        statement = statement.where(_condition(condition))
    return statement, squared_distance


def query_entities(session: Session, principal: Principal, query: EntityQuery) -> Page[dict[str, Any]]:
    if query.sort not in SORTS:
        raise bad_parameter("sort", f"sort must be one of {', '.join(SORTS)}")
    _refuse_unknown_names(session, query)
    systems = _readable_systems(principal, query)
    statement, squared_distance = _filtered(query, systems)
    keys = _sort_keys(query, squared_distance)
    if squared_distance is not None:
        statement = statement.add_columns(squared_distance.label("squared_distance"))
    statement = statement.add_columns(*(k.expression for k in keys))
    rows, next_cursor = keyset_page(
        statement, keys, query.sort, query.limit, query.cursor, lambda s: session.connection().execute(s).all()
    )
    items = [entity_dict(r, r.squared_distance ** 0.5 if squared_distance is not None else None) for r in rows]
    page = Page(items, next_cursor)
    if query.count:
        counted = select(func.count()).select_from(_filtered(query, systems)[0].subquery())
        page.total = session.scalar(counted)
    return page


def _refuse_unknown_names(session: Session, query: EntityQuery) -> None:
    """A misspelt type or an unknown city is an error, not an empty list that looks like no data."""
    if query.type is not None and query.type not in get_registry():
        hint = closest(query.type, get_registry().names())
        suggestion = f" Did you mean '{hint}'?" if hint else ""
        raise bad_parameter("type", f"'{query.type}' is not a Smart Data Models entity type.{suggestion}")
    if query.city is not None and session.connection().execute(_CITY_EXISTS, {"city": query.city}).first() is None:
        raise not_found("city", query.city, param="city")


# Built once, run on the session's connection: the ORM's Session.get cost 7% of a query (a)
# (bench/query.py's profile) to learn only whether the city exists.
_CITY_EXISTS = select(City.id).where(City.id == bindparam("city"))


def _readable_entity(session: Session, principal: Principal, entity_id: str) -> Any:
    row = session.connection().execute(
        select(*ENTITY_COLUMNS)
        .join(InformationSystem, InformationSystem.id == Entity.information_system_id)
        .where(Entity.id == entity_id, Entity.retired_at.is_(None), readable_systems(principal))
    ).first()
    if row is None:
        raise not_found("entity", entity_id)
    return row


def get_entity(session: Session, principal: Principal, entity_id: str) -> dict[str, Any]:
    return entity_dict(_readable_entity(session, principal, entity_id))


def readable_history(
    session: Session, principal: Principal, entity_id: str, attribute: str | None, start: datetime | None, end: datetime | None
) -> Any:
    """The entity row whose history `principal` asks for, once the attribute and the time range are checked."""
    entity = _readable_entity(session, principal, entity_id)
    model = get_registry().get(entity.type)
    if attribute is not None and model is not None and attribute not in model.attributes:
        hint = closest(attribute, sorted(model.attributes))
        suggestion = f" Did you mean '{hint}'?" if hint else ""
        raise bad_parameter("attribute", f"'{attribute}' is not an attribute of {entity.type}.{suggestion}")
    if start and end and start >= end:
        raise bad_parameter("from", "from must be before to")
    return entity


def entity_history(
    session: Session,
    principal: Principal,
    entity_id: str,
    *,
    attribute: str | None,
    start: datetime | None,
    end: datetime | None,
    aggregate: str | None,
    interval_s: int | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """Raw values of the time-varying attributes, or one attribute aggregated per interval."""
    entity = readable_history(session, principal, entity_id, attribute, start, end)
    window = [Observation.entity_id == entity_id]
    if attribute is not None:
        window.append(Observation.attribute == attribute)
    if start is not None:
        window.append(Observation.observed_at >= start)
    if end is not None:
        window.append(Observation.observed_at < end)
    body: dict[str, Any] = {
        "id": entity_id,
        "type": entity.type,
        "informationSystem": entity.information_system_id,
        "attribute": attribute,
    }
    if aggregate is None:
        keys = [SortKey(Observation.observed_at, False, parse_datetime), SortKey(Observation.attribute)]
        statement = select(Observation.attribute, Observation.observed_at, Observation.value_number, Observation.value)
        rows, next_cursor = keyset_page(
            statement.where(*window).add_columns(*(k.expression for k in keys)),
            keys, "observedAt", limit, cursor, lambda s: session.connection().execute(s).all(),
        )
        body["values"] = [
            {"attribute": r.attribute, "observedAt": r.observed_at.isoformat(),
             "value": r.value_number if r.value is None else r.value}
            for r in rows
        ]
        body["nextCursor"] = next_cursor
        return body
    _check_aggregation(entity.type, attribute, aggregate, interval_s)
    bucket = bucket_start(Observation.observed_at, interval_s).label("bucket")
    measure = func.count() if aggregate == "count" else getattr(func, aggregate)(Observation.value_number)
    rows = session.connection().execute(
        select(bucket, measure.label("value"), func.count().label("n")).where(*window).group_by(bucket).order_by(bucket)
    ).all()
    body.update(aggregate=aggregate, interval=interval_s)
    body["buckets"] = [{"start": utc_iso(start), "value": value, "count": n} for start, value, n in rows]
    return body


def utc_iso(seconds: int | float) -> str:
    """datetime.fromtimestamp(seconds, timezone.utc).isoformat(), several times faster for the whole
    seconds every bucket starts at (168 of them in a week of hourly averages)."""
    if isinstance(seconds, int) or (isinstance(seconds, float) and seconds.is_integer()):
        return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(seconds))
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat()


def _check_aggregation(entity_type: str, attribute: str | None, aggregate: str, interval_s: int | None) -> None:
    if aggregate not in AGGREGATES:
        raise bad_parameter("aggregate", f"aggregate must be one of {', '.join(AGGREGATES)}")
    if attribute is None:
        raise bad_parameter("attribute", "name the attribute to aggregate, e.g. attribute=no2")
    if interval_s is None:
        raise bad_parameter("interval", "aggregation needs an interval, e.g. interval=1h")
    model = get_registry().get(entity_type)
    spec = model.attributes.get(attribute) if model else None
    if aggregate != "count" and spec is not None and not spec.numeric:
        raise bad_parameter("aggregate", f"{attribute} is not numeric: only aggregate=count applies to it")


# ---- matching entities one by one (the NGSI-LD door's queries) -----------------------------------

MATCH_COLUMNS = (Entity.id, Entity.type, Entity.city_id, Entity.information_system_id, Entity.location,
                 Entity.attributes, Entity.details)  # fmt: skip
# times cost a conversion each per row: read only when asked for (system attributes, q on observedAt)
TIME_COLUMNS = (Entity.observed_at, Entity.modified_at, Entity.created_at)
NO_TIMES = tuple(null().label(column.key) for column in TIME_COLUMNS)
MATCH_CHUNK = 500  # candidates read at a time when a filter runs in Python


@dataclass(frozen=True)
class EntityMatch:
    """Which entities a query selects, in stored names; all given filters must hold. Filters SQL
    cannot decide (a regular expression on ids, an expression on attribute values, an exact
    geometry test) run in Python on candidates the SQL narrowed down (services/matching.py,
    services/geo_match.py)."""

    ids: tuple[str, ...] = ()
    id_pattern: Any = None  # a compiled regular expression the whole id must match
    types: tuple[str, ...] = ()
    city: str | None = None
    information_system: str | None = None
    attributes_any: tuple[str, ...] = ()  # has at least one of them
    expression: Any = None  # services.matching.Expression
    geo: Any = None  # services.geo_match.GeoFilter
    geo_attribute: str = "location"
    offset: int = 0
    limit: int = 20
    count: bool = False
    with_times: bool = False  # rows carry observed_at, modified_at and created_at (else None)
    nothing: bool = False  # the filters contradict each other (e.g. two types required at once): no entity


@dataclass
class Matched:
    rows: list[Any]
    total: int | None = None


def match_entities(session: Session, principal: Principal, match: EntityMatch) -> Matched:
    """The entities `match` selects that `principal` may read, ordered by id, from `offset`, at most `limit`."""
    if match.nothing:
        return Matched([], 0 if match.count else None)
    box = match.geo.prefilter_box() if match.geo is not None and match.geo_attribute == "location" else None
    statement = _matching_statement(principal, _Shape.of(match, box is not None))
    params: dict[str, Any] = {"ids": list(match.ids), "types": list(match.types), "city": match.city,
                              "system": match.information_system, "after": ""}  # fmt: skip
    if box is not None:
        params.update(min_lon=box[0], min_lat=box[1], max_lon=box[2], max_lat=box[3])
    checks = _python_checks(match)
    connection = session.connection()
    if not checks:
        page = statement.offset(match.offset).limit(match.limit)
        rows = connection.execute(page, params).all()
        total = None
        if match.count:
            counted = select(func.count()).select_from(statement.with_only_columns(Entity.id).subquery())
            total = connection.execute(counted, params).scalar()
        return Matched(rows, total)
    rows, seen = [], 0
    wanted_end = match.offset + match.limit
    chunked = statement.where(Entity.id > bindparam("after")).limit(MATCH_CHUNK)
    while True:
        chunk = connection.execute(chunked, params).all()
        for row in chunk:
            if all(check(row) for check in checks):
                if match.offset <= seen < wanted_end:
                    rows.append(row)
                seen += 1
        if len(chunk) < MATCH_CHUNK or (seen >= wanted_end and not match.count):
            break
        params["after"] = chunk[-1].id
    return Matched(rows, seen if match.count else None)


@dataclass(frozen=True)
class _Shape:
    """What a match's SQL depends on beyond its parameter values: one statement is built per shape."""

    ids: bool
    types: bool
    city: bool
    system: bool
    located: bool  # the geo-query is on `location`
    box: bool
    times: bool

    @classmethod
    def of(cls, match: EntityMatch, box: bool) -> _Shape:
        located = match.geo is not None and match.geo_attribute == "location"
        times = match.with_times or match.expression is not None
        return cls(bool(match.ids), bool(match.types), match.city is not None, match.information_system is not None,
                   located, box, times)  # fmt: skip


# the widest stored location, as a subquery the database evaluates once per statement (one index probe)
_WIDEST = select(func.coalesce(func.max(Entity.extent), 0.0)).scalar_subquery()


@lru_cache(maxsize=2048)
def _matching_statement(principal: Principal, shape: _Shape) -> Select[Any]:
    """The statement of a match of this shape, its values bound by name (built once: building it cost
    more than running it)."""
    systems = select(InformationSystem.id).where(readable_systems(principal))
    if shape.city:
        systems = systems.where(InformationSystem.city_id == bindparam("city"))
    if shape.system:
        systems = systems.where(InformationSystem.id == bindparam("system"))
    times = TIME_COLUMNS if shape.times else NO_TIMES
    statement = select(*MATCH_COLUMNS, *times).where(Entity.information_system_id.in_(systems), Entity.retired_at.is_(None))
    if shape.ids:
        statement = statement.where(Entity.id.in_(bindparam("ids", expanding=True)))
    if shape.types:
        statement = statement.where(Entity.type.in_(bindparam("types", expanding=True)))
    if shape.city:
        statement = statement.where(Entity.city_id == bindparam("city"))
    if shape.located:
        statement = statement.where(Entity.location.is_not(None))
    if shape.box:
        min_lon, min_lat = bindparam("min_lon", type_=Float), bindparam("min_lat", type_=Float)
        max_lon, max_lat = bindparam("max_lon", type_=Float), bindparam("max_lat", type_=Float)
        extent = func.coalesce(Entity.extent, 0.0)
        statement = statement.where(
            # the box widened by the widest location, on the indexed columns; then each location's own
            Entity.lat.between(min_lat - _WIDEST, max_lat + _WIDEST), Entity.lon.between(min_lon - _WIDEST, max_lon + _WIDEST),
            Entity.lon + extent >= min_lon, Entity.lon - extent <= max_lon,
            Entity.lat + extent >= min_lat, Entity.lat - extent <= max_lat,
        )  # fmt: skip
    return statement.order_by(Entity.id)


def _python_checks(match: EntityMatch) -> list[Any]:
    checks = []
    if match.id_pattern is not None:
        pattern = match.id_pattern
        checks.append(lambda row: pattern.fullmatch(row.id) is not None)
    if match.attributes_any:
        names = match.attributes_any
        checks.append(lambda row: any(name in row.attributes or (name == "location" and row.location) for name in names))
    if match.expression is not None:
        from icity.services.matching import holds

        expression = match.expression
        checks.append(lambda row: holds(expression, lambda path: resolve_path(row, path)))
    if match.geo is not None:
        geo, name = match.geo, match.geo_attribute
        checks.append(lambda row: geo.matches(row.location if name == "location" else _geometry_of(row, name)))
    return checks


def _geometry_of(row: Any, name: str) -> dict[str, Any] | None:
    value = row.attributes.get(name)
    return value if isinstance(value, dict) and "coordinates" in value else None


def resolve_path(row: Any, path: Any) -> Any:
    """The value at `path` (services.matching.Path) of a stored entity row, or MISSING: an attribute's
    value, a sub-attribute's (its details) or its own observedAt/unitCode, then keys into the value."""
    from icity.services.matching import MISSING

    name = path.attribute
    if name == "location":
        value = row.location if row.location is not None else MISSING
    elif name in row.attributes:
        value = row.attributes[name]
    else:
        return MISSING
    detail = (row.details or {}).get(name) or {}
    for sub in path.subs:
        if sub == "observedAt" and "observedAt" not in detail and row.observed_at is not None:
            value = row.observed_at.isoformat()
            detail = {}
            continue
        if sub not in detail:
            return MISSING
        item = detail[sub]
        if isinstance(item, dict) and "type" in item:
            detail = item
            value = item.get("object") if item.get("type") == "Relationship" else item.get("value", MISSING)
        else:
            detail, value = {}, item
    for key in path.keys:
        if isinstance(value, dict) and key in value:
            value = value[key]
        else:
            return MISSING
    return value


@dataclass
class TypeSummary:
    """What the readable entities of one type hold: how many, and each attribute's kinds."""

    type: str
    count: int = 0
    attributes: dict[str, set[str]] = field(default_factory=dict)  # name → NGSI kinds seen (details' type)


def type_summaries(
    session: Session, principal: Principal, *, city: str | None = None, information_system: str | None = None,
    default_kind: Any = None,
) -> dict[str, TypeSummary]:  # fmt: skip
    """Every entity type `principal` can read, with its attributes; `default_kind(type, name)` names
    the kind of an attribute whose details do not."""
    match = EntityMatch(city=city, information_system=information_system)
    statement = _matching_statement(principal, _Shape.of(match, False))
    statement = statement.with_only_columns(Entity.type, Entity.attributes, Entity.details, Entity.location).order_by(None)
    summaries: dict[str, TypeSummary] = {}
    for row in session.connection().execute(statement, {"city": city, "system": information_system}):
        summary = summaries.setdefault(row.type, TypeSummary(row.type))
        summary.count += 1
        details = row.details or {}
        names = list(row.attributes) + (["location"] if row.location is not None else [])
        for name in names:
            kind = (details.get(name) or {}).get("type") or (
                "GeoProperty" if name == "location" else default_kind(row.type, name) if default_kind else "Property"
            )
            summary.attributes.setdefault(name, set()).add(kind)
    return summaries
