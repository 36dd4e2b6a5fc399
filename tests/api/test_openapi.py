"""Meta-tests: the OpenAPI document describes every endpoint, with examples."""

import json

import pytest


@pytest.fixture(scope="module")
def spec(api):
    return api.get("/openapi.json").json()


def operations(spec):
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_every_v1_endpoint_is_documented_with_a_summary_and_a_stable_id(spec):
    ids = []
    for path, method, operation in operations(spec):
        assert operation.get("summary"), f"{method} {path} has no summary"
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids))
    assert any(path == "/api/v1/entities" for path, _, _ in operations(spec))


def test_every_v1_response_and_parameter_has_an_example(spec):

    for path, method, operation in operations(spec):
        if not path.startswith("/api/v1"):
            continue
        success = next(status for status in operation["responses"] if status.startswith("2"))
        if success == "204":
            continue
        content = operation["responses"][success]["content"]
        schema = content.get("application/json", next(iter(content.values())))["schema"]  # SSE: text/event-stream
        assert "examples" in json.dumps(resolve(spec, schema)), f"{method} {path}: response has no example"
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] not in ("limit", "cursor", "count", "sort", "today", "provider"):
                assert "examples" in parameter["schema"], f"{method} {path}: {parameter['name']} has no example"


def resolve(spec, schema, depth=0):
    """Inline $refs a few levels deep, to look for examples in nested models."""
    if depth > 6:
        return schema
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            return resolve(spec, spec["components"]["schemas"][name], depth + 1)
        return {k: resolve(spec, v, depth) for k, v in schema.items()}
    if isinstance(schema, list):
        return [resolve(spec, v, depth) for v in schema]
    return schema


def test_errors_are_documented_as_problem_json(spec):
    assert "HTTPValidationError" not in json.dumps(spec), "FastAPI's 422 is documented; iCity answers those 400"
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert list(response["content"]) == ["application/problem+json"], f"{method} {path} {status}"


def test_every_v1_operation_documents_what_its_dependencies_can_answer(spec):
    """Malformed input, overload, and for those that authenticate: credentials, access, rate limit."""
    for path, method, operation in operations(spec):
        if path.startswith("/api/v1"):
            assert {"400", "503"} <= set(operation["responses"]), f"{method} {path}"
    entities = spec["paths"]["/api/v1/entities"]["get"]["responses"]
    assert {"401", "403", "404", "429"} <= set(entities)
    assert "413" in spec["paths"]["/api/v1/apps"]["post"]["responses"]  # a body: the body limit


def test_unknown_paths_are_problem_json(api):
    response = api.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
