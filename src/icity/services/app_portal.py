"""The app portal: certified apps, who makes them, what they do, where to get
them, and the cities where each works.

A city is one where the app works when it opens every entity type the app needs
through information systems the app's keys may read — the app's own answer to
"where can this app run" (services/portability.py), so an `approval` IS counts
only for the apps it granted. Apps whose keys read nothing (withdrawn, or their
developer's account no longer active) are not listed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.datamodels import get_registry
from icity.db.models import App, AppReview, InformationSystem, Organisation
from icity.services import offers
from icity.services.access import Principal
from icity.services.authentication import principal_of_app
from icity.services.pagination import Page, SortKey, decode_cursor, encode_cursor
from icity.services.portability import where_can_app_run
from icity.services.publishers import publishers_of

ORDER = "name"
KEYS = [SortKey(App.name), SortKey(App.id)]


def cities_for(session: Session, app: App, principal: Principal) -> list[dict[str, Any]]:
    """The cities where `app` works, by name."""
    registry = get_registry()
    if not app.entity_types or any(t not in registry for t in app.entity_types):
        return []  # it runs nowhere as declared (certification refuses such apps; this guards old data)
    found = where_can_app_run(session, principal, entity_types=list(app.entity_types), categories=[])["cities"]
    system_ids = {c["city"]: {s["id"] for p in c["provides"] for s in p["informationSystems"]} for c in found}
    wanted = set().union(*system_ids.values())
    systems = session.scalars(select(InformationSystem).where(InformationSystem.id.in_(wanted))).all() if wanted else []
    publishers = publishers_of(session, list(systems))
    return sorted(
        (
            {
                "id": c["city"], "name": c["name"], "level": c["level"],
                # who publishes what the app reads there: the city itself, or owners opening IS in it
                "publishers": [p.as_dict() for p in sorted({publishers[s] for s in system_ids[c["city"]]}, key=lambda p: (p.kind, p.name))],
            }
            for c in found
        ),
        key=lambda c: c["name"],
    )  # fmt: skip


def portal_app_dict(app: App, organisation: Organisation, cities: list[dict[str, Any]], certified_at: Any) -> dict[str, Any]:
    return {
        "id": app.id,
        "name": app.name,
        "description": app.description,
        "developer": {"id": organisation.id, "name": organisation.name, "website": organisation.website},
        "functionalities": app.functionalities,
        "advantages": app.advantages,
        "platforms": app.platforms,
        "entityTypes": app.entity_types,
        "cities": cities,
        "certifiedAt": certified_at.isoformat() if certified_at else None,
    }


def portal_apps(session: Session, *, city: str | None = None) -> list[dict[str, Any]]:
    """Every app of the portal (ordered by name), or those that work in `city`."""
    certified_at = dict(
        session.execute(
            select(AppReview.app_id, func.max(AppReview.decided_at))
            .where(AppReview.decision == "certified")
            .group_by(AppReview.app_id)
        ).all()
    )
    rows = session.execute(
        select(App, Organisation)
        .join(Organisation, Organisation.id == App.organisation_id)
        .where(App.certification == "certified", App.status == "active")
    ).all()
    listed = []
    for app, organisation in rows:
        principal = principal_of_app(session, app.id)
        if principal is None:
            continue
        cities = cities_for(session, app, principal)
        if city is not None and city not in {c["id"] for c in cities}:
            continue
        listed.append(portal_app_dict(app, organisation, cities, certified_at.get(app.id)))
    # in Python, not SQL: the cursor compares in Python too, whatever the database's collation
    return sorted(listed, key=lambda a: (a["name"], a["id"]))


def portal_page(session: Session, *, city: str | None, limit: int, cursor: str | None) -> Page[dict[str, Any]]:
    """`portal_apps`, a page at a time. Where an app works is decided in Python, so the
    whole (small) list is built and the page cut from it after the cursor's (name, id)."""
    apps = portal_apps(session, city=city)
    if cursor:
        name, app_id = decode_cursor(cursor, ORDER, KEYS)
        apps = [a for a in apps if (a["name"], a["id"]) > (name, app_id)]
    if len(apps) <= limit:
        return Page(apps, None)
    page = apps[:limit]
    return Page(page, encode_cursor(ORDER, [page[-1]["name"], page[-1]["id"]]))


def priced_data_of(session: Session, app_ids: list[int]) -> dict[int, list[dict[str, str]]]:
    """The priced IS whose offer in effect each app accepted (the portal shows the offers apps work under)."""
    return offers.accepted_offers_in_effect(session, app_ids)
