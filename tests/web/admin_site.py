"""The demo network with a platform admin, a developer, a city admin and a developer
waiting for approval, for the admin pages' in-process tests (TestClient, no browser);
and a snapshot of what those pages may write, to show that a refusal wrote nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import AuditEvent, City, EngagementAction, LevelChange, Message, OutboxMail, User
from tests import people

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
        """Everything the admin pages write: levels and their history, engagement actions
        and their next steps, account statuses, messages, mail and the audit log."""
        with new_session(self.url) as session:

            def count(model) -> int:
                return session.scalar(select(func.count()).select_from(model))

            return {
                "levels": dict(session.execute(select(City.id, City.level)).all()),
                "level_changes": count(LevelChange),
                "actions": count(EngagementAction),
                "steps_done": session.scalar(
                    select(func.count()).select_from(EngagementAction).where(EngagementAction.next_step_done.is_(True))
                ),
                "statuses": dict(session.execute(select(User.email, User.status)).all()),
                "messages": count(Message),
                "mails": count(OutboxMail),
                "audit": count(AuditEvent),
            }


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
