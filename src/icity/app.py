"""The FastAPI application factory."""

from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi import routing
from fastapi.openapi.utils import _get_api_route_for_openapi, get_openapi  # the routes as the document sees them
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.staticfiles import StaticFiles

from icity import __version__
from icity.api.deps import get_principal, refuse_unknown_query_params
from icity.api.docs import install_docs
from icity.api.middleware import AdmissionMiddleware, BodyLimitMiddleware, UsageMiddleware
from icity.api.request_checks import check_request_text
from icity.api.responses import (
    JSONResponse,
    handle_database_error,
    handle_http_error,
    handle_icity_error,
    handle_request_validation,
)
from icity.api.routes import (
    access_requests,
    accounts,
    alarms,
    apps,
    catalogue,
    certification,
    commands,
    downloads,
    entities,
    messages,
    network,
    offers,
    owners,
    portability,
    projects,
    push,
    sources,
    streams,
    subscriptions,
    usage,
)
from icity.config import get_settings
from icity.db.engine import Overloaded, read_database_url
from icity.demo.feeds import DEMO_FEEDS, DEMO_SOURCES_PATH
from icity.errors import ICityError
from icity.dcat import api as dcat_api
from icity.ngsi_ld import api as ngsi_ld_api
from icity.open311 import api as open311_api
from icity.services import ratelimit
from icity.services import usage as usage_service
from icity.services.change_feed import ChangeFeed
from icity.web import install_portal
from icity.warmup import warm_up

DESCRIPTION = """
iCity opens cities' information systems — sensor networks, agenda, incident
reporting, WiFi, GIS, transport, EV charging — through one harmonised API.
Entities follow the FIWARE Smart Data Models, so an app written for one city
runs unchanged in every city that opened the same kind of system.

Errors are `application/problem+json` (RFC 9457); lists are cursor-paginated.
"""


RATE_LIMITED = {
    "description": "Too many requests with this API key (rate limit: `rate-limited`; daily quota: "
    "`quota-exceeded`). `Retry-After` says when to retry; `RateLimit-*` headers come with every keyed response."
}


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0].replace(' ', '-')}-{route.name}" if route.tags else route.name


# The statuses an operation can answer because of what it depends on, whatever the route
# itself does: each /api/v1 operation documents those of its dependencies (below), plus
# those its route declares (`responses=`), so the document lists every status it can answer.
EVERY_V1_STATUS = {
    "400": "A parameter or body field is malformed; `param` names it.",
    "503": "The server is overloaded (no database connection in time): retry after `Retry-After` seconds.",
}
AUTHENTICATED_STATUSES = {
    "401": "Credentials are missing where they are needed, malformed, unknown, revoked or expired.",
    "403": "The caller is known but may not do this.",
    "404": "No such resource, or not one this caller may see (iCity does not tell the two apart).",
    "409": "A platform rule refuses this request as it stands; `detail` says which.",
    "422": "The request is well-formed but a value is not acceptable; `errors` names each field.",
    "429": RATE_LIMITED["description"],
}
BODY_STATUSES = {
    "413": "The request body is larger than the server accepts.",
}


def _dependency_calls(route: APIRoute) -> set:
    calls, pending = set(), [route.dependant]
    while pending:
        dependant = pending.pop()
        calls.add(dependant.call)
        pending.extend(dependant.dependencies)
    return calls


def statuses_from_dependencies(route: APIRoute) -> dict[str, str]:
    """The error statuses `route` can answer through its dependencies and the app's middleware."""
    statuses = dict(EVERY_V1_STATUS)
    if get_principal in _dependency_calls(route):
        statuses.update(AUTHENTICATED_STATUSES)
    if route.body_field is not None:
        statuses.update(BODY_STATUSES)
    return statuses


def _openapi_with_problems(app: FastAPI):
    """FastAPI documents parameter errors as 422 validation errors; iCity answers
    them with a 400 problem+json, so the document says that instead. Every /api/v1
    operation documents the statuses its dependencies can answer, all as problem+json."""

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        problem = {"$ref": "#/components/schemas/Problem"}
        for methods in schema["paths"].values():
            for operation in methods.values():
                if "HTTPValidationError" in str(operation["responses"].get("422")):
                    del operation["responses"]["422"]  # FastAPI's own: iCity answers those 400
                    operation["responses"].setdefault("400", {"description": EVERY_V1_STATUS["400"]})
        for route in map(_get_api_route_for_openapi, routing.iter_route_contexts(app.routes)):
            if route is not None and route.path.startswith("/api/v1") and route.include_in_schema:
                for method in route.methods:
                    operation = schema["paths"][route.path_format][method.lower()]
                    for status, description in statuses_from_dependencies(route).items():
                        operation["responses"].setdefault(status, {"description": description})
        for methods in schema["paths"].values():
            for operation in methods.values():
                for status, response in operation["responses"].items():
                    if status.startswith(("4", "5")):
                        response["content"] = {"application/problem+json": {"schema": problem}}
        for unused in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(unused, None)
        app.openapi_schema = schema
        return schema

    return openapi


def create_app(database_url: str | None = None) -> FastAPI:
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # sync routes run in anyio's thread pool (40 threads by default): with a fast
        # embedded database, fewer threads give more requests/s and a lower p99
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        # no cold worker: what requests need is loaded before this worker listens (icity.warmup)
        _app.state.warmed_up = warm_up(_app.state.database_url)
        _app.state.usage_meter.start()
        await _app.state.change_feed.start()
        yield
        await _app.state.change_feed.stop()
        _app.state.usage_meter.stop()  # and the last flush: no metered call is lost at shutdown

    app = FastAPI(
        lifespan=lifespan,
        title="iCity API",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=JSONResponse,
        generate_unique_id_function=_operation_id,
        # before every route, the API's and the portal's: no NUL in parameters, JSON within limits
        dependencies=[Depends(check_request_text)],
        docs_url=None,  # served from the portal's own copies instead of a CDN: icity/api/docs.py
        redoc_url=None,
    )
    app.state.database_url = database_url or settings.resolved_database_url()
    app.state.read_database_url = read_database_url(app.state.database_url)  # the public read API's (a replica)
    # one limiter and one usage meter per worker process (create_app runs once in each)
    app.state.rate_limiter = ratelimit.RateLimiter(settings.redis_url or ratelimit.MEMORY)
    app.state.usage_meter = usage_service.UsageMeter(app.state.database_url)
    # hands new changes to this worker's SSE streams (api/routes/streams.py)
    app.state.change_feed = ChangeFeed(app.state.database_url, settings.redis_url, settings.stream_poll_s)
    app.add_middleware(UsageMiddleware, meter=app.state.usage_meter)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        larger=tuple((path, settings.max_batch_body_bytes) for path in ngsi_ld_api.BATCH_PATHS),
    )
    app.add_middleware(
        AdmissionMiddleware,
        limit=settings.max_requests_in_flight,
        wait_s=settings.request_queue_timeout_s,
        exempt_prefixes=("/static", DEMO_SOURCES_PATH, "/health"),
    )
    app.add_exception_handler(ICityError, handle_icity_error)
    for database_error in (Overloaded, PoolTimeout, OperationalError):
        app.add_exception_handler(database_error, handle_database_error)
    app.add_exception_handler(RequestValidationError, handle_request_validation)
    app.add_exception_handler(HTTPException, handle_http_error)

    v1 = APIRouter(prefix="/api/v1", responses={429: RATE_LIMITED}, dependencies=[Depends(refuse_unknown_query_params)])
    # Data routes authenticate every call, even those that need no principal
    # (cities, categories): a key's calls there are rate-limited and metered too.
    authenticated = [Depends(get_principal)]
    for module in (network, catalogue, portability, projects):
        v1.include_router(module.router, dependencies=authenticated)
    for module in (entities, downloads):  # data reads: a priced IS's data may need its offer accepted (402)
        v1.include_router(module.router, dependencies=authenticated, responses=offers.OFFER_NOT_ACCEPTED)
    v1.include_router(certification.portal_router, dependencies=authenticated)
    for module in (accounts, apps, access_requests, offers, usage, messages, sources, push, streams, alarms, subscriptions, commands, certification, owners):
        v1.include_router(module.router)
    app.include_router(v1)
    ngsi_ld_api.install(app)  # the same services through the NGSI-LD standard
    open311_api.install(app)  # and through Open311 GeoReport v2
    dcat_api.install(app)  # the catalogue as DCAT-AP, for open-data portals to harvest
    # The demo cities' own systems (agenda, air-quality portal, GTFS, Open311), for the demo's
    # connectors to harvest over HTTP; static files with ETag and Last-Modified, outside the API.
    app.mount(DEMO_SOURCES_PATH, StaticFiles(directory=DEMO_FEEDS), name="demo-sources")

    # The web portal: pages over the same services, its static files, and error pages for browsers.
    install_portal(app)
    install_docs(app)

    app.openapi = _openapi_with_problems(app)

    @app.get("/health", tags=["operations"], summary="Liveness check")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
