"""The demo's public-interest projects: cities of the network working on one goal, an app of the
demo's IT partners attached to each, and readiness that differs from city to city (Cornellà and
Lamía still have noise sensors to open; London and Barcelona no GTFS stops yet), and one with the
demo's infrastructure owners as partners, whose IS count where they lie.

Written through the services: the network coordinator starts each project and adds its cities,
the app's developer attaches it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import App, User
from icity.demo.network import COORDINATOR
from icity.services import projects
from icity.services.authentication import principal_of_user


@dataclass(frozen=True)
class DemoProject:
    slug: str
    name: str
    description: str
    entity_types: list[str]
    members: list[tuple[str, date]]
    invited: list[tuple[str, date]]
    apps: list[tuple[str, str]]  # (app name, its developer's email)
    partners: tuple[tuple[str, date], ...] = ()  # infrastructure owners of the demo (demo/owners.py)


PROJECTS = [
    DemoProject(
        "clean-air-for-schools", "Clean air for schools",
        "Air quality and noise around schools, so that parents and schools pick the cleanest, quietest walking "
        "routes and cities see where to act first.",
        ["AirQualityObserved", "NoiseLevelObserved"],
        members=[("barcelona", date(2014, 9, 15)), ("genova", date(2014, 10, 1)), ("bologna", date(2014, 10, 1)),
                 ("cornella", date(2014, 11, 3)), ("lamia", date(2014, 12, 1))],
        invited=[("amsterdam", date(2014, 12, 10))],
        apps=[("BreatheEasy", "giulia@arialabs.example")],
    ),
    DemoProject(
        "accessible-public-transport", "Accessible public transport",
        "Bus stops and the reserved parking spots near them, so that people with reduced mobility plan a trip "
        "the same way in every city.",
        ["GtfsStop", "ParkingSpot"],
        members=[("bologna", date(2014, 10, 20)), ("london", date(2014, 11, 12)), ("barcelona", date(2014, 11, 20))],
        invited=[("manchester", date(2014, 12, 1)), ("tallinn", date(2014, 12, 1))],
        apps=[("Fermata", "tom@kerbside.example")],
    ),
    DemoProject(
        "zero-emission-mobility", "Zero-emission mobility",
        "Charge points and shared bikes, with their live availability, so that residents and visitors leave the "
        "car at home; the operators who run them open their data beside the cities'.",
        ["EVChargingStation", "BikeHireDockingStation"],
        members=[("barcelona", date(2014, 11, 15)), ("genova", date(2014, 11, 15)), ("bologna", date(2014, 12, 1))],
        invited=[],
        apps=[("ChargeNear", "giulia@arialabs.example")],
        partners=(("voltia", date(2014, 11, 20)), ("ruota", date(2014, 12, 5))),
    ),
]  # fmt: skip


def load_projects(session: Session) -> dict[str, int]:
    counts = {"projects": 0, "project_members": 0, "project_apps": 0, "project_partners": 0}
    for plan in PROJECTS:
        projects.create_project(
            session, COORDINATOR, slug=plan.slug, name=plan.name, description=plan.description, entity_types=plan.entity_types
        )
        counts["projects"] += 1
        for role, cities in (("member", plan.members), ("invited", plan.invited)):
            for city, joined_on in cities:
                projects.add_member(session, COORDINATOR, plan.slug, city=city, role=role, joined_on=joined_on)
                counts["project_members"] += 1
        for owner, joined_on in plan.partners:
            projects.add_partner(session, COORDINATOR, plan.slug, owner=owner, joined_on=joined_on)
            counts["project_partners"] += 1
        for app_name, email in plan.apps:
            developer = principal_of_user(session, session.scalars(select(User).where(User.email == email)).one())
            app_id = session.scalars(select(App.id).where(App.name == app_name, App.organisation_id == developer.organisation_id)).one()
            projects.attach_app(session, developer, plan.slug, app_id)
            counts["project_apps"] += 1
    return counts
