"""Checks every request passes before its route runs (an app-wide dependency, so no route can
miss them): no NUL or lone surrogate in a query, path or form parameter (PostgreSQL refuses
NUL in text: a 400 naming the parameter), and a JSON body within the limits of
services/wire.py (a 422 with each offending path)."""

from __future__ import annotations

from fastapi import Request

from icity.errors import FieldProblem, bad_parameter, invalid
from icity.services.wire import MAX_JSON_DEPTH, json_problems, text_problem

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def check_request_text(request: Request) -> None:
    for name, value in (*request.query_params.multi_items(), *request.path_params.items()):
        _check_parameter(name, value)
    if request.headers.get("content-type", "").startswith(FORMS):
        form = await request.form()  # read once: FastAPI has parsed it already for a route with form fields
        for name, value in form.multi_items():
            if isinstance(value, str):
                _check_parameter(name, value)
        return
    if not await request.body():
        return
    try:
        document = await request.json()  # parsed once: FastAPI has parsed it already for a route with a body
    except RecursionError:
        raise invalid([FieldProblem("body", f"is nested more than {MAX_JSON_DEPTH} levels deep")]) from None
    except ValueError:
        return  # not JSON: the route's own parsing answers for it
    problems = json_problems(document)
    if problems:
        raise invalid(problems)


def _check_parameter(name: str, value: str) -> None:
    problem = text_problem(value)
    if problem or text_problem(name):
        raise bad_parameter(name, f"{name} {problem or 'has a name that ' + str(text_problem(name))}")
