"""The API against its own OpenAPI document, driven by schemathesis in process as four
callers (anonymous, an app's key, a developer's session, the platform admin's session) on
a writable copy of the test network: no 500, every response as documented (status, content
type, body schema). Few examples per operation and a fixed seed, so a run is short and repeatable."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance

from icity.app import create_app
from icity.db.engine import transaction
from tests import people

CALLERS = ("anonymous", "app_key", "developer", "platform_admin")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# The document does not depend on the database: it is read at import, for schemathesis to
# generate the tests from; the calls go in process to an app on a fresh copy of the test network.
schema = schemathesis.openapi.from_dict(create_app("sqlite://").openapi()).include(path_regex="^/api/v1/")


@pytest.fixture(scope="module")
def fuzzed(databases, network_url):
    url = databases.copy(network_url)
    with transaction(url) as session:
        developer = people.person(session, "fuzz-dev@dev.example")
        admin = people.person(session, "fuzz-admin@icity.example", role="admin")
        _, key = people.app_with_key(session, developer, name="Fuzzed")
    callers = {
        "anonymous": {},
        "app_key": {"X-API-Key": key},
        "developer": developer.headers,
        "platform_admin": admin.headers,
    }
    yield create_app(url), callers
    # schemathesis keeps an app's lifespan (its change feed, its usage meter) running until the
    # process ends; ended here, so that it does not work on a dropped database under later tests
    schemathesis.python.asgi.shutdown_lifespans()


@schema.parametrize()
@settings(max_examples=4, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, fuzzed):
    app, callers = fuzzed
    for caller in CALLERS:  # each generated request, as each of the four callers
        case.call_and_validate(app=app, headers=callers[caller], checks=CHECKS)
