"""ICITY_DATABASE_READ_URL: the public read API reads the replica, writes and sign-in use the primary.

The "replica" here is a copy of the primary that then drifts on purpose (a marker value, a name),
so that each answer shows which database it came from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from icity.app import create_app
from icity.config import get_settings
from icity.db.engine import transaction
from icity.db.models import App, Entity, InformationSystem, Observation
from icity.services import entity_store
from tests import people
from tests.databases import DatabaseFactory

pytestmark = pytest.mark.postgres_ok

S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
S3 = entity_store.entity_urn("AirQualityObserved", "alpha", "s3")


@pytest.fixture
def primary_and_replica(databases: DatabaseFactory, network_url: str, monkeypatch) -> Iterator[tuple[TestClient, str, str]]:
    primary, replica = databases.copy(network_url), databases.copy(network_url)
    with transaction(replica) as session:
        entity = session.get(Entity, S3)
        entity.attributes = {**entity.attributes, "no2": 999.0}
        session.execute(update(InformationSystem).where(InformationSystem.id == "alpha/air").values(name="Read from the replica"))
        session.execute(Observation.__table__.delete())
    monkeypatch.setenv("ICITY_DATABASE_URL", primary)
    monkeypatch.setenv("ICITY_DATABASE_READ_URL", replica)
    get_settings.cache_clear()
    yield TestClient(create_app(primary)), primary, replica
    get_settings.cache_clear()


def test_public_reads_come_from_the_replica(primary_and_replica):
    api, _, _ = primary_and_replica
    assert api.get(f"/api/v1/entities/{S3}").json()["no2"] == 999.0
    listed = api.get("/api/v1/entities", params={"type": "AirQualityObserved", "city": "alpha", "q": "no2==999"}).json()
    assert [item["id"] for item in listed["items"]] == [S3]
    assert api.get("/api/v1/information-systems/alpha/air").json()["name"] == "Read from the replica"
    history = api.get(f"/api/v1/entities/{S0}/history", params={"attribute": "no2"}).json()
    assert history["values"] == []  # the primary has S0's history; the replica's was emptied
    ngsi = api.get(f"/ngsi-ld/v1/entities/{S3}", params={"options": "keyValues"}).json()
    assert ngsi["no2"] == 999.0


def test_writes_and_sign_in_use_the_primary(primary_and_replica):
    api, primary, replica = primary_and_replica
    with transaction(primary) as session:  # a key made on the primary only (not yet on the replica)
        owner = people.person(session, "fresh@example.org", role="developer")
        _, key = people.app_with_key(session, owner, name="Fresh")
    answer = api.get(f"/api/v1/entities/{S3}", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text  # recognised on the primary at once
    assert answer.json()["no2"] == 999.0  # the data itself from the replica

    created = api.post("/api/v1/apps", json={"name": "Written to the primary"}, headers=owner.headers)
    assert created.status_code == 201, created.text
    with transaction(primary) as session:
        assert session.get(App, created.json()["id"]).name == "Written to the primary"
        assert session.get(Entity, S3).attributes["no2"] != 999.0
    with transaction(replica) as session:
        assert session.get(App, created.json()["id"]) is None
    with transaction(replica) as session:
        assert session.scalar(select(InformationSystem.name).where(InformationSystem.id == "alpha/air")) == "Read from the replica"


def test_without_a_read_url_everything_uses_the_one_database(network_url: str):
    api = TestClient(create_app(network_url))
    assert api.app.state.read_database_url == network_url
    assert api.get(f"/api/v1/entities/{S3}").json()["no2"] == 40.0
    assert api.get(f"/api/v1/entities/{S0}/history", params={"attribute": "no2"}).json()["values"]
