"""No cold workers: what requests need is loaded before a worker accepts a connection."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest

from icity.server import worker_socket
from tests.servers import free_port

# In a fresh interpreter, so that nothing else in the test run has loaded the registry already.
STARTUP = textwrap.dedent(
    """
    import asyncio, json, sys
    from icity.app import create_app
    from icity.datamodels import registry
    from icity.ngsi_ld import contexts

    app = create_app(sys.argv[1])
    before = {"registry": registry._registry is not None, "contexts": contexts.platform_context.cache_info().currsize}

    async def start_and_stop():
        async with app.router.lifespan_context(app) as _:
            return {"registry": registry._registry is not None, "contexts": contexts.platform_context.cache_info().currsize,
                    "warmed_up": sorted(app.state.warmed_up)}

    print(json.dumps({"before": before, "started": asyncio.run(start_and_stop())}))
    """
)


def test_the_app_has_loaded_the_registry_and_contexts_once_started_before_any_request(db_url):
    completed = subprocess.run([sys.executable, "-c", STARTUP, db_url], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr[-2000:]
    state = json.loads(completed.stdout.strip().splitlines()[-1])
    assert state["before"] == {"registry": False, "contexts": 0}  # creating the app loads nothing
    assert state["started"]["registry"] is True
    assert state["started"]["contexts"] == 1
    assert {"registry", "ngsi_ld_contexts", "database"} <= set(state["started"]["warmed_up"])


def test_a_serve_worker_socket_takes_no_connection_until_uvicorn_listens_on_it():
    port = free_port()
    sock = worker_socket("127.0.0.1", port)
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        sock.listen(8)  # what uvicorn does once the app's startup is done
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        sock.close()

