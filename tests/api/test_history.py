"""Entity history: raw values and aggregation per interval (tests/network.py: alpha s0)."""

from urllib.parse import quote

import pytest

from tests.network import HISTORY_HOURS, history_value

S0 = "urn:ngsi-ld:AirQualityObserved:alpha:s0"
WINDOW = {"from": "2024-04-01T00:00:00Z", "to": "2024-04-03T00:00:00Z"}  # the 48 h of history


def history(api, entity_id=S0, **params):
    return api.get(f"/api/v1/entities/{quote(entity_id)}/history", params=params)


def test_hourly_average_over_a_window(api):
    body = history(api, attribute="no2", aggregate="avg", interval="1h", **{"from": "2024-04-01T00:00:00Z", "to": "2024-04-01T06:00:00Z"}).json()
    assert body["aggregate"] == "avg" and body["interval"] == 3600
    assert [b["start"] for b in body["buckets"]] == [f"2024-04-01T0{h}:00:00+00:00" for h in range(6)]
    assert [b["value"] for b in body["buckets"]] == [pytest.approx(h * 10 + 2.5) for h in range(6)]
    assert all(b["count"] == 6 for b in body["buckets"])


@pytest.mark.parametrize(
    ("aggregate", "hour_value"),
    [
        ("min", lambda h: h * 10),
        ("max", lambda h: h * 10 + 5),
        ("sum", lambda h: 6 * h * 10 + 15),
        ("count", lambda h: 6),
    ],
)
def test_other_aggregates(api, aggregate, hour_value):
    body = history(api, attribute="no2", aggregate=aggregate, interval="1h", **WINDOW).json()
    assert len(body["buckets"]) == HISTORY_HOURS
    assert [b["value"] for b in body["buckets"]] == [pytest.approx(hour_value(h)) for h in range(HISTORY_HOURS)]


def test_daily_average_is_aligned_on_utc_midnight(api):
    body = history(api, attribute="no2", aggregate="avg", interval="1d", **WINDOW).json()
    assert [(b["start"], b["value"], b["count"]) for b in body["buckets"]] == [
        ("2024-04-01T00:00:00+00:00", pytest.approx(117.5), 144),
        ("2024-04-02T00:00:00+00:00", pytest.approx(357.5), 144),
    ]


def test_fifteen_minute_buckets(api):
    body = history(api, attribute="no2", aggregate="count", interval="15m", **{"from": "2024-04-01T00:00:00Z", "to": "2024-04-01T01:00:00Z"}).json()
    # samples every 10 minutes: 00,10 | 20 | 30,40 | 50
    assert [b["value"] for b in body["buckets"]] == [2, 1, 2, 1]


def test_raw_values_are_paginated_in_time_order(api):
    values, cursor = [], None
    for _ in range(50):
        params = {"attribute": "no2", "limit": 100, **WINDOW, **({"cursor": cursor} if cursor else {})}
        body = history(api, **params).json()
        values += body["values"]
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert len(values) == HISTORY_HOURS * 6
    assert [v["value"] for v in values] == [history_value(m) for m in range(0, HISTORY_HOURS * 60, 10)]
    assert values[0]["observedAt"] == "2024-04-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"attribute": "no2", "aggregate": "median", "interval": "1h"}, "aggregate"),
        ({"attribute": "no2", "aggregate": "avg"}, "interval"),
        ({"attribute": "no2", "aggregate": "avg", "interval": "1w"}, "interval"),
        ({"attribute": "no2", "aggregate": "avg", "interval": "0h"}, "interval"),
        ({"aggregate": "avg", "interval": "1h"}, "attribute"),
        ({"attribute": "airQualityLevel", "aggregate": "avg", "interval": "1h"}, "aggregate"),
        ({"attribute": "no2", "from": "2024-05-02T00:00:00Z", "to": "2024-05-01T00:00:00Z"}, "from"),
        ({"attribute": "no2", "from": "May 1st"}, "from"),
    ],
)
def test_bad_history_parameters(api, params, param):
    response = history(api, **params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == param


def test_history_of_a_hidden_entity_is_404(api):
    response = history(api, "urn:ngsi-ld:NoiseLevelObserved:alpha:n0", attribute="LAeq", aggregate="avg", interval="1h")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
