"""The NGSI-LD routes driven by schemathesis from the OpenAPI document: whatever the parameters
(q, georel, coordinates, limit, offset, options, ids…), never a server error, always problem+json
on an error. Few examples per operation and a fixed seed, so a run is short and repeatable."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from icity.app import create_app
from icity.db.engine import transaction
from tests import people

schema = schemathesis.openapi.from_dict(create_app("sqlite://").openapi()).include(path_regex="^/ngsi-ld/v1/")


@pytest.fixture(scope="module")
def fuzzed(databases, network_url):
    url = databases.copy(network_url)
    with transaction(url) as session:
        admin = people.person(session, "fuzz-ld-admin@icity.example", role="admin")
    return create_app(url), admin.headers


@schema.parametrize()
@settings(max_examples=25, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_parameters_make_a_server_error(case, fuzzed):
    app, admin = fuzzed
    for headers in ({}, admin):
        response = case.call(app=app, headers=headers)
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            content_type = response.headers["content-type"]
            assert "application/problem+json" in content_type, response.text
