"""App certification through the API: submit, review against the checklist,
certify or return; only certified apps reach the app portal; a certified app that
changes the entity types it needs is reviewed again. Refusals write nothing."""

from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import App, AppReview, AuditEvent, Message
from tests import people
from tests.connectors.feed_server import Feed

pytestmark = pytest.mark.postgres_ok

COMPLETE = {
    "description": "Air quality near you, and the cleanest walking route.",
    "functionalities": ["live air quality map"],
    "advantages": ["works in every iCity city"],
    "platforms": [{"platform": "web", "url": "https://breathe.example/app"}],
}


@dataclass
class Setup:
    client: TestClient
    url: str
    ada: dict  # a developer's session headers
    admin: dict  # the platform admin's
    ada_id: int

    def new_app(self, name: str, entity_types: list[str], **fields) -> int:
        body = {"name": name, "entityTypes": entity_types, **COMPLETE, **fields}
        response = self.client.post("/api/v1/apps", json=body, headers=self.ada)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def submit(self, app_id: int, **body):
        return self.client.post(f"/api/v1/apps/{app_id}/submission", json=body or None, headers=self.ada)

    def review(self, app_id: int, **body):
        return self.client.post(f"/api/v1/apps/{app_id}/review", json=body, headers=self.admin)

    def certify(self, app_id: int) -> None:
        assert self.submit(app_id).status_code == 201
        response = self.review(app_id, decision="certified")
        assert response.status_code == 200, response.text

    def portal(self, **params) -> list[dict]:
        response = self.client.get("/api/v1/app-portal", params=params)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    def count(self, model, *where) -> int:
        with new_session(self.url) as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def setup(network_copy) -> Setup:
    with transaction(network_copy) as session:
        ada = people.person(session, "ada@dev.example")
        admin = people.person(session, "coordinator@icity.example", role="admin")
        return Setup(TestClient(create_app(network_copy)), network_copy, ada.headers, admin.headers, ada.user.id)


def problem(response, status: int, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    if param is not None:
        assert body["param"] == param
    return body


def test_a_submitted_app_is_certified_and_appears_in_the_portal_with_its_cities(setup):
    app_id = setup.new_app("BreatheEasy", ["AirQualityObserved"])
    assert setup.client.get(f"/api/v1/apps/{app_id}", headers=setup.ada).json()["certification"] == "draft"
    submitted = setup.submit(app_id, note="First release.")
    assert submitted.status_code == 201 and submitted.json()["status"] == "submitted"
    assert setup.portal() == []  # not before it is certified

    queue = setup.client.get("/api/v1/certification-queue", headers=setup.admin).json()["items"]
    assert [item["app"]["id"] for item in queue] == [app_id]
    assert queue[0]["review"]["note"] == "First release."
    checks = {c["check"]: c for c in queue[0]["checklist"]}
    assert all(c["passed"] for c in checks.values())
    # public air quality in alpha (open), beta (trial) and gamma (open); delta's is a draft
    assert checks["dataUse"]["readable"] == {"AirQualityObserved": ["alpha/air", "beta/air", "gamma/air"]}

    decided = setup.review(app_id, decision="certified", comments="Well documented.")
    assert decided.status_code == 200, decided.text
    body = decided.json()
    assert body["status"] == "certified"
    assert body["reviews"][0]["decision"] == "certified" and body["reviews"][0]["reviewer"]["name"] == "Coordinator"
    assert {c["check"]: (c["passed"], c["computed"]) for c in body["reviews"][0]["checklist"]} == {
        "dataUse": (True, True), "links": (True, True), "description": (True, True),
    }  # fmt: skip
    assert setup.client.get("/api/v1/certification-queue", headers=setup.admin).json()["items"] == []

    [listed] = setup.portal()
    assert listed["name"] == "BreatheEasy" and listed["developer"]["name"] == "ada@dev.example Ltd"
    assert [c["id"] for c in listed["cities"]] == ["alpha", "beta", "gamma"]
    assert listed["platforms"] == COMPLETE["platforms"] and listed["certifiedAt"]
    assert setup.count(AuditEvent, AuditEvent.action.in_(("app.submitted", "app.certified"))) == 2
    assert setup.count(Message, Message.recipient_id == setup.ada_id, Message.subject.like("BreatheEasy is certified%")) == 1


def test_the_portal_filters_by_the_cities_that_open_every_type_an_app_needs(setup):
    air = setup.new_app("BreatheEasy", ["AirQualityObserved"])
    sights = setup.new_app("Sights", ["AirQualityObserved", "PointOfInterest"])  # points of interest: beta only
    draft = setup.new_app("Unreviewed", ["AirQualityObserved"])
    setup.certify(air)
    setup.certify(sights)
    assert [a["id"] for a in setup.portal()] == [air, sights]
    assert [a["id"] for a in setup.portal(city="alpha")] == [air]
    assert [a["id"] for a in setup.portal(city="beta")] == [air, sights]
    assert setup.portal(city="delta") == [] and setup.portal(city="nowhere") == []
    assert draft not in [a["id"] for a in setup.portal()]

    first = setup.client.get("/api/v1/app-portal", params={"limit": 1})
    assert [a["id"] for a in first.json()["items"]] == [air] and 'rel="next"' in first.headers["Link"]
    second = setup.client.get("/api/v1/app-portal", params={"limit": 1, "cursor": first.json()["nextCursor"]}).json()
    assert [a["id"] for a in second["items"]] == [sights] and second["nextCursor"] is None


def test_an_approval_is_counts_only_for_the_app_it_granted(setup):
    parking = setup.new_app("ParkNow", ["OffStreetParking"])
    assert setup.submit(parking).status_code == 201
    refused = problem(setup.review(parking, decision="certified"), 409, "checklist")
    assert "Declared data use matches its grants" in refused["detail"]
    assert setup.count(AppReview, AppReview.decision.is_not(None)) == 0  # nothing written

    with transaction(setup.url) as session:
        people.grant(session, session.get(App, parking), "alpha/parking")
    assert setup.review(parking, decision="certified").status_code == 200
    [listed] = setup.portal()
    assert [c["id"] for c in listed["cities"]] == ["alpha"]


def test_a_grant_the_app_does_not_declare_fails_the_data_use_check(setup):
    app_id = setup.new_app("BreatheEasy", ["AirQualityObserved"])
    with transaction(setup.url) as session:
        people.grant(session, session.get(App, app_id), "alpha/parking")
    checks = setup.client.get(f"/api/v1/apps/{app_id}/certification", headers=setup.ada).json()["checklist"]
    data_use = next(c for c in checks if c["check"] == "dataUse")
    assert not data_use["passed"]
    assert data_use["findings"] == ["The app holds a grant for alpha/parking (OffStreetParking) but declares none of its types."]


def test_returning_needs_comments_and_the_developer_can_submit_again(setup):
    app_id = setup.new_app("Terse", ["AirQualityObserved"], description="Short", advantages=[])
    assert setup.submit(app_id).status_code == 201
    problem(setup.review(app_id, decision="returned"), 400, "comments")
    problem(setup.review(app_id, decision="certified"), 409, "checklist")
    assert setup.count(AuditEvent, AuditEvent.action.in_(("app.returned", "app.certified"))) == 0

    returned = setup.review(app_id, decision="returned", comments="Describe the app and its advantages.")
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    failed = [c["check"] for c in returned.json()["reviews"][0]["checklist"] if not c["passed"]]
    assert failed == ["description"]
    assert setup.count(Message, Message.recipient_id == setup.ada_id, Message.subject == "Terse was returned") == 1

    setup.client.patch(f"/api/v1/apps/{app_id}", json=COMPLETE, headers=setup.ada)
    assert setup.submit(app_id).json()["status"] == "submitted"
    assert setup.review(app_id, decision="certified").json()["status"] == "certified"
    assert len(setup.client.get(f"/api/v1/apps/{app_id}/certification", headers=setup.ada).json()["reviews"]) == 2


def test_changing_the_entity_types_of_a_certified_app_sends_it_back_for_review(setup):
    app_id = setup.new_app("BreatheEasy", ["AirQualityObserved"])
    setup.certify(app_id)
    # other fields change freely
    setup.client.patch(f"/api/v1/apps/{app_id}", json={"description": "Air quality near you, every hour."}, headers=setup.ada)
    assert setup.client.get(f"/api/v1/apps/{app_id}", headers=setup.ada).json()["certification"] == "certified"

    changed = setup.client.patch(
        f"/api/v1/apps/{app_id}", json={"entityTypes": ["AirQualityObserved", "NoiseLevelObserved"]}, headers=setup.ada
    )
    assert changed.json()["certification"] == "submitted"
    assert setup.portal() == []
    [waiting] = setup.client.get("/api/v1/certification-queue", headers=setup.admin).json()["items"]
    assert waiting["review"]["trigger"] == "entity_types_changed"
    assert "AirQualityObserved, NoiseLevelObserved" in waiting["review"]["note"]
    assert setup.count(AuditEvent, AuditEvent.action == "app.recertification_required") == 1
    # alpha's noise is `registered`: any approved developer's key reads it
    assert setup.review(app_id, decision="certified").status_code == 200
    assert [c["id"] for c in setup.portal()[0]["cities"]] == ["alpha"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "certified", "checklist": {"looks": {"passed": True}}}, "checklist.looks"),
        ({"decision": "certified", "comments": "x" * 5001}, "comments"),
        ({"decision": "returned", "comments": "Fix the link.", "checklist": {"links": {"passed": False}}}, "checklist.links.note"),
    ],
)
def test_bad_reviews_are_refused_with_the_field_and_write_nothing(setup, body, param):
    app_id = setup.new_app("BreatheEasy", ["AirQualityObserved"])
    assert setup.submit(app_id).status_code == 201
    problem(setup.review(app_id, **body), 400, param)
    assert setup.count(AppReview, AppReview.decision.is_not(None)) == 0
    assert setup.client.get(f"/api/v1/apps/{app_id}", headers=setup.ada).json()["certification"] == "submitted"


def test_a_reviewer_overrules_a_computed_check_with_a_note(setup):
    app_id = setup.new_app("BreatheEasy", ["AirQualityObserved"])
    assert setup.submit(app_id).status_code == 201
    body = setup.review(
        app_id, decision="returned", comments="The link is dead.",
        checklist={"links": {"passed": False, "note": "The web app answers 404."}},
    ).json()  # fmt: skip
    links = next(c for c in body["reviews"][0]["checklist"] if c["check"] == "links")
    assert (links["passed"], links["computed"], links["note"]) == (False, True, "The web app answers 404.")


def test_submitting_twice_or_reviewing_a_draft_is_refused(setup):
    app_id = setup.new_app("BreatheEasy", ["AirQualityObserved"])
    problem(setup.review(app_id, decision="certified"), 409)
    assert setup.submit(app_id).status_code == 201
    assert problem(setup.submit(app_id), 409)["type"].endswith("already-submitted")
    assert setup.review(app_id, decision="certified").status_code == 200
    assert problem(setup.submit(app_id), 409)["type"].endswith("already-certified")
    assert setup.count(AppReview) == 1


def test_a_withdrawn_app_leaves_the_portal(setup):
    app_id = setup.new_app("BreatheEasy", ["AirQualityObserved"])
    setup.certify(app_id)
    assert setup.client.delete(f"/api/v1/apps/{app_id}", headers=setup.ada).status_code == 200
    assert setup.portal() == []


def test_the_platform_admin_probes_links_and_sees_those_that_do_not_answer(setup, feeds):
    works = feeds.serve("/store/app", Feed(b"<html>BreatheEasy</html>", "text/html"))
    dead = works.replace("/store/app", "/store/gone")
    app_id = setup.new_app(
        "BreatheEasy", ["AirQualityObserved"],
        platforms=[{"platform": "web", "url": works}, {"platform": "android", "url": dead}],
    )  # fmt: skip
    path = f"/api/v1/apps/{app_id}/certification"
    unprobed = setup.client.get(path, headers=setup.admin).json()["checklist"]
    assert next(c for c in unprobed if c["check"] == "links")["passed"]
    probed = setup.client.get(path, params={"probe": "true"}, headers=setup.admin).json()["checklist"]
    links = next(c for c in probed if c["check"] == "links")
    assert links["findings"] == [f"The android link {dead} answered 404."]
    # the server fetches what a developer typed only for the platform admin
    problem(setup.client.get(path, params={"probe": "true"}, headers=setup.ada), 403)


def test_a_link_the_probe_found_dead_fails_the_check_unless_the_reviewer_overrules_it_with_a_note(setup, feeds):
    works = feeds.serve("/store/app", Feed(b"<html>BreatheEasy</html>", "text/html"))
    dead = works.replace("/store/app", "/store/gone")
    app_id = setup.new_app("BreatheEasy", ["AirQualityObserved"], platforms=[{"platform": "web", "url": dead}])
    assert setup.submit(app_id).status_code == 201
    probed = setup.client.get(f"/api/v1/apps/{app_id}/certification", params={"probe": "true"}, headers=setup.admin)
    assert not next(c for c in probed.json()["checklist"] if c["check"] == "links")["passed"]

    refused = problem(setup.review(app_id, decision="certified"), 409, "checklist")
    assert "Working links" in refused["detail"]
    assert setup.count(App, App.certification == "certified") == 0
    problem(setup.review(app_id, decision="certified", checklist={"links": {"passed": True}}), 400, "checklist.links.note")

    note = "The store page is behind a login; checked by hand."
    certified = setup.review(app_id, decision="certified", checklist={"links": {"passed": True, "note": note}})
    assert certified.status_code == 200, certified.text
    links = next(c for c in certified.json()["reviews"][0]["checklist"] if c["check"] == "links")
    assert (links["passed"], links["computed"], links["note"]) == (True, False, note)
    with new_session(setup.url) as session:
        entry = session.scalar(select(AuditEvent).where(AuditEvent.action == "app.certified"))
        assert entry.details["overruled"] == {"links": note}
