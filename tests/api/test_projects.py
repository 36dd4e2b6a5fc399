"""Public-interest projects through /api/v1/projects: readiness computed live from the catalogue,
who manages, and bad inputs refused with a problem that says why, writing nothing.

The network (tests/network.py): alpha opens air (public), noise (registered), parking (approval);
beta opens air (trial) and poi; gamma opens air and has wifi in draft; delta is SIG; epsilon a prospect.
"""

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import App, AuditEvent, Project, ProjectApp, ProjectMember, ProjectPartner
from icity.services import audit, catalogue, owners
from tests import people
from tests.api.project_world import certified_app, member_owner

pytestmark = pytest.mark.postgres_ok


@dataclass
class Cast:
    client: TestClient
    url: str
    admin: dict
    alpha_admin: dict
    beta_admin: dict
    developer: dict
    other_developer: dict
    air_and_noise: int  # the developer's certified app needing AirQualityObserved and NoiseLevelObserved
    parking: int  # the developer's certified app needing OffStreetParking (alpha's is `approval`)
    draft: int  # the developer's app, not certified
    others: int  # another organisation's certified app
    owner_admin: dict  # an admin of beta-transit, a member infrastructure owner


@pytest.fixture
def cast(network_copy) -> Cast:
    with transaction(network_copy) as session:
        admin = people.person(session, "admin@icity.example", role="admin")
        alpha_admin = people.person(session, "admin@alpha.example", role="city_admin", cities=("alpha",))
        beta_admin = people.person(session, "admin@beta.example", role="city_admin", cities=("beta",))
        developer = people.person(session, "dev@air.example")
        other = people.person(session, "dev@other.example")
        people.app_with_key(session, developer, "Key holder")  # the organisation's developer reads through its apps
        air_and_noise = certified_app(session, developer, "Breathe", ["AirQualityObserved", "NoiseLevelObserved"])
        parking = certified_app(session, developer, "Park near school", ["OffStreetParking"])
        draft, _ = people.app_with_key(session, developer, "Not yet")
        others = certified_app(session, other, "Theirs", ["AirQualityObserved"])
        ids = (air_and_noise.id, parking.id, draft.id, others.id)
        member_owner(session, "beta-transit", "Beta Transit")
        owners.create_owner(session, audit.actor_named("tests"), id="gamma-grid", name="Gamma Grid", kind="utility", country="GB")
        owner_admin = people.person(session, "admin@beta-transit.example", role="owner_admin", owners=("beta-transit",))
        heads = [p.headers for p in (admin, alpha_admin, beta_admin, developer, other)]
    return Cast(TestClient(create_app(network_copy)), network_copy, *heads, *ids, owner_admin.headers)


def start(cast: Cast, **extra) -> None:
    body = {"slug": "clean-air", "name": "Clean air for schools", "entityTypes": ["AirQualityObserved"], "city": "alpha", **extra}
    response = cast.client.post("/api/v1/projects", json=body, headers=cast.alpha_admin)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/projects/clean-air"


def project(cast: Cast, headers: dict | None = None) -> dict:
    response = cast.client.get("/api/v1/projects/clean-air", headers=headers)  # anyone
    assert response.status_code == 200, response.text
    return response.json()


def city_of(body: dict, city: str) -> dict:
    return next(c for c in body["members"] + body["invited"] if c["city"] == city)


def app_in(body: dict, app_id: int, city: str) -> dict:
    app = next(a for a in body["apps"] if a["id"] == app_id)
    per_city = next(c for c in app["cities"] if c["city"] == city)
    return {t["entityType"]: t["status"] for t in per_city["entityTypes"]} | {"canRun": per_city["canRun"]}


def test_a_missing_is_then_added_then_opened_is_seen_at_once(cast):
    start(cast)
    assert cast.client.post("/api/v1/projects/clean-air/members", json={"city": "beta", "joinedOn": "2014-10-01"}, headers=cast.alpha_admin).status_code == 201
    assert cast.client.post("/api/v1/projects/clean-air/apps", json={"app": cast.air_and_noise}, headers=cast.developer).status_code == 201

    body = project(cast)
    assert [(c["city"], c["role"]) for c in body["members"]] == [("beta", "member"), ("alpha", "member")]  # by joining date
    # alpha opens both (noise is `registered`: the approved developer's app reads it)
    assert app_in(body, cast.air_and_noise, "alpha") == {"AirQualityObserved": "ready", "NoiseLevelObserved": "ready", "canRun": True}
    assert city_of(body, "alpha")["workList"] == []
    # beta has no noise IS at all
    assert app_in(body, cast.air_and_noise, "beta") == {"AirQualityObserved": "ready", "NoiseLevelObserved": "missing", "canRun": False}
    assert city_of(body, "beta")["workList"] == [
        {"entityType": "NoiseLevelObserved", "status": "missing", "neededBy": ["Breathe"], "informationSystems": []}
    ]
    assert next(a for a in body["apps"] if a["id"] == cast.air_and_noise)["runsIn"] == ["alpha"]

    # beta registers its noise IS: there, but not open yet; a draft is named to beta's admins only
    with transaction(cast.url) as session:
        catalogue.create_information_system(
            session, city_id="beta", slug="noise", name="Beta noise", category="environment",
            entity_types=["NoiseLevelObserved"], access_policy="public", licence="CC-BY-4.0",
        )  # fmt: skip
    for viewer in (cast.beta_admin, cast.admin):
        body = project(cast, viewer)
        assert app_in(body, cast.air_and_noise, "beta")["NoiseLevelObserved"] == "not-opened"
        [item] = city_of(body, "beta")["workList"]
        assert (item["status"], [s["id"] for s in item["informationSystems"]]) == ("not-opened", ["beta/noise"])
    for viewer in (None, cast.alpha_admin, cast.developer):
        body = project(cast, viewer)
        assert app_in(body, cast.air_and_noise, "beta")["NoiseLevelObserved"] == "missing"
        assert "beta/noise" not in str(body)

    # and opens it: beta can run the app, nothing left to open
    with transaction(cast.url) as session:
        catalogue.set_status(session, "beta/noise", "open")
    body = project(cast)
    assert app_in(body, cast.air_and_noise, "beta") == {"AirQualityObserved": "ready", "NoiseLevelObserved": "ready", "canRun": True}
    assert city_of(body, "beta")["workList"] == []
    assert city_of(body, "beta")["canRun"] == [cast.air_and_noise]


def test_an_opened_is_the_app_may_not_read_yet_counts_but_says_it_needs_access(cast):
    start(cast)
    cast.client.post("/api/v1/projects/clean-air/apps", json={"app": cast.parking}, headers=cast.developer)
    assert app_in(project(cast), cast.parking, "alpha") == {"OffStreetParking": "needs-access", "canRun": True}
    with transaction(cast.url) as session:
        people.grant(session, session.get(App, cast.parking), "alpha/parking")
    assert app_in(project(cast), cast.parking, "alpha") == {"OffStreetParking": "ready", "canRun": True}


def test_a_prospect_is_listed_as_invited_with_its_work_list(cast):
    start(cast)
    response = cast.client.post("/api/v1/projects/clean-air/members", json={"city": "epsilon", "role": "invited"}, headers=cast.admin)
    assert response.status_code == 201, response.text
    body = project(cast)
    [invited] = body["invited"]
    assert (invited["city"], invited["level"], invited["role"]) == ("epsilon", "prospect", "invited")
    assert invited["workList"] == [
        {"entityType": "AirQualityObserved", "status": "missing", "neededBy": ["project"], "informationSystems": []}
    ]
    assert [c["city"] for c in body["members"]] == ["alpha"]


def test_projects_are_listed_with_their_counts(cast):
    start(cast)
    cast.client.post("/api/v1/projects/clean-air/apps", json={"app": cast.air_and_noise}, headers=cast.developer)
    page = cast.client.get("/api/v1/projects").json()
    assert [(p["slug"], p["memberCount"], p["invitedCount"], p["appCount"]) for p in page["items"]] == [("clean-air", 1, 0, 1)]


def test_managers_change_a_project_and_every_change_is_audited(cast):
    start(cast)
    client = cast.client
    assert client.patch("/api/v1/projects/clean-air", json={"entityTypes": ["AirQualityObserved", "NoiseLevelObserved"]}, headers=cast.alpha_admin).status_code == 200
    assert client.post("/api/v1/projects/clean-air/members", json={"city": "beta"}, headers=cast.admin).status_code == 201
    # beta is a member now: its admins manage the project too
    assert client.patch("/api/v1/projects/clean-air", json={"description": "Schools first"}, headers=cast.beta_admin).status_code == 200
    assert client.patch("/api/v1/projects/clean-air", json={}, headers=cast.beta_admin).status_code == 200  # no change: not audited
    client.post("/api/v1/projects/clean-air/apps", json={"app": cast.air_and_noise}, headers=cast.developer)
    assert client.delete(f"/api/v1/projects/clean-air/apps/{cast.air_and_noise}", headers=cast.beta_admin).status_code == 204
    assert client.delete("/api/v1/projects/clean-air/members/beta", headers=cast.alpha_admin).status_code == 204
    with new_session(cast.url) as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "project").order_by(AuditEvent.id)).all()
    assert actions == [
        "project.created", "project.member_added", "project.updated", "project.member_added", "project.updated",
        "project.app_attached", "project.app_detached", "project.member_removed",
    ]  # fmt: skip


def counts(url: str) -> tuple[int, ...]:
    with new_session(url) as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) for t in (Project, ProjectMember, ProjectPartner, ProjectApp, AuditEvent))


REFUSALS = [
    # (who, method, path, body, status, param, words of the detail)
    ("admin", "post", "/api/v1/projects", {"slug": "x", "name": "X", "entityTypes": ["CleanAir"]}, 422, "entityTypes[0]", "not a Smart Data Model"),
    ("admin", "post", "/api/v1/projects", {"slug": "x", "name": "X", "entityTypes": ["AirQualityObserved"], "city": "atlantis"}, 422, "city", "No city 'atlantis'"),
    ("admin", "post", "/api/v1/projects", {"slug": "clean-air", "name": "X", "entityTypes": ["AirQualityObserved"]}, 409, "slug", "exists already"),
    ("beta_admin", "post", "/api/v1/projects", {"slug": "x", "name": "X", "entityTypes": ["AirQualityObserved"], "city": "alpha"}, 403, None, "cities you administer"),
    ("admin", "post", "/api/v1/projects/clean-air/members", {"city": "atlantis"}, 422, "city", "No city 'atlantis'"),
    ("admin", "post", "/api/v1/projects/clean-air/members", {"city": "alpha"}, 409, "city", "already in 'clean-air'"),
    ("admin", "post", "/api/v1/projects/clean-air/members", {"city": "epsilon"}, 409, "role", "prospect"),
    ("admin", "post", "/api/v1/projects/clean-air/members", {"city": "beta", "role": "owner"}, 422, "role", "member, invited"),
    ("admin", "patch", "/api/v1/projects/clean-air", {"entityTypes": ["AirQualityObserved", "Smog"]}, 422, "entityTypes[1]", "'Smog'"),
    # a city admin managing a project their city is not a member of
    ("beta_admin", "post", "/api/v1/projects/clean-air/members", {"city": "beta"}, 403, None, "none of your cities is a member"),
    ("beta_admin", "patch", "/api/v1/projects/clean-air", {"name": "Mine"}, 403, None, "none of your cities is a member"),
    ("beta_admin", "delete", "/api/v1/projects/clean-air/members/alpha", None, 403, None, "none of your cities is a member"),
    ("developer", "post", "/api/v1/projects/clean-air/apps", {"app": "draft"}, 409, "app", "not certified"),
    ("developer", "post", "/api/v1/projects/clean-air/apps", {"app": "others"}, 403, None, "own organisation"),
    ("developer", "post", "/api/v1/projects/clean-air/apps", {"app": 999999}, 422, "app", "No app with id 999999"),
    ("admin", "post", "/api/v1/projects/clean-air/apps", {"app": "air_and_noise"}, 403, None, "Only developers"),
    ("admin", "post", "/api/v1/projects/elsewhere/members", {"city": "beta"}, 404, "slug", "No project"),
    ("owner_admin", "post", "/api/v1/projects", {"slug": "x", "name": "X", "entityTypes": ["AirQualityObserved"], "city": "beta"}, 403, None, "as a partner"),
    ("owner_admin", "patch", "/api/v1/projects/clean-air", {"name": "Ours"}, 403, None, "none of your cities is a member"),
    # partners: members of the network only; an applicant exists for the platform admin alone
    ("alpha_admin", "post", "/api/v1/projects/clean-air/partners", {"owner": "atlantis-buses"}, 422, "owner", "No infrastructure owner"),
    ("alpha_admin", "post", "/api/v1/projects/clean-air/partners", {"owner": "gamma-grid"}, 422, "owner", "No infrastructure owner"),
    ("admin", "post", "/api/v1/projects/clean-air/partners", {"owner": "gamma-grid"}, 409, "owner", "applicant"),
    ("beta_admin", "post", "/api/v1/projects/clean-air/partners", {"owner": "beta-transit"}, 403, None, "none of your cities is a member"),
]


@pytest.mark.parametrize("who, method, path, body, status, param, words", REFUSALS, ids=lambda v: v if isinstance(v, str) else None)
def test_bad_inputs_get_a_problem_and_write_nothing(cast, who, method, path, body, status, param, words):
    start(cast)
    before = counts(cast.url)
    if body and isinstance(body.get("app"), str):
        body = {"app": getattr(cast, body["app"])}
    response = cast.client.request(method.upper(), path, json=body, headers=getattr(cast, who))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert words in problem["detail"]
    assert problem.get("param") == param
    assert counts(cast.url) == before


def test_an_attached_app_is_attached_once(cast):
    start(cast)
    cast.client.post("/api/v1/projects/clean-air/apps", json={"app": cast.air_and_noise}, headers=cast.developer)
    before = counts(cast.url)
    again = cast.client.post("/api/v1/projects/clean-air/apps", json={"app": cast.air_and_noise}, headers=cast.developer)
    assert (again.status_code, again.json()["param"]) == (409, "app")
    assert counts(cast.url) == before


def test_a_partner_owner_is_listed_with_what_it_opens_and_counts_where_its_is_lies(cast):
    start(cast)
    client = cast.client
    client.post("/api/v1/projects/clean-air/members", json={"city": "beta"}, headers=cast.alpha_admin)
    client.post("/api/v1/projects/clean-air/apps", json={"app": cast.air_and_noise}, headers=cast.developer)
    response = client.post("/api/v1/projects/clean-air/partners", json={"owner": "beta-transit", "joinedOn": "2014-11-01"}, headers=cast.alpha_admin)
    assert (response.status_code, response.json()) == (201, {"project": "clean-air", "owner": "beta-transit", "joinedOn": "2014-11-01"})
    again = client.post("/api/v1/projects/clean-air/partners", json={"owner": "beta-transit"}, headers=cast.admin)
    assert (again.status_code, again.json()["param"]) == (409, "owner")
    [partner] = project(cast)["partners"]
    assert (partner["owner"], partner["name"], partner["informationSystems"]) == ("beta-transit", "Beta Transit", [])

    # the owner opens noise sensors on its buses in beta: listed with the partner, and beta runs the app
    with transaction(cast.url) as session:
        catalogue.create_information_system(
            session, city_id="beta", slug="bus-noise", name="Bus-stop noise", category="environment",
            entity_types=["NoiseLevelObserved"], access_policy="public", licence="CC-BY-4.0", owner_id="beta-transit",
        )  # fmt: skip
        catalogue.set_status(session, "beta/bus-noise", "open")
    body = project(cast)
    [system] = body["partners"][0]["informationSystems"]
    assert (system["id"], system["city"], system["servesProject"]) == ("beta/bus-noise", "beta", ["NoiseLevelObserved"])
    assert app_in(body, cast.air_and_noise, "beta") == {"AirQualityObserved": "ready", "NoiseLevelObserved": "ready", "canRun": True}
    assert [p["partnerCount"] for p in client.get("/api/v1/projects").json()["items"]] == [1]

    assert client.delete("/api/v1/projects/clean-air/partners/beta-transit", headers=cast.beta_admin).status_code == 204
    assert project(cast)["partners"] == []
    with new_session(cast.url) as session:
        owners_events = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("project.partner%")).order_by(AuditEvent.id)
        ).all()
    assert owners_events == ["project.partner_added", "project.partner_removed"]
