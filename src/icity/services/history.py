"""Entities' history read back: observations in a time window (all, or the last N of each
attribute, a page at a time) and aggregations per period, computed in SQL on SQLite and PostgreSQL.

Callers pass the ids of entities the caller may read: services.entities.match_entities selects
them (and applies services.access), so history is never read past the access rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, String, Text, bindparam, case, cast, distinct, func, literal_column, select
from sqlalchemy.orm import Session

from icity.db.models import Observation
from icity.db.types import period_start

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


OBSERVED, RECORDED = "observed_at", "recorded_at"  # which time of an observation a window is on


@dataclass(frozen=True)
class TimeWindow:
    """Times from `start` (included) to `end` (excluded); None: unbounded. `time`: when the values
    were observed (the default), or when the platform stored them."""

    start: datetime | None = None
    end: datetime | None = None
    attributes: tuple[str, ...] = ()  # none: every attribute
    time: str = OBSERVED

    @property
    def column(self) -> Any:
        return getattr(Observation, self.time)

    def conditions(self, entity_ids: list[str]) -> list[Any]:
        where = [Observation.entity_id.in_(entity_ids)]
        if self.attributes:
            where.append(Observation.attribute.in_(self.attributes))
        if self.start is not None:
            where.append(self.column >= self.start)
        if self.end is not None:
            where.append(self.column < self.end)
        if self.time != OBSERVED:
            where.append(self.column.is_not(None))
        return where


@dataclass
class Series:
    """One entity's observations, attribute by attribute, in time order; `complete_from`/`complete_until`
    bound what a cut page holds (None: nothing was cut)."""

    values: dict[str, dict[str, list[tuple[datetime, Any]]]] = field(default_factory=dict)
    complete_from: datetime | None = None
    complete_until: datetime | None = None

    @property
    def cut(self) -> bool:
        return self.complete_from is not None or self.complete_until is not None


def observations(session: Session, entity_ids: list[str], window: TimeWindow, *, last: int | None, cap: int) -> Series:
    """The observations of these entities in `window`: the last `last` of each attribute, or all of
    them; at most `cap` per attribute. A page cut by `cap` holds every observation of one time range
    (from the start when reading forwards, back from the end for the last N), so nothing in it is missing."""
    series = Series()
    if not entity_ids:
        return series
    backwards = last is not None
    keep = min(last, cap) if backwards else cap
    probe = keep + 1 if (not backwards or last > cap) else keep  # one more tells that the cap cut
    order = window.column.desc() if backwards else window.column.asc()
    rank = func.row_number().over(partition_by=(Observation.entity_id, Observation.attribute), order_by=(order, Observation.observed_at))
    ranked = (
        select(Observation.entity_id, Observation.attribute, Observation.observed_at, Observation.value_number,
               Observation.value, rank.label("rank"))  # fmt: skip
        .where(*window.conditions(entity_ids))
        .subquery()
    )
    rows = session.connection().execute(
        select(ranked).where(ranked.c.rank <= probe).order_by(ranked.c.entity_id, ranked.c.attribute, ranked.c.rank)
    )
    cut_at: list[datetime] = []
    for row in rows:
        items = series.values.setdefault(row.entity_id, {}).setdefault(row.attribute, [])
        if row.rank > keep:  # the probe: this attribute has more than a page holds
            cut_at.append(items[-1][0])
        else:
            items.append((row.observed_at, row.value_number if row.value is None else row.value))
    if backwards:
        for attributes in series.values.values():
            for items in attributes.values():
                items.reverse()
    if cut_at:
        _trim(series, backwards, max(cut_at) if backwards else min(cut_at))
    return series


def _trim(series: Series, backwards: bool, at: datetime) -> None:
    for attributes in series.values.values():
        for name, items in attributes.items():
            attributes[name] = [item for item in items if (item[0] >= at if backwards else item[0] <= at)]
    if backwards:
        series.complete_from = at
    else:
        series.complete_until = at


@dataclass(frozen=True)
class Period:
    """How long each aggregation period is: `seconds`, or calendar `months` (UTC); neither: the whole window."""

    seconds: int = 0
    months: int = 0

    @property
    def whole(self) -> bool:
        return not self.seconds and not self.months


@dataclass
class Bucket:
    start: datetime
    end: datetime
    values: dict[str, Any]


def aggregate(
    session: Session, entity_ids: list[str], window: TimeWindow, measures: tuple[str, ...], period: Period
) -> dict[str, dict[str, list[Bucket]]]:
    """entity → attribute → its periods holding observations, each with the `measures` of its values
    (numbers for sum, avg, min, max, stddev and sumsq; any value for count and distinct). Periods
    count from the window's start (else from 1970, or from January for months)."""
    if not entity_ids:
        return {}
    single = len(entity_ids) == 1 and len(window.attributes) == 1
    statement = _aggregate_statement(
        measures, period, bool(window.attributes), window.start is not None, window.end is not None, single, window.time
    )
    params = {"ids": entity_ids, "attributes": list(window.attributes), "start": window.start, "end": window.end,
              "origin": _origin(period, window.start)}  # fmt: skip
    if single:
        params.update(id=entity_ids[0], attribute=window.attributes[0])
    result = session.connection().execute(statement, params)
    column = {key: index for index, key in enumerate(result.keys())}  # rows read by position: 168 a week of hours
    measured = [(name, column.get(name)) for name in measures]
    numbers, total, squares = column.get("numbers"), column.get("sum"), column.get("sumsq")
    found: dict[str, dict[str, list[Bucket]]] = {}
    series: list[Bucket] = []
    current = None
    for row in result:
        if period.whole and row[2] is None:  # one attribute without GROUP BY: a row even when nothing was observed
            continue
        if (row[0], row[1]) != current:
            current = (row[0], row[1])
            series = found.setdefault(row[0], {}).setdefault(row[1], [])
        if period.whole:
            start, end = window.start or row[2], window.end or row[3]
        else:
            start, end = _period_bounds(row[2], period)
        values = {
            name: row[index] if index is not None else _sample_stddev(row[numbers], row[total], row[squares])
            for name, index in measured
        }
        series.append(Bucket(start, end, values))
    return found


@lru_cache(maxsize=256)
def _aggregate_statement(
    measures: tuple[str, ...], period: Period, attributes: bool, start: bool, end: bool, single: bool, time: str = OBSERVED
) -> Select[Any]:
    """The statement of an aggregation of this shape, its values bound by name (built once: building
    it cost more than running it). One attribute of one entity (`single`, the common case) is
    grouped by period alone, which the database does faster."""
    if single:
        columns: list[Any] = [bindparam("id", type_=String).label("entity_id"), bindparam("attribute", type_=String).label("attribute")]
        group: list[Any] = []
    else:
        columns = [Observation.entity_id, Observation.attribute]
        group = [Observation.entity_id, Observation.attribute]
    at = getattr(Observation, time)
    if period.whole:
        columns += [func.min(at).label("first"), func.max(at).label("last")]
    else:
        origin = bindparam("origin", type_=Integer)
        columns.append(period_start(at, seconds=period.seconds, months=period.months, origin=origin).label("bucket"))
        group.append(literal_column("bucket"))  # by its name: one expression, however its parameter is written
    number = Observation.value_number
    wanted = set(measures) | ({"numbers", "sum", "sumsq"} if "stddev" in measures else set())
    sql = {
        "count": func.count(),
        "numbers": func.count(number),
        # a number's `value` holds JSON null: text values are counted apart from numbers
        "distinct": func.count(distinct(number)) + func.count(distinct(case((number.is_(None), cast(Observation.value, Text))))),
        "sum": func.sum(number),
        "avg": func.avg(number),
        "min": func.min(number),
        "max": func.max(number),
        "sumsq": func.sum(number * number),
    }
    columns += [sql[name].label(name) for name in sql if name in wanted]
    if single:
        where = [Observation.entity_id == bindparam("id", type_=String), Observation.attribute == bindparam("attribute", type_=String)]
    else:
        where = [Observation.entity_id.in_(bindparam("ids", expanding=True))]
    if attributes and not single:
        where.append(Observation.attribute.in_(bindparam("attributes", expanding=True)))
    if start:
        where.append(at >= bindparam("start", type_=at.type))
    if end:
        where.append(at < bindparam("end", type_=at.type))
    if time != OBSERVED:
        where.append(at.is_not(None))
    statement = select(*columns).where(*where)
    return statement.group_by(*group).order_by(*group) if group else statement


def _origin(period: Period, start: datetime | None) -> int:
    """Where periods count from, in the period's unit: the window's start, else 1970 (January of year 0 for months)."""
    if period.months:
        return start.year * 12 + start.month - 1 if start else 0
    return math.floor((start - EPOCH).total_seconds()) if start else 0


def _period_bounds(bucket: int, period: Period) -> tuple[datetime, datetime]:
    if period.months:
        return _month(bucket), _month(bucket + period.months)
    start = datetime.fromtimestamp(bucket, timezone.utc)
    return start, start + timedelta(seconds=period.seconds)


def _month(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)


def _sample_stddev(n: int, total: float | None, squares: float | None) -> float | None:
    """The sample standard deviation (PostgreSQL's stddev), from the sums both databases compute."""
    if not n:
        return None
    if n == 1:
        return 0.0
    return math.sqrt(max(0.0, (squares - total * total / n) / (n - 1)))
