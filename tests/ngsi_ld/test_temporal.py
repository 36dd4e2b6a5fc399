"""The NGSI-LD temporal API with exact bodies: representations, aggregations computed by hand, lastN
and cut pages, timerel edges, provision by instance, access — on SQLite and PostgreSQL.

History of tests/network.py: alpha s0's no2 every 10 minutes from 2024-04-01T00:00Z for 48 h, hour h
holding h*10 + 0, 1, … 5 (and 10.0 at 2024-05-01T00:00Z, its current value)."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from icity.ngsi_ld import temporal
from icity.ngsi_ld.temporal_representation import instance_id
from tests.ngsi_ld.conftest import BASE

pytestmark = pytest.mark.postgres_ok

S0 = "urn:ngsi-ld:AirQualityObserved:alpha:s0"
HOURS_0_TO_3 = {"timerel": "between", "timeAt": "2024-04-01T00:00:00Z", "endTimeAt": "2024-04-01T03:00:00Z"}
ALL_METHODS = "totalCount,distinctCount,sum,avg,min,max,stddev,sumsq"
# the spec's vehicle (CIM 009 clause 5.6.11's example): its speed at three times
VEHICLE = "urn:ngsi-ld:Vehicle:B9211"
SPEEDS = [(120, "2018-08-01T12:03:00Z"), (80, "2018-08-01T12:05:00Z"), (100, "2018-08-01T12:07:00Z")]
TEMPORAL_VEHICLE = {
    "id": VEHICLE,
    "type": "Vehicle",
    "speed": [{"type": "Property", "value": value, "observedAt": at} for value, at in SPEEDS],
}


def temporal_of(client, entity_id=S0, **params):
    return client.get(f"{BASE}/temporal/entities/{entity_id}", params=params)


def at(hour: int, minute: int = 0) -> str:
    return f"2024-04-0{1 + hour // 24}T{hour % 24:02d}:{minute:02d}:00Z"


def moment(hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 4, 1, hour, minute, tzinfo=timezone.utc)


def hour_values(hour: int) -> list[float]:
    return [hour * 10.0 + n for n in range(6)]


# ---- representations -------------------------------------------------------------------------------


def test_normalized_temporal_representation(api):
    body = temporal_of(api, attrs="no2", timerel="between", timeAt=at(0), endTimeAt=at(0, 30)).json()
    assert body == {
        "id": S0,
        "type": "AirQualityObserved",
        "no2": [
            {"type": "Property", "value": float(m // 10), "observedAt": at(0, m), "instanceId": instance_id(S0, "no2", moment(0, m))}
            for m in (0, 10, 20)
        ],
    }


def test_temporal_values_simplified_representation(api):
    body = temporal_of(api, attrs="no2", options="temporalValues", timerel="between", timeAt=at(1), endTimeAt=at(1, 30)).json()
    assert body == {"id": S0, "type": "AirQualityObserved",
                    "no2": {"type": "Property", "values": [[10.0, at(1)], [11.0, at(1, 10)], [12.0, at(1, 20)]]}}  # fmt: skip


def test_every_aggregation_method_per_hour_against_values_computed_by_hand(api):
    body = temporal_of(api, attrs="no2", options="aggregatedValues", aggrMethods=ALL_METHODS, aggrPeriodDuration="PT1H",
                       **HOURS_0_TO_3).json()  # fmt: skip
    periods = [(at(h), at(h + 1)) for h in range(3)]

    def expect(compute):
        return [[compute(hour_values(h)), *periods[h]] for h in range(3)]

    def sample_stddev(values):
        mean = sum(values) / len(values)
        return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))

    no2 = body["no2"]
    assert no2["type"] == "Property"
    assert no2["totalCount"] == expect(len) == [[6, at(0), at(1)], [6, at(1), at(2)], [6, at(2), at(3)]]
    assert no2["distinctCount"] == expect(lambda v: len(set(v)))
    assert no2["sum"] == expect(sum) == [[15.0, at(0), at(1)], [75.0, at(1), at(2)], [135.0, at(2), at(3)]]
    assert no2["avg"] == expect(lambda v: sum(v) / len(v)) == [[2.5, at(0), at(1)], [12.5, at(1), at(2)], [22.5, at(2), at(3)]]
    assert no2["min"] == expect(min) and no2["max"] == expect(max)
    assert no2["sumsq"] == expect(lambda v: sum(x * x for x in v)) == [[55.0, at(0), at(1)], [955.0, at(1), at(2)], [3055.0, at(2), at(3)]]
    assert [p[0] for p in no2["stddev"]] == pytest.approx([sample_stddev(hour_values(h)) for h in range(3)])  # √3.5 each
    assert [p[1:] for p in no2["stddev"]] == [list(p) for p in periods]


def test_periods_count_from_time_at_and_a_zero_duration_is_the_whole_window(api):
    # 30-minute periods from 00:15: [00:15, 00:45) holds 00:20, 00:30, 00:40
    body = temporal_of(api, attrs="no2", options="aggregatedValues", aggrMethods="totalCount,avg", aggrPeriodDuration="PT30M",
                       timerel="between", timeAt=at(0, 15), endTimeAt=at(1, 15)).json()  # fmt: skip
    assert body["no2"]["totalCount"] == [[3, at(0, 15), at(0, 45)], [3, at(0, 45), at(1, 15)]]
    assert body["no2"]["avg"] == [[3.0, at(0, 15), at(0, 45)], [(5 + 10 + 11) / 3, at(0, 45), at(1, 15)]]
    whole = temporal_of(api, attrs="no2", options="aggregatedValues", aggrMethods="sum,max", aggrPeriodDuration="PT0S", **HOURS_0_TO_3).json()
    assert whole["no2"] == {"type": "Property", "sum": [[225.0, at(0), at(3)]], "max": [[25.0, at(0), at(3)]]}
    nothing = temporal_of(api, attrs="no2", options="aggregatedValues", aggrMethods="totalCount", aggrPeriodDuration="PT0S",
                          timerel="before", timeAt="2020-01-01T00:00:00Z").json()  # fmt: skip
    assert nothing == {"id": S0, "type": "AirQualityObserved"}


def test_daily_and_calendar_month_periods(api):
    daily = temporal_of(api, attrs="no2", options="aggregatedValues", aggrMethods="totalCount,avg", aggrPeriodDuration="P1D",
                        timerel="between", timeAt="2024-04-01T00:00:00Z", endTimeAt="2024-04-03T00:00:00Z").json()  # fmt: skip
    assert daily["no2"]["totalCount"] == [[144, "2024-04-01T00:00:00Z", "2024-04-02T00:00:00Z"], [144, "2024-04-02T00:00:00Z", "2024-04-03T00:00:00Z"]]
    assert daily["no2"]["avg"] == [[117.5, "2024-04-01T00:00:00Z", "2024-04-02T00:00:00Z"], [357.5, "2024-04-02T00:00:00Z", "2024-04-03T00:00:00Z"]]
    # calendar months (UTC), April has 30 days and May 31: 288 observations in April, s0's current one in May
    monthly = temporal_of(api, attrs="no2", options="aggregatedValues", aggrMethods="totalCount", aggrPeriodDuration="P1M").json()
    assert monthly["no2"]["totalCount"] == [[288, "2024-04-01T00:00:00Z", "2024-05-01T00:00:00Z"], [1, "2024-05-01T00:00:00Z", "2024-06-01T00:00:00Z"]]
    yearly = temporal_of(api, attrs="no2", options="aggregatedValues", aggrMethods="totalCount", aggrPeriodDuration="P1Y").json()
    assert yearly["no2"]["totalCount"] == [[289, "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"]]


# ---- timerel, lastN and cut pages ----------------------------------------------------------------


def test_timerel_edges_before_excludes_time_at_after_and_between_include_it(api):
    def times(**params):
        body = temporal_of(api, attrs="no2", options="temporalValues", **params).json()
        return [pair[1] for pair in body.get("no2", {}).get("values", [])]

    assert times(timerel="before", timeAt="2024-04-01T00:20:00Z") == [at(0), at(0, 10)]
    assert times(timerel="after", timeAt="2024-04-02T23:40:00Z") == [at(47, 40), at(47, 50), "2024-05-01T00:00:00Z"]
    assert times(timerel="between", timeAt=at(0, 10), endTimeAt=at(0, 30)) == [at(0, 10), at(0, 20)]
    assert times(timerel="before", timeAt=at(0)) == []


def test_last_n_gives_the_newest_instances_in_time_order(api):
    body = temporal_of(api, attrs="no2", options="temporalValues", lastN=3, timerel="before", timeAt="2024-04-03T00:00:00Z").json()
    assert body["no2"]["values"] == [[473.0, at(47, 30)], [474.0, at(47, 40)], [475.0, at(47, 50)]]


def test_an_answer_cut_at_the_instance_limit_is_206_with_the_range_it_covers(api, monkeypatch):
    monkeypatch.setattr(temporal, "MAX_INSTANCES", 4)
    forwards = temporal_of(api, attrs="no2", options="temporalValues", **HOURS_0_TO_3)
    assert forwards.status_code == 206
    assert forwards.headers["content-range"] == f"date-time {at(0)}-{at(0, 30)}/*"
    assert [p[1] for p in forwards.json()["no2"]["values"]] == [at(0), at(0, 10), at(0, 20), at(0, 30)]
    # lastN above the limit: the newest ones, and the range back from the end
    backwards = temporal_of(api, attrs="no2", options="temporalValues", lastN=10, **HOURS_0_TO_3)
    assert backwards.status_code == 206
    assert backwards.headers["content-range"] == f"date-time {at(3)}-{at(2, 20)}/10"
    assert [p[1] for p in backwards.json()["no2"]["values"]] == [at(2, 20), at(2, 30), at(2, 40), at(2, 50)]
    whole = temporal_of(api, attrs="no2", options="temporalValues", lastN=4, **HOURS_0_TO_3)
    assert whole.status_code == 200 and "content-range" not in whole.headers


def test_a_query_pages_entities_and_counts_them(api):
    answer = api.get(f"{BASE}/temporal/entities", params={
        "type": "AirQualityObserved", "attrs": "no2", "options": "temporalValues", "timerel": "after",
        "timeAt": "2024-05-01T00:00:00Z", "count": "true", "limit": 2, "offset": 1,
    })  # fmt: skip
    assert answer.status_code == 200 and answer.headers["ngsild-results-count"] == "15"
    assert answer.json() == [
        {"id": "urn:ngsi-ld:AirQualityObserved:alpha:s1", "type": "AirQualityObserved",
         "no2": {"type": "Property", "values": [[20.0, "2024-05-01T01:00:00Z"]]}},
        {"id": "urn:ngsi-ld:AirQualityObserved:alpha:s2", "type": "AirQualityObserved",
         "no2": {"type": "Property", "values": [[30.0, "2024-05-01T02:00:00Z"]]}},
    ]  # fmt: skip


def test_the_query_in_a_body_selects_as_the_parameters_do(api):
    answer = api.post(f"{BASE}/temporal/entityOperations/query", params={"options": "aggregatedValues", "aggrMethods": "max", "aggrPeriodDuration": "PT0S"},
                      json={"type": "Query", "entities": [{"id": S0, "type": "AirQualityObserved"}], "attrs": ["no2"],
                            "temporalQ": {"timerel": "between", "timeAt": at(0), "endTimeAt": at(2)}})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"id": S0, "type": "AirQualityObserved", "no2": {"type": "Property", "max": [[15.0, at(0), at(2)]]}}]


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"timerel": "before"}, "timeAt"),
        ({"timerel": "between", "timeAt": at(0)}, "endTimeAt"),
        ({"timerel": "between", "timeAt": at(1), "endTimeAt": at(0)}, "endTimeAt"),
        ({"timerel": "during", "timeAt": at(0)}, "timerel"),
        ({"timeAt": at(0)}, "timerel"),
        ({"timerel": "after", "timeAt": "yesterday"}, "timeAt"),
        ({"timeproperty": "deletedAt", "timerel": "after", "timeAt": at(0)}, "timeproperty"),
        ({"options": "aggregatedValues"}, "aggrMethods"),
        ({"options": "aggregatedValues", "aggrMethods": "median"}, "aggrMethods"),
        ({"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "1h"}, "aggrPeriodDuration"),
        ({"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "P1M1D"}, "aggrPeriodDuration"),
        ({"aggrMethods": "avg"}, "options"),
        ({"lastN": 0}, "lastN"),
        ({"options": "temporalValues,aggregatedValues", "aggrMethods": "avg"}, "options"),
    ],
)
def test_a_wrong_temporal_query_is_bad_request_data_naming_the_parameter(api, params, param):
    answer = temporal_of(api, **params)
    assert answer.status_code == 400, answer.text
    problem = answer.json()
    assert problem["type"] == "https://uri.etsi.org/ngsi-ld/errors/BadRequestData" and problem.get("param") == param, problem


# ---- access -------------------------------------------------------------------------------------------


def test_restricted_history_never_leaks(api):
    noise = "urn:ngsi-ld:NoiseLevelObserved:alpha:n0"  # alpha/noise: registered developers only
    parking = "urn:ngsi-ld:OffStreetParking:alpha:p0"  # alpha/parking: approved apps only
    for entity_id in (noise, parking):
        assert temporal_of(api, entity_id).status_code == 404
        aggregated = temporal_of(api, entity_id, options="aggregatedValues", aggrMethods="totalCount")
        assert aggregated.status_code == 404
    for entity_type, attribute in (("NoiseLevelObserved", "LAeq"), ("OffStreetParking", "availableSpotNumber")):
        for options in ({}, {"options": "aggregatedValues", "aggrMethods": "totalCount,sum"}):
            answer = api.get(f"{BASE}/temporal/entities", params={"type": entity_type, "count": "true", **options})
            assert (answer.json(), answer.headers["ngsild-results-count"]) == ([], "0")
            by_attribute = api.get(f"{BASE}/temporal/entities", params={"attrs": attribute, "count": "true", **options})
            assert (by_attribute.json(), by_attribute.headers["ngsild-results-count"]) == ([], "0")
        body = api.post(f"{BASE}/temporal/entityOperations/query", params={"count": "true"},
                        json={"type": "Query", "entities": [{"type": entity_type}]})  # fmt: skip
        assert (body.json(), body.headers["ngsild-results-count"]) == ([], "0")


# ---- provision --------------------------------------------------------------------------------------


def test_the_spec_example_created_with_its_history_reads_back(broker):
    created = broker.client.post(f"{BASE}/temporal/entities", json=TEMPORAL_VEHICLE, headers=broker.lab)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{BASE}/temporal/entities/{VEHICLE}"
    read = temporal_of(broker.client, VEHICLE).json()
    ids = [instance["instanceId"] for instance in read["speed"]]
    assert read == {"id": VEHICLE, "type": "Vehicle", "speed": [
        {"type": "Property", "value": value, "observedAt": when, "instanceId": instance}
        for (value, when), instance in zip(SPEEDS, ids, strict=True)
    ]}  # fmt: skip
    assert len(set(ids)) == 3 and ids == [i["instanceId"] for i in temporal_of(broker.client, VEHICLE).json()["speed"]]  # stable
    simplified = temporal_of(broker.client, VEHICLE, options="temporalValues").json()
    assert simplified == {"id": VEHICLE, "type": "Vehicle", "speed": {"type": "Property", "values": [[v, t] for v, t in SPEEDS]}}
    # the entity's current state is its newest instance
    current = broker.client.get(f"{BASE}/entities/{VEHICLE}").json()
    assert current["speed"] == {"type": "Property", "value": 100, "observedAt": "2018-08-01T12:07:00Z"}


def test_timeproperty_selects_instances_by_when_they_were_stored(broker):
    from datetime import timedelta

    assert broker.client.post(f"{BASE}/temporal/entities", json=TEMPORAL_VEHICLE, headers=broker.lab).status_code == 201
    an_hour_ago = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def speeds(**params):
        body = temporal_of(broker.client, VEHICLE, attrs="speed", options="temporalValues", **params).json()
        return [value for value, _ in body.get("speed", {}).get("values", [])]

    # observed in 2018, stored just now
    for timeproperty in ("createdAt", "modifiedAt"):
        assert speeds(timeproperty=timeproperty, timerel="after", timeAt=an_hour_ago) == [120, 80, 100]
        assert speeds(timeproperty=timeproperty, timerel="before", timeAt=an_hour_ago) == []
    assert speeds(timerel="after", timeAt=an_hour_ago) == []
    assert speeds(timeproperty="observedAt", timerel="after", timeAt="2018-08-01T12:04:00Z") == [80, 100]
    hourly = temporal_of(broker.client, VEHICLE, attrs="speed", options="aggregatedValues", aggrMethods="totalCount",
                         aggrPeriodDuration="PT0S", timeproperty="modifiedAt", timerel="after", timeAt=an_hour_ago).json()  # fmt: skip
    assert hourly["speed"]["totalCount"][0][0] == 3


def test_history_is_added_corrected_and_deleted_instance_by_instance(broker):
    assert broker.client.post(f"{BASE}/temporal/entities", json=TEMPORAL_VEHICLE, headers=broker.lab).status_code == 201
    more = {"speed": [{"type": "Property", "value": 90, "observedAt": "2018-08-01T12:09:00Z"}],
            "status": [{"type": "Property", "value": "moving", "observedAt": "2018-08-01T12:03:00Z"},
                       {"type": "Property", "value": "moving", "observedAt": "2018-08-01T12:05:00Z"}]}  # fmt: skip
    added = broker.client.post(f"{BASE}/temporal/entities/{VEHICLE}/attrs", json=more, headers=broker.lab)
    assert added.status_code == 204, added.text
    again = broker.client.post(f"{BASE}/temporal/entities", json=TEMPORAL_VEHICLE, headers=broker.lab)
    assert again.status_code == 204  # the same instances again: nothing new
    values = temporal_of(broker.client, VEHICLE, options="temporalValues").json()
    assert values["speed"]["values"] == [[120, SPEEDS[0][1]], [80, SPEEDS[1][1]], [100, SPEEDS[2][1]], [90, "2018-08-01T12:09:00Z"]]
    assert values["status"]["values"] == [["moving", "2018-08-01T12:03:00Z"], ["moving", "2018-08-01T12:05:00Z"]]  # text kept as given
    instances = temporal_of(broker.client, VEHICLE, attrs="speed").json()["speed"]
    second = instances[1]["instanceId"]
    fixed = broker.client.patch(f"{BASE}/temporal/entities/{VEHICLE}/attrs/speed/{second}", json={"type": "Property", "value": 85},
                                headers=broker.lab)  # fmt: skip
    assert fixed.status_code == 204, fixed.text
    assert temporal_of(broker.client, VEHICLE, attrs="speed").json()["speed"][1] == {**instances[1], "value": 85}
    moved = broker.client.patch(f"{BASE}/temporal/entities/{VEHICLE}/attrs/speed/{second}",
                                json={"value": 1, "observedAt": "2018-08-01T13:00:00Z"}, headers=broker.lab)  # fmt: skip
    assert moved.status_code == 400
    gone = broker.client.delete(f"{BASE}/temporal/entities/{VEHICLE}/attrs/speed/{second}", headers=broker.lab)
    assert gone.status_code == 204
    assert broker.client.delete(f"{BASE}/temporal/entities/{VEHICLE}/attrs/speed/{second}", headers=broker.lab).status_code == 404
    assert broker.client.delete(f"{BASE}/temporal/entities/{VEHICLE}/attrs/speed/urn:ngsi-ld:Instance:forged:1", headers=broker.lab).status_code == 404
    assert [p[0] for p in temporal_of(broker.client, VEHICLE, options="temporalValues").json()["speed"]["values"]] == [120, 100, 90]
    one_dataset = broker.client.delete(f"{BASE}/temporal/entities/{VEHICLE}/attrs/status", params={"datasetId": "urn:ngsi-ld:Dataset:x"},
                                       headers=broker.lab)  # fmt: skip
    assert one_dataset.status_code == 404
    assert broker.client.delete(f"{BASE}/temporal/entities/{VEHICLE}/attrs/status", headers=broker.lab).status_code == 204
    assert "status" not in temporal_of(broker.client, VEHICLE).json()
    assert broker.client.delete(f"{BASE}/temporal/entities/{VEHICLE}", headers=broker.lab).status_code == 204
    assert temporal_of(broker.client, VEHICLE).status_code == 404
    assert broker.client.get(f"{BASE}/entities/{VEHICLE}").status_code == 404


def test_temporal_writes_follow_the_writers_rules_and_the_data_models(broker):
    anonymous = broker.client.post(f"{BASE}/temporal/entities", json=TEMPORAL_VEHICLE)
    assert anonymous.status_code == 401
    # alpha/air's token writes into alpha/air only, and its entities follow the Smart Data Models
    other = broker.client.post(f"{BASE}/temporal/entities/{S0}/attrs", json={"no2": [{"value": 1, "observedAt": "2024-04-05T00:00:00Z"}]},
                               headers=broker.lab)  # fmt: skip
    assert other.status_code == 403
    wrong = broker.client.post(f"{BASE}/temporal/entities/{S0}/attrs", json={"no2": [{"value": "high", "observedAt": "2024-04-05T00:00:00Z"}]},
                               headers=broker.air)  # fmt: skip
    assert wrong.status_code == 400 and "no2" in wrong.text
    timeless = broker.client.post(f"{BASE}/temporal/entities/{S0}/attrs", json={"no2": [{"value": 1}]}, headers=broker.air)
    assert timeless.status_code == 400 and "observedAt" in timeless.text
    good = broker.client.post(f"{BASE}/temporal/entities/{S0}/attrs", json={"no2": [{"value": 7.5, "observedAt": "2024-04-05T00:00:00Z"}]},
                              headers=broker.air)  # fmt: skip
    assert good.status_code == 204, good.text
    newest_before = temporal_of(broker.client, S0, attrs="no2", lastN=1, options="temporalValues", timerel="before", timeAt="2024-04-10T00:00:00Z")
    assert newest_before.json()["no2"]["values"] == [[7.5, "2024-04-05T00:00:00Z"]]
    assert broker.client.get(f"{BASE}/entities/{S0}").json()["no2"]["value"] == 10.0  # older than the current value: history only
