"""The topology test's world: its own PostgreSQL database, a webhook receiver that can hold requests,
`icity serve` and `icity worker` processes, and which process holds a TCP connection."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from icity.services.webhooks import DELIVERY_HEADER

POSTGRES_URL = os.environ.get("ICITY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ICITY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
MQTT_URL = os.environ.get("ICITY_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")


def wait_for(condition: Callable[[], object], timeout_s: float, what: str) -> object:
    """Poll `condition` until it gives something true; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"within {timeout_s:g} s: {what}")
        time.sleep(0.1)


class Database:
    """A PostgreSQL database of its own, dropped at the end."""

    def __init__(self) -> None:
        self.name = f"icity_topology_{uuid.uuid4().hex[:10]}"
        self.url = make_url(POSTGRES_URL).set(database=self.name).render_as_string(hide_password=False)
        self._admin(f'CREATE DATABASE "{self.name}"')

    def _admin(self, statement: str) -> None:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


# ----------------------------------------------------------------------------- who holds a connection


def _socket_inode(local_port: int) -> str | None:
    """The inode of the loopback TCP socket whose local port is `local_port` (the client's end)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            columns = line.split()
            if int(columns[1].rsplit(":", 1)[1], 16) == local_port:
                return columns[9]
    return None


def process_holding(local_port: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the TCP connection whose client end is `local_port`."""
    inode = _socket_inode(local_port)
    if inode is None:
        return None
    for pid in pids:
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(fd.path) == f"socket:[{inode}]":
                        return pid
                except OSError:
                    continue
        except OSError:
            continue
    return None


# ----------------------------------------------------------------------------- the webhook receiver


@dataclass
class Received:
    delivery_id: int
    sender_pid: int | None
    body: bytes


@dataclass
class Receiver:
    """Records every webhook request (its delivery id and the worker that sent it). The first worker
    to send becomes the victim: its requests wait unanswered until `released` (the test kills it
    meanwhile, so it never learns the answer); the other workers' are answered at once."""

    senders: list[int] = field(default_factory=list)  # pids of the workers
    victim: int | None = None
    victim_chosen: threading.Event = field(default_factory=threading.Event)
    received: list[Received] = field(default_factory=list)
    released: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                sender = process_holding(self.client_address[1], receiver.senders)
                with receiver.lock:
                    receiver.received.append(Received(int(self.headers[DELIVERY_HEADER]), sender, body))
                    if receiver.victim is None and sender is not None:
                        receiver.victim = sender
                        receiver.victim_chosen.set()
                    held = sender is not None and sender == receiver.victim
                if held:
                    receiver.released.wait(120)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # its sender is gone

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()


# ----------------------------------------------------------------------------- processes


def environment(database_url: str, var_dir: Path, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "ICITY_DATABASE_URL": database_url,
        "ICITY_VAR_DIR": str(var_dir),
        "ICITY_SECRET_KEY": "topology-test-secret",
        "ICITY_REDIS_URL": REDIS_URL,
        "ICITY_MQTT_URL": MQTT_URL,
        "ICITY_BACKGROUND_IN_SERVER": "false",
        "ICITY_DEMO_SIMULATOR": "false",
        "ICITY_WEBHOOK_PRIVATE_NETWORKS": "true",
        "ICITY_WEBHOOK_TIMEOUT_S": "2",  # the lease of a claimed delivery: timeout + 30 s
        "ICITY_WEBHOOK_BACKOFF_S": "1",
        "ICITY_WEBHOOK_POLL_S": "0.5",
        **{f"ICITY_{name.upper()}": value for name, value in settings.items()},
    }
    env.pop("ICITY_DATABASE_READ_URL", None)
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "icity.cli", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)
    wait_for(lambda: b"worker ready" in log.read_bytes() or worker.poll() is not None, 60, "the worker started")
    assert worker.poll() is None, log.read_text()
    return worker


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
