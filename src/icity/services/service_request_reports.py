"""Reporting a problem to a city (GeoReport v2 POST requests): checked here, then stored or forwarded.

- No upstream: iCity is the city's 311 back end. The report is checked against the city's declared
  service type (its required attributes, its list values) and stored as a `service_requests`
  entity through the normal write path, status open, requested now, with a new id. The reporter's
  contact fields (email, names, phone, device and account ids) are not stored: the entity is read by
  whoever may read the IS, and GeoReport never shows them back.
- The IS is harvested from the city's own Open311 server: the form goes there as it came (with the
  city's key from the connector's settings, never the caller's), to an address the outbound rules
  allow. Its answer is returned; a new id is read back at once and written like a harvested record.
  The server failing or unreachable is a 503 and nothing is stored here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from icity.config import get_settings
from icity.connectors import open311_source
from icity.connectors.base import Record, SourceError, SourceRequest
from icity.db.models import InformationSystem, utcnow
from icity.errors import ICityError, bad_parameter
from icity.services import audit, entity_store, outbound, sources
from icity.services.access import Principal
from icity.services.service_types import declared_services
from icity.services.service_requests import (
    MAX_DESCRIPTION,
    REQUEST_TYPE,
    get_request,
    incident_system,
    new_request_id,
    require_reader,
    require_reporter,
    unavailable,
    upstream,
    upstream_source,
)

ATTRIBUTE = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
CONTACT_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone")


@dataclass(frozen=True)
class Report:
    service_code: str
    lat: float | None
    long: float | None
    address_string: str | None
    address_id: str | None
    description: str | None
    media_url: str | None
    attributes: dict[str, list[str]]


def read_report(form: list[tuple[str, str]]) -> Report:
    """The form's fields read and checked on their own (400 naming the field)."""
    values: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, value in form:
        matched = ATTRIBUTE.match(name)
        if matched:
            attributes.setdefault(matched.group(1), []).append(value)
        else:
            values.setdefault(name, value)
    text = {name: (values.get(name) or "").strip() or None for name in
            ("service_code", "lat", "long", "address_string", "address_id", "description", "media_url")}  # fmt: skip
    if not text["service_code"]:
        raise bad_parameter("service_code", "service_code is required: one of the codes services.json lists")
    lat, long = _coordinate("lat", text["lat"], 90), _coordinate("long", text["long"], 180)
    if (lat is None) != (long is None):
        raise bad_parameter("lat" if lat is None else "long", "give lat and long together")
    if lat is None and not text["address_string"] and not text["address_id"]:
        raise bad_parameter("lat", "a location is required: lat and long, address_string or address_id")
    if text["description"] and len(text["description"]) > MAX_DESCRIPTION:
        raise bad_parameter("description", f"description is at most {MAX_DESCRIPTION} characters")
    if text["media_url"] and urlsplit(text["media_url"]).scheme not in ("http", "https"):
        raise bad_parameter("media_url", "media_url must be an http(s) URL")
    return Report(text["service_code"], lat, long, text["address_string"], text["address_id"], text["description"],
                  text["media_url"], attributes)  # fmt: skip


def _coordinate(name: str, text: str | None, bound: float) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > bound:
        raise bad_parameter(name, f"{name} must be a number of WGS84 degrees from -{bound:g} to {bound:g}")
    return value


def submit(session: Session, principal: Principal, city_id: str, form: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """File a report with the city; the GeoReport answer: [{service_request_id or token, service_notice, account_id}]."""
    system = incident_system(session, city_id)
    require_reporter(session, principal, system)
    report = read_report(form)
    connector = upstream(system)
    if connector is not None:
        answer = _forward(session, system, connector, form)
    else:
        answer = _store(session, system, report)
    audit.record(
        session, principal, "service_request.reported", "service_request",
        answer.get("service_request_id") or answer.get("token") or "", city_id=city_id,
        details={"service_code": report.service_code, "upstream": connector is not None},
    )  # fmt: skip
    return [answer]


# ---- iCity as the back end ------------------------------------------------------------------------


def _store(session: Session, system: InformationSystem, report: Report) -> dict[str, Any]:
    services = {service["service_code"]: service for service in declared_services(session, system.id)}
    service = services.get(report.service_code)
    if service is None:
        raise bad_parameter("service_code", f"{system.city_id} offers no service '{report.service_code}': see services.json")
    given = _checked_attributes(service, report.attributes)
    now = utcnow().replace(microsecond=0)
    request_id = new_request_id(session, system)
    stamp = now.isoformat().replace("+00:00", "Z")
    entity: dict[str, Any] = {
        "id": entity_store.entity_urn(REQUEST_TYPE, system.city_id, request_id),
        "type": REQUEST_TYPE,
        "observedAt": stamp,
        "service_request_id": request_id,
        "status": "open",
        "service_code": service["service_code"],
        "service_name": service["service_name"],
        "requested_datetime": stamp,
        "updated_datetime": stamp,
    }
    if report.lat is not None:
        entity["location"] = {"type": "Point", "coordinates": [report.long, report.lat]}
    address = report.address_string or (f"address id {report.address_id}" if report.address_id else None)
    optional = {"description": report.description, "media_url": report.media_url, "address_string": address}
    entity |= {name: value for name, value in optional.items() if value is not None}
    if given:
        entity["attributes"] = given
    checked, problems = entity_store.check_entity(
        entity, system.city_id, entity_store.served_types(session, system.id), validation=system.validation, derive_times=False
    )
    if checked is None:
        raise bad_parameter(problems[0].path.removeprefix("[0]."), problems[0].detail)
    entity_store.write_checked(session, system.id, system.city_id, [checked])
    return {"service_request_id": request_id, "token": None, "service_notice": None, "account_id": None}


def _checked_attributes(service: dict[str, Any], given: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The attribute values against the service's definition: required ones present, list values among
    its keys, numbers numbers; [{code, value}] in the definition's order, as the request keeps them."""
    definition = {str(a.get("code")): a for a in service["attributes"]}
    unknown = sorted(set(given) - set(definition))
    if unknown:
        raise bad_parameter(f"attribute[{unknown[0]}]", f"service {service['service_code']} has no attribute '{unknown[0]}'")
    kept = []
    for code, spec in definition.items():
        values = [v for v in given.get(code, []) if v.strip()]
        if not values:
            if spec.get("required") and spec.get("variable", True):
                raise bad_parameter(f"attribute[{code}]", f"attribute[{code}] is required: {spec.get('description') or code}")
            continue
        datatype = spec.get("datatype")
        keys = {str(v.get("key")) for v in spec.get("values") or []}
        if datatype in ("singlevaluelist", "multivaluelist"):
            bad = [v for v in values if v not in keys]
            if bad or (datatype == "singlevaluelist" and len(values) > 1):
                takes = "one of" if datatype == "singlevaluelist" else "keys among"
                raise bad_parameter(f"attribute[{code}]", f"attribute[{code}] takes {takes} {', '.join(sorted(keys))}")
        if datatype == "number":
            try:
                [float(v) for v in values]
            except ValueError:
                raise bad_parameter(f"attribute[{code}]", f"attribute[{code}] is a number") from None
        kept.append({"code": code, "value": values if datatype == "multivaluelist" else values[0]})
    return kept


# ---- write-through to the city's own Open311 server ------------------------------------------------


def _forward(session: Session, system: InformationSystem, connector: dict[str, Any], form: list[tuple[str, str]]) -> dict[str, Any]:
    config, request = upstream_source(connector)
    refused = None if request.url.startswith(get_settings().public_url + "/") else outbound.refusal(request.url)
    if refused:
        raise unavailable(f"{system.city_id}'s Open311 server may not be reached from here: {refused}.")
    try:
        answers = open311_source.post_request(config, request, form)
    except SourceError as error:
        raise unavailable(f"{system.city_id}'s Open311 server did not take the report, nothing was filed: {error.detail}") from None
    answer = answers[0]
    request_id = answer.get("service_request_id")
    if request_id is not None:
        _harvest_one(session, system, config, request, str(request_id))
    return {
        "service_request_id": None if request_id is None else str(request_id),
        "token": None if answer.get("token") is None else str(answer["token"]),
        "service_notice": answer.get("service_notice"),
        "account_id": None if answer.get("account_id") is None else str(answer["account_id"]),
    }


def _harvest_one(session: Session, system: InformationSystem, config: Any, request: SourceRequest, request_id: str) -> None:
    """The new request read back and written as the harvest would; the report is filed even if this fails
    (the next harvest brings it)."""
    try:
        record = open311_source.read_request(config, request, request_id)
        source = sources.stored_source(session, system)
    except (SourceError, ICityError):
        return
    if record is None:
        return
    for outcome in sources.outcomes(source, iter([Record(1, record)])):
        if outcome.entity is not None:
            try:
                with session.begin_nested():  # a refused write undoes itself alone: the report is filed upstream
                    entity_store.write_checked(session, system.id, system.city_id, [outcome.entity])
            except ICityError:
                return


def token(session: Session, principal: Principal, city_id: str, token_id: str) -> list[dict[str, Any]]:
    """tokens/{token}: for a city with an upstream server, asked there (it issued the token); iCity's own
    reports are `realtime` and their token is their id."""
    system = incident_system(session, city_id)
    require_reader(session, principal, system)
    connector = upstream(system)
    if connector is None:
        found = get_request(session, system, token_id)
        return [{"token": token_id, "service_request_id": found["service_request_id"]}]
    config, request = upstream_source(connector)
    try:
        answers = open311_source.read_token(config, request, token_id)
    except SourceError as error:
        raise unavailable(f"{city_id}'s Open311 server did not answer: {error.detail}") from None
    if not answers:
        raise ICityError(detail=f"No token {token_id}", status=404, code="not-found", title="Not found")
    return [{"token": str(a.get("token", token_id)), "service_request_id": a.get("service_request_id")} for a in answers]
