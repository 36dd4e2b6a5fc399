"""Entity queries over the test network (tests/network.py): filters, geo, q, sort, pages."""

import pytest

from tests.network import ALPHA_STATION_LAT, ALPHA_STATION_LON0

PUBLIC_AIR = {f"alpha:s{i}" for i in range(10)} | {"beta:b0", "beta:b1", "beta:b2", "gamma:g0", "gamma:g1"}


def local_ids(items):
    return {item["id"].split(":", 3)[3] for item in items}


def get_all(api, **params):
    """Every item of a paginated query, following nextCursor."""
    items, cursor = [], None
    for _ in range(100):
        response = api.get("/api/v1/entities", params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["nextCursor"]
        if not cursor:
            return items
    raise AssertionError("pagination did not end")


def test_only_public_systems_in_trial_or_open_are_served(api):
    items = get_all(api, limit=100)
    assert {item["informationSystem"] for item in items} == {"alpha/air", "beta/air", "gamma/air", "beta/poi"}
    assert len(items) == 17


def test_entity_shape_is_ngsi_ld_key_values(api):
    [station] = api.get("/api/v1/entities", params={"type": "AirQualityObserved", "city": "alpha", "q": "no2==40"}).json()["items"]
    assert station == {
        "id": "urn:ngsi-ld:AirQualityObserved:alpha:s3",
        "type": "AirQualityObserved",
        "city": "alpha",
        "informationSystem": "alpha/air",
        "no2": 40.0,
        "airQualityLevel": "moderate",
        "name": "Station s3",
        "dateObserved": "2024-05-01T03:00:00+00:00",  # the model's own time, in step with observedAt
        "location": {"type": "Point", "coordinates": [2.13, 41.38]},
        "observedAt": "2024-05-01T03:00:00+00:00",
        "modifiedAt": station["modifiedAt"],
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"type": "AirQualityObserved", "city": "beta"}, {"beta:b0", "beta:b1", "beta:b2"}),
        ({"informationSystem": "gamma/air"}, {"gamma:g0", "gamma:g1"}),
        ({"category": "tourism-culture"}, {"beta:acquarium", "beta:park"}),
        ({"category": "environment", "city": "gamma"}, {"gamma:g0", "gamma:g1"}),
        ({"type": "PointOfInterest", "city": "alpha"}, set()),
        ({"type": "NoiseLevelObserved"}, set()),  # registered policy: not served to anonymous callers
        ({"city": "delta"}, set()),  # draft only
    ],
)
def test_filters_by_type_city_system_category(api, params, expected):
    assert local_ids(get_all(api, **params)) == expected


def test_bbox_selects_entities_inside_it(api):
    # stations s2..s5 have lon 2.12..2.15
    items = get_all(api, bbox="2.115,41.37,2.155,41.39")
    assert local_ids(items) == {"alpha:s2", "alpha:s3", "alpha:s4", "alpha:s5"}


def test_bbox_uses_the_centre_of_non_point_geometries(api):
    # the park polygon spans 8.95..8.97: its centre 8.96 is inside, its corner box alone is not
    assert local_ids(get_all(api, bbox="8.955,44.405,8.965,44.415")) == {"beta:park"}


def test_near_returns_entities_within_radius_with_their_distance(api):
    near = f"{ALPHA_STATION_LAT},{ALPHA_STATION_LON0},900"
    items = get_all(api, near=near, sort="distance")
    assert [i["id"].rsplit(":", 1)[1] for i in items] == ["s0", "s1"]
    assert items[0]["distance"] == 0.0
    assert items[1]["distance"] == pytest.approx(834.6, abs=1.5)  # 0.01° of longitude at 41.38°N
    assert local_ids(get_all(api, near=f"{ALPHA_STATION_LAT},{ALPHA_STATION_LON0},500")) == {"alpha:s0"}


def test_near_and_bbox_never_reveal_hidden_entities_at_the_same_place(api):
    near = f"{ALPHA_STATION_LAT},{ALPHA_STATION_LON0},10"
    assert all(i["informationSystem"] == "alpha/air" for i in get_all(api, near=near))
    body = api.get("/api/v1/entities", params={"near": near, "count": "true"}).json()
    assert body["totalCount"] == 1


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("no2>40", {"alpha:s4", "alpha:s5", "alpha:s6", "alpha:s7", "alpha:s8", "alpha:s9", "beta:b0", "beta:b1", "beta:b2", "gamma:g1"}),
        ("no2>=90", {"alpha:s8", "alpha:s9"}),
        ("no2<20", {"alpha:s0"}),
        ("no2<=20;airQualityLevel==good", {"alpha:s0", "alpha:s1"}),
        ("airQualityLevel==unhealthy", {"alpha:s6", "alpha:s7", "alpha:s8", "alpha:s9", "beta:b2"}),
        ("airQualityLevel==good,unhealthy;no2<80", {"alpha:s0", "alpha:s1", "alpha:s2", "alpha:s6", "beta:b2"}),
        ("no2>40;airQualityLevel==moderate", {"alpha:s4", "alpha:s5", "beta:b0", "beta:b1", "gamma:g1"}),
        ("airQualityLevel!=moderate;no2>60", {"alpha:s6", "alpha:s7", "alpha:s8", "alpha:s9", "beta:b2"}),
        ("no2==30.0", {"alpha:s2"}),
        ("airQualityLevel=='good'", {"alpha:s0", "alpha:s1", "alpha:s2"}),
    ],
)
def test_attribute_filters(api, q, expected):
    assert local_ids(get_all(api, type="AirQualityObserved", q=q)) == expected


def test_numeric_filter_never_matches_text_values(api):
    # text sorts after numbers in SQLite and cannot be cast in PostgreSQL: neither may leak through
    assert get_all(api, q="airQualityLevel>0") == []


def test_time_window_on_observed_at(api):
    items = get_all(api, city="alpha", observedFrom="2024-05-01T02:00:00Z", observedTo="2024-05-01T05:00:00+00:00")
    assert local_ids(items) == {"alpha:s2", "alpha:s3", "alpha:s4"}


def test_sort_by_observed_at_descending(api):
    items = get_all(api, city="alpha", sort="-observedAt", limit=3)
    assert [i["id"].rsplit(":", 1)[1] for i in items] == [f"s{i}" for i in range(9, -1, -1)]


def test_pages_are_stable_and_complete(api):
    whole = [i["id"] for i in get_all(api, limit=1000)]
    assert whole == sorted(whole)
    for limit in (1, 4, 7):
        paged = [i["id"] for i in get_all(api, limit=limit)]
        assert paged == whole
    first = api.get("/api/v1/entities", params={"limit": 4})
    assert 'rel="next"' in first.headers["link"]


def test_count_counts_all_pages(api):
    body = api.get("/api/v1/entities", params={"type": "AirQualityObserved", "limit": 2, "count": "true"}).json()
    assert len(body["items"]) == 2
    assert body["totalCount"] == len(PUBLIC_AIR)


def test_geojson_feature_collection(api):
    response = api.get(
        "/api/v1/entities", params={"city": "gamma"}, headers={"Accept": "application/geo+json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [
        "urn:ngsi-ld:AirQualityObserved:gamma:g0",
        "urn:ngsi-ld:AirQualityObserved:gamma:g1",
    ]
    feature = body["features"][0]
    assert feature["type"] == "Feature"
    assert feature["geometry"] == {"type": "Point", "coordinates": [-0.12, 51.5]}
    assert feature["properties"]["no2"] == 35.0
    assert feature["properties"]["type"] == "AirQualityObserved"


def test_get_one_entity(api):
    response = api.get("/api/v1/entities/urn:ngsi-ld:AirQualityObserved:gamma:g1")
    assert response.status_code == 200
    assert response.json()["no2"] == 45.0


@pytest.mark.parametrize(
    "entity_id",
    [
        "urn:ngsi-ld:AirQualityObserved:gamma:nope",
        "urn:ngsi-ld:NoiseLevelObserved:alpha:n0",  # exists, but its system is not public
        "urn:ngsi-ld:Event:alpha:e0",  # exists, but its system is retired
    ],
)
def test_unknown_or_unreadable_entity_is_404_problem(api, entity_id):
    response = api.get(f"/api/v1/entities/{entity_id}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and entity_id in body["detail"]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"bbox": "2.1,41.3,2.2"}, "bbox"),
        ({"bbox": "2.2,41.3,2.1,41.4"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"near": "41.38,2.10"}, "near"),
        ({"near": "141.38,2.10,500"}, "near"),
        ({"near": "41.38,2.10,-5"}, "near"),
        ({"q": "no2>>4"}, "q"),
        ({"q": "no2>high"}, "q"),
        ({"type": "AirQualityObserved", "q": "NO2>40"}, "q"),
        ({"observedFrom": "yesterday"}, "observedFrom"),
        ({"observedTo": "2024-05-01T00:00:00"}, "observedTo"),
        ({"sort": "colour"}, "sort"),
        ({"sort": "distance"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "100000"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"count": "perhaps"}, "count"),
    ],
)
def test_bad_parameters_get_400_problem_naming_them(api, params, param):
    response = api.get("/api/v1/entities", params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["param"] == param
    assert body["status"] == 400 and body["title"] and body["detail"]


def test_q_on_a_known_type_suggests_the_model_name(api):
    body = api.get("/api/v1/entities", params={"type": "AirQualityObserved", "q": "NO2>40"}).json()
    assert "did you mean 'no2'" in body["detail"].lower()


def test_cursor_from_another_sort_is_refused(api):
    cursor = api.get("/api/v1/entities", params={"limit": 1}).json()["nextCursor"]
    response = api.get("/api/v1/entities", params={"limit": 1, "cursor": cursor, "sort": "-observedAt"})
    assert response.status_code == 400 and response.json()["param"] == "cursor"
