from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from icity.app import create_app
from icity.config import get_settings
from icity.db.engine import new_session, transaction
from icity.services import catalogue
from tests.connectors.feed_server import FeedServer
from tests.databases import DatabaseFactory
from tests.network import build_network


@pytest.fixture(scope="session", autouse=True)
def var_dir(tmp_path_factory) -> Iterator[Path]:
    """Mail, the generated secret key and other local files go to a temporary folder."""
    path = tmp_path_factory.mktemp("var")
    patch = pytest.MonkeyPatch()
    patch.setenv("ICITY_VAR_DIR", str(path))
    get_settings.cache_clear()
    yield path
    patch.undo()
    get_settings.cache_clear()


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


@pytest.fixture
def network_copy(databases: DatabaseFactory, network_url: str) -> str:
    """A writable copy of the test network, for a test that adds users, apps and grants."""
    return databases.copy(network_url)


@pytest.fixture(scope="session")
def api(network_url: str) -> TestClient:
    return TestClient(create_app(network_url))


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    """A local HTTP server for the module's tests; each test publishes its feeds on its own paths."""
    server = FeedServer()
    yield server
    server.close()


@pytest.fixture
def cli_network(network_copy: str, tmp_path, monkeypatch) -> Iterator[str]:
    """A writable copy of the test network that the `icity` command line (its settings) points at."""
    monkeypatch.setenv("ICITY_DATABASE_URL", network_copy)
    monkeypatch.setenv("ICITY_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()  # settings are read once per process
    yield network_copy
    get_settings.cache_clear()


@pytest.fixture
def private_networks(monkeypatch) -> Iterator[None]:
    """Webhook endpoints and device command URLs on 127.0.0.1 allowed: for tests whose receivers listen there."""
    monkeypatch.setenv("ICITY_WEBHOOK_PRIVATE_NETWORKS", "true")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
