"""Errors on portal pages are pages too: the API keeps answering problem+json."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from icity.api.responses import handle_http_error, handle_icity_error, handle_request_validation
from icity.errors import ICityError
from icity.web.rendering import render
from icity.web.session import CsrfRefused

# Paths that never answer with a page (JSON, files, the API's docs).
NOT_PAGES = ("/api/", "/demo-sources/", "/static/", "/health", "/docs", "/redoc", "/openapi.json")
# the DCAT-AP catalogues (icity.dcat): RDF for harvesters, whose errors are problem+json too
CATALOGS = re.compile(r"^(/cities/[^/]+)?/catalog(\.[^/]+)?$")


def wants_page(request: Request) -> bool:
    if request.url.path.startswith(NOT_PAGES) or CATALOGS.match(request.url.path):
        return False
    return hasattr(request.state, "viewer") or "text/html" in request.headers.get("accept", "")


def _error_page(request: Request, status: int, title: str, detail: str) -> Response:
    return render(request, "error.html", status_code=status, title=title, detail=detail)


async def on_icity_error(request: Request, error: ICityError) -> Response:
    if not wants_page(request):
        return await handle_icity_error(request, error)
    if error.status == 401:  # the API's wording speaks of tokens: a person is asked to sign in
        if request.method == "GET":
            return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
        return _error_page(request, 401, "Sign in first", "Only signed-in people can do this: sign in, then try again.")
    return _error_page(request, error.status, error.title, error.detail)


async def on_http_error(request: Request, error: HTTPException) -> Response:
    if not wants_page(request):
        return await handle_http_error(request, error)
    if error.status_code == 404:
        return _error_page(request, 404, "Page not found", "There is no page at this address: start again from the home page.")
    return _error_page(request, error.status_code, "Something went wrong", str(error.detail))


async def on_request_validation(request: Request, error: RequestValidationError) -> Response:
    if not wants_page(request):
        return await handle_request_validation(request, error)
    return _error_page(request, 400, "Something is missing", "A field of this form or address is missing or malformed: go back and check it.")


async def on_csrf_refused(request: Request, _error: CsrfRefused) -> Response:
    return _error_page(
        request, 403, "Form expired",
        "This form was not sent from this browser's current page, so nothing was done. Reload the page and try again.",
    )  # fmt: skip


def install_error_pages(app: FastAPI) -> None:
    app.add_exception_handler(ICityError, on_icity_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(CsrfRefused, on_csrf_refused)
