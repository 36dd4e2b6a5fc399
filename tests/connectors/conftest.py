from collections.abc import Iterator

import pytest

from tests.connectors.feed_server import FeedServer


@pytest.fixture(scope="module")
def feeds() -> Iterator[FeedServer]:
    """A local HTTP server for the module's tests; each test publishes its feeds on its own paths."""
    server = FeedServer()
    yield server
    server.close()
