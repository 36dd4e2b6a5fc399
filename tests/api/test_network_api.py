"""Cities, follow-ups, catalogue and "where can this app run" over tests/network.py."""

import pytest


def test_cities_with_levels_and_opened_counts(api):
    items = api.get("/api/v1/cities").json()["items"]
    assert [(c["id"], c["level"], c["openedInformationSystems"]) for c in items] == [
        ("alpha", "consortium", 3),  # air, noise, parking open; agenda retired
        ("beta", "consortium", 2),
        ("delta", "sig", 0),
        ("gamma", "pilot", 1),
    ]
    alpha = items[0]
    assert alpha["openedByCategory"] == {"environment": 2, "transport-mobility": 1}


def test_prospects_are_listed_apart_from_the_members(api):
    assert [c["id"] for c in api.get("/api/v1/cities", params={"level": "prospect"}).json()["items"]] == ["epsilon"]
    everyone = api.get("/api/v1/cities", params={"level": "all"}).json()["items"]
    assert [c["id"] for c in everyone] == ["alpha", "beta", "delta", "epsilon", "gamma"]


def test_filter_cities_by_level(api):
    assert [c["id"] for c in api.get("/api/v1/cities", params={"level": "consortium"}).json()["items"]] == ["alpha", "beta"]
    response = api.get("/api/v1/cities", params={"level": "mayor"})
    assert response.status_code == 400 and response.json()["param"] == "level"


def test_city_detail_has_level_history(api):
    body = api.get("/api/v1/cities/gamma").json()
    assert body["levelHistory"] == [
        {
            "from": "prospect",
            "to": "pilot",
            "effectiveOn": "2014-04-01",
            "evidenceKind": "technical_trial",
            "evidence": "Gamma pilot evidence",
            "recordedBy": "tests",
            "recordedAt": body["levelHistory"][0]["recordedAt"],
        }
    ]


def test_unknown_city_is_404_problem(api):
    response = api.get("/api/v1/cities/atlantis")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "atlantis" in response.json()["detail"]


def test_categories(api):
    names = [c["name"] for c in api.get("/api/v1/categories").json()]
    assert sorted(names) == sorted(
        ["Sensor Data", "Transport and Mobility", "Environment", "e-Government", "Tourism and Culture", "WiFi",
         "Geographic Information Systems", "Energy"]
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # every served IS is discoverable, whatever its policy; drafts and retired ones are not
        ({}, ["alpha/air", "alpha/noise", "alpha/parking", "beta/air", "beta/poi", "gamma/air"]),
        ({"city": "beta"}, ["beta/air", "beta/poi"]),
        ({"category": "environment"}, ["alpha/air", "alpha/noise", "beta/air", "gamma/air"]),
        ({"status": "trial"}, ["beta/air"]),
        ({"entityType": "PointOfInterest"}, ["beta/poi"]),
        ({"accessPolicy": "public", "city": "gamma"}, ["gamma/air"]),
        ({"accessPolicy": "approval"}, ["alpha/parking"]),
        ({"status": "draft"}, []),
    ],
)
def test_information_system_filters(api, params, expected):
    body = api.get("/api/v1/information-systems", params=params).json()
    assert [s["id"] for s in body["items"]] == expected


@pytest.mark.parametrize(("param", "value"), [("category", "weather"), ("status", "closed"), ("accessPolicy", "secret")])
def test_information_system_bad_filters(api, param, value):
    response = api.get("/api/v1/information-systems", params={param: value})
    assert response.status_code == 400 and response.json()["param"] == param


def test_information_system_detail(api):
    body = api.get("/api/v1/information-systems/alpha/air").json()
    assert body["entityTypes"] == ["AirQualityObserved"]
    assert body["status"] == "open" and body["accessPolicy"] == "public" and body["licence"] == "CC-BY-4.0"
    assert body["canRead"] is True
    # a registered IS is in the catalogue, but its providers and devices are not shown anonymously
    noise = api.get("/api/v1/information-systems/alpha/noise").json()
    assert noise["canRead"] is False and noise["providers"] == []
    assert api.get("/api/v1/information-systems/alpha/noise/devices").status_code == 404
    assert api.get("/api/v1/information-systems/gamma/wifi").status_code == 404  # a draft


def test_where_can_app_run_lists_cities_with_the_same_shape(api):
    body = api.get("/api/v1/where-can-app-run", params={"entityTypes": "AirQualityObserved"}).json()
    assert [c["city"] for c in body["cities"]] == ["alpha", "beta", "gamma"]  # delta's is a draft
    for city in body["cities"]:
        [offer] = city["provides"]
        assert offer["requirement"] == {"entityType": "AirQualityObserved"}
        assert [s["id"] for s in offer["informationSystems"]] == [f"{city['city']}/air"]
    # the same app query returns data of the same shape in every city it names
    shapes = set()
    for city in body["cities"]:
        [entity, *_] = api.get("/api/v1/entities", params={"type": "AirQualityObserved", "city": city["city"]}).json()["items"]
        shapes.add(tuple(sorted(entity)))
    assert len(shapes) == 1


def test_where_can_app_run_needs_every_requirement(api):
    body = api.get("/api/v1/where-can-app-run", params={"entityTypes": "AirQualityObserved,PointOfInterest"}).json()
    assert [c["city"] for c in body["cities"]] == ["beta"]
    body = api.get("/api/v1/where-can-app-run", params={"categories": "environment,transport-mobility"}).json()
    assert body["cities"] == []  # alpha's parking is approval-only
    body = api.get("/api/v1/where-can-app-run", params={"entityTypes": "NoiseLevelObserved"}).json()
    assert body["cities"] == []  # registered-only: not revealed


@pytest.mark.parametrize(
    ("params", "param"),
    [({}, "entityTypes"), ({"entityTypes": "AirQualityObs"}, "entityTypes"), ({"categories": "weather"}, "categories")],
)
def test_where_can_app_run_bad_input(api, params, param):
    response = api.get("/api/v1/where-can-app-run", params=params)
    assert response.status_code == 400 and response.json()["param"] == param
