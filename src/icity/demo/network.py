"""The seed city network: the cities, their real centres and bounding boxes, and
the dated history of how each reached its level of involvement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from icity.services import audit, cities

# the demo records the network as the platform admin would, under this name
COORDINATOR = audit.actor_named("demo loader")
PROJECT_START = date(2013, 10, 1)


@dataclass(frozen=True)
class DemoCity:
    id: str
    name: str
    country: str  # ISO 3166-1 alpha-2
    lon: float
    lat: float
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    utc_offset_h: int  # standard time, enough to place the daily traffic peaks


CITIES = {
    c.id: c
    for c in [
        # consortium
        DemoCity("barcelona", "Barcelona", "ES", 2.1734, 41.3851, (2.0524, 41.3170, 2.2280, 41.4695), 1),
        DemoCity("genova", "Genova", "IT", 8.9463, 44.4056, (8.6670, 44.3870, 9.0970, 44.5150), 1),
        DemoCity("london", "London", "GB", -0.1276, 51.5072, (-0.5103, 51.2868, 0.3340, 51.6919), 0),
        DemoCity("bologna", "Bologna", "IT", 11.3426, 44.4949, (11.2290, 44.4210, 11.4340, 44.5560), 1),
        # pilot
        DemoCity("cornella", "Cornellà de Llobregat", "ES", 2.0741, 41.3545, (2.0560, 41.3440, 2.0970, 41.3720), 1),
        DemoCity("lamia", "Lamía", "GR", 22.4346, 38.8990, (22.3900, 38.8700, 22.4800, 38.9300), 2),
        # special interest group
        DemoCity("manchester", "Manchester", "GB", -2.2426, 53.4808, (-2.3200, 53.3400, -2.1470, 53.5450), 0),
        DemoCity("berlin", "Berlin", "DE", 13.4050, 52.5200, (13.0884, 52.3383, 13.7611, 52.6755), 1),
        DemoCity("torino", "Torino", "IT", 7.6869, 45.0703, (7.5780, 45.0070, 7.7740, 45.1400), 1),
        DemoCity("viladecans", "Viladecans", "ES", 2.0194, 41.3158, (1.9900, 41.2580, 2.0560, 41.3380), 1),
        DemoCity("piacenza", "Piacenza", "IT", 9.6930, 45.0526, (9.6200, 44.9900, 9.7800, 45.0900), 1),
        DemoCity("milano", "Milano", "IT", 9.1900, 45.4642, (9.0400, 45.3860, 9.2780, 45.5360), 1),
        DemoCity("reggio-emilia", "Reggio Emilia", "IT", 10.6297, 44.6989, (10.5000, 44.6200, 10.7600, 44.7800), 1),
        # prospects met at the 2014 events (EUROCITIES Knowledge Society forum, Tallinn workshop)
        DemoCity("amsterdam", "Amsterdam", "NL", 4.9041, 52.3676, (4.7287, 52.2782, 5.0792, 52.4311), 1),
        DemoCity("bordeaux", "Bordeaux", "FR", -0.5792, 44.8378, (-0.6387, 44.8108, -0.5335, 44.9167), 1),
        DemoCity("stockholm", "Stockholm", "SE", 18.0686, 59.3293, (17.7607, 59.2244, 18.2000, 59.4475), 1),
        DemoCity("oulu", "Oulu", "FI", 25.4651, 65.0121, (25.2000, 64.9000, 25.7500, 65.1300), 2),
        DemoCity("helsinki", "Helsinki", "FI", 24.9384, 60.1699, (24.7828, 60.1363, 25.2545, 60.2978), 2),
        DemoCity("tallinn", "Tallinn", "EE", 24.7536, 59.4370, (24.5500, 59.3500, 24.9300, 59.5100), 2),
    ]
}


@dataclass(frozen=True)
class Step:
    """One change of level, with the evidence the services require for it."""

    to_level: str
    on: date
    evidence_kind: str
    evidence: str


def _consortium() -> list[Step]:
    agreement = "iCity consortium agreement, signed at the start of the project"
    return [Step("consortium", PROJECT_START, "consortium_agreement", agreement)]


def _letter(on: date, signatory: str) -> Step:
    return Step("sig", on, "letter_of_commitment", f"Letter of commitment signed by {signatory}")


# The path of every city of the network; prospects have none (created at level prospect).
LEVEL_HISTORY: dict[str, list[Step]] = {
    "barcelona": _consortium(),
    "genova": _consortium(),
    "london": _consortium(),
    "bologna": _consortium(),
    "cornella": [
        _letter(date(2014, 2, 14), "the Mayor of Cornellà de Llobregat"),
        Step(
            "pilot",
            date(2014, 6, 2),
            "technical_trial",
            "Technical trial with the Citilab living lab: the City Agenda opened through iCity",
        ),
    ],
    "lamia": [
        _letter(date(2014, 4, 10), "the Mayor of Lamía"),
        Step(
            "pilot",
            date(2014, 9, 22),
            "technical_trial",
            "Technical trial of the points-of-interest and incident-reporting connectors",
        ),
    ],
    "manchester": [_letter(date(2014, 5, 20), "Manchester City Council's Digital Strategy lead")],
    "berlin": [_letter(date(2014, 7, 3), "the Senate Department for Economics, Technology and Research")],
    "torino": [_letter(date(2014, 4, 28), "Torino's Smart City department")],
    "viladecans": [_letter(date(2014, 5, 12), "the Mayor of Viladecans")],
    "piacenza": [_letter(date(2014, 6, 5), "Piacenza's councillor for innovation")],
    "milano": [_letter(date(2014, 6, 24), "Milano's councillor for economic development and smart city")],
    "reggio-emilia": [_letter(date(2014, 9, 15), "Reggio Emilia's councillor for the digital agenda")],
}

NETWORK_LEVELS = {city_id: steps[-1].to_level for city_id, steps in LEVEL_HISTORY.items()}


def load_cities(session: Session) -> dict[str, int]:
    """Create every demo city, then walk each through its dated level history."""
    changes = 0
    for city in CITIES.values():
        cities.create_city(
            session, COORDINATOR, id=city.id, name=city.name, country=city.country, lon=city.lon, lat=city.lat,
            bbox=list(city.bbox),
        )
        for step in LEVEL_HISTORY.get(city.id, []):
            cities.change_level(
                session,
                COORDINATOR,
                city.id,
                to_level=step.to_level,
                effective_on=step.on,
                evidence_kind=step.evidence_kind,
                evidence=step.evidence,
            )
            changes += 1
    return {"cities": len(CITIES), "level_changes": changes}
