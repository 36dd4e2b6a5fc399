"""A writable copy of the test network with a provider token for alpha/air (Smart Data Models
validation) and one for beta/poi, whose validation is `open`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from icity.db.models import InformationSystem
from icity.ngsi_ld.contexts import REMOTE
from icity.services import catalogue, provider_tokens
from icity.services.access import CLI
from tests.connectors.feed_server import FeedServer

BASE = "/ngsi-ld/v1"
LD = "application/ld+json"


@dataclass
class Broker:
    client: TestClient
    url: str
    air: dict[str, str]  # headers of a provider token of alpha/air
    lab: dict[str, str]  # headers of a provider token of beta/poi (open validation)


def _token(session, system_id: str) -> str:
    provider = catalogue.add_provider(session, system_id, name=f"Gateway of {system_id}")
    return provider_tokens.create_token(session, CLI, system_id, provider.id, "gateway")["token"]


@pytest.fixture
def broker(network_copy: str) -> Broker:
    with transaction(network_copy) as session:
        session.get(InformationSystem, "beta/poi").validation = "open"
        air, lab = _token(session, "alpha/air"), _token(session, "beta/poi")
    return Broker(
        TestClient(create_app(network_copy)), network_copy,
        {"Authorization": f"Bearer {air}"}, {"Authorization": f"Bearer {lab}"},
    )  # fmt: skip


@pytest.fixture
def contexts(private_networks) -> Iterator[FeedServer]:
    """A local server for clients' @contexts (fetched over HTTP, as from anywhere)."""
    REMOTE.clear()
    server = FeedServer()
    yield server
    server.close()
    REMOTE.clear()
