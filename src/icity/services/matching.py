"""Conditions on an entity's attribute values, evaluated one entity at a time.

An expression is a tree of comparisons joined by "all of" / "any of". It knows
nothing of any query syntax: a standard's parser builds it, and the caller
evaluates it with `holds` and a `resolve` function that reads one value of one
entity. Literals are typed by their Python type, parsed once by the parser:

| literal                  | compares with a target that is           |
| ------------------------ | ---------------------------------------- |
| `bool`                   | a boolean                                |
| `int` / `float`          | a number (never a boolean)               |
| `str`                    | a string, code point by code point       |
| `datetime` (UTC aware)   | a date-time (string or `datetime`), as instants |
| `date`                   | a date (`YYYY-MM-DD` string or `date`)   |
| `time` (naive, UTC)      | a time (`hh:mm[:ss]` with optional `Z`)  |
| `re.Pattern` (`~=`, `!~=`) | a string, matched with `re.search`     |

A target of another type never satisfies a comparison, except `!=`, which holds
there ("different data types are unequal"). A target that is a list satisfies
a comparison when one of its items does, and `!=` / `!~=` when none of its
items is equal / matches. A missing target satisfies nothing, not even `!=`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any, Union


class _Missing:
    """The value of a path an entity does not have."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

EQUALITY_OPS = frozenset({"==", "!="})
ORDER_OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
PATTERN_OPS = frozenset({"~=", "!~="})
OPS = EQUALITY_OPS | ORDER_OPS.keys() | PATTERN_OPS | {"exists"}


@dataclass(frozen=True)
class Path:
    """Where a target value lies: an attribute (its stored name), then
    sub-attribute or metadata names (`observedAt`, `unitCode`, a sub-property),
    then member names inside the JSON value reached so far."""

    attribute: str
    subs: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()


Coerce = Callable[[Any], Any]  # target item -> comparable value, or None when of another type


@dataclass(frozen=True)
class Comparison:
    """`path op value`. `values` holds one literal, or several for "any of"
    (`==` / `!=` only); `low`/`high` an inclusive range instead (`==` / `!=`);
    `~=` / `!~=` take one compiled pattern; `exists` takes nothing."""

    path: Path
    op: str
    values: tuple[Any, ...] = ()
    low: Any = None
    high: Any = None
    _item_test: Callable[[Any], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once here so that evaluating an entity is a single call.
        object.__setattr__(self, "_item_test", _item_test(self))

    def test(self, target: Any) -> bool:
        """Whether a resolved target value (or MISSING) satisfies this comparison."""
        if target is MISSING:
            return False
        if self.op == "exists":
            return True
        items = target if isinstance(target, list) else (target,)
        if self.op == "!=":
            return not any(map(self._item_test, items))
        if self.op == "!~=":
            # Only strings are in or out of a pattern's language.
            return bool(items) and all(isinstance(i, str) for i in items) and not any(map(self._item_test, items))
        return any(map(self._item_test, items))


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Expression, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Expression, ...]


Expression = Union[Comparison, AllOf, AnyOf]


def holds(expression: Expression, resolve: Callable[[Path], Any]) -> bool:
    """Whether an entity satisfies the expression; `resolve(path)` reads one of
    its values, or returns MISSING."""
    if type(expression) is Comparison:
        return expression.test(resolve(expression.path))
    if type(expression) is AllOf:
        return all(holds(part, resolve) for part in expression.parts)
    return any(holds(part, resolve) for part in expression.parts)


def json_member(value: Any, keys: Iterable[str]) -> Any:
    """The member of a JSON value at `keys` (as `value.k1.k2` in ECMAScript),
    or MISSING when one of them is not there: for `resolve` to follow Path.keys."""
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def attribute_names(expression: Expression) -> set[str]:
    """The attributes an expression reads (to fetch or prefilter only those)."""
    if isinstance(expression, Comparison):
        return {expression.path.attribute}
    return set().union(*(attribute_names(part) for part in expression.parts))


def simple_terms(expression: Expression) -> tuple[Comparison, ...]:
    """The comparisons every match must satisfy that a database can test too: on
    a bare attribute (no sub-attribute, no JSON member), op among == != > >= < <=,
    with number, string or boolean values (no range, no date).

    A prefilter built from them must keep every entity they could match: a target
    list matches by any of its items, and `!=` holds on a value of another type."""
    parts = expression.parts if isinstance(expression, AllOf) else (expression,)
    found: list[Comparison] = []
    for part in parts:
        if isinstance(part, AllOf):
            found.extend(simple_terms(part))
        elif (
            isinstance(part, Comparison)
            and not part.path.subs
            and not part.path.keys
            and (part.op in EQUALITY_OPS or part.op in ORDER_OPS)
            and part.values
            and all(isinstance(v, (bool, int, float, str)) for v in part.values)
        ):
            found.append(part)
    return tuple(found)


# --- comparing one target item with the literals -------------------------------


def _number(item: Any) -> Any:
    return item if type(item) in (int, float) else None


def _string(item: Any) -> Any:
    return item if isinstance(item, str) else None


def _boolean(item: Any) -> Any:
    return item if isinstance(item, bool) else None


def _datetime(item: Any) -> datetime | None:
    if isinstance(item, datetime):
        moment = item
    elif isinstance(item, str) and "T" in item:
        try:
            moment = datetime.fromisoformat(item)
        except ValueError:
            return None
    else:
        return None
    # NGSI-LD date-times are UTC; a stored one without an offset is taken as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _date(item: Any) -> date | None:
    if type(item) is date:
        return item
    if isinstance(item, str) and len(item) == 10:
        try:
            return date.fromisoformat(item)
        except ValueError:
            return None
    return None


def _time(item: Any) -> time | None:
    if isinstance(item, time):
        parsed = item
    elif isinstance(item, str) and ":" in item and "T" not in item:
        try:
            parsed = time.fromisoformat(item)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        return parsed
    # Times carry no date, so only UTC ones (`Z`, +00:00) compare with the literal.
    return parsed.replace(tzinfo=None) if parsed.utcoffset().total_seconds() == 0 else None


def coercer(literal: Any) -> Coerce:
    """How to read a target item so that it compares with this literal."""
    if isinstance(literal, bool):
        return _boolean
    if isinstance(literal, (int, float)):
        return _number
    if isinstance(literal, str):
        return _string
    if isinstance(literal, datetime):
        return _datetime
    if isinstance(literal, date):
        return _date
    if isinstance(literal, time):
        return _time
    raise ValueError(f"no comparison for a literal of type {type(literal).__name__}")


def _item_test(comparison: Comparison) -> Callable[[Any], bool]:
    op = comparison.op
    if op not in OPS:
        raise ValueError(f"unknown operator {op!r}")
    if op == "exists":
        return lambda item: True
    if op in PATTERN_OPS:
        (pattern,) = comparison.values
        if not isinstance(pattern, re.Pattern):
            raise ValueError(f"{op} needs one compiled pattern")
        search = pattern.search
        return lambda item: isinstance(item, str) and search(item) is not None
    if comparison.low is not None or comparison.high is not None:
        if op not in EQUALITY_OPS or comparison.values:
            raise ValueError("a range goes with == or != and no values")
        return _range_test(comparison.low, comparison.high)
    if not comparison.values:
        raise ValueError(f"{op} needs a value")
    if op in ORDER_OPS:
        if len(comparison.values) != 1 or isinstance(comparison.values[0], bool):
            raise ValueError(f"{op} needs one value that is not a boolean")
        return _order_test(ORDER_OPS[op], comparison.values[0])
    # == and != share the positive test; Comparison.test negates it for !=.
    return _equality_test(comparison.values)


def _equality_test(values: tuple[Any, ...]) -> Callable[[Any], bool]:
    pairs = tuple((coercer(value), value) for value in values)
    if len(pairs) == 1:
        coerce, value = pairs[0]

        def equal(item: Any) -> bool:
            seen = coerce(item)
            return seen is not None and seen == value

        return equal

    def equal_any(item: Any) -> bool:
        for coerce, value in pairs:
            seen = coerce(item)
            if seen is not None and seen == value:
                return True
        return False

    return equal_any


def _order_test(compare: Callable[[Any, Any], bool], value: Any) -> Callable[[Any], bool]:
    coerce = coercer(value)

    def ordered(item: Any) -> bool:
        seen = coerce(item)
        return seen is not None and compare(seen, value)

    return ordered


def _range_test(low: Any, high: Any) -> Callable[[Any], bool]:
    coerce = coercer(low)
    if coercer(high) is not coerce or isinstance(low, bool):
        raise ValueError("a range needs two bounds of the same comparable type")

    def within(item: Any) -> bool:
        seen = coerce(item)
        return seen is not None and low <= seen <= high

    return within
