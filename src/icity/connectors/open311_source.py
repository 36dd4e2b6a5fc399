"""Open311 GeoReport v2 servers: the incident reports (service requests) a city already takes in.

The source URL is the endpoint base, e.g. ``https://city.example/open311/v2``; the
service requests are read from ``{base}/requests.json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
from pydantic import Field

from icity.connectors.base import Connector, ConnectorConfig, Reading, Record, SourceError, SourceRequest
from icity.connectors.fetch import api_client, get_json
from icity.connectors.json_source import json_type


class Open311Config(ConnectorConfig):
    jurisdiction_id: str | None = Field(None, description="Needed only by servers that serve several cities.")
    service_code: str | None = Field(None, description="Only requests of this service type, e.g. '001'.")
    status: Literal["open", "closed"] | None = Field(None, description="Only open or only closed requests; both if unset.")
    days: int = Field(
        90, ge=1, le=90, description="Requests made in the last so many days; 90 is the most GeoReport v2 allows."
    )
    page_size: int | None = Field(
        None,
        ge=1,
        le=1000,
        description="Read page by page with the 'page'/'page_size' extension many servers support; "
        "unset: one request, which standard servers cap (often at 1000 requests).",
    )
    api_key: str | None = Field(None, description="Sent as 'api_key'; some servers want it even for reading.")


class Open311Connector(Connector):
    """Each service request is one record, as the server gives it (service_request_id, status,
    service_code, description, requested_datetime, updated_datetime, address, lat, long…);
    numbered from 1 across pages."""

    kind = "open311"
    Config = Open311Config

    @classmethod
    @contextmanager
    def read(cls, config: Open311Config, request: SourceRequest) -> Iterator[Reading]:
        # Open311 has no validators: every run reads the window again, so never "not modified".
        with api_client(request) as client:
            yield Reading(records=_records(client, config, request))

    @classmethod
    def default_mapping(cls, config: Open311Config) -> dict[str, Any]:
        """GeoReport v2 fields are standard, so the city need not write a mapping: they become
        ``service_requests`` entities (Smart Data Model dataModel.IssueTracking)."""
        text = {"type": "string"}
        time = {"type": "datetime"}
        return {
            "entityType": "service_requests",
            "id": {"field": "service_request_id"},
            # When the request last changed (for closed ones, when it was closed). Servers that leave it
            # out give entities without observedAt: the mapping has one field, no fallback to requested_datetime.
            "observedAt": {"field": "updated_datetime", "required": False},
            "location": {"lat": "lat", "lon": "long", "required": False},  # requests may have only an address
            "attributes": {
                "service_request_id": {"field": "service_request_id", **text},
                "status": {"field": "status", **text},
                "status_notes": {"field": "status_notes", **text},
                "service_name": {"field": "service_name", **text},
                "service_code": {"field": "service_code", **text},
                "description": {"field": "description", **text},
                "agency_responsible": {"field": "agency_responsible", **text},
                "service_notice": {"field": "service_notice", **text},
                "requested_datetime": {"field": "requested_datetime", **time},
                "updated_datetime": {"field": "updated_datetime", **time},
                "expected_datetime": {"field": "expected_datetime", **time},
                # The model's 'address' is a postal-address object; GeoReport gives free text.
                "address_string": {"field": "address", **text},
                "media_url": {"field": "media_url", **text},
            },
        }


def _records(client: httpx.Client, config: Open311Config, request: SourceRequest) -> Iterator[Record]:
    url = request.url.rstrip("/") + "/requests.json"
    params = _params(config)
    number = 0
    page = 1
    previous_ids: list[Any] | None = None
    while True:
        if config.page_size:
            params |= {"page": page, "page_size": config.page_size}
        items = _page(client, url, request, params)
        ids = [item.get("service_request_id") if isinstance(item, dict) else item for item in items]
        if items and ids == previous_ids:
            return  # the server ignores 'page' and sent the same requests again: all were read
        for item in items:
            number += 1
            if isinstance(item, dict):
                yield Record(number, item)
            else:
                yield Record(number, {}, f"service request is a {json_type(item)}, not an object")
        # A short page is the last; a longer one means the server ignores paging and sent everything at once.
        if not config.page_size or len(items) != config.page_size:
            return
        previous_ids = ids
        page += 1


def _params(config: Open311Config) -> dict[str, Any]:
    end = datetime.now(timezone.utc).replace(microsecond=0)
    start = end - timedelta(days=config.days)
    params: dict[str, Any] = {
        "start_date": start.isoformat().replace("+00:00", "Z"),
        "end_date": end.isoformat().replace("+00:00", "Z"),
    }
    optional = {
        "jurisdiction_id": config.jurisdiction_id,
        "service_code": config.service_code,
        "status": config.status,
        "api_key": config.api_key,
    }
    params |= {name: value for name, value in optional.items() if value is not None}
    return params


def _page(client: httpx.Client, url: str, request: SourceRequest, params: dict[str, Any]) -> list[Any]:
    body, _ = get_json(client, url, request, params=params, hints=_HINTS)
    if not isinstance(body, list):
        raise SourceError(
            f"The Open311 server answered {_described(body)}, not an array of service requests: "
            "is the URL the GeoReport v2 base, e.g. https://city.example/open311/v2?"
        )
    if body and all(isinstance(item, dict) and _is_error(item) for item in body):
        # GeoReport v2 errors are arrays of {code, description}; some servers send them with status 200.
        reasons = "; ".join(f"{item['code']} {item['description']}".strip() for item in body)
        raise SourceError(f"The Open311 server answered an error: {reasons}.")
    return body


def _is_error(item: dict[str, Any]) -> bool:
    return "service_request_id" not in item and set(item) <= {"code", "description"} and "code" in item


_HINTS = {  # what to check when the server refuses
    400: "check connector.jurisdictionId, connector.serviceCode and connector.status",
    401: "check connector.apiKey",
    403: "check connector.apiKey",
    404: "the URL must be the GeoReport v2 base, e.g. https://city.example/open311/v2",
}



def _described(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    return "null" if value is None else f"a {json_type(value)}"


# ---- beyond the harvest: what iCity's own Open311 endpoint asks of a city's upstream server ----------
# The service list and definitions are read through at request time rather than harvested: they are
# small, change rarely, and the upstream server is the authority on what a POST it receives may carry
# (a harvested copy could accept a request the upstream then refuses). A POST is forwarded as it came.


def read_services(config: Open311Config, request: SourceRequest) -> list[dict[str, Any]]:
    """The upstream ``services.json``: GeoReport service objects."""
    with api_client(request) as client:
        body, _ = get_json(client, _url(request, "services.json"), request, params=_scope(config), hints=_HINTS)
    return _objects(body, "services")


def read_definition(config: Open311Config, request: SourceRequest, service_code: str) -> dict[str, Any] | None:
    """The upstream ``services/{code}.json``; None when the server has no such service."""
    body = _found(config, request, f"services/{service_code}.json")
    if body is NOT_FOUND:
        return None
    if not isinstance(body, dict):
        raise SourceError(f"The Open311 server answered {_described(body)}, not a service definition.")
    return body


def read_request(config: Open311Config, request: SourceRequest, service_request_id: str) -> dict[str, Any] | None:
    """One request as ``requests/{id}.json`` gives it (an array of one); None when not (yet) there."""
    body = _found(config, request, f"requests/{service_request_id}.json")
    if body is NOT_FOUND:
        return None
    items = _objects(body, "service requests")
    return items[0] if items else None


def read_token(config: Open311Config, request: SourceRequest, token: str) -> list[dict[str, Any]] | None:
    """``tokens/{token}.json``: [{token, service_request_id}]; None when the server knows no such token."""
    body = _found(config, request, f"tokens/{token}.json")
    return None if body is NOT_FOUND else _objects(body, "tokens")


NOT_FOUND = object()  # the upstream's 404, apart from a JSON null


def _found(config: Open311Config, request: SourceRequest, path: str) -> Any:
    """The upstream's JSON answer at `path`; NOT_FOUND when it answers 404 (no such service, request or token)."""
    with api_client(request) as client:
        try:
            body, _ = get_json(client, _url(request, path), request, params=_scope(config))
        except SourceError as error:
            if "HTTP 404" in error.detail:
                return NOT_FOUND
            raise
    return body


def post_request(config: Open311Config, request: SourceRequest, form: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """POST ``requests.json`` with the form (the city's api_key in place of the caller's). Sent once: a
    retried POST could file the report twice. SourceError for anything but a 2xx array of answers."""
    fields = [(name, value) for name, value in form if name not in ("api_key", "jurisdiction_id")]
    fields += [(name, value) for name, value in _scope(config).items()]
    url = _url(request, "requests.json")
    try:
        with api_client(request) as client:
            response = client.post(  # encoded here: a multivaluelist attribute repeats its name
                url, content=urlencode(fields), headers={"Accept": "application/json", "Content-Type": FORM}
            )
    except httpx.TimeoutException:
        raise SourceError(f"The Open311 server gave no answer within {request.timeout_s:g} s.") from None
    except httpx.HTTPError as error:
        raise SourceError(f"The Open311 server could not be reached ({type(error).__name__}).") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 300 or not isinstance(body, list) or not body:
        reasons = ""
        if isinstance(body, list) and body and all(isinstance(item, dict) and _is_error(item) for item in body):
            reasons = ": " + "; ".join(f"{item['code']} {item.get('description', '')}".strip() for item in body)
        raise SourceError(f"The Open311 server answered HTTP {response.status_code}{reasons}.")
    return [item for item in body if isinstance(item, dict)]


FORM = "application/x-www-form-urlencoded"


def _url(request: SourceRequest, path: str) -> str:
    return request.url.rstrip("/") + "/" + path


def _scope(config: Open311Config) -> dict[str, str]:
    optional = {"jurisdiction_id": config.jurisdiction_id, "api_key": config.api_key}
    return {name: value for name, value in optional.items() if value is not None}


def _objects(body: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise SourceError(f"The Open311 server answered {_described(body)}, not an array of {what}.")
    if body and all(_is_error(item) for item in body):
        reasons = "; ".join(f"{item['code']} {item.get('description', '')}".strip() for item in body)
        raise SourceError(f"The Open311 server answered an error: {reasons}.")
    return body
