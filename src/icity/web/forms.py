"""What the admin pages' forms share: a form's fields as an API body, and a refused
body told in the words of the form's labels."""

from __future__ import annotations

from pydantic import ValidationError


def blank_as_none(value: str) -> str | None:
    """An empty field (a date left blank, an optional text) is no value, as in the API."""
    value = value.strip()
    return value or None


def first_problem(error: ValidationError, labels: dict[str, str]) -> str:
    """The first problem of a form, named by the label its field carries on the page."""
    problem = error.errors()[0]
    field = str(problem["loc"][0]) if problem["loc"] else ""
    return f"{labels.get(field, field)}: {problem['msg']}"
