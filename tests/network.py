"""A small network with known facts, so API tests can assert exact values.

Served (public, trial/open): alpha/air, beta/air, gamma/air, beta/poi.
Hidden: alpha/noise (registered), alpha/parking (approval), gamma/wifi (draft),
alpha/agenda (retired), delta/air (draft; delta is only SIG).
"""

from datetime import date, datetime, timedelta, timezone

from sqlalchemy.orm import Session

from icity.services import audit, catalogue, cities, entity_store

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
H0 = datetime(2024, 4, 1, tzinfo=timezone.utc)  # alpha s0's no2 history starts here, apart from T0
ALPHA_STATION_LON0, ALPHA_STATION_LAT = 2.10, 41.38
HISTORY_HOURS = 48

CITIES = {
    "alpha": ("Alpha", "ES", 2.17, 41.39, [2.05, 41.32, 2.23, 41.47], "consortium"),
    "beta": ("Beta", "IT", 8.93, 44.41, [8.80, 44.38, 9.10, 44.52], "consortium"),
    "gamma": ("Gamma", "GB", -0.13, 51.51, [-0.51, 51.28, 0.33, 51.69], "pilot"),
    "delta": ("Delta", "GB", -2.24, 53.48, [-2.32, 53.40, -2.15, 53.54], "sig"),
    "epsilon": ("Epsilon", "FI", 25.47, 65.01, [25.3, 64.9, 25.7, 65.1], "prospect"),
}
EVIDENCE = {"sig": "letter_of_commitment", "pilot": "technical_trial", "consortium": "consortium_agreement"}

SYSTEMS = [
    # city, slug, category, entity type, policy, status
    ("alpha", "air", "environment", "AirQualityObserved", "public", "open"),
    ("beta", "air", "environment", "AirQualityObserved", "public", "trial"),
    ("gamma", "air", "environment", "AirQualityObserved", "public", "open"),
    ("alpha", "noise", "environment", "NoiseLevelObserved", "registered", "open"),
    ("alpha", "parking", "transport-mobility", "OffStreetParking", "approval", "open"),
    ("gamma", "wifi", "wifi", "WifiPointOfInterest", "public", "draft"),
    ("beta", "poi", "tourism-culture", "PointOfInterest", "public", "open"),
    ("alpha", "agenda", "e-government", "Event", "public", "open"),
    ("delta", "air", "environment", "AirQualityObserved", "public", "draft"),
]


def level_of(no2: float) -> str:
    return "good" if no2 <= 30 else "moderate" if no2 <= 60 else "unhealthy"


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def air(city: str, local: str, lon: float, lat: float, no2: float, observed: datetime) -> dict:
    return {
        "id": entity_store.entity_urn("AirQualityObserved", city, local),
        "type": "AirQualityObserved",
        "location": point(lon, lat),
        "observedAt": observed.isoformat(),
        "no2": no2,
        "airQualityLevel": level_of(no2),
        "name": f"Station {local}",
    }


def alpha_station(i: int) -> dict:
    """Ten stations 0.01° of longitude (≈ 834.6 m) apart; no2 = 10, 20, … 100."""
    return air("alpha", f"s{i}", round(ALPHA_STATION_LON0 + i * 0.01, 5), ALPHA_STATION_LAT, 10.0 * (i + 1), T0 + timedelta(hours=i))


def history_value(minute: int) -> float:
    """no2 of alpha s0 at H0 + minute: hour h gives values h*10 + 0..5, so hourly avg = h*10 + 2.5."""
    return (minute // 60) * 10 + (minute % 60) // 10


def build_network(session: Session) -> None:
    catalogue.ensure_categories(session)
    for city_id, (name, country, lon, lat, bbox, level) in CITIES.items():
        cities.create_city(session, audit.actor_named("tests"), id=city_id, name=name, country=country, lon=lon, lat=lat, bbox=bbox)
        if level == "prospect":
            continue
        cities.change_level(
            session, audit.actor_named("tests"), city_id, to_level=level, effective_on=date(2014, 4, 1),
            evidence_kind=EVIDENCE[level], evidence=f"{name} {level} evidence",
        )
    for city_id, slug, category, entity_type, policy, status in SYSTEMS:
        catalogue.create_information_system(
            session, city_id=city_id, slug=slug, name=f"{city_id} {slug}", category=category,
            entity_types=[entity_type], access_policy=policy, licence="CC-BY-4.0",
        )
        if status != "draft":
            catalogue.set_status(session, f"{city_id}/{slug}", status)

    entity_store.upsert_entities(session, "alpha/air", [alpha_station(i) for i in range(10)])
    entity_store.upsert_entities(
        session, "beta/air",
        [air("beta", f"b{i}", 8.90 + i * 0.01, 44.41, 50.0 + 10 * i, T0) for i in range(3)],
    )
    entity_store.upsert_entities(
        session, "gamma/air",
        [air("gamma", "g0", -0.12, 51.50, 35.0, T0), air("gamma", "g1", -0.10, 51.52, 45.0, T0)],
    )
    # Hidden data placed exactly where the public stations are: it must never leak.
    entity_store.upsert_entities(session, "alpha/noise", [
        {"id": entity_store.entity_urn("NoiseLevelObserved", "alpha", f"n{i}"), "type": "NoiseLevelObserved",
         "location": point(ALPHA_STATION_LON0, ALPHA_STATION_LAT), "observedAt": T0.isoformat(), "LAeq": 60.0 + i}
        for i in range(5)
    ])
    entity_store.upsert_entities(session, "alpha/parking", [
        {"id": entity_store.entity_urn("OffStreetParking", "alpha", f"p{i}"), "type": "OffStreetParking",
         "location": point(ALPHA_STATION_LON0, ALPHA_STATION_LAT), "availableSpotNumber": 10 + i}
        for i in range(3)
    ])
    entity_store.upsert_entities(session, "alpha/agenda", [
        {"id": entity_store.entity_urn("Event", "alpha", "e0"), "type": "Event",
         "location": point(2.17, 41.39), "name": "Festa major"}
    ])
    catalogue.set_status(session, "alpha/agenda", "retired")
    entity_store.upsert_entities(session, "beta/poi", [
        {"id": entity_store.entity_urn("PointOfInterest", "beta", "acquarium"), "type": "PointOfInterest",
         "name": "Acquario", "location": point(8.9262, 44.4102), "category": ["aquarium"]},
        {"id": entity_store.entity_urn("PointOfInterest", "beta", "park"), "type": "PointOfInterest",
         "name": "Parco", "category": ["park"],
         "location": {"type": "Polygon", "coordinates": [[[8.95, 44.40], [8.97, 44.40], [8.97, 44.42], [8.95, 44.42], [8.95, 44.40]]]}},
    ])
    s0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")
    entity_store.add_observations(session, [
        entity_store.observation_row(s0, "no2", H0 + timedelta(minutes=m), history_value(m))
        for m in range(0, HISTORY_HOURS * 60, 10)
    ])
    noise = entity_store.entity_urn("NoiseLevelObserved", "alpha", "n0")
    entity_store.add_observations(session, [entity_store.observation_row(noise, "LAeq", T0 + timedelta(hours=h), 70.0) for h in range(5)])
    parking = entity_store.entity_urn("OffStreetParking", "alpha", "p0")
    entity_store.add_observations(
        session, [entity_store.observation_row(parking, "availableSpotNumber", T0 + timedelta(hours=h), 5.0 + h) for h in range(5)]
    )
