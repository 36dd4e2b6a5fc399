"""The city and air-quality information system the harvest and ingest benchmarks write into."""

from __future__ import annotations

CITY = "bench"
SLUG = "aire"
SYSTEM = f"{CITY}/{SLUG}"
ENTITY_TYPE = "AirQualityObserved"


def create_air_city(url: str) -> None:
    """Migrate the (new) database at `url` and register the city and its air-quality IS."""
    from icity.db.engine import transaction
    from icity.db.migrate import upgrade
    from icity.services import catalogue, cities

    upgrade(url)
    with transaction(url) as session:
        catalogue.ensure_categories(session)
        cities.create_city(
            session, id=CITY, name="Bench City", country="ES", lon=2.17, lat=41.39, bbox=[2.05, 41.32, 2.23, 41.47]
        )
        catalogue.create_information_system(
            session, city_id=CITY, slug=SLUG, name="Qualitat de l'aire (benchmark)", category="environment",
            entity_types=[ENTITY_TYPE],
        )  # fmt: skip
