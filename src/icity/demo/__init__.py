"""The demo network: the seed cities of the design, their 2014 engagement, the
information systems they open and their data, the infrastructure owners
(icity.demo.owners) opening theirs in its cities — deterministic synthetic data for
most, and for a few (icity.demo.connected) a connector reading a feed in the
style of the city's own system (an iCalendar agenda, a portal's air-quality CSV,
a GTFS zip, an Open311 server), which `icity serve` publishes under
/demo-sources/ and harvests on schedule.

Everything is written through the services, in the caller's session (the
caller commits), so the demo obeys the same rules as any other client.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import AuditEvent, City, utcnow
from icity.demo.apps import load_apps
from icity.demo.connected import default_feeds_url
from icity.demo.engagement import load_engagement
from icity.demo.offers import load_offers
from icity.demo.network import CITIES, NETWORK_LEVELS, load_cities
from icity.demo.owners import load_owners
from icity.demo.projects import load_projects
from icity.demo.sampling import SEED
from icity.demo.systems import load_systems
from icity.demo.network import COORDINATOR
from icity.services import audit, catalogue

__all__ = ["CITIES", "NETWORK_LEVELS", "SEED", "is_demo_database", "is_loaded", "load_demo"]

LOADED = "demo.loaded"  # the audit event the loader leaves: what marks a database as the demo's


def is_loaded(session: Session) -> bool:
    """True when every demo city exists (the demo is loaded in one transaction)."""
    return all(session.get(City, city_id) is not None for city_id in CITIES)


def is_demo_database(session: Session) -> bool:
    """True when `icity demo load` filled this database: its audit log (append-only) holds the loader's
    mark. A city's own database never does, even with cities named as the demo's."""
    return session.scalar(select(AuditEvent.id).where(AuditEvent.action == LOADED).limit(1)) is not None


def load_demo(session: Session, today: date | datetime | None = None, feeds_url: str | None = None) -> dict[str, int]:
    """Load the demo network unless it is already there; returns how many of each thing were written
    ({"already_loaded": True}, writing nothing, when it was there).

    `today` fixes the end of the synthetic history (default: now, the moment of loading, which the
    demo simulator carries on from; a date ends it at that day's midnight, UTC), so that a test can
    reproduce the data exactly. `feeds_url` is where the
    connected systems read their feeds (default: the path /demo-sources, read
    from the platform's public URL at harvest time); nothing is read while loading.
    """
    if is_loaded(session):
        return {"already_loaded": True}
    until = today or utcnow()
    day = until.date() if isinstance(until, datetime) else until
    catalogue.ensure_categories(session)
    counts = {
        **load_cities(session),
        **load_engagement(session, day),
        **load_systems(session, until, feeds_url or default_feeds_url()),
        **load_owners(session, until),
        **load_apps(session),
        **load_offers(session, day),
        **load_projects(session),  # after the apps: developers attach theirs
    }
    audit.record(session, COORDINATOR, LOADED, "platform", "demo", details={"historyUntil": until.isoformat()})
    return counts
