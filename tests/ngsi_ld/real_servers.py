"""A city, an open information system and its credentials in a fresh database, served by a real
`icity serve`: what the tests that drive iCity's NGSI-LD API from outside (independent clients,
another iCity harvesting it) start from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy.orm import Session

from icity.db.engine import dispose
from icity.services import audit, catalogue, cities, provider_tokens
from icity.services.access import CLI
from tests.servers import start_server, stop_server

ALPHA_BBOX = [2.05, 41.32, 2.23, 41.47]


def open_city(session: Session, city_id: str = "alpha", name: str = "Alpha", bbox: list[float] = ALPHA_BBOX) -> None:
    """A consortium city (a city may open IS from the pilot level on)."""
    actor = audit.actor_named("tests")
    lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
    cities.create_city(session, actor, id=city_id, name=name, country="ES", lon=lon, lat=lat, bbox=bbox)
    cities.change_level(
        session, actor, city_id, to_level="consortium", effective_on=date(2014, 4, 1),
        evidence_kind="consortium_agreement", evidence=f"{name} consortium agreement",
    )  # fmt: skip


def open_system(session: Session, system_id: str, entity_type: str, policy: str = "public") -> None:
    city_id, slug = system_id.split("/")
    catalogue.create_information_system(
        session, city_id=city_id, slug=slug, name=f"{city_id} {slug}", category="environment",
        entity_types=[entity_type], access_policy=policy, licence="CC-BY-4.0",
    )  # fmt: skip
    catalogue.set_status(session, system_id, "open")


def provider_token(session: Session, system_id: str, provider: str = "Station operator") -> str:
    """A provider token of the IS (what an IoT agent or the city's own system writes with)."""
    operator = catalogue.add_provider(session, system_id, name=provider)
    return provider_tokens.create_token(session, CLI, system_id, operator.id, "ngsi-ld agent")["token"]


@contextmanager
def serving(url: str, tmp_path, **settings: str) -> Iterator[str]:
    """`icity serve` on the database at `url`; yields its base URL, stops it after."""
    dispose(url)  # PostgreSQL: the server gets the connections
    server, base = start_server(url, tmp_path, **settings)
    try:
        yield base
    finally:
        stop_server(server)
