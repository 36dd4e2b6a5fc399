"""Fast JSON rendering and problem+json errors."""

from typing import Any

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse as StarletteJSONResponse
from starlette.responses import Response

from icity.db.engine import Overloaded, is_overload
from icity.errors import FieldProblem, ICityError, overloaded
from icity.ngsi_ld import errors as ngsi_ld_errors
from icity.open311 import errors as open311_errors

PROBLEM_JSON = "application/problem+json"
GEO_JSON = "application/geo+json"
NGSI_LD_PREFIX = "/ngsi-ld/"


class JSONResponse(StarletteJSONResponse):
    """JSON rendered by orjson (several times faster than the standard library)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_page(page_body: dict[str, Any], request: Request, media_type: str = "application/json") -> JSONResponse:
    """A paginated body, with a Link header to the next page when there is one."""
    headers = {}
    if page_body.get("nextCursor"):
        next_url = request.url.include_query_params(cursor=page_body["nextCursor"])
        headers["Link"] = f'<{next_url}>; rel="next"'
    return JSONResponse(page_body, headers=headers, media_type=media_type)


def problem_response(error: ICityError, request: Request) -> Response:
    if request.url.path.startswith(open311_errors.PREFIX):  # GeoReport's error array on its paths
        return open311_errors.error_response(error, request.url.path)
    if request.url.path.startswith(NGSI_LD_PREFIX):  # the standard's own error types on its paths
        error = ngsi_ld_errors.translate(error)
    return JSONResponse(
        error.problem(instance=request.url.path),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers or None,
    )


async def handle_icity_error(request: Request, error: ICityError) -> Response:
    return problem_response(error, request)


async def handle_request_validation(request: Request, error: RequestValidationError) -> Response:
    """FastAPI's own parameter checks, rendered as a 400 naming each parameter."""
    problems = []
    for item in error.errors():
        location = tuple(item.get("loc", ()))
        if location and location[0] in ("query", "path", "body", "header", "cookie"):
            location = location[1:]  # where it came from, not a field name (a field may be called `body`)
        problems.append(FieldProblem(".".join(map(str, location)) or "request", item.get("msg", "invalid")))
    first = problems[0]
    body_error = ICityError(
        detail=f"{first.path}: {first.detail}",
        status=400,
        code="bad-parameter",
        title="Bad parameter",
        param=first.path,
        errors=problems,
    )
    return problem_response(body_error, request)


async def handle_database_error(request: Request, error: Exception) -> Response:
    """The database too busy to serve in the bounded time (no free connection, the write lock
    held by others): 503 with Retry-After. Any other database error stays a fault (500)."""
    if not is_overload(error):
        raise error
    reason = error.reason if isinstance(error, Overloaded) else "no database connection was free in time"
    return problem_response(overloaded(reason), request)


async def handle_http_error(request: Request, error: HTTPException) -> Response:
    titles = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed")}
    code, title = titles.get(error.status_code, ("http-error", "HTTP error"))
    detail = "No such resource: check the path against /docs." if error.status_code == 404 else str(error.detail)
    problem = ICityError(detail=detail, status=error.status_code, code=code, title=title)
    return problem_response(problem, request)
