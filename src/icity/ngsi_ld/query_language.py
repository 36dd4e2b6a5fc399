"""The NGSI-LD Query Language (ETSI GS CIM 009 clause 4.9): the `q` parameter.

`parse_q` reads the text (already URL-decoded) into a `services.matching`
expression. The grammar, with the choices made where the clause is loose:

- `;` (AND) binds tighter than `|` (OR); parentheses group, nested up to 32
  deep (the ABNF allows one level; the clause's own example 6 nests two).
- A term is an attribute path, alone (existence) or followed by an operator and
  a value. The path is `name(.name)*` (an attribute, then sub-attributes or
  metadata such as `observedAt`), each name expanded by the caller's `expand`,
  then optionally `[member(.member)*]` into a JSON value, not expanded;
  `[a][b]` is read as `[a.b]`. Linked-entity paths `attr{...}` are refused.
- Values: JSON strings `"..."`, JSON numbers, `true`/`false`, date-times
  (`2017-12-24T12:00:00Z`; without an offset they are UTC), dates, times.
  After `==`/`!=` also ranges `low..high`, lists `a,b,c`, and unquoted URIs or
  terms (`urn:ngsi-ld:Car:1`, `Male` as in the clause's example 12), compared
  as strings. `>`, `>=`, `<`, `<=` take a number, a string or a date/time.
- `~=`/`!~=` take a regular expression, quoted as a JSON string or bare. A
  bare one ends at a `;`, `|` or `)` outside its own parentheses and brackets,
  so `name~=(Bus|Tram)` is an alternation and `name~=Bus|x` an OR. It is a
  Python regular expression matched anywhere in the value (`re.search`, as
  POSIX `regexec` does; anchor with `^...$`), at most 200 characters, with no
  back-references and no repeated part that itself repeats or alternates (the
  shapes that backtrack exponentially).
- No whitespace outside quoted strings: the ABNF has none.
"""

from __future__ import annotations

import json
import math
import re
import re._constants as sre_constants  # the parsed-pattern node kinds, for the backtracking check
import re._parser as sre_parser
from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import Any

from icity.errors import ICityError, bad_parameter
from icity.services.matching import AllOf, AnyOf, Comparison, Expression, Path, coercer

MAX_LENGTH = 4_000
MAX_DEPTH = 32
MAX_PATTERN_LENGTH = 200

OPERATOR = re.compile(r"!~=|==|!=|>=|<=|~=|>|<")
NAME = re.compile(r"[^\W\d_]\w*(?::[^\W\d_]\w*)?")  # AttrName, or prefix:AttrName
MEMBER = re.compile(r"\w+")
# A literal ends at a separator or a range's `..`; whitespace and `(` end it too, to be refused next.
END_OF_VALUE = r"(?=[;|),(\s]|\.\.|$)"
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?" + END_OF_VALUE)
DATE = re.compile(r"\d{4}-\d{2}-\d{2}" + END_OF_VALUE)
TIME = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?Z?" + END_OF_VALUE)
NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?" + END_OF_VALUE)
BOOLEAN = re.compile(r"(?:true|false)" + END_OF_VALUE)
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
BARE = re.compile(r'[^\s;|(),"]+')
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
VALUE_KINDS = "a number, a quoted string, a date, a time or a date-time"


def parse_q(text: str, expand: Callable[[str], str]) -> Expression:
    """The expression a `q` text means; a 400 naming `q` when it is not one."""
    if not text:
        raise bad_parameter("q", "q is empty: give a query such as temperature>25;speed>=50.")
    if len(text) > MAX_LENGTH:
        raise bad_parameter("q", f"q is {len(text):,} characters long; at most {MAX_LENGTH:,} are accepted.")
    return _Parser(text, expand).query()


class _Parser:
    """Recursive descent over the text, one character position at a time."""

    def __init__(self, text: str, expand: Callable[[str], str]) -> None:
        self.text = text
        self.expand = expand
        self.pos = 0
        self.depth = 0

    # --- structure ---------------------------------------------------------

    def query(self) -> Expression:
        expression = self.any_of()
        if self.pos < len(self.text):
            if self.peek() == ")":
                raise self.error("this ')' closes no '('")
            raise self.unexpected("';', '|' or the end of q")
        return expression

    def any_of(self) -> Expression:
        parts = [self.all_of()]
        while self.take("|"):
            parts.append(self.all_of())
        return _joined(AnyOf, parts)

    def all_of(self) -> Expression:
        parts = [self.primary()]
        while self.take(";"):
            parts.append(self.primary())
        return _joined(AllOf, parts)

    def primary(self) -> Expression:
        opened_at = self.pos
        if not self.take("("):
            return self.term()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"more than {MAX_DEPTH} nested parentheses", opened_at)
        expression = self.any_of()
        if not self.take(")"):
            if self.pos >= len(self.text):
                raise self.error("this '(' is never closed", opened_at)
            raise self.unexpected("';', '|' or ')'")
        self.depth -= 1
        return expression

    def term(self) -> Expression:
        if self.peek() == "!":
            raise self.error("'!' cannot start a term: negate with != or !~= (there is no 'not exists' in q)")
        path = self.path()
        op_match = OPERATOR.match(self.text, self.pos)
        if op_match is None:
            if self.pos < len(self.text) and self.peek() not in ";|)":
                if self.peek() == "=":
                    raise self.error("'=' is not an operator: use ==")
                raise self.unexpected("an operator (== != > >= < <= ~= !~=), ';', '|', ')' or the end of q")
            return Comparison(path, "exists")
        op = op_match.group()
        self.pos = op_match.end()
        if op in ("~=", "!~="):
            return Comparison(path, op, (self.pattern(),))
        if op in ("==", "!="):
            return self.equality(path, op)
        start = self.pos
        value = self.value()
        if value is None or isinstance(value, bool):
            raise self.error(f"{op} compares with {VALUE_KINDS}", start)
        return Comparison(path, op, (value,))

    def path(self) -> Path:
        names = [self.name(NAME, "an attribute name")]
        while self.take("."):
            names.append(self.name(NAME, "a sub-attribute name after '.'"))
        keys: list[str] = []
        while self.take("["):
            keys.append(self.name(MEMBER, "a JSON member name after '['"))
            while self.take("."):
                keys.append(self.name(MEMBER, "a JSON member name after '.'"))
            if not self.take("]"):
                raise self.unexpected("']' or '.'")
        if self.peek() == "{":
            raise self.error("linked-entity queries (attribute{...}) are not supported")
        expanded = [self.expand(name) for name in names]
        return Path(expanded[0], tuple(expanded[1:]), tuple(keys))

    def name(self, pattern: re.Pattern[str], what: str) -> str:
        found = pattern.match(self.text, self.pos)
        if found is None:
            raise self.unexpected(what)
        self.pos = found.end()
        return found.group()

    # --- values ------------------------------------------------------------

    def equality(self, path: Path, op: str) -> Comparison:
        start = self.pos
        first = self.value(bare=True)
        if self.text.startswith("..", self.pos):
            self.pos += 2
            high_at = self.pos
            high = self.value()
            for bound, at in ((first, start), (high, high_at)):
                if bound is None or isinstance(bound, bool) or (isinstance(bound, str) and self.text[at] != '"'):
                    raise self.error(f"a range low..high takes {VALUE_KINDS} as bounds", at)
            if coercer(first) is not coercer(high):
                raise self.error("the two bounds of a range must be of the same type", start)
            return Comparison(path, op, low=first, high=high)
        values = [first]
        while self.take(","):
            values.append(self.value(bare=True))
        return Comparison(path, op, tuple(values))

    def value(self, bare: bool = False) -> Any:
        """One literal; with `bare`, an unquoted URI or term is a string too.
        Without it, an unquoted word is None for the caller to refuse."""
        start = self.pos
        if self.peek() == '"':
            return self.quoted_string()
        for pattern, read in _LITERALS:
            found = pattern.match(self.text, self.pos)
            if found:
                self.pos = found.end()
                try:
                    return read(found.group())
                except ValueError as exc:
                    raise self.error(f"'{found.group()}' is not a valid value ({exc})", start) from None
        found = BARE.match(self.text, self.pos)
        if found is None:
            raise self.unexpected(f"a value ({VALUE_KINDS}, true or false)")
        word = found.group()
        if not (URI.fullmatch(word) or NAME.fullmatch(word)):
            raise self.error(
                f"'{word}' is not a value: write {VALUE_KINDS}, true, false, or a URI (strings go in double quotes)",
                start,
            )
        self.pos = found.end()
        return word if bare else None

    def quoted_string(self) -> str:
        start = self.pos
        found = QUOTED.match(self.text, self.pos)
        if found is None:
            raise self.error("this string is never closed with '\"'", start)
        try:
            value = json.loads(found.group())
        except json.JSONDecodeError as exc:
            raise self.error(f"this string is not a valid JSON string ({exc.msg})", start) from None
        self.pos = found.end()
        return value

    def pattern(self) -> re.Pattern[str]:
        start = self.pos
        source = self.quoted_string() if self.peek() == '"' else self.bare_pattern()
        if not source:
            raise self.error("~= and !~= need a regular expression", start)
        if len(source) > MAX_PATTERN_LENGTH:
            raise self.error(f"the regular expression is longer than {MAX_PATTERN_LENGTH} characters", start)
        try:
            parsed = sre_parser.parse(source)
            compiled = re.compile(source)
        except re.error as exc:
            raise self.error(f"invalid regular expression ({exc.msg})", start) from None
        danger = _backtracking_danger(parsed)
        if danger:
            raise self.error(f"this regular expression is refused: {danger}", start)
        return compiled

    def bare_pattern(self) -> str:
        """Up to a `;`, `|` or `)` that is outside the pattern's own groups and classes."""
        start = index = self.pos
        depth, in_class = 0, False
        while index < len(self.text):
            char = self.text[index]
            if char == "\\":
                index += 2
                continue
            if in_class:
                in_class = char != "]"
            elif char == "[":
                in_class = True
            elif char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char in ";|" and depth == 0:
                break
            index += 1
        self.pos = min(index, len(self.text))
        return self.text[start : self.pos]

    # --- characters and errors ---------------------------------------------

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    def unexpected(self, expected: str) -> ICityError:
        if self.pos >= len(self.text):
            return bad_parameter("q", f"q ends where {expected} was expected.")
        if self.peek().isspace():
            return self.error(
                "whitespace is not allowed outside quoted strings (a '+' in a URL reads as a space: write %2B)"
            )
        return self.error(f"expected {expected}")

    def error(self, what: str, at: int | None = None) -> ICityError:
        at = self.pos if at is None else at
        shown = self.text[at : at + 20]
        ellipsis = "…" if len(self.text) > at + 20 else ""
        return bad_parameter("q", f"q, character {at + 1} ('{shown}{ellipsis}'): {what}.")


def _joined(kind: type[AllOf] | type[AnyOf], parts: list[Expression]) -> Expression:
    if len(parts) == 1:
        return parts[0]
    flat: list[Expression] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, kind) else (part,))
    return kind(tuple(flat))


def _datetime(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _time(text: str) -> time:
    return time.fromisoformat(text.removesuffix("Z"))


def _number(text: str) -> int | float:
    if not any(c in text for c in ".eE"):
        return int(text)
    number = float(text)
    if not math.isfinite(number):
        raise ValueError("out of range")
    return number


# Tried in this order: a date-time starts like a date, a date or a time like a number.
_LITERALS: tuple[tuple[re.Pattern[str], Callable[[str], Any]], ...] = (
    (DATETIME, _datetime),
    (DATE, date.fromisoformat),
    (TIME, _time),
    (NUMBER, _number),
    (BOOLEAN, lambda text: text == "true"),
)

_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT}


def _backtracking_danger(parsed: Any, repeated: bool = False) -> str | None:
    """Why a parsed pattern may backtrack exponentially (`(a+)+`, `(a|aa)*`, `(a)\\1`), or None."""
    for op, av in parsed:
        if op in (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
            return "back-references are not supported"
        if op in _REPEATS:
            low, high, body = av
            if repeated and low != high:
                return "a repeated part repeats again inside (as in (a+)+)"
            danger = _backtracking_danger(body, repeated or high > 1)
        elif op is sre_constants.BRANCH:
            if repeated:
                return "a repeated part holds an alternation (as in (a|ab)*); use a character class"
            danger = next(filter(None, (_backtracking_danger(branch, repeated) for branch in av[1])), None)
        elif op is sre_constants.SUBPATTERN:
            danger = _backtracking_danger(av[3], repeated)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            danger = _backtracking_danger(av[1], repeated)
        elif op is sre_constants.ATOMIC_GROUP:
            danger = _backtracking_danger(av, repeated)
        else:
            danger = None
        if danger:
            return danger
    return None
