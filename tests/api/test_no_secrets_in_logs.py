"""Neither API keys, session tokens nor request bodies reach the logs: the real
server (uvicorn, access log on, at its most verbose level) serves requests
carrying them, and every log record of every logger is searched for them."""

import http.client
import socket
import threading
import time

import orjson
import uvicorn

from icity.app import create_app
from icity.db.engine import transaction
from tests import people
from tests.network import build_network

BODY_SECRET = "body-secret-5f2a9c"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, headers: dict[str, str], body: bytes | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_keys_tokens_and_bodies_never_reach_the_logs(db_url, caplog):
    with transaction(db_url) as session:
        build_network(session)
        developer = people.person(session, "dev@logs.example")
        _, key = people.app_with_key(session, developer, plan="free")
    token = developer.token
    port = free_port()
    # log_config=None: uvicorn's loggers propagate to the root logger, where caplog listens
    config = uvicorn.Config(
        create_app(db_url), host="127.0.0.1", port=port, log_config=None, log_level="trace", access_log=True
    )
    server = uvicorn.Server(config)
    caplog.set_level(1)  # every level, every logger
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.02)
    try:
        json_body = orjson.dumps({"subject": BODY_SECRET, "body": BODY_SECRET, "to": [1], "password": BODY_SECRET})
        statuses = [
            request(port, "GET", "/api/v1/entities?limit=2", {"X-API-Key": key}),
            request(port, "GET", "/api/v1/entities?limit=2", {"Authorization": f"Bearer {key}"}),
            request(port, "GET", "/api/v1/usage", {"Authorization": f"Bearer {token}"}),
            request(port, "POST", "/api/v1/messages", {"X-API-Key": key, "Content-Type": "application/json"}, json_body),
            request(port, "POST", "/api/v1/auth/login", {"Content-Type": "application/json"}, json_body),
            request(port, "POST", "/api/v1/registrations", {"Content-Type": "application/json"}, b"{" + BODY_SECRET.encode()),
            request(port, "GET", "/api/v1/entities", {"Authorization": f"Bearer {key}x"}),  # a wrong key: 401
        ]
    finally:
        server.should_exit = True
        thread.join(timeout=20)

    assert statuses[:3] == [200, 200, 200] and statuses[-1] == 401
    assert any(r.name == "uvicorn.access" for r in caplog.records), "the access log was not captured"
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
    )
    for secret in (key[len("ick_12345678_"):], token[len("ics_"):], BODY_SECRET):  # the secret parts
        assert secret not in logged
    assert "/api/v1/entities?limit=2" in logged  # the access log itself is there
    assert any(r.name == "uvicorn.asgi" for r in caplog.records)  # and the trace of every ASGI message
