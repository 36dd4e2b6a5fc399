"""Turning a form into the API's request body, and a refusal into sentences the form's
labels name. The checks themselves are the API schemas' and the services'."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from icity.errors import FieldProblem, ICityError, invalid


def blank_as_none(value: str | None) -> str | None:
    """An empty field (a date left blank, an optional text, a filter not chosen) is no value, as in the API."""
    return (value or "").strip() or None


def json_object(text: str, field: str, *, blank_is_none: bool = False) -> dict[str, Any] | None:
    """The JSON object typed in a textarea; a 422 naming ``field`` (and where the text breaks) otherwise."""
    if not text.strip():
        if blank_is_none:
            return None
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise invalid([FieldProblem(field, f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})")]) from None
    if not isinstance(value, dict):
        raise invalid([FieldProblem(field, "give a JSON object, between { and }")])
    return value


def problems(error: ICityError | ValidationError, labels: dict[str, str]) -> list[str]:
    """One sentence per problem, its path's first part named as the form labels it
    (``connector.url`` → "Source URL"), the rest of the path kept to say where."""
    if isinstance(error, ValidationError):
        found = [
            FieldProblem(".".join(str(part) for part in problem["loc"]), problem["msg"].removeprefix("Value error, "))
            for problem in error.errors(include_url=False)
        ]
    else:
        found = error.errors or [FieldProblem(error.param or "", error.detail)]
    return [_sentence(problem, labels) for problem in found]


def first_problem(error: ICityError | ValidationError, labels: dict[str, str] | None = None) -> str:
    """The first problem of a refused form, for pages that show one message."""
    return problems(error, labels or {})[0]


def _sentence(problem: FieldProblem, labels: dict[str, str]) -> str:
    # the most specific label wins: "connector.url" before "connector"
    for path in sorted(labels, key=len, reverse=True):
        if problem.path == path or problem.path.startswith((f"{path}.", f"{path}[")):
            rest = problem.path[len(path) :].lstrip(".")
            return f"{labels[path]}{f' ({rest})' if rest else ''}: {problem.detail}"
    return f"{problem.path}: {problem.detail}" if problem.path else problem.detail
