"""What each city of a project can already run, and what it still has to open: computed from
the catalogue every time it is asked (nothing stored), with the portability service's reading
of "which city offers what" (services/portability.offers_by_city).

A city *can run* an app when it opens (status trial or open) an IS for every entity type the
app needs, whatever that IS's access policy: readiness is about what the city has opened. For
each entity type the answer says more:

- `ready`: opened, and the app's keys read it now;
- `needs-access`: opened, but under a policy the app does not meet yet (`approval` without a
  grant): the developer's work, an access request;
- `not-opened`: the city has an IS for it, still in draft (or retired): the city's work;
- `missing`: no IS of the city serves it: the city's work.

An IS not open is shown only to whom the catalogue shows it (`discoverable_systems`: its city's
admins, the platform admin); to everyone else such a type is `missing`, so drafts do not leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import Session

from icity.db.models import InformationSystem
from icity.services.access import SERVED_STATUSES, Principal, discoverable_systems, readable_systems
from icity.services.authentication import principal_of_app
from icity.services.portability import offers_by_city

OPENED = ("ready", "needs-access")  # the statuses of an entity type the city opens
PROJECT = "project"  # what a work item names when the project itself (not an app) needs the type


def readiness(
    session: Session,
    viewer: Principal,
    entity_types: list[str],
    cities: list[dict[str, Any]],
    apps: list[dict[str, Any]],
) -> dict[str, Any]:
    """Per app, per city, per entity type: its status; per city: its work list.

    `cities`: [{"city", "name", "level", "role", "joinedOn"}]; `apps`: [{"id", "name", "entityTypes", …}].
    Returns {"apps": apps with "cities" and "runsIn" added, "cities": cities with "opens", "workList"
    and "canRun" added}."""
    city_ids = [c["city"] for c in cities]
    needed = sorted(set(entity_types) | {t for app in apps for t in app["entityTypes"]})
    requirements = [("entityType", t) for t in needed]
    served = InformationSystem.status.in_(SERVED_STATUSES)
    opened = offers_by_city(session, served, requirements, city_ids) if city_ids else {}
    not_served = and_(~served, discoverable_systems(viewer))
    unopened = offers_by_city(session, not_served, requirements, city_ids) if city_ids else {}

    def systems(offers: dict, city: str, entity_type: str) -> list[dict[str, Any]]:
        return list(offers.get(city, {}).get(("entityType", entity_type), {}).values())

    def status_without_app(city: str, entity_type: str) -> str:
        if systems(opened, city, entity_type):
            return "opened"
        return "not-opened" if systems(unopened, city, entity_type) else "missing"

    apps_out = []
    for app in apps:
        principal = principal_of_app(session, app["id"])
        # a withdrawn app (or one whose developer is no longer approved) reads nothing
        readable = (
            offers_by_city(session, and_(served, readable_systems(principal)), requirements, city_ids)
            if principal is not None and city_ids
            else {}
        )
        per_city = []
        for city in city_ids:
            types = []
            for entity_type in app["entityTypes"]:
                status = status_without_app(city, entity_type)
                if status == "opened":
                    status = "ready" if systems(readable, city, entity_type) else "needs-access"
                found = systems(opened if status in OPENED else unopened, city, entity_type)
                types.append({"entityType": entity_type, "status": status, "informationSystems": found})
            per_city.append({"city": city, "canRun": all(t["status"] in OPENED for t in types), "entityTypes": types})
        apps_out.append({**app, "cities": per_city, "runsIn": [c["city"] for c in per_city if c["canRun"]]})

    cities_out = []
    for city in cities:
        city_id = city["city"]
        work = []
        for entity_type in needed:
            status = status_without_app(city_id, entity_type)
            if status == "opened":
                continue
            needed_by = ([PROJECT] if entity_type in entity_types else []) + [
                app["name"] for app in apps if entity_type in app["entityTypes"]
            ]
            work.append(
                {
                    "entityType": entity_type,
                    "status": status,
                    "neededBy": needed_by,
                    "informationSystems": systems(unopened, city_id, entity_type),
                }
            )
        cities_out.append(
            {
                **city,
                "opens": [t for t in needed if status_without_app(city_id, t) == "opened"],
                "workList": work,
                "canRun": [a["id"] for a in apps_out if city_id in a["runsIn"]],
            }
        )
    return {"apps": apps_out, "cities": cities_out}
