"""Real `icity serve` processes for tests that need a server of their own (streams, load, shutdown)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, tmp_path, **settings: str) -> tuple[subprocess.Popen, str]:
    """`icity serve` on `url` and a free port; (process, base URL). `settings`: more ICITY_* variables."""
    port = free_port()
    env = {
        **os.environ,
        "ICITY_DATABASE_URL": url,
        "ICITY_VAR_DIR": str(tmp_path),
        "ICITY_PORT": str(port),
        "ICITY_BACKGROUND_IN_SERVER": "false",
        **{f"ICITY_{name.upper()}": value for name, value in settings.items()},
    }
    for unset in ("ICITY_MQTT_URL", "ICITY_REDIS_URL"):
        if unset.removeprefix("ICITY_").lower() not in settings:
            env.pop(unset, None)
    server = subprocess.Popen(
        [sys.executable, "-m", "icity.cli", "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    # a worker answers once it has loaded what requests need (icity.warmup: the Smart Data Models registry,
    # seconds on a busy machine), two workers load it side by side
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise AssertionError("the server did not start")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
