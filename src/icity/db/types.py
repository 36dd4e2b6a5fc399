"""Column types and SQL constructs that behave the same on SQLite and PostgreSQL."""

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, DateTime, Float, Integer, String, TypeDecorator, func, literal, literal_column
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's own SQLite storage format


class _SQLiteDateTimeText(sqlite.DATETIME):
    """A DATETIME column whose text UTCDateTime converts itself."""

    def bind_processor(self, dialect):
        return None

    def result_processor(self, dialect, coltype):
        return None


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database (both dialects).

    On SQLite the text is written in SQLAlchemy's format but read back with
    datetime.fromisoformat, several times faster than SQLAlchemy's regex: it
    matters when a page holds hundreds of timestamps.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        return dialect.type_descriptor(_SQLiteDateTimeText() if dialect.name == "sqlite" else DateTime())

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; iCity stores UTC and needs an aware datetime")
        naive = value.astimezone(timezone.utc).replace(tzinfo=None)
        # isoformat, not strftime(SQLITE_DATETIME): the same text, but glibc's %Y writes year 1
        # as "1", which neither sorts as a time nor reads back
        return naive.isoformat(sep=" ", timespec="microseconds") if dialect.name == "sqlite" else naive

    def process_result_value(self, value: datetime | str | None, dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc)


# ---- time buckets --------------------------------------------------------------


class epoch_bucket(FunctionElement[int]):
    """Start (seconds since 1970 UTC) of the `seconds`-long bucket holding a datetime column."""

    type = Integer()
    inherit_cache = True


@compiles(epoch_bucket, "sqlite")
def _bucket_sqlite(element, compiler, **kw) -> str:
    column, seconds = (compiler.process(c, **kw) for c in element.clauses)
    # strftime('%s') is exact whole seconds; integer division floors for dates after 1970
    return f"((CAST(strftime('%s', {column}) AS INTEGER) / {seconds}) * {seconds})"


@compiles(epoch_bucket, "postgresql")
def _bucket_postgresql(element, compiler, **kw) -> str:
    column, seconds = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(floor(EXTRACT(EPOCH FROM {column}) / {seconds}) AS BIGINT) * {seconds})"


def bucket_start(column: ColumnElement, seconds: int) -> epoch_bucket:
    # rendered inline (it is a validated int) so GROUP BY sees one identical expression
    return epoch_bucket(column, literal_column(str(int(seconds)), Integer()))


class offset_bucket(FunctionElement[int]):
    """Start (seconds since 1970 UTC) of the `seconds`-long period holding a datetime column, periods
    counted from `origin` (seconds since 1970, at or before every time bucketed)."""

    type = Integer()
    inherit_cache = True


@compiles(offset_bucket, "sqlite")
def _offset_bucket_sqlite(element, compiler, **kw) -> str:
    column, seconds, origin = (compiler.process(c, **kw) for c in element.clauses)
    return f"((((CAST(strftime('%s', {column}) AS INTEGER) - {origin}) / {seconds}) * {seconds}) + {origin})"


@compiles(offset_bucket, "postgresql")
def _offset_bucket_postgresql(element, compiler, **kw) -> str:
    column, seconds, origin = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CAST(floor((EXTRACT(EPOCH FROM {column}) - {origin}) / {seconds}) AS BIGINT) * {seconds} + {origin})"


class month_bucket(FunctionElement[int]):
    """The first month (months since January of year 0, UTC) of the `months`-long period holding a
    datetime column, periods counted from month `origin` (at or before every time bucketed)."""

    type = Integer()
    inherit_cache = True


@compiles(month_bucket, "sqlite")
def _month_bucket_sqlite(element, compiler, **kw) -> str:
    column, months, origin = (compiler.process(c, **kw) for c in element.clauses)
    month = f"(CAST(strftime('%Y', {column}) AS INTEGER) * 12 + CAST(strftime('%m', {column}) AS INTEGER) - 1)"
    return f"((({month} - {origin}) / {months}) * {months} + {origin})"


@compiles(month_bucket, "postgresql")
def _month_bucket_postgresql(element, compiler, **kw) -> str:
    column, months, origin = (compiler.process(c, **kw) for c in element.clauses)
    month = f"(CAST(EXTRACT(YEAR FROM {column}) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM {column}) AS INTEGER) - 1)"
    return f"((({month} - {origin}) / {months}) * {months} + {origin})"


def period_start(column: ColumnElement, *, seconds: int = 0, months: int = 0, origin: ColumnElement) -> FunctionElement[int]:
    """The period holding each time: `seconds` long (its start in seconds since 1970) or `months`
    long (its first month counted from year 0), counted from `origin` (an integer expression) in
    the same unit. The length is rendered inline (a validated int)."""
    construct, length = (month_bucket, months) if months else (offset_bucket, seconds)
    return construct(column, literal_column(str(int(length)), Integer()), origin)


class epoch_seconds(FunctionElement[float]):
    """Seconds since 1970 UTC of a datetime column, with its fraction: for comparing a stored
    time plus a per-row number of seconds with now, in SQL."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element, compiler, **kw) -> str:
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    # julianday keeps the microseconds that strftime('%s') would drop; 2440587.5 is 1970-01-01
    return f"((julianday({column}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element, compiler, **kw) -> str:
    (column,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM {column})"


# ---- typed reads of one key of a JSON column ------------------------------------
# Each yields NULL when the value at `key` is not of that JSON type, so that a
# comparison never matches across types (SQLite orders text after numbers, and
# PostgreSQL would fail casting text to a number).


class json_number(FunctionElement[float]):
    type = Float()
    inherit_cache = True


class json_string(FunctionElement[str]):
    type = String()
    inherit_cache = True


class json_boolean(FunctionElement[bool]):
    type = Boolean()
    inherit_cache = True


def _sqlite_parts(element, compiler, **kw) -> tuple[str, str]:
    column, key = element.clauses
    path = literal('$."' + key.value + '"', String())
    return compiler.process(column, **kw), compiler.process(path, **kw)


def _postgresql_parts(element, compiler, **kw) -> tuple[str, str]:
    column, key = element.clauses
    return compiler.process(column, **kw), compiler.process(key, **kw)


@compiles(json_number, "sqlite")
def _number_sqlite(element, compiler, **kw) -> str:
    column, path = _sqlite_parts(element, compiler, **kw)
    return (
        f"(CASE WHEN json_type({column}, {path}) IN ('integer', 'real') "
        f"THEN json_extract({column}, {path}) END)"
    )


@compiles(json_number, "postgresql")
def _number_postgresql(element, compiler, **kw) -> str:
    column, key = _postgresql_parts(element, compiler, **kw)
    return (
        f"(CASE WHEN json_typeof({column} -> {key}) = 'number' "
        f"THEN CAST({column} ->> {key} AS DOUBLE PRECISION) END)"
    )


@compiles(json_string, "sqlite")
def _string_sqlite(element, compiler, **kw) -> str:
    column, path = _sqlite_parts(element, compiler, **kw)
    return f"(CASE WHEN json_type({column}, {path}) = 'text' THEN json_extract({column}, {path}) END)"


@compiles(json_string, "postgresql")
def _string_postgresql(element, compiler, **kw) -> str:
    column, key = _postgresql_parts(element, compiler, **kw)
    return f"(CASE WHEN json_typeof({column} -> {key}) = 'string' THEN {column} ->> {key} END)"


@compiles(json_boolean, "sqlite")
def _boolean_sqlite(element, compiler, **kw) -> str:
    column, path = _sqlite_parts(element, compiler, **kw)
    return f"(CASE json_type({column}, {path}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"


@compiles(json_boolean, "postgresql")
def _boolean_postgresql(element, compiler, **kw) -> str:
    column, key = _postgresql_parts(element, compiler, **kw)
    return f"(CASE WHEN json_typeof({column} -> {key}) = 'boolean' THEN CAST({column} ->> {key} AS BOOLEAN) END)"


def json_value(column: ColumnElement, key: str, kind: str) -> FunctionElement:
    """The value at `key` of a JSON column, if it is a `kind` (number, string or boolean)."""
    construct = {"number": json_number, "string": json_string, "boolean": json_boolean}[kind]
    return construct(column, literal(key, String()))


def json_keys(column: ColumnElement, dialect_name: str) -> Any:
    """The keys of a JSON object column, one row each (`.c.key`), joined to the column's own table."""
    if dialect_name == "postgresql":
        return func.json_object_keys(column).table_valued("key", joins_implicitly=True).render_derived()
    return func.json_each(column).table_valued("key", joins_implicitly=True)


class DecimalText(TypeDecorator[Decimal]):
    """Exact decimals (money) stored as their text on both dialects: SQLite has no exact
    numeric type (it would round-trip through a float), and one storage keeps them alike."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> str | None:
        return None if value is None else format(Decimal(value), "f")

    def process_result_value(self, value: str | None, dialect) -> Decimal | None:
        return None if value is None else Decimal(value)
