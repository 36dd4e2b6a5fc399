"""Batched inserts: many rows in one statement, optionally skipping rows whose
primary key is already stored, or replacing them; batched updates by primary key.

The values are converted by the columns' own bind processors (so they are stored exactly as
through SQLAlchemy) and sent through the DB-API, without SQLAlchemy's per-row work: on SQLite
one executemany, on PostgreSQL one statement whose parameters are one array a column (``INSERT … SELECT * FROM
unnest(…)``, ``UPDATE … FROM unnest(…)``), one round trip for up to _POSTGRESQL_ROWS rows where
psycopg's executemany (what SQLAlchemy does here) makes one per row. Conflicts name the primary key's columns,
never a constraint's name (the observations table is partitioned on PostgreSQL).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Table, insert, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from icity.db.types import UTCDateTime

_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}
_POSTGRESQL_ROWS = 10_000  # a statement: its arrays stay a few MiB


def insert_ignoring_duplicates(session: Session, table: Table, rows: list[dict[str, Any]], batch: int = 5000) -> None:
    dialect = session.get_bind().dialect.name
    statement = _INSERTS[dialect](table).on_conflict_do_nothing()
    for start in range(0, len(rows), batch):
        session.execute(statement, rows[start : start + batch])


def upsert_many(session: Session, table: Table, rows: list[dict[str, Any]], batch: int = 5000) -> None:
    """Insert rows that all have the same keys; a row whose primary key is stored replaces the
    stored one's other columns. Of rows with the same key in one call, the last one counts."""
    if not rows:
        return
    keys = [column.name for column in table.primary_key.columns]
    latest = {tuple(row[key] for key in keys): row for row in rows}  # one statement may not touch a row twice
    rows = list(latest.values()) if len(latest) < len(rows) else rows
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_executemany(session, table, rows, ignore_duplicates=False, replace_keys=keys)
        return
    if dialect == "postgresql":
        _postgresql_insert(session, table, rows, ignore_duplicates=False, replace_keys=keys)
        return
    statement = postgresql_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in rows[0] if name not in keys}
    )
    for start in range(0, len(rows), batch):
        session.execute(statement, rows[start : start + batch])


def insert_many(session: Session, table: Table, rows: list[dict[str, Any]], ignore_duplicates: bool = False) -> None:
    """Insert rows that all have the same keys; a duplicate key is an error unless ``ignore_duplicates``."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        _sqlite_executemany(session, table, rows, ignore_duplicates)
    elif dialect == "postgresql":
        _postgresql_insert(session, table, rows, ignore_duplicates)
    elif ignore_duplicates:
        insert_ignoring_duplicates(session, table, rows)
    else:
        session.execute(insert(table), rows)


def update_many(session: Session, mapped: Any, rows: list[dict[str, Any]]) -> None:
    """``UPDATE … SET … WHERE <primary key> = …`` for each row (an ORM bulk update by primary key
    of the mapped class ``mapped``); the rows all have the same keys, the primary key among them."""
    if not rows:
        return
    dialect_name = session.get_bind().dialect.name
    if dialect_name == "postgresql":
        _postgresql_update(session, mapped.__table__, rows)
        return
    if dialect_name != "sqlite":
        session.execute(update(mapped), rows)
        return
    # One DB-API executemany, the values converted as in _sqlite_executemany: the ORM's bulk
    # update costs more per row than SQLite's update itself (a push moves hundreds of entities).
    table = mapped.__table__
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    keys = [column.name for column in table.primary_key.columns]
    names = [name for name in rows[0] if name not in keys]
    sql = (
        f"UPDATE {quote(table.name)} SET {', '.join(f'{quote(name)} = ?' for name in names)}"
        f" WHERE {' AND '.join(f'{quote(key)} = ?' for key in keys)}"
    )
    session.connection().exec_driver_sql(sql, list(zip(*_columns(table, dialect, rows, names + keys))))


def _columns(table: Table, dialect: Any, rows: list[dict[str, Any]], names: list[str]) -> list[list[Any]]:
    """Column by column: one C-level loop per column rather than Python code per value."""
    return [_convert(table.c[name].type, dialect, [row[name] for row in rows]) for name in names]


def _sqlite_executemany(
    session: Session, table: Table, rows: list[dict[str, Any]], ignore_duplicates: bool, replace_keys: list[str] | None = None
) -> None:
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
    if replace_keys:
        others = [name for name in names if name not in replace_keys]
        sql += (
            f" ON CONFLICT ({', '.join(quote(key) for key in replace_keys)}) DO UPDATE SET "
            + ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in others)
        )
    session.connection().exec_driver_sql(sql, list(zip(*_columns(table, dialect, rows, names))))


def _postgresql_insert(
    session: Session, table: Table, rows: list[dict[str, Any]], ignore_duplicates: bool, replace_keys: list[str] | None = None
) -> None:
    """``INSERT … SELECT * FROM unnest(<one array a column>)``: one statement, as many values as rows."""
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    tail = " ON CONFLICT DO NOTHING" if ignore_duplicates else ""
    if replace_keys:
        others = [name for name in names if name not in replace_keys]
        tail = f" ON CONFLICT ({', '.join(quote(key) for key in replace_keys)}) DO " + (
            "UPDATE SET " + ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in others) if others else "NOTHING"
        )
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)})"
        f" SELECT * FROM {_unnest(table, dialect, names)}{tail}"
    )
    _postgresql_batches(session, table, dialect, rows, names, sql)


def _postgresql_update(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """``UPDATE t SET c = v.c … FROM unnest(<one array a column>) AS v (…) WHERE t.key = v.key``."""
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    keys = [column.name for column in table.primary_key.columns]
    names = list(rows[0])
    others = [name for name in names if name not in keys]
    target = quote(table.name)
    sql = (
        f"UPDATE {target} SET {', '.join(f'{quote(name)} = v.{quote(name)}' for name in others)}"
        f" FROM {_unnest(table, dialect, names)} AS v ({', '.join(quote(name) for name in names)})"
        f" WHERE {' AND '.join(f'{target}.{quote(key)} = v.{quote(key)}' for key in keys)}"
    )
    _postgresql_batches(session, table, dialect, rows, names, sql)


def _unnest(table: Table, dialect: Any, names: list[str]) -> str:
    """One array parameter a column, cast to the column's type (JSON travels as text, cast here);
    in binary (psycopg's %b): a text-format array has each element escaped in Python."""
    return "unnest(" + ", ".join(f"CAST(%b AS {table.c[name].type.compile(dialect=dialect)}[])" for name in names) + ")"


def _postgresql_batches(
    session: Session, table: Table, dialect: Any, rows: list[dict[str, Any]], names: list[str], sql: str
) -> None:
    # The same short statement whatever the number of rows: psycopg parses it once and PostgreSQL
    # may prepare it, where a multi-row VALUES of thousands of placeholders is parsed every time.
    columns = _columns(table, dialect, rows, names)
    for index, name in enumerate(names):
        if isinstance(table.c[name].type, Float):  # psycopg refuses an array of ints and floats mixed
            columns[index] = [value if value is None else float(value) for value in columns[index]]
    connection = session.connection()
    for start in range(0, len(rows), _POSTGRESQL_ROWS):
        connection.exec_driver_sql(sql, tuple(column[start : start + _POSTGRESQL_ROWS] for column in columns))


def _convert(column_type: Any, dialect: Any, values: list[Any]) -> list[Any]:
    """The values as the processor SQLAlchemy's compiled statements use for this type on this
    dialect converts them. A private method (SQLAlchemy is pinned); tests/db/test_bulk.py checks
    the stored text."""
    processor = column_type._cached_bind_processor(dialect)
    if processor is None:
        return values
    null = processor(None)  # e.g. JSON 'null' for the value of a numeric observation
    if isinstance(column_type, UTCDateTime):
        # A batch's rows share a few instants: convert each distinct one once.
        converted: dict[datetime | None, Any] = {value: processor(value) for value in set(values) if value is not None}
        converted[None] = null
        return list(map(converted.__getitem__, values))
    return [null if value is None else processor(value) for value in values]
