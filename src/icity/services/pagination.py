"""Keyset (cursor) pagination: stable under concurrent inserts, cheap at any depth."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Callable, Generic, TypeVar

import orjson
from sqlalchemy import Select, and_, or_
from sqlalchemy.sql.expression import ColumnElement

from icity.errors import bad_parameter
from icity.services.filters import to_utc

T = TypeVar("T")


@dataclass(frozen=True)
class SortKey:
    """One column of a sort order; the last key of an order must be unique."""

    expression: ColumnElement[Any]
    descending: bool = False
    parse: Callable[[Any], Any] = lambda v: v


def parse_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    total: int | None = None  # only when the caller asked for a count

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"items": self.items, "nextCursor": self.next_cursor}
        if self.total is not None:
            body["totalCount"] = self.total
        return body


def encode_cursor(order_name: str, values: list[Any]) -> str:
    payload = orjson.dumps({"o": order_name, "v": values}, default=_jsonable)
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value))


MAX_BIGINT = 2**63 - 1


def _checked(key: SortKey, value: Any) -> Any:
    """The cursor's value for `key`, of the type its column holds; ValueError otherwise (a
    crafted cursor must not reach the database, which would fail on a wrong type)."""
    if value is None:
        return None
    if isinstance(value, (dict, list, bool)):
        raise ValueError("not a value of a sort key")
    value = key.parse(value)
    try:
        expected = key.expression.type.python_type
    except NotImplementedError:
        expected = object
    if expected is float and isinstance(value, int):
        value = float(value)
    if not isinstance(value, expected) or (expected is date and isinstance(value, datetime)):
        raise ValueError(f"{value!r} is not a {expected.__name__}")
    if isinstance(value, int) and not -MAX_BIGINT <= value <= MAX_BIGINT:
        raise ValueError("integer out of range")
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("NUL in a text value")
    if isinstance(value, datetime):
        value = to_utc(value)
    return value


def decode_cursor(cursor: str, order_name: str, keys: list[SortKey]) -> list[Any]:
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if payload["o"] != order_name or len(payload["v"]) != len(keys):
            raise ValueError("cursor made for another sort order")
        return [_checked(key, v) for key, v in zip(keys, payload["v"])]
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_parameter(
            "cursor",
            "This cursor is not valid for this query: pass the nextCursor of the previous page "
            "unchanged, with the same sort.",
        ) from exc


def after(keys: list[SortKey], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order `keys` (mixed directions allowed)."""
    clauses = []
    for i, key in enumerate(keys):
        equal_before = [keys[j].expression == values[j] for j in range(i)]
        beyond = key.expression < values[i] if key.descending else key.expression > values[i]
        clauses.append(and_(*equal_before, beyond))
    return or_(*clauses)


def keyset_page(
    statement: Select[Any],
    keys: list[SortKey],
    order_name: str,
    limit: int,
    cursor: str | None,
    run: Callable[[Select[Any]], list[Any]],
) -> tuple[list[Any], str | None]:
    """Apply order, cursor and limit to `statement`; the statement must select the
    sort keys as its last len(keys) columns. Returns rows and the next cursor."""
    if cursor:
        statement = statement.where(after(keys, decode_cursor(cursor, order_name, keys)))
    statement = statement.order_by(*(k.expression.desc() if k.descending else k.expression.asc() for k in keys))
    rows = run(statement.limit(limit + 1))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor(order_name, list(last[-len(keys):]))
