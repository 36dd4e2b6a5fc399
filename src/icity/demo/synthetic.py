"""Synthetic entities for every kind of demo information system.

Each generator takes (city, count, today, operator) and returns the entities
of one IS, shaped and named as its Smart Data Model defines them, placed
inside the city's bounding box, near its centre. The systems fed by connectors
(icity.demo.connected: the City Agenda, GTFS stops and lines, Open311 incident
reports, a portal's air-quality CSV) have no generator here.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable

from icity.demo import cartography, timeseries
from icity.demo.network import DemoCity
from icity.demo.places import DISTRICTS, LANDMARKS, SERVICE_ATTRIBUTES, SERVICES
from icity.demo.sampling import Generated, geo_point, iso, latest_hour, point_near_centre, rng_for, start_of
from icity.services.entity_store import entity_urn
from icity.services.service_types import service_entity


def _base(entity_type: str, city: DemoCity, local_id: str, coordinates: list[float]) -> dict[str, Any]:
    return {"id": entity_urn(entity_type, city.id, local_id), "type": entity_type, "location": geo_point(coordinates)}


def _district(city: DemoCity, index: int) -> str:
    districts = DISTRICTS.get(city.id, [city.name])
    return districts[index % len(districts)]


def parking(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    rng, now = rng_for(city.id, "parking"), latest_hour(today)
    entities = []
    for i in range(count):
        total = rng.choice([120, 180, 250, 320, 400, 560])
        occupancy = round(rng.uniform(0.2, 0.75), 2)
        entities.append({
            **_base("OffStreetParking", city, f"parking-{i + 1:02d}", point_near_centre(rng, city, spread=0.1)),
            "observedAt": iso(now),
            "name": f"{_district(city, i)} car park",
            "totalSpotNumber": total,
            "availableSpotNumber": round(total * (1 - occupancy)),
            "occupancy": occupancy,
            "status": ["open"],
            "openingHours": "Mo-Su 00:00-24:00",
            "priceCurrency": "GBP" if city.country == "GB" else "EUR",
            "observationDateTime": iso(now),
        })
    return Generated(entities)


def parking_spots(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    rng, now = rng_for(city.id, "parking-spots"), latest_hour(today)
    entities = []
    for i in range(count):
        changed = now - timedelta(minutes=rng.randint(1, 600))
        entities.append({
            **_base("ParkingSpot", city, f"bay-{i + 1:03d}", point_near_centre(rng, city, spread=0.08)),
            "observedAt": iso(changed),
            "name": f"Bay {i + 1:03d}, {_district(city, i)}",
            "status": rng.choices(["free", "occupied"], weights=[2, 3])[0],
            "category": ["onStreet", "forDisabled"] if i % 10 == 0 else ["onStreet"],
            "timeInstant": iso(changed),
        })
    return Generated(entities)


def wifi(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    rng, now = rng_for(city.id, "wifi"), latest_hour(today)
    entities = []
    for i in range(count):
        up = rng.random() < 0.93
        district = _district(city, i)
        entities.append({
            **_base("WifiPointOfInterest", city, f"hotspot-{i + 1:03d}", point_near_centre(rng, city, spread=0.15)),
            "observedAt": iso(now),
            "name": f"{district} hotspot {i + 1}",
            "wifiStatus": "up" if up else "down",
            "clientsConnected": rng.randint(0, 40) if up else 0,
            "areaServed": district,
            "timeInstant": iso(now),
        })
    return Generated(entities)


def ev_charging(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    rng, now = rng_for(city.id, "ev-charging"), latest_hour(today)
    entities = []
    for i in range(count):
        capacity = rng.choice([2, 2, 4, 6])
        working = rng.random() < 0.92
        entities.append({
            **_base("EVChargingStation", city, f"ev-{i + 1:02d}", point_near_centre(rng, city, spread=0.15)),
            "observedAt": iso(now),
            "name": f"{_district(city, i)} charging point {i + 1}",
            "capacity": capacity,
            "availableCapacity": rng.randint(0, capacity) if working else 0,
            "socketType": rng.choice([["Type2"], ["Type2", "CCS"], ["Type2", "CHAdeMO", "CCS"]]),
            "status": "working" if working else "outOfService",
            "operator": operator,
            "observationDateTime": iso(now),
        })
    return Generated(entities)


def incidents(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    rng = rng_for(city.id, "incidents")
    entities = []
    for i in range(count):
        code, service_name, agency = rng.choice(SERVICES)
        requested = start_of(today) - timedelta(minutes=rng.randint(60, 30 * 24 * 60))
        age_days = (start_of(today) - requested).days
        closed = age_days > 3 and rng.random() < 0.75
        updated = requested + timedelta(hours=rng.randint(2, 72) if closed else 1)
        updated = min(updated, latest_hour(today))
        district = _district(city, rng.randrange(100))
        entities.append({
            **_base("service_requests", city, f"request-{i + 1:04d}", point_near_centre(rng, city, spread=0.2)),
            "observedAt": iso(updated),
            "service_request_id": f"{today.year}-{i + 1:04d}",
            "service_code": code,
            "service_name": service_name,
            "description": f"{service_name} reported by a citizen in {district}",
            "status": "closed" if closed else "open",
            "status_notes": f"Solved by {agency}" if closed else f"Assigned to {agency}",
            "agency_responsible": agency,
            "requested_datetime": iso(requested),
            "updated_datetime": iso(updated),
            "address_string": f"{district}, {city.name}",
        })
    # the service types a report may name, with what each asks for (GeoReport v2 services and definitions)
    for code, service_name, agency in SERVICES:
        entities.append(service_entity(city.id, {
            "service_code": code, "service_name": service_name, "group": agency, "type": "realtime",
            "description": f"{service_name}: reported to {agency}", "attributes": SERVICE_ATTRIBUTES.get(code, []),
        }))
    return Generated(entities)


def points_of_interest(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    entities = [
        {
            **_base("PointOfInterest", city, f"poi-{i + 1:02d}", [lon, lat]),
            "name": name,
            "description": description,
            "category": [category],
        }
        for i, (name, category, description, lon, lat) in enumerate(LANDMARKS.get(city.id, [])[:count])
    ]
    return Generated(entities)


def bike_sharing(city: DemoCity, count: int, today: date, operator: str) -> Generated:
    rng, now = rng_for(city.id, "bike-sharing"), latest_hour(today)
    entities = []
    for i in range(count):
        total = rng.choice([15, 20, 24, 27, 30])
        bikes = rng.randint(0, total)
        entities.append({
            **_base("BikeHireDockingStation", city, f"station-{i + 1:03d}", point_near_centre(rng, city, spread=0.1)),
            "observedAt": iso(now),
            "name": f"{_district(city, i)} {i + 1}",
            "stationCode": f"{i + 1:03d}",
            "totalSlotNumber": total,
            "availableBikeNumber": bikes,
            "freeSlotNumber": total - bikes,
            "status": "working",
            "observationDateTime": iso(now),
        })
    return Generated(entities)


GENERATORS: dict[str, Callable[[DemoCity, int, date, str], Generated]] = {
    "air-quality": timeseries.air_quality,
    "noise": timeseries.noise,
    "parking": parking,
    "parking-spots": parking_spots,
    "wifi": wifi,
    "ev-charging": ev_charging,
    "incidents": incidents,
    "points-of-interest": points_of_interest,
    "bike-sharing": bike_sharing,
    "city-map": cartography.city_map,
}


def generate(kind: str, city: DemoCity, count: int, today: date, operator: str) -> Generated:
    return GENERATORS[kind](city, count, today, operator)
