"""PUT /api/v1/information-systems/{city}/{slug}/observation-retention: set, cleared, refused."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import InformationSystem
from tests.world import build_world

PATH = "/api/v1/information-systems/alpha/air/observation-retention"


@pytest.fixture
def setup(network_copy):
    with transaction(network_copy) as session:
        world = build_world(session)
    with TestClient(create_app(network_copy)) as client:
        yield client, world.headers("owning_city_admin", "session"), network_copy


def _stored(url: str) -> int | None:
    with new_session(url) as session:
        return session.scalar(select(InformationSystem.observation_retention_days).where(InformationSystem.id == "alpha/air"))


def test_the_city_sets_and_clears_the_retention(setup):
    client, admin, url = setup
    response = client.put(PATH, json={"observationRetentionDays": 90}, headers=admin)
    assert response.status_code == 200
    assert response.json() == {"informationSystem": "alpha/air", "observationRetentionDays": 90}
    assert _stored(url) == 90
    assert client.put(PATH, json={"observationRetentionDays": None}, headers=admin).json()["observationRetentionDays"] is None
    assert _stored(url) is None


@pytest.mark.parametrize("days", [0, -1, 2.5, "30", True])
def test_a_retention_that_is_no_positive_whole_number_of_days_is_refused(setup, days):
    client, admin, url = setup
    response = client.put(PATH, json={"observationRetentionDays": days}, headers=admin)
    assert response.status_code == 400  # the API's answer to an invalid body
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "observationRetentionDays" in response.text
    assert _stored(url) is None
