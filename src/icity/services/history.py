"""Entities' history read back: observations in a time window (all, or the last N of each
attribute, a page at a time) and aggregations per period, computed in SQL on SQLite and PostgreSQL.

Callers pass the ids of entities the caller may read: services.entities.match_entities selects
them (and applies services.access), so history is never read past the access rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Text, case, cast, distinct, func, select
from sqlalchemy.orm import Session

from icity.db.models import Observation
from icity.db.types import period_start

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MEASURES = ("count", "distinct", "sum", "avg", "min", "max", "stddev", "sumsq")


@dataclass(frozen=True)
class TimeWindow:
    """Observation times from `start` (included) to `end` (excluded); None: unbounded."""

    start: datetime | None = None
    end: datetime | None = None
    attributes: tuple[str, ...] = ()  # none: every attribute

    def conditions(self, entity_ids: list[str]) -> list[Any]:
        where = [Observation.entity_id.in_(entity_ids)]
        if self.attributes:
            where.append(Observation.attribute.in_(self.attributes))
        if self.start is not None:
            where.append(Observation.observed_at >= self.start)
        if self.end is not None:
            where.append(Observation.observed_at < self.end)
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
    order = Observation.observed_at.desc() if backwards else Observation.observed_at.asc()
    rank = func.row_number().over(partition_by=(Observation.entity_id, Observation.attribute), order_by=order)
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
    columns = [Observation.entity_id, Observation.attribute]
    if period.whole:
        bucket = None
        columns += [func.min(Observation.observed_at).label("first"), func.max(Observation.observed_at).label("last")]
    else:
        bucket = _bucket(period, window.start).label("bucket")
        columns.append(bucket)
    number = Observation.value_number
    wanted = set(measures)
    if "stddev" in wanted:
        wanted |= {"numbers", "sum", "sumsq"}
    sql = {
        "count": func.count(),
        "numbers": func.count(number),
        # a number's `value` holds JSON null: text values are counted apart from numbers
        "distinct": func.count(distinct(number))
        + func.count(distinct(case((number.is_(None), cast(Observation.value, Text))))),
        "sum": func.sum(number),
        "avg": func.avg(number),
        "min": func.min(number),
        "max": func.max(number),
        "sumsq": func.sum(number * number),
    }
    columns += [sql[name].label(name) for name in sql if name in wanted]
    group = [Observation.entity_id, Observation.attribute] + ([bucket] if bucket is not None else [])
    statement = select(*columns).where(*window.conditions(entity_ids)).group_by(*group).order_by(*group)
    found: dict[str, dict[str, list[Bucket]]] = {}
    for row in session.connection().execute(statement):
        if bucket is None:
            start, end = window.start or row.first, window.end or row.last
        else:
            start, end = _period_bounds(row.bucket, period)
        values = {name: _measure(row, name) for name in measures}
        found.setdefault(row.entity_id, {}).setdefault(row.attribute, []).append(Bucket(start, end, values))
    return found


def _bucket(period: Period, start: datetime | None) -> Any:
    if period.months:
        origin = start.year * 12 + start.month - 1 if start else 0
        return period_start(Observation.observed_at, months=period.months, origin=origin)
    origin = math.floor((start - EPOCH).total_seconds()) if start else 0
    return period_start(Observation.observed_at, seconds=period.seconds, origin=origin)


def _period_bounds(bucket: int, period: Period) -> tuple[datetime, datetime]:
    if period.months:
        return _month(bucket), _month(bucket + period.months)
    start = EPOCH + timedelta(seconds=bucket)
    return start, start + timedelta(seconds=period.seconds)


def _month(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)


def _measure(row: Any, name: str) -> Any:
    if name == "stddev":
        # the sample standard deviation (PostgreSQL's stddev), from sums both databases compute
        n, total, squares = row.numbers, row.sum, row.sumsq
        if not n:
            return None
        if n == 1:
            return 0.0
        return math.sqrt(max(0.0, (squares - total * total / n) / (n - 1)))
    return getattr(row, name)
