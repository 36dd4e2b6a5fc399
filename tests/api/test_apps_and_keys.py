"""Apps and API keys: shown once, stored hashed, rotated with overlap, revoked at once."""

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import AccessRequest, ApiKey, App
from icity.services.secrets import digest
from tests import people

pytestmark = pytest.mark.postgres_ok
ENTITIES = "/api/v1/entities"


@pytest.fixture
def setup(network_copy):
    with transaction(network_copy) as session:
        ada = people.person(session, "ada@dev.example")
        app, _ = people.app_with_key(session, ada, plan="partner")
        people.grant(session, app, "alpha/parking")
        return TestClient(create_app(network_copy)), ada.headers, app.id, network_copy


def new_key(client, headers, app_id, **body):
    response = client.post(f"/api/v1/apps/{app_id}/keys", json=body or None, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_key_is_shown_once_and_stored_only_as_a_digest(setup):
    client, ada, app_id, url = setup
    created = new_key(client, ada, app_id, name="production")
    assert created["key"].startswith(f"ick_{created['prefix']}_")
    listed = {k["id"]: k for k in client.get(f"/api/v1/apps/{app_id}/keys", headers=ada).json()}
    assert "key" not in listed[created["id"]] and listed[created["id"]]["prefix"] == created["prefix"]
    with new_session(url) as session:
        stored = session.get(ApiKey, created["id"])
        assert stored.secret_digest == digest(created["key"])
        assert created["key"] not in (stored.prefix, stored.name, stored.secret_digest)


@pytest.mark.parametrize(
    "header",
    [
        lambda key: {"X-API-Key": key[:-1] + ("A" if key[-1] != "A" else "B")},  # right prefix, wrong secret
        lambda key: {"X-API-Key": "ick_00000000_" + key.rsplit("_", 1)[1]},  # unknown prefix
        lambda key: {"Authorization": f"Basic {key}"},
        lambda key: {"Authorization": "Bearer something-else"},
    ],
)
def test_wrong_keys_get_401_problem_json(setup, header):
    client, ada, app_id, _ = setup
    key = new_key(client, ada, app_id)["key"]
    response = client.get(ENTITIES, headers=header(key))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revocation_takes_effect_on_the_next_request(setup):
    client, ada, app_id, _ = setup
    created = new_key(client, ada, app_id)
    key = {"X-API-Key": created["key"]}
    assert client.get(ENTITIES, headers=key).status_code == 200
    revoked = client.delete(f"/api/v1/apps/{app_id}/keys/{created['id']}", headers=ada)
    assert revoked.json()["active"] is False
    assert client.get(ENTITIES, headers=key).status_code == 401


def test_rotation_keeps_the_old_key_working_until_the_overlap_ends(setup):
    client, ada, app_id, url = setup
    old = new_key(client, ada, app_id)
    rotated = client.post(f"/api/v1/apps/{app_id}/keys/{old['id']}/rotate", json={"overlapHours": 2}, headers=ada)
    assert rotated.status_code == 201
    new = rotated.json()
    assert new["key"] != old["key"] and new["replaces"]["id"] == old["id"]
    for key in (old["key"], new["key"]):
        assert client.get(ENTITIES, headers={"X-API-Key": key}).status_code == 200
    ends = datetime.fromisoformat(new["replaces"]["expiresAt"])
    assert timedelta(hours=1, minutes=59) < ends - datetime.now(timezone.utc) <= timedelta(hours=2)

    with transaction(url) as session:  # the overlap ends
        session.get(ApiKey, old["id"]).expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert client.get(ENTITIES, headers={"X-API-Key": old["key"]}).status_code == 401
    assert client.get(ENTITIES, headers={"X-API-Key": new["key"]}).status_code == 200
    again = client.post(f"/api/v1/apps/{app_id}/keys/{old['id']}/rotate", headers=ada)
    assert again.status_code == 409


def test_withdrawing_an_app_ends_its_keys_and_grants(setup):
    client, ada, app_id, url = setup
    key = {"X-API-Key": new_key(client, ada, app_id)["key"]}
    assert client.get(ENTITIES, params={"informationSystem": "alpha/parking"}, headers=key).json()["items"]
    assert client.delete(f"/api/v1/apps/{app_id}", headers=ada).json()["status"] == "withdrawn"
    assert client.get(ENTITIES, headers=key).status_code == 401
    with new_session(url) as session:
        assert session.scalar(select(AccessRequest.status).where(AccessRequest.app_id == app_id)) == "withdrawn"
    assert client.post(f"/api/v1/apps/{app_id}/keys", headers=ada).status_code == 409


def test_updating_an_app_changes_only_the_given_fields(setup):
    client, ada, app_id, _ = setup
    before = client.get(f"/api/v1/apps/{app_id}", headers=ada).json()
    after = client.patch(f"/api/v1/apps/{app_id}", json={"description": "Parking near you", "entityTypes": ["OffStreetParking"]}, headers=ada).json()
    assert after["description"] == "Parking near you" and after["entityTypes"] == ["OffStreetParking"]
    assert after["name"] == before["name"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/apps", {}, "name"),
        ("POST", "/api/v1/apps", {"name": ""}, "name"),
        ("POST", "/api/v1/apps", {"name": "X", "functionalities": "one"}, "functionalities"),
        ("POST", "/api/v1/apps", {"name": "X", "platforms": [{"platform": "ios"}]}, "platforms.0.url"),
        ("POST", "/api/v1/apps", {"name": "X" * 201}, "name"),
        ("POST", "/api/v1/apps", {"name": "X", "owner": 3}, "owner"),
        ("PATCH", "/api/v1/apps/{app}", {"entityTypes": [1]}, "entityTypes.0"),
        ("POST", "/api/v1/apps/{app}/keys/{key}/rotate", {"overlapHours": "soon"}, "overlapHours"),
        ("POST", "/api/v1/apps/{app}/keys/{key}/rotate", {"overlapHours": 10000}, "overlapHours"),
        ("POST", "/api/v1/access-requests", {"app": "{app}", "informationSystem": "alpha/parking"}, "purpose"),
        ("POST", "/api/v1/access-requests", {"app": "mine", "informationSystem": "alpha/parking", "purpose": "Free spaces near you."}, "app"),
        ("POST", "/api/v1/access-requests", {"app": "{app}", "informationSystem": "alpha/air", "purpose": "Free spaces near you."}, "informationSystem"),
    ],
)
def test_bad_bodies_name_the_field_and_write_nothing(setup, method, path, body, field):
    client, ada, app_id, url = setup
    key_id = new_key(client, ada, app_id)["id"]
    path = path.format(app=app_id, key=key_id)
    body = {k: (app_id if v == "{app}" else v) for k, v in body.items()}
    with new_session(url) as session:
        before = [session.scalar(select(func.count()).select_from(m)) for m in (App, ApiKey, AccessRequest)]
    response = client.request(method, path, json=body, headers=ada)
    assert response.status_code in (400, 409), response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == field
    with new_session(url) as session:
        assert [session.scalar(select(func.count()).select_from(m)) for m in (App, ApiKey, AccessRequest)] == before


@pytest.mark.parametrize("field", ["name", "description", "functionalities", "advantages", "platforms", "entityTypes"])
def test_a_null_in_an_app_change_is_refused_and_changes_nothing(setup, field):
    client, ada, app_id, _ = setup
    before = client.get(f"/api/v1/apps/{app_id}", headers=ada).json()
    change = {"advantages": ["changed"]} if field != "advantages" else {"description": "changed"}
    response = client.patch(f"/api/v1/apps/{app_id}", json={**change, field: None}, headers=ada)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["param"] == field
    assert client.get(f"/api/v1/apps/{app_id}", headers=ada).json() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/apps"), ("PATCH", "/api/v1/apps/{app}")],
)
def test_an_entity_type_that_is_no_smart_data_model_is_refused_with_a_suggestion(setup, method, path):
    client, ada, app_id, url = setup
    with new_session(url) as session:
        before = [session.scalar(select(func.count()).select_from(App)), session.get(App, app_id).entity_types]
    body = {"name": "Parking finder", "entityTypes": ["OffStreetParking", "OffStreetParkin"]}
    response = client.request(method, path.format(app=app_id), json=body, headers=ada)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["param"] == "entityTypes[1]"
    assert "'OffStreetParkin'" in problem["detail"] and "Did you mean 'OffStreetParking'?" in problem["detail"]
    with new_session(url) as session:
        assert [session.scalar(select(func.count()).select_from(App)), session.get(App, app_id).entity_types] == before


def test_an_app_holds_at_most_five_live_keys_and_is_told_to_revoke_one(setup):
    client, ada, app_id, url = setup  # the app has one key already
    created = [new_key(client, ada, app_id) for _ in range(4)]
    refused = client.post(f"/api/v1/apps/{app_id}/keys", json={"name": "sixth"}, headers=ada)
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "5 live API keys" in refused.json()["detail"] and "revoke one" in refused.json()["detail"]
    with new_session(url) as session:
        assert session.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.app_id == app_id)) == 5
    rotated = client.post(f"/api/v1/apps/{app_id}/keys/{created[0]['id']}/rotate", json={"overlapHours": 1}, headers=ada)
    assert rotated.status_code == 201, rotated.text  # a rotation replaces a key: not refused
    again = client.post(f"/api/v1/apps/{app_id}/keys/{created[0]['id']}/rotate", json={"overlapHours": 1}, headers=ada)
    assert again.status_code == 409
    assert client.delete(f"/api/v1/apps/{app_id}/keys/{created[1]['id']}", headers=ada).status_code == 200
    new_key(client, ada, app_id, name="after a revocation")
