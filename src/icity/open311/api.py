"""The Open311 GeoReport v2 routes, mounted at /open311/v2, in front of the same services as /api/v1.

`jurisdiction_id` is the city's iCity id (its slug, e.g. `bologna`), as discovery says. `api_key` is an
iCity app key, taken from the query or the form as GeoReport sends it (or the usual headers): reads
follow the incident IS's access policy; a report needs a key whose app may read it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from icity import __version__
from icity.api.deps import SessionDep, credentials, get_session, writing
from icity.api.middleware import served
from icity.config import get_settings
from icity.db.models import City
from icity.errors import ICityError, bad_parameter, forbidden, not_found
from icity.open311.render import FORMATS, answer
from icity.services import authentication, ratelimit
from icity.services import service_request_reports as reports
from icity.services import service_requests, service_types
from icity.services.access import Principal

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-05T00:00:00Z"  # when this endpoint's behaviour last changed

router = APIRouter(prefix=PREFIX, tags=["Open311 GeoReport v2"])


async def form_fields(request: Request) -> list[tuple[str, str]]:
    """A POST's form fields in order (a multivaluelist attribute repeats its name); none for a GET."""
    if request.method != "POST":
        return []
    form = await request.form()
    return [(name, value) for name, value in form.multi_items() if isinstance(value, str)]


FormFields = Annotated[list[tuple[str, str]], Depends(form_fields)]


def open311_principal(request: Request, session: Annotated[Session, Depends(get_session)], form: FormFields) -> Principal:
    """The caller, from `api_key` (query or form) or the usual credentials; rate-limited and metered as on
    /api/v1. A key that is not valid is the spec's 403."""
    key = request.query_params.get("api_key") or dict(form).get("api_key") or None
    try:
        principal = authentication.principal_for(session, key or credentials(request))
    except ICityError as error:
        if error.status == 401:
            raise forbidden(f"api_key: {error.detail}") from None
        raise
    request.state.principal = principal
    if principal.kind == "app":
        request.state.rate_limit = ratelimit.enforce(request.app.state.rate_limiter, principal.app_id, principal.plan)
    return principal


Caller = Annotated[Principal, Depends(open311_principal)]


def _format(format_: str) -> str:
    if format_ not in FORMATS:
        raise not_found("format", format_)
    return format_


def _required(jurisdiction_id: str | None) -> str:
    if not jurisdiction_id:
        raise bad_parameter("jurisdiction_id", "jurisdiction_id is required: the city's iCity id (see discovery)")
    return jurisdiction_id


def _jurisdiction(session: Session, jurisdiction_id: str | None):
    return service_requests.incident_system(session, _required(jurisdiction_id))


@router.get("/discovery.{format}", summary="Service discovery")
def discovery(request: Request, session: SessionDep, principal: Caller, format: str):
    format_ = _format(format)
    url = get_settings().public_url + PREFIX
    cities = session.execute(select(City.id, City.name).order_by(City.id)).all()
    jurisdictions = []
    for city_id, name in cities:
        try:
            service_requests.incident_system(session, city_id)
        except ICityError:
            continue
        jurisdictions.append({"jurisdiction_id": city_id, "name": name})
    body = {
        "changeset": CHANGESET,
        "contact": "The iCity platform's operators; each city's own office handles its requests.",
        "key_service": f"{get_settings().public_url}/apps (an iCity app key; send it as api_key)",
        "jurisdiction_id": "the city's iCity id, e.g. "
        + (jurisdictions[0]["jurisdiction_id"] if jurisdictions else "bologna"),
        "endpoints": [
            {"specification": SPECIFICATION, "url": url, "changeset": CHANGESET, "type": "production",
             "formats": ["text/xml", "application/json"]},
        ],  # fmt: skip
        "jurisdictions": jurisdictions,
        "version": __version__,
    }
    return answer(format_, "discovery", body)


def _service_object(service: dict[str, Any]) -> dict[str, Any]:
    return {name: service[name] for name in ("service_code", "service_name", "description", "metadata", "type", "keywords", "group")}


@router.get("/services.{format}", summary="Service list")
def service_list(request: Request, session: SessionDep, principal: Caller, format: str, jurisdiction_id: str | None = None):
    format_ = _format(format)
    system = _jurisdiction(session, jurisdiction_id)
    service_requests.require_reader(session, principal, system)
    listed = [_service_object(service) for service in service_types.services(session, system)]
    served(request, [system.id])
    return answer(format_, "services", listed)


@router.get("/services/{service_code}.{format}", summary="Service definition")
def service_definition(
    request: Request, session: SessionDep, principal: Caller, service_code: str, format: str, jurisdiction_id: str | None = None
):
    format_ = _format(format)
    system = _jurisdiction(session, jurisdiction_id)
    service_requests.require_reader(session, principal, system)
    found = service_types.service(session, system, service_code)
    served(request, [system.id])
    return answer(format_, "service_definition", service_types.service_definition(found))


@router.get("/requests.{format}", summary="Service requests")
def request_list(
    request: Request,
    session: SessionDep,
    principal: Caller,
    format: str,
    jurisdiction_id: str | None = None,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    page: str | None = None,
    page_size: str | None = None,
):
    format_ = _format(format)
    system = _jurisdiction(session, jurisdiction_id)
    query = service_requests.request_query(service_request_id, service_code, status, start_date, end_date, page, page_size)
    service_requests.require_reader(session, principal, system)
    found = service_requests.list_requests(session, system, query)
    served(request, [system.id])
    return answer(format_, "service_requests", found)


@router.get("/requests/{service_request_id}.{format}", summary="One service request (an array of one)")
def request_one(
    request: Request, session: SessionDep, principal: Caller, service_request_id: str, format: str,
    jurisdiction_id: str | None = None,
):  # fmt: skip
    format_ = _format(format)
    system = _jurisdiction(session, jurisdiction_id)
    service_requests.require_reader(session, principal, system)
    found = service_requests.get_request(session, system, service_request_id)
    served(request, [system.id])
    return answer(format_, "service_requests", [found])


@router.post("/requests.{format}", summary="Report a problem (form-encoded)")
async def request_create(request: Request, session: SessionDep, principal: Caller, form: FormFields, format: str):
    """Checked, then sent to the city's server if it has one, and only then written: the writer lock is
    not held while the city's server answers (other writes of this process would wait on it, then 503)."""
    format_ = _format(format)
    jurisdiction_id = _required(dict(form).get("jurisdiction_id") or request.query_params.get("jurisdiction_id"))
    planned = await run_in_threadpool(reports.plan, session, principal, jurisdiction_id, form)
    await run_in_threadpool(session.rollback)  # ends the read: no transaction stays open while the city answers
    forwarded = await run_in_threadpool(reports.forward, planned)
    async with writing(session, request.app.state.database_url):
        answered = await run_in_threadpool(reports.record, session, principal, planned, forwarded)
    served(request, [planned.system_id])
    return answer(format_, "service_requests", answered)


@router.get("/tokens/{token}.{format}", summary="The request a token stands for")
def token(request: Request, session: SessionDep, principal: Caller, token: str, format: str, jurisdiction_id: str | None = None):
    format_ = _format(format)
    jurisdiction_id = _required(jurisdiction_id)
    found = reports.token(session, principal, jurisdiction_id, token)
    served(request, [service_requests.incident_system(session, jurisdiction_id).id])
    return answer(format_, "service_requests", found)


def install(app: FastAPI) -> None:
    app.include_router(router)
