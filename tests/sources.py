"""An air-quality CSV in the style of a city portal, its mapping, and helpers to set up and run sources."""

from __future__ import annotations

from sqlalchemy import func, select

from icity.db.engine import transaction
from icity.db.models import Entity, Observation
from icity.services import catalogue, harvest, sources
from icity.services.access import CLI

SYSTEM = "alpha/aire"

HEADER = "Estació;Data;X;Y;NO2 (mg/m³);Qualitat\r\n"
ROWS = {
    "Sants": "Sants;24/11/2026 10:00;428536,9;4580985,2;0,0125;B\r\n",
    "Gràcia": "Gràcia;24/11/2026 10:00;429872,1;4584231,7;0,0312;M\r\n",
    "Poblenou": "Poblenou;24/11/2026 10:00;433467,3;4583089,0;0,0098;B\r\n",
    "Broken": "Eixample;24/11/2026 10:00;430561,0;4582400,0;n/d;B\r\n",
}
CONNECTOR = {"kind": "csv", "delimiter": ";", "encoding": "latin-1"}
MAPPING = {
    "entityType": "AirQualityObserved",
    "id": {"field": "Estació"},
    "observedAt": {"field": "Data", "format": "%d/%m/%Y %H:%M", "timezone": "Europe/Madrid"},
    "location": {"x": "X", "y": "Y", "crs": "EPSG:25831"},
    "decimalSeparator": ",",
    "attributes": {
        "name": {"field": "Estació"},
        "no2": {"field": "NO2 (mg/m³)", "type": "number", "unit": {"from": "mg/m3", "to": "ug/m3"}},
        "airQualityLevel": {"field": "Qualitat", "values": {"B": "good", "M": "moderate"}},
    },
}


def csv(*names: str) -> bytes:
    return (HEADER + "".join(ROWS[name] for name in names)).encode("latin-1")


def add_system(url: str, slug: str, entity_type: str = "AirQualityObserved") -> str:
    """A new draft IS of alpha with no entities yet."""
    with transaction(url) as session:
        catalogue.create_information_system(
            session, city_id="alpha", slug=slug, name=slug, category="environment", entity_types=[entity_type]
        )
    return f"alpha/{slug}"


def set_source(url: str, feed_url: str, *, mapping=MAPPING, schedule: str | None = None, retire: bool = True, system=SYSTEM):
    with transaction(url) as session:
        sources.configure(
            session, CLI, system, connector={**CONNECTOR, "url": feed_url}, mapping=mapping,
            schedule=schedule, retire_missing=retire,
        )


def entities(url: str, system: str = SYSTEM) -> dict[str, Entity]:
    with transaction(url) as session:
        found = session.scalars(select(Entity).where(Entity.information_system_id == system)).all()
        return {entity.id.rsplit(":", 1)[1]: entity for entity in found}


def observation_count(url: str) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(Observation))


def run(url: str, system: str = SYSTEM) -> dict:
    return harvest.run_now(system, CLI, database_url=url)
