from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.services import catalogue
from tests.databases import DatabaseFactory
from tests.network import build_network


@pytest.fixture(scope="session")
def databases(tmp_path_factory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    factory.drop_all()


@pytest.fixture
def db_url(databases: DatabaseFactory) -> str:
    """A fresh migrated database, with the categories, for a test that writes."""
    url = databases.new()
    with transaction(url) as session:
        catalogue.ensure_categories(session)
    return url


@pytest.fixture
def session(db_url: str) -> Iterator[Session]:
    with new_session(db_url) as session:
        yield session


@pytest.fixture(scope="session")
def network_url(databases: DatabaseFactory) -> str:
    """The small test network of tests/network.py, shared read-only by API tests."""
    url = databases.new()
    with transaction(url) as session:
        build_network(session)
    return url


@pytest.fixture(scope="session")
def api(network_url: str) -> TestClient:
    return TestClient(create_app(network_url))
