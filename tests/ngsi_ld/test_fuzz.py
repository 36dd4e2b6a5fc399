"""The NGSI-LD routes driven by schemathesis from the OpenAPI document: whatever the parameters
(q, georel, coordinates, limit, offset, options, ids…), never a server error, always problem+json
on an error. Few examples per operation and a fixed seed, so a run is short and repeatable.

As an anonymous caller: what the parameters do is the same for every caller, and the access rules
have their own tests.

Two CI runs saw one of these requests wait over 10 s (schemathesis' read timeout), never
reproduced on a workstation, where the slowest takes under 1 s. A request slower than SLOW_S
dumps every thread's stack into the warnings summary, so that the next one says where it waits;
the timeout is raised so that such a wait is reported rather than failing the run."""

import sys
import threading
import traceback
import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from icity.app import create_app

SLOW_S = 5
TIMEOUT_S = 60

schema = schemathesis.openapi.from_dict(create_app("sqlite://").openapi()).include(path_regex="^/ngsi-ld/v1/")


@pytest.fixture(scope="module")
def fuzzed(databases, network_url):
    yield create_app(databases.copy(network_url))
    # schemathesis keeps an app's lifespan (its change feed, its usage meter) running until the
    # process ends; ended here, so that it does not poll a dropped database under later tests
    schemathesis.python.asgi.shutdown_lifespans()


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_parameters_make_a_server_error(case, fuzzed):
    stacks: list[str] = []
    watchdog = threading.Timer(SLOW_S, lambda: stacks.append(_every_thread_stack()))
    watchdog.start()
    try:
        response = case.call(app=fuzzed, timeout=TIMEOUT_S)
    finally:
        watchdog.cancel()
    if stacks:
        warnings.warn(f"{case.method} {case.formatted_path} took over {SLOW_S} s; the threads then:\n{stacks[0]}")
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert "application/problem+json" in response.headers["content-type"], response.text


def _every_thread_stack() -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(
        f"--- {names.get(ident, ident)}\n{''.join(traceback.format_stack(frame))}"
        for ident, frame in sys._current_frames().items()
    )
