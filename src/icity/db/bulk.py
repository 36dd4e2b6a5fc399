"""Batched inserts: many rows in one statement, optionally skipping rows whose
primary key is already stored."""

from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from icity.db.types import UTCDateTime

_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def insert_ignoring_duplicates(session: Session, table: Table, rows: list[dict[str, Any]], batch: int = 5000) -> None:
    dialect = session.get_bind().dialect.name
    statement = _INSERTS[dialect](table).on_conflict_do_nothing()
    for start in range(0, len(rows), batch):
        session.execute(statement, rows[start : start + batch])


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]], ignore_duplicates: bool = False) -> None:
    """Insert rows that all have the same keys; a duplicate key is an error unless ``ignore_duplicates``."""
    if not rows:
        return
    if session.get_bind().dialect.name == "sqlite":
        _sqlite_executemany(session, table, rows, ignore_duplicates)
    elif ignore_duplicates:
        insert_ignoring_duplicates(session, table, rows)
    else:
        session.execute(insert(table), rows)


def _sqlite_executemany(session: Session, table: Table, rows: list[dict[str, Any]], ignore_duplicates: bool) -> None:
    """One DB-API executemany, the values converted by the columns' own bind processors
    (so they are stored exactly as through SQLAlchemy), without SQLAlchemy's per-row work,
    which costs more than SQLite's insert itself when a harvest writes 100,000 entities."""
    dialect = session.get_bind().dialect
    names = list(rows[0])
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
        f"VALUES ({', '.join('?' for _ in names)})" + (" ON CONFLICT DO NOTHING" if ignore_duplicates else "")
    )
    columns = []  # column by column: one C-level loop per column rather than Python code per value
    for name in names:
        column = [row[name] for row in rows]
        convert = _converter(table.c[name].type, dialect)
        columns.append(column if convert is None else list(map(convert, column)))
    session.connection().exec_driver_sql(sql, list(zip(*columns)))


def _converter(column_type: Any, dialect: Any) -> Any:
    # The processor SQLAlchemy's compiled statements use for this type on this dialect.
    # A private method (SQLAlchemy is pinned); tests/db/test_bulk.py checks the stored text.
    processor = column_type._cached_bind_processor(dialect)
    if processor is None:
        return None
    null = processor(None)  # e.g. JSON 'null' for the value of a numeric observation
    if not isinstance(column_type, UTCDateTime):
        return lambda value: null if value is None else processor(value)
    converted: dict[datetime, Any] = {}  # a harvest's rows share a few instants: convert each once

    def convert(value: Any) -> Any:
        if value is None:
            return null
        try:
            return converted[value]
        except KeyError:
            result = converted[value] = processor(value)
            return result

    return convert
