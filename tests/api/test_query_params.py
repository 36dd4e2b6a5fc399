"""Query parameters: an unknown one, an unknown entity type, city or attribute is refused, not ignored."""

import pytest


def assert_problem(response, status: int, param: str, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["param"] == param, body
    for word in words:
        assert word in body["detail"], body


def test_an_unknown_query_parameter_is_refused_naming_it_with_the_closest_one(api):
    response = api.get("/api/v1/entities", params={"typ": "AirQualityObserved"})
    assert_problem(response, 400, "typ", "Unknown query parameter 'typ'", "Did you mean 'type'?")


@pytest.mark.parametrize(
    "path",
    ["/api/v1/cities", "/api/v1/categories", "/api/v1/information-systems", "/api/v1/where-can-app-run?entityTypes=AirQualityObserved"],
)
def test_every_route_refuses_a_parameter_it_does_not_read(api, path):
    separator = "&" if "?" in path else "?"
    assert_problem(api.get(f"{path}{separator}colour=blue"), 400, "colour", "Unknown query parameter 'colour'")


def test_declared_parameters_of_the_route_and_of_its_dependencies_are_accepted(api):
    response = api.get("/api/v1/entities", params={"type": "AirQualityObserved", "limit": 2, "count": "true"})
    assert response.status_code == 200, response.text
    cursor = response.json()["nextCursor"]
    assert api.get("/api/v1/entities", params={"type": "AirQualityObserved", "limit": 2, "cursor": cursor}).status_code == 200


def test_an_unknown_entity_type_is_refused_with_a_suggestion(api):
    response = api.get("/api/v1/entities", params={"type": "AirQualityObservd"})
    assert_problem(response, 400, "type", "AirQualityObservd", "Did you mean 'AirQualityObserved'?")


def test_an_unknown_city_is_not_found(api):
    response = api.get("/api/v1/entities", params={"city": "atlantis"})
    assert_problem(response, 404, "city", "atlantis")


def test_an_unknown_attribute_of_the_type_in_history_is_refused_with_a_suggestion(api):
    response = api.get(
        "/api/v1/entities/urn:ngsi-ld:AirQualityObserved:alpha:s3/history",
        params={"attribute": "NO2", "aggregate": "avg", "interval": "1h"},
    )
    assert_problem(response, 400, "attribute", "'NO2'", "Did you mean 'no2'?")
