"""The demo's public-interest projects: cities of the network working on one goal, an app of the
demo's IT partners attached to each, and readiness that differs from city to city (Cornellà and
Lamía still have noise sensors to open; London and Barcelona no GTFS stops yet).

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
]  # fmt: skip


def load_projects(session: Session) -> dict[str, int]:
    counts = {"projects": 0, "project_members": 0, "project_apps": 0}
    for plan in PROJECTS:
        projects.create_project(
            session, COORDINATOR, slug=plan.slug, name=plan.name, description=plan.description, entity_types=plan.entity_types
        )
        counts["projects"] += 1
        for role, cities in (("member", plan.members), ("invited", plan.invited)):
            for city, joined_on in cities:
                projects.add_member(session, COORDINATOR, plan.slug, city=city, role=role, joined_on=joined_on)
                counts["project_members"] += 1
        for app_name, email in plan.apps:
            developer = principal_of_user(session, session.scalars(select(User).where(User.email == email)).one())
            app_id = session.scalars(select(App.id).where(App.name == app_name, App.organisation_id == developer.organisation_id)).one()
            projects.attach_app(session, developer, plan.slug, app_id)
            counts["project_apps"] += 1
    return counts
