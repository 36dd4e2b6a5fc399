"""Real HTTP APIs on 127.0.0.1 that page (Open311 GeoReport v2, NGSI-v2, NGSI-LD brokers),
well-behaved or broken on purpose: an HTML page, 5xx, invalid JSON, a page that is not a list.

Each API answers its query parameters and headers the way the real servers do, as far as
the connectors use them, and records every call so that tests can check what was sent.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# What a broken API answers instead: an HTTP status (with an HTML error page) or one of these.
HTML = "html"  # an error page with status 200, as proxies and portals send
INVALID_JSON = "invalid-json"  # a page cut short
NOT_A_LIST = "not-a-list"  # a JSON object where the array of records should be


@dataclass
class Call:
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names


@dataclass
class Answer:
    status: int
    body: Any  # JSON-encoded; bytes are sent as they are
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Api:
    """One endpoint. ``faults`` maps a call number (from 1) to what is answered instead."""

    faults: dict[int, int | str] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def answer(self, params: dict[str, str], headers: dict[str, str]) -> Answer:
        raise NotImplementedError


@dataclass
class Open311Api(Api):
    """``GET {base}/requests.json``: the requests made between start_date and end_date, filtered
    by service_code and status; pages with ``page``/``page_size`` unless ``paging`` is off."""

    requests: list[Any] = field(default_factory=list)
    paging: bool = True
    api_key: str | None = None  # when set, any other key is refused with a GeoReport error array

    def answer(self, params: dict[str, str], headers: dict[str, str]) -> Answer:
        if self.api_key is not None and params.get("api_key") != self.api_key:
            return Answer(403, [{"code": 403, "description": "Invalid api_key"}])
        start, end = _time(params.get("start_date")), _time(params.get("end_date"))
        selected = [
            item
            for item in self.requests
            if not isinstance(item, dict)
            or (
                params.get("service_code") in (None, item.get("service_code"))
                and params.get("status") in (None, item.get("status"))
                and _within(_time(item.get("requested_datetime")), start, end)
            )
        ]
        if self.paging and "page_size" in params:
            size, page = int(params["page_size"]), int(params.get("page", "1"))
            selected = selected[(page - 1) * size : page * size]
        return Answer(200, selected)


@dataclass
class BrokerApi(Api):
    """``GET /v2/entities`` or ``/ngsi-ld/v1/entities``: entities by tenant (None: the default one),
    filtered by type, service path (v2), ``q`` ('attr>number' or 'attr==value') and ``attrs``;
    pages with limit/offset and gives the total count in a header when asked."""

    ld: bool = False
    tenants: dict[str | None, list[Any]] = field(default_factory=dict)
    normalized: bool = False  # ignores keyValues and answers the normalized form
    ignores_offset: bool = False
    max_limit: int = 1000
    api_key: str | None = None  # when set, a call without it in ``key_header`` is refused with a 401
    key_header: str = "x-api-key"

    def answer(self, params: dict[str, str], headers: dict[str, str]) -> Answer:
        if self.api_key is not None and headers.get(self.key_header) != self.api_key:
            return Answer(401, {"type": "https://uri.etsi.org/ngsi-ld/errors/Unauthorized", "title": "Unauthorized"})
        tenant = headers.get("ngsild-tenant" if self.ld else "fiware-service")
        entities = [
            entity
            for entity in self.tenants.get(tenant, [])
            if not isinstance(entity, dict)
            or (
                entity.get("type") == params.get("type")
                and (self.ld or headers.get("fiware-servicepath", "/") == entity.get("servicePath", "/"))
                and _matches(entity, params.get("q"))
            )
        ]
        limit, offset = int(params.get("limit", "20")), int(params.get("offset", "0"))
        if limit > self.max_limit:
            return Answer(400, {"error": "BadRequest", "description": "out of bounds pagination value"})
        page = entities[: limit] if self.ignores_offset else entities[offset : offset + limit]
        page = [self._shown(entity, params) for entity in page]
        answer_headers = {}
        counted = params.get("count") == "true" if self.ld else "count" in params.get("options", "").split(",")
        if counted:
            answer_headers["NGSILD-Results-Count" if self.ld else "Fiware-Total-Count"] = str(len(entities))
        return Answer(200, page, answer_headers)

    def _shown(self, entity: Any, params: dict[str, str]) -> Any:
        if not isinstance(entity, dict):
            return entity
        attrs = params["attrs"].split(",") if "attrs" in params else None
        shown = {
            name: value
            for name, value in entity.items()
            if name != "servicePath" and (attrs is None or name in ("id", "type", *attrs))
        }
        if self.normalized or "keyValues" not in params.get("options", ""):
            shown = {
                name: value if name in ("id", "type") else self._normalized(name, value) for name, value in shown.items()
            }
        if self.ld and self.normalized:
            shown["@context"] = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"
        return shown

    def _normalized(self, name: str, value: Any) -> dict[str, Any]:
        if self.ld:
            if name.startswith("ref"):
                return {"type": "Relationship", "object": value}
            if name == "location":
                return {"type": "GeoProperty", "value": value}
            return {"type": "Property", "value": value, "observedAt": "2026-11-24T10:00:00Z"}
        kind = "geo:json" if name == "location" else "Number" if isinstance(value, (int, float)) else "Text"
        return {"type": kind, "value": value, "metadata": {}}


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _within(time: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    return time is None or ((start is None or time >= start) and (end is None or time <= end))


def _matches(entity: dict[str, Any], q: str | None) -> bool:
    if not q:
        return True
    if ">" in q:
        name, number = q.split(">", 1)
        value = entity.get(name)
        return isinstance(value, (int, float)) and value > float(number)
    name, wanted = q.split("==", 1)
    return str(entity.get(name)) == wanted


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        api = self.server.apis.get(parts.path)
        if api is None:
            self._send(404, b"<html><body>Not found</body></html>", "text/html")
            return
        params = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        headers = {name.lower(): value for name, value in self.headers.items()}
        api.calls.append(Call(params, headers))
        fault = api.faults.get(len(api.calls))
        if isinstance(fault, int):
            self._send(fault, b"<html><body>Server error</body></html>", "text/html")
        elif fault == HTML:
            self._send(200, b"<!DOCTYPE html><html><body>Mantenimiento</body></html>", "text/html")
        elif fault == INVALID_JSON:
            self._send(200, b'[{"id": "urn:1", "no2": 4', "application/json")
        elif fault == NOT_A_LIST:
            self._send(200, b'{"error": "NotFound", "description": "oops"}', "application/json")
        else:
            answer = api.answer(params, headers)
            body = answer.body if isinstance(answer.body, bytes) else json.dumps(answer.body).encode()
            self._send(answer.status, body, answer.content_type, answer.headers)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.apis: dict[str, Api] = {}

    def handle_error(self, request, client_address) -> None:
        # A client closing its kept-alive connection is expected; a bug in an API above is not.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class ApiServer:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def serve(self, path: str, api: Api) -> str:
        """Publish ``api`` at ``path`` (e.g. '/cornella/open311/v2/requests.json'); the server's base URL."""
        self._server.apis[path] = api
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
