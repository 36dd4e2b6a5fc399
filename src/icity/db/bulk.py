"""Batched inserts that skip rows whose primary key is already stored."""

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

_INSERTS = {"sqlite": sqlite_insert, "postgresql": postgresql_insert}


def insert_ignoring_duplicates(session: Session, table: Table, rows: list[dict[str, Any]], batch: int = 5000) -> None:
    dialect = session.get_bind().dialect.name
    statement = _INSERTS[dialect](table).on_conflict_do_nothing()
    for start in range(0, len(rows), batch):
        session.execute(statement, rows[start : start + batch])
