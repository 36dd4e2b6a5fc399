"""A city's own Open311 server for tests, on 127.0.0.1: a small GeoReport v2 back end (services, one
definition, requests read and filed, batch tokens), which can be told to fail."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

CITY_KEY = "city-secret-key"
SERVICES = [{"service_code": "101", "service_name": "Pothole", "description": "Hole in the road", "metadata": True,
             "type": "realtime", "keywords": "road", "group": "Roads"}]  # fmt: skip
DEFINITION = {"service_code": "101", "attributes": [
    {"variable": True, "code": "size", "datatype": "string", "required": False, "datatype_description": None,
     "order": 1, "description": "How big"}]}  # fmt: skip


@dataclass
class State:
    requests: list[dict[str, Any]] = field(default_factory=list)
    posted: list[list[tuple[str, str]]] = field(default_factory=list)
    failing: bool = False  # answer 500 to everything
    batch: bool = False  # answer a POST with a token, not an id
    tokens: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        state, path = self.server.state, urlsplit(self.path).path
        if state.failing:
            return self._send(500, [{"code": 500, "description": "database down"}])
        if path == "/open311/v2/services.json":
            return self._send(200, SERVICES)
        if path == "/open311/v2/services/101.json":
            return self._send(200, DEFINITION)
        if path == "/open311/v2/requests.json":
            return self._send(200, state.requests)
        if path.startswith("/open311/v2/requests/"):
            wanted = path.rsplit("/", 1)[1].removesuffix(".json")
            found = [r for r in state.requests if r["service_request_id"] == wanted]
            return self._send(200 if found else 404, found or [{"code": 404, "description": "no such request"}])
        if path.startswith("/open311/v2/tokens/"):
            token = path.rsplit("/", 1)[1].removesuffix(".json")
            if token in state.tokens:
                return self._send(200, [{"token": token, "service_request_id": state.tokens[token]}])
            return self._send(404, [{"code": 404, "description": "no such token"}])
        self._send(404, [{"code": 404, "description": "not found"}])

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length", 0))
        form = parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True)
        if state.failing:
            return self._send(500, [{"code": 500, "description": "database down"}])
        fields = dict(form)
        if fields.get("api_key") != CITY_KEY:
            return self._send(403, [{"code": 403, "description": "api_key invalid"}])
        state.posted.append(form)
        number = f"U-{len(state.posted)}"
        if state.batch:
            state.tokens[f"tok-{len(state.posted)}"] = number
            return self._send(200, [{"token": f"tok-{len(state.posted)}"}])
        state.requests.append({
            "service_request_id": number, "status": "open", "service_code": fields["service_code"],
            "service_name": "Pothole", "description": fields.get("description"),
            "requested_datetime": "2026-12-05T10:00:00+02:00", "updated_datetime": "2026-12-05T10:00:00+02:00",
            "address": fields.get("address_string"), "lat": float(fields["lat"]), "long": float(fields["long"]),
        })  # fmt: skip
        self._send(201, [{"service_request_id": number, "service_notice": "Thanks"}])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State


class Upstream:
    def __init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.state = State()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def state(self) -> State:
        return self.server.state

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/open311/v2"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
