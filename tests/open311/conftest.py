from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from tests.open311.world import Open311World, build


@pytest.fixture
def world(db_url: str) -> Open311World:
    with transaction(db_url) as session:
        return build(session)


@pytest.fixture
def client(db_url: str, world: Open311World) -> TestClient:
    return TestClient(create_app(db_url))
