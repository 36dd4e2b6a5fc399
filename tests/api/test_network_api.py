"""Cities, follow-ups, catalogue and "where can this app run" over tests/network.py;
the platform admin's changes to the network on a copy of it."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from tests import people
from tests.snapshots import admin_writes


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
    assert api.get("/api/v1/information-systems/alpha/noise/devices").status_code == 401  # listed, its devices not readable to you: says why
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


# ---- the platform admin's writes -------------------------------------------------------------


@dataclass
class Writable:
    """A writable copy of the test network, with one person per kind of caller."""

    url: str
    client: TestClient
    headers: dict[str, dict[str, str]]  # who → credentials


@pytest.fixture
def net(network_copy) -> Iterator[Writable]:
    with transaction(network_copy) as session:
        admin = people.person(session, ADMIN, role="admin")
        developer = people.person(session, "dev@network.example")
        city_admin = people.person(session, "admin@delta.example", role="city_admin", cities=("delta",))
        _, key = people.app_with_key(session, developer, "Reader")
        headers = {"admin": admin.headers, "developer": developer.headers, "city_admin": city_admin.headers,
                   "key": {"X-API-Key": key}, "anonymous": {}}  # fmt: skip
    with TestClient(create_app(network_copy)) as client:
        yield Writable(network_copy, client, headers)


ADMIN = "coordinator@icity.example"
DELTA_TO_PILOT = {"level": "pilot", "effectiveOn": "2015-02-01", "evidenceKind": "technical_trial", "evidence": "Agenda trial"}
LATE_CALL = {"kind": "call", "title": "Call with the smart-city team", "happenedOn": "2014-06-01",
             "outcome": "Interested", "nextStep": "Send the letter of commitment", "nextStepDue": "2014-07-01"}  # fmt: skip


def post(net: Writable, path: str, body: dict | None = None, who: str = "admin"):
    """POST to /api/v1/cities/`path` (to /api/v1/cities itself when `path` is empty)."""
    return net.client.post(f"/api/v1/cities/{path}".rstrip("/"), json=body, headers=net.headers[who])


def refused(response, status: int, param: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["param"] == param, problem
    return problem


OULU = {"id": "oulu", "name": "Oulu", "country": "fi", "lon": 25.47, "lat": 65.01, "bbox": [25.2, 64.9, 25.8, 65.1]}


def test_the_admin_adds_a_prospect_city(net):
    response = net.client.post("/api/v1/cities", json=OULU, headers=net.headers["admin"])
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/cities/oulu"
    oulu = response.json()
    assert (oulu["level"], oulu["country"], oulu["location"]["coordinates"]) == ("prospect", "FI", [25.47, 65.01])
    assert net.client.get(response.headers["location"]).json() == {**oulu, "levelHistory": [], "engagementActions": []}
    prospects = net.client.get("/api/v1/cities", params={"level": "prospect"}).json()["items"]
    assert [c["id"] for c in prospects] == ["epsilon", "oulu"]
    [event] = net.client.get("/api/v1/audit", params={"action": "city.created", "city": "oulu"}, headers=net.headers["admin"]).json()["items"]
    assert event["actor"] == ADMIN


@pytest.mark.parametrize(
    ("changes", "status", "param"),
    [
        ({"id": "alpha"}, 409, "id"),
        ({"id": "Oulu City"}, 400, "id"),  # it goes into entity ids and URLs
        ({"country": "FIN"}, 400, "country"),
        ({"name": ""}, 400, "name"),
        ({"lat": 95.0}, 422, "lon"),  # the service names the centre by its first coordinate
        ({"bbox": [0, 0, 1, 1]}, 422, "bbox"),
    ],
)
def test_a_refused_city_is_a_problem_naming_the_field_and_writes_nothing(net, changes, status, param):
    before = admin_writes(net.url)
    refused(net.client.post("/api/v1/cities", json={**OULU, **changes}, headers=net.headers["admin"]), status, param)
    assert admin_writes(net.url) == before


def test_the_admin_records_a_level_change_attributed_audited_and_in_the_history(net):
    response = post(net, "delta/level-changes", DELTA_TO_PILOT)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/cities/delta"
    change = response.json()
    assert change == {
        "from": "sig", "to": "pilot", "effectiveOn": "2015-02-01", "evidenceKind": "technical_trial",
        "evidence": "Agenda trial", "recordedBy": ADMIN, "recordedAt": change["recordedAt"],
    }  # fmt: skip
    delta = net.client.get(response.headers["location"]).json()
    assert delta["level"] == "pilot" and delta["levelHistory"][-1] == change
    events = net.client.get(
        "/api/v1/audit", params={"action": "city.level_changed", "city": "delta"}, headers=net.headers["admin"]
    ).json()["items"]
    newest = events[0]  # after the test network's own change of delta, by "tests"
    assert (newest["actor"], newest["details"]["from"], newest["details"]["to"]) == (ADMIN, "sig", "pilot")
    assert [e["actor"] for e in events[1:]] == ["tests"]


def test_the_effective_date_defaults_to_today(net):
    body = {key: value for key, value in DELTA_TO_PILOT.items() if key != "effectiveOn"}
    response = post(net, "delta/level-changes", body)
    assert response.status_code == 201 and response.json()["effectiveOn"] == date.today().isoformat()


@pytest.mark.parametrize(
    ("city", "changes", "status", "param", "says"),
    [
        ("delta", {"evidence": ""}, 422, "evidence", "evidence"),
        ("delta", {"evidence": None}, 422, "evidence", "describe the evidence"),  # None: left out of the body
        ("delta", {"evidenceKind": "letter_of_commitment"}, 422, "evidenceKind", "technical_trial or first_opened_is"),
        ("delta", {"evidenceKind": None}, 400, "evidenceKind", ""),
        ("delta", {"level": "sig", "evidenceKind": "letter_of_commitment"}, 409, "level", "already"),
        ("delta", {"level": "mayor"}, 422, "level", "consortium"),
        ("delta", {"effectiveOn": "2014-01-01"}, 422, "effectiveOn", "2014-04-01"),
        ("delta", {"effectiveOn": "01/02/2015"}, 400, "effectiveOn", ""),
        ("delta", {"recordedBy": "someone else"}, 400, "recordedBy", ""),  # attribution is the caller's
        ("atlantis", {}, 404, "city_id", "atlantis"),
        # gamma opens an IS: below pilot it could not, so the service refuses and says what to do
        ("gamma", {"level": "sig", "evidenceKind": "letter_of_commitment"}, 409, "level", "retire"),
    ],
)
def test_a_refused_level_change_is_a_problem_naming_the_field_and_writes_nothing(net, city, changes, status, param, says):
    body = {key: value for key, value in {**DELTA_TO_PILOT, **changes}.items() if value is not None}
    before = admin_writes(net.url)
    problem = refused(post(net, f"{city}/level-changes", body), status, param)
    assert says in problem["detail"]
    assert admin_writes(net.url) == before


def test_the_admin_adds_an_engagement_action_then_its_next_step_done_leaves_the_follow_ups(net):
    def follow_ups() -> list[str]:
        return [f["city"] for f in net.client.get("/api/v1/cities/follow-ups", params={"today": "2014-09-01"}).json()]

    assert "epsilon" not in follow_ups()
    added = post(net, "epsilon/engagement-actions", LATE_CALL)
    assert added.status_code == 201, added.text
    assert added.headers["location"] == "/api/v1/cities/epsilon"
    action = added.json()
    assert (action["city"], action["kind"], action["nextStepDue"], action["nextStepDone"]) == ("epsilon", "call", "2014-07-01", False)
    assert "epsilon" in follow_ups()
    assert net.client.get("/api/v1/cities/epsilon").json()["engagementActions"] == [action]

    done = post(net, f"epsilon/engagement-actions/{action['id']}/next-step-done")
    assert done.status_code == 200, done.text
    assert done.json() == {**action, "nextStepDone": True, "overdue": False}
    assert "epsilon" not in follow_ups()
    events = net.client.get("/api/v1/audit", params={"city": "epsilon"}, headers=net.headers["admin"]).json()["items"]
    assert [(e["action"], e["actor"], e["targetId"]) for e in events] == [
        ("city.next_step_done", ADMIN, str(action["id"])),
        ("city.engagement_action_recorded", ADMIN, str(action["id"])),
        ("city.created", "tests", "epsilon"),  # by the test network
    ]


@pytest.mark.parametrize(
    ("changes", "status", "param"),
    [
        ({"kind": "party"}, 422, "kind"),
        ({"title": ""}, 422, "title"),
        ({"happenedOn": "June 2014"}, 400, "happenedOn"),
        ({"nextStepDue": "2014-05-01"}, 422, "nextStepDue"),
        ({"nextStep": None}, 422, "nextStep"),  # a due date without its step
    ],
)
def test_a_refused_engagement_action_is_a_problem_naming_the_field_and_writes_nothing(net, changes, status, param):
    body = {key: value for key, value in {**LATE_CALL, **changes}.items() if value is not None}
    before = admin_writes(net.url)
    refused(post(net, "epsilon/engagement-actions", body), status, param)
    assert admin_writes(net.url) == before


def test_a_next_step_is_marked_done_only_through_its_own_city(net):
    action = post(net, "epsilon/engagement-actions", LATE_CALL).json()
    before = admin_writes(net.url)
    refused(post(net, f"alpha/engagement-actions/{action['id']}/next-step-done"), 404, "action_id")
    refused(post(net, f"epsilon/engagement-actions/{action['id'] + 1}/next-step-done"), 404, "action_id")
    assert admin_writes(net.url) == before


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("developer", 403), ("city_admin", 403), ("key", 403)])
def test_only_the_platform_admin_changes_the_network_and_a_refusal_writes_nothing(net, who, status):
    action = post(net, "delta/engagement-actions", LATE_CALL).json()
    before = admin_writes(net.url)
    for path, body in [
        ("", OULU),
        ("delta/level-changes", DELTA_TO_PILOT),
        ("delta/engagement-actions", LATE_CALL),
        (f"delta/engagement-actions/{action['id']}/next-step-done", None),
    ]:
        response = post(net, path, body, who)
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert admin_writes(net.url) == before
