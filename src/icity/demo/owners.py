"""The infrastructure owners of the demo: two members of the network opening their own systems in
its cities, beside what the cities open themselves.

- Voltia Charging, a charge-point operator, opens its EV charging network in Barcelona (open) and
  Genova (trial): with it, an EV app works in Genova, whose own charging system is still a draft.
- Ruota Mobilità, a transport operator, opens its bike sharing in Genova (open) and has asked to open
  it in Bologna: that opening notice is pending, so Bologna's admins (or the platform admin) see it at
  /manage/opening-notices and may object until the deadline.

Each owner joined as an applicant and became a member on its letter of commitment, and has one admin
account (created by the platform admin with a random password, as the demo's developers: nobody signs
in as them; a real owner admin gets their own with POST /api/v1/users or /admin/owners/{id}).
Written through the services, as the platform admin and the owners' admins would.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from icity.demo.kinds import KINDS
from icity.demo.network import CITIES, COORDINATOR, DemoCity
from icity.demo.places import DISTRICTS
from icity.demo.sampling import geo_point, iso, latest_hour, point_near_centre, rng_for
from icity.services import accounts, catalogue, entity_store, owners
from icity.services.authentication import principal_of_user
from icity.services.entity_store import entity_urn


@dataclass(frozen=True)
class DemoOwner:
    id: str
    name: str
    kind: str
    country: str
    website: str
    description: str
    member_since: date
    letter: str
    admin_email: str
    admin_name: str


@dataclass(frozen=True)
class OwnerSystem:
    owner: str
    city: str
    kind: str  # a key of KINDS: ev-charging or bike-sharing
    status: str  # trial | open | pending (asked to open: a standing opening notice)
    count: int


OWNERS = [
    DemoOwner(
        "voltia", "Voltia Charging SL", "charge_point_operator", "ES", "https://voltia.example",
        "Public charging points for electric vehicles in Catalonia and Liguria, on street and in car parks.",
        date(2014, 11, 12), "Letter of commitment signed by Voltia's CEO, 12 November 2014",
        "ops@voltia.example", "Voltia network operations",
    ),
    DemoOwner(
        "ruota", "Ruota Mobilità S.p.A.", "transport_operator", "IT", "https://ruota.example",
        "Public bike sharing in Italian cities: docking stations, bikes and free docks in real time.",
        date(2014, 12, 3), "Letter of commitment signed by Ruota's general manager, 3 December 2014",
        "dati@ruota.example", "Ruota open data desk",
    ),
]  # fmt: skip
SYSTEMS = [
    OwnerSystem("voltia", "barcelona", "ev-charging", "open", 8),
    OwnerSystem("voltia", "genova", "ev-charging", "trial", 6),
    OwnerSystem("ruota", "genova", "bike-sharing", "open", 10),
    OwnerSystem("ruota", "bologna", "bike-sharing", "pending", 8),
]


def _district(city: DemoCity, index: int) -> str:
    districts = DISTRICTS.get(city.id, [city.name])
    return districts[index % len(districts)]


def _charging_points(owner: DemoOwner, city: DemoCity, count: int, today: date) -> list[dict[str, Any]]:
    rng, now = rng_for(f"{city.id}/{owner.id}", "ev-charging"), latest_hour(today)
    entities = []
    for i in range(count):
        capacity = rng.choice([2, 4, 4, 8])
        working = rng.random() < 0.95
        entities.append({
            "id": entity_urn("EVChargingStation", city.id, f"{owner.id}-{i + 1:02d}"), "type": "EVChargingStation",
            "location": geo_point(point_near_centre(rng, city, spread=0.12)), "observedAt": iso(now),
            "name": f"{owner.name.split()[0]} {_district(city, i)} {i + 1}",
            "capacity": capacity, "availableCapacity": rng.randint(0, capacity) if working else 0,
            "socketType": rng.choice([["Type2", "CCS"], ["Type2", "CHAdeMO", "CCS"]]),
            "status": "working" if working else "outOfService", "operator": owner.name, "observationDateTime": iso(now),
        })  # fmt: skip
    return entities


def _docking_stations(owner: DemoOwner, city: DemoCity, count: int, today: date) -> list[dict[str, Any]]:
    rng, now = rng_for(f"{city.id}/{owner.id}", "bike-sharing"), latest_hour(today)
    entities = []
    for i in range(count):
        total = rng.choice([12, 16, 20, 24])
        bikes = rng.randint(0, total)
        entities.append({
            "id": entity_urn("BikeHireDockingStation", city.id, f"{owner.id}-{i + 1:03d}"), "type": "BikeHireDockingStation",
            "location": geo_point(point_near_centre(rng, city, spread=0.1)), "observedAt": iso(now),
            "name": f"{_district(city, i)} {i + 1}", "stationCode": f"R{i + 1:03d}", "totalSlotNumber": total,
            "availableBikeNumber": bikes, "freeSlotNumber": total - bikes, "status": "working",
            "observationDateTime": iso(now),
        })  # fmt: skip
    return entities


GENERATORS = {"ev-charging": _charging_points, "bike-sharing": _docking_stations}


def load_owners(session: Session, today: date) -> dict[str, int]:
    counts = {"owners": 0, "owner_systems": 0, "owner_entities": 0, "opening_notices": 0}
    admins = {}
    for owner in OWNERS:
        owners.create_owner(
            session, COORDINATOR, id=owner.id, name=owner.name, kind=owner.kind, country=owner.country,
            website=owner.website, description=owner.description,
        )  # fmt: skip
        owners.change_membership(
            session, COORDINATOR, owner.id, to_membership="member", effective_on=owner.member_since,
            evidence_kind="letter_of_commitment", evidence=owner.letter,
        )  # fmt: skip
        user = accounts.create_user(
            session, COORDINATOR, email=owner.admin_email, name=owner.admin_name, password=secrets.token_urlsafe(24),
            role="owner_admin", owners=[owner.id],
        )  # fmt: skip
        admins[owner.id] = principal_of_user(session, user)
        counts["owners"] += 1
    by_id = {owner.id: owner for owner in OWNERS}
    for plan in SYSTEMS:
        owner, city, kind = by_id[plan.owner], CITIES[plan.city], KINDS[plan.kind]
        admin = admins[owner.id]
        system = catalogue.register_system(
            session, admin, city.id, owner_id=owner.id, slug=f"{owner.id}-{kind.slug}", name=f"{owner.name.split()[0]} {kind.name.format(city=city.name)}",
            category=kind.category, entity_types=[kind.entity_type], description=kind.description.format(city=city.name, operator=owner.name),
            access_policy="public", licence="CC-BY-4.0", provider=owner.name, documentation_url=owner.website,
            properties_in=kind.properties_in, properties_out=kind.properties_out,
        )  # fmt: skip
        catalogue.add_provider(session, system["id"], name=owner.name, kind="operator", url=owner.website)
        entities = GENERATORS[plan.kind](owner, city, plan.count, today)
        entity_store.upsert_entities(session, system["id"], entities)
        counts["owner_systems"] += 1
        counts["owner_entities"] += len(entities)
        if plan.status == "pending":  # the city is told and may object until the deadline
            catalogue.change_status(session, admin, system["id"], "open")  # the owner's first opening: a notice
            counts["opening_notices"] += 1
        else:  # opened before the demo's day, as a city's systems are: no objection period to wait for
            catalogue.set_status(session, system["id"], "trial")
            if plan.status == "open":
                catalogue.set_status(session, system["id"], "open")
    return counts
