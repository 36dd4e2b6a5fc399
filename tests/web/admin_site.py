"""The demo network with a platform admin, a developer, a city admin and a developer
waiting for approval, for the admin pages' in-process tests (TestClient, no browser);
and a snapshot of what those pages may write, to show that a refusal wrote nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from tests import people
from tests.snapshots import admin_writes

ADMIN = "coordinator@icity.example"
DEVELOPER = "ada@dev.example"
CITY_ADMIN = "admin@london.example"
PENDING = "new@pending-labs.example"
PENDING_ORGANISATION = "Pending Labs"


@dataclass
class AdminSite:
    url: str
    tokens: dict[str, str]  # who → session token
    ids: dict[str, int]  # who → user id

    def client(self, who: str | None = None) -> TestClient:
        client = TestClient(create_app(self.url), headers={"Accept": "text/html"})
        if who is not None:
            client.cookies.set("icity_session", self.tokens[who])
        return client

    def snapshot(self) -> dict[str, Any]:
        """Everything the admin pages write (tests/snapshots.py)."""
        return admin_writes(self.url)


def make_site(databases, demo_url: str) -> AdminSite:
    url = databases.copy(demo_url)
    with transaction(url) as session:
        admin = people.person(session, ADMIN, role="admin")
        developer = people.person(session, DEVELOPER)
        london = people.person(session, CITY_ADMIN, role="city_admin", cities=("london",))
        pending = people.person(session, PENDING, status="pending", org=people.organisation(session, PENDING_ORGANISATION))
        found = {"admin": admin, "developer": developer, "london": london, "pending": pending}
        return AdminSite(url, {who: p.token for who, p in found.items()}, {who: p.user.id for who, p in found.items()})


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
