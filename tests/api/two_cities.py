"""Two pilot cities, each with one `approval` IS, and people around them: enough
for the messaging and audit rules, built in milliseconds for each test that writes.

    alpha  alpha/parking ← app of "Alpha Apps" (dev_alpha, colleague), pending request
    beta   beta/parking  ← app of "Beta Apps" (dev_beta), approved request
    dev_idle: approved, no request anywhere; dev_pending: not approved yet
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from icity.db.models import InformationSystem
from icity.services import audit, cities
from tests.people import Person, app_with_key, grant, organisation, person


@dataclass
class TwoCities:
    admin: Person
    alpha_admin: Person
    beta_admin: Person
    dev_alpha: Person
    colleague: Person
    dev_beta: Person
    dev_idle: Person
    dev_pending: Person
    alpha_key: str  # an API key of dev_alpha's app


def build_two_cities(session: Session) -> TwoCities:
    for city_id, name, lon, lat in (("alpha", "Alpha", 2.17, 41.39), ("beta", "Beta", 8.93, 44.41)):
        cities.create_city(session, audit.actor_named("tests"), id=city_id, name=name, country="ES", lon=lon, lat=lat, bbox=[lon - 1, lat - 1, lon + 1, lat + 1])
        cities.change_level(
            session, audit.actor_named("tests"), city_id, to_level="pilot", effective_on=date(2014, 4, 1),
            evidence_kind="technical_trial", evidence="trial",
        )
        session.add(
            InformationSystem(
                id=f"{city_id}/parking", city_id=city_id, slug="parking", name=f"{name} parking",
                category_id="transport-mobility", status="open", access_policy="approval",
            )
        )
    session.flush()
    alpha_apps = organisation(session, "Alpha Apps")
    world = TwoCities(
        admin=person(session, "admin@icity.example", role="admin"),
        alpha_admin=person(session, "mobility@alpha.example", role="city_admin", cities=("alpha",)),
        beta_admin=person(session, "mobility@beta.example", role="city_admin", cities=("beta",)),
        dev_alpha=person(session, "ada@alpha-apps.example", org=alpha_apps),
        colleague=person(session, "carl@alpha-apps.example", org=alpha_apps),
        dev_beta=person(session, "bob@beta-apps.example"),
        dev_idle=person(session, "ida@idle.example"),
        dev_pending=person(session, "pat@pending.example", status="pending"),
        alpha_key="",
    )
    alpha_app, world.alpha_key = app_with_key(session, world.dev_alpha, "Park&Go")
    grant(session, alpha_app, "alpha/parking", status="pending")
    beta_app, _ = app_with_key(session, world.dev_beta, "Beta parking")
    grant(session, beta_app, "beta/parking")
    return world
