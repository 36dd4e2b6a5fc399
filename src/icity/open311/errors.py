"""GeoReport v2 errors: an array of {code, description} (XML ``<errors><error>``), with the spec's codes.

Services raise iCity's errors; on an Open311 path they are shown the spec's way. GeoReport names
400 (a parameter missing or wrong), 403 (the api_key missing, invalid or not allowed) and 404 (no
such jurisdiction, service or request); iCity's 401 is the spec's 403, a refused value (409, 422)
its 400, and the statuses it has no word for (429 rate limit, 503 upstream down) keep theirs.
"""

from __future__ import annotations

from starlette.responses import Response

from icity.errors import ICityError

PREFIX = "/open311/"
_STATUS = {401: 403, 409: 400, 422: 400}


def error_response(error: ICityError, path: str) -> Response:
    from icity.open311.render import answer

    status = _STATUS.get(error.status, error.status)
    format_ = "xml" if path.endswith(".xml") else "json"
    response = answer(format_, "errors", [{"code": status, "description": error.detail}], status_code=status)
    for name, value in (error.headers or {}).items():
        if name.lower() != "www-authenticate":  # no bearer challenge: the key goes in api_key
            response.headers[name] = value
    return response
