"""A city's service requests (incident reports) in iCity's terms: which IS holds them, who may read
and report, how GeoReport shows them, and the city's queue and status changes.

The city's incident IS is its IS serving ``service_requests`` (Smart Data Model
dataModel.IssueTracking, attribute names GeoReport's own); its service types are in service_types.
Reports go where the city's requests live (service_request_reports): forwarded to its own Open311
server, or, with no upstream, stored here through the normal write path, so history, the change log
and subscriptions see them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.connectors import open311_source
from icity.connectors.base import SourceRequest
from icity.db.models import City, Entity, InformationSystem, InformationSystemEntityType, utcnow
from icity.errors import ICityError, bad_parameter, forbidden, not_found
from icity.services import audit, entity_store, sources
from icity.services.access import SERVED_STATUSES, Principal, readable_systems, require_user
from icity.services.filters import parse_time

REQUEST_TYPE = "service_requests"
STATUSES = ("open", "closed")
WINDOW = timedelta(days=90)  # GeoReport v2: a query spans at most 90 days, the last 90 by default
MAX_PAGE_SIZE = 1000  # and answers at most 1,000 requests
MAX_DESCRIPTION = 4000
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


def unavailable(detail: str) -> ICityError:
    return ICityError(detail=detail, status=503, code="upstream-unavailable", title="Upstream unavailable")


# ---- the city's incident IS and who may use it ---------------------------------------------------


def incident_system(session: Session, city_id: str) -> InformationSystem:
    """The city's IS of service requests, served ones first; 404 for an unknown city or none."""
    if not city_id or session.get(City, city_id) is None:
        raise not_found("jurisdiction", city_id or "", param="jurisdiction_id")
    systems = session.scalars(
        select(InformationSystem)
        .join(InformationSystemEntityType, InformationSystemEntityType.information_system_id == InformationSystem.id)
        .where(InformationSystem.city_id == city_id, InformationSystemEntityType.entity_type == REQUEST_TYPE)
        .order_by(InformationSystem.id)
    ).all()
    served = [system for system in systems if system.status in SERVED_STATUSES]
    if not served:
        raise ICityError(
            detail=f"{city_id} takes no service requests through iCity (it has no open incident information system).",
            status=404, code="not-found", title="Not found", param="jurisdiction_id",
        )  # fmt: skip
    return served[0]


def may_read(session: Session, principal: Principal, system: InformationSystem) -> bool:
    statement = select(InformationSystem.id).where(InformationSystem.id == system.id, readable_systems(principal))
    return session.scalar(statement) is not None


def require_reader(session: Session, principal: Principal, system: InformationSystem) -> None:
    """Reads follow the IS's access policy, as every other read."""
    if not may_read(session, principal, system):
        hint = "send the api_key of an app that may read it" if principal.kind == "anonymous" else "ask the city for access"
        raise forbidden(f"The service requests of {system.city_id} ({system.id}) are not readable with this key: {hint}.")


def require_reporter(session: Session, principal: Principal, system: InformationSystem) -> None:
    """A report comes from an app: its key, and that app may read the city's incident IS."""
    if principal.kind != "app":
        raise forbidden("Reporting needs an api_key: the key of an iCity app that may read the city's service requests.")
    require_reader(session, principal, system)


def upstream(system: InformationSystem) -> dict[str, Any] | None:
    """The connector of an IS harvested from the city's own Open311 server; None when iCity is its back end."""
    connector = system.connector or {}
    return connector if connector.get("kind") == "open311" else None


def upstream_source(connector: dict[str, Any]) -> tuple[open311_source.Open311Config, SourceRequest]:
    """The upstream server's settings and address (sent once, no retry: a POST must not be sent twice)."""
    settings = {key: value for key, value in connector.items() if key not in ("kind", "url")}
    config = open311_source.Open311Config.model_validate(settings)
    url = sources.platform_url(connector.get("url"))
    return config, SourceRequest(url, timeout_s=get_settings().harvest_timeout_s, retries=0)


# ---- reading requests ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    ids: tuple[str, ...] = ()
    service_codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    page: int = 1
    page_size: int = MAX_PAGE_SIZE
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def request_query(
    ids: str | None = None, service_code: str | None = None, status: str | None = None, start_date: str | None = None,
    end_date: str | None = None, page: str | None = None, page_size: str | None = None,
) -> RequestQuery:  # fmt: skip
    """The GeoReport query parameters read and checked (400 naming the parameter)."""
    statuses = _listed(status)
    for value in statuses:
        if value not in STATUSES:
            raise bad_parameter("status", f"status is open or closed (comma-separated), not '{value}'")
    start = _date("start_date", start_date)
    end = _date("end_date", end_date)
    if start and end and start > end:
        raise bad_parameter("start_date", "start_date is after end_date")
    if start and end and end - start > WINDOW:
        raise bad_parameter("end_date", "start_date and end_date may not span more than 90 days")
    return RequestQuery(
        ids=_listed(ids), service_codes=_listed(service_code), statuses=statuses, start=start, end=end,
        page=_positive("page", page, 1, None), page_size=_positive("page_size", page_size, MAX_PAGE_SIZE, MAX_PAGE_SIZE),
    )  # fmt: skip


def _listed(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _date(name: str, text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_time(name, text.strip())
    except ICityError:
        raise bad_parameter(name, f"{name} must be a W3C date-time with a zone, e.g. 2026-01-01T00:00:00Z") from None


def _positive(name: str, text: str | None, default: int, most: int | None) -> int:
    if text is None or text == "":
        return default
    if not text.isdigit() or int(text) < 1 or (most is not None and int(text) > most):
        bound = f" from 1 to {most}" if most else " from 1"
        raise bad_parameter(name, f"{name} must be a whole number{bound}")
    return int(text)


def list_requests(session: Session, system: InformationSystem, query: RequestQuery) -> list[dict[str, Any]]:
    """The IS's requests as GeoReport shows them, newest first. Ids override the other filters (as the
    spec says); otherwise requested_datetime falls in the window (the last 90 days by default)."""
    requests = [_request(row) for row in _request_rows(session, system.id)]
    if query.ids:
        wanted = set(query.ids)
        return [r for r in requests if r["service_request_id"] in wanted]
    start, end = query.start, query.end
    if start is None and end is None:
        start, end = query.now - WINDOW, query.now
    elif start is None:
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    chosen = [
        r for r in requests
        if (not query.service_codes or r["service_code"] in query.service_codes)
        and (not query.statuses or r["status"] in query.statuses)
        and start <= _time(r["requested_datetime"]) <= end
    ]  # fmt: skip
    chosen.sort(key=lambda r: (_time(r["requested_datetime"]), r["service_request_id"]), reverse=True)
    first = (query.page - 1) * query.page_size
    return chosen[first: first + query.page_size]


def get_request(session: Session, system: InformationSystem, service_request_id: str) -> dict[str, Any]:
    found = [r for r in map(_request, _request_rows(session, system.id)) if r["service_request_id"] == service_request_id]
    if not found:
        raise not_found("service request", service_request_id)
    return found[0]


def _request_rows(session: Session, system_id: str) -> list[Any]:
    # the IS's requests are read whole and filtered here: their times are texts in the zone each
    # source gave, which SQL cannot compare; an incident IS holds thousands, not millions
    return session.execute(
        select(Entity.id, Entity.attributes, Entity.lon, Entity.lat, Entity.observed_at, Entity.created_at)
        .where(Entity.information_system_id == system_id, Entity.type == REQUEST_TYPE, Entity.retired_at.is_(None))
    ).all()


def _request(row: Any) -> dict[str, Any]:
    a = row.attributes
    requested = _w3c(a.get("requested_datetime")) or _w3c(row.observed_at) or _w3c(row.created_at)
    return {
        "service_request_id": str(a.get("service_request_id") or row.id.rsplit(":", 1)[-1]),
        "status": "closed" if str(a.get("status", "")).lower() == "closed" else "open",
        "status_notes": a.get("status_notes"),
        "service_name": a.get("service_name"),
        "service_code": str(a.get("service_code") or ""),
        "description": a.get("description"),
        "agency_responsible": a.get("agency_responsible"),
        "service_notice": a.get("service_notice"),
        "requested_datetime": requested,
        "updated_datetime": _w3c(a.get("updated_datetime")),
        "expected_datetime": _w3c(a.get("expected_datetime")),
        "address": a.get("address_string"),
        "address_id": None,
        "zipcode": (a.get("address") or {}).get("postalCode") if isinstance(a.get("address"), dict) else None,
        "lat": row.lat,
        "long": row.lon,
        "media_url": a.get("media_url"),
    }


def _w3c(value: Any) -> str | None:
    """A date-time with its zone (UTC when a source gave none), as W3C-DTF and GeoReport want."""
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else _parsed(str(value))
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def _parsed(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _time(text: str | None) -> datetime:
    return _parsed(text or "") or datetime(1970, 1, 1, tzinfo=timezone.utc)


# ---- the city's queue and status changes (iCity as the city's 311 back end) ----------------------


def _administered_incidents(session: Session, principal: Principal, city_id: str) -> InformationSystem:
    require_user(principal)
    if session.get(City, city_id) is None:
        raise not_found("city", city_id)
    if not principal.administers(city_id):
        raise forbidden(f"Only the admins of {city_id} and the platform admin handle its service requests.")
    return incident_system(session, city_id)


def handled_cities(session: Session, principal: Principal) -> list[str]:
    """The cities whose service requests `principal` handles: administered, with an incident IS iCity is the back end of."""
    require_user(principal)
    rows = session.execute(
        select(InformationSystem.city_id, InformationSystem.connector)
        .join(InformationSystemEntityType, InformationSystemEntityType.information_system_id == InformationSystem.id)
        .where(InformationSystemEntityType.entity_type == REQUEST_TYPE, InformationSystem.status.in_(SERVED_STATUSES))
    ).all()
    cities = {city for city, connector in rows if (connector or {}).get("kind") != "open311" and principal.administers(city)}
    return sorted(cities)


def queue(
    session: Session, principal: Principal, city_id: str, status: str | None = "open", limit: int = 200
) -> list[dict[str, Any]]:
    """The city's service requests for its admins, oldest first (the longest waiting on top)."""
    system = _administered_incidents(session, principal, city_id)
    if status is not None and status not in STATUSES:
        raise bad_parameter("status", "status is open or closed")
    requests = [_request(row) for row in _request_rows(session, system.id)]
    chosen = [r for r in requests if status is None or r["status"] == status]
    chosen.sort(key=lambda r: (_time(r["requested_datetime"]), r["service_request_id"]))
    return chosen[:limit]


def update_status(
    session: Session,
    principal: Principal,
    city_id: str,
    request_id: str,
    status: str,
    status_notes: str | None = None,
    agency_responsible: str | None = None,
    expected_datetime: str | None = None,
) -> dict[str, Any]:
    """Change a request's status with a note (the city's admins, the platform admin); sets updated_datetime.
    Only requests iCity holds the master copy of: a harvested one changes in the city's own system."""
    system = _administered_incidents(session, principal, city_id)
    if upstream(system) is not None:
        raise ICityError(
            detail=f"{system.id} is harvested from {city_id}'s own Open311 system: change the request there.",
            status=409, code="upstream-owned", title="Changed upstream",
        )  # fmt: skip
    if status not in STATUSES:
        raise bad_parameter("status", "status is open or closed")
    expected = _date("expected_datetime", expected_datetime) if expected_datetime else None
    rows = [row for row in _request_rows(session, system.id) if _request(row)["service_request_id"] == request_id]
    if not rows:
        raise not_found("service request", request_id)
    now = utcnow().replace(microsecond=0)
    changed: dict[str, Any] = {"status": status, "updated_datetime": _w3c(now)}
    optional = {"status_notes": status_notes, "agency_responsible": agency_responsible, "expected_datetime": _w3c(expected)}
    changed |= {name: value for name, value in optional.items() if value is not None}
    _write(session, system, {"id": rows[0].id, "type": REQUEST_TYPE, "observedAt": _w3c(now), **changed})
    audit.record(
        session, principal, "service_request.status_changed", "service_request", request_id, city_id=city_id,
        details={k: v for k, v in changed.items() if k != "updated_datetime"},
    )  # fmt: skip
    return get_request(session, system, request_id)


def _write(session: Session, system: InformationSystem, payload: dict[str, Any]) -> None:
    checked, problems = entity_store.check_entity(
        payload, system.city_id, entity_store.served_types(session, system.id), validation=system.validation, derive_times=False
    )
    if checked is None:
        first = problems[0]
        raise bad_parameter(first.path.removeprefix("[0]."), first.detail)
    entity_store.write_checked(session, system.id, system.city_id, [checked])


def new_request_id(session: Session, system: InformationSystem) -> str:
    """A fresh id: the date and a random part (unguessable, so one report does not reveal the count)."""
    taken = {_request(row)["service_request_id"] for row in _request_rows(session, system.id)}
    while True:
        candidate = f"{utcnow():%Y%m%d}-{secrets.token_hex(3)}"
        if candidate not in taken:
            return candidate
