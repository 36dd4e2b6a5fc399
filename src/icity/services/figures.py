"""Network-wide figures for the portal's home page: counts only, nothing of any one
developer or app, so anyone may see them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.db.models import App, City, InformationSystem, UsageDay, utctoday
from icity.services.cities import LEVELS, OPEN_STATUSES

CALLS_WINDOW_DAYS = 30


def network_figures(session: Session, today: date | None = None) -> dict[str, Any]:
    today = today or utctoday()
    per_level = dict(session.execute(select(City.level, func.count()).group_by(City.level)).all())
    opened = dict(
        session.execute(
            select(InformationSystem.category_id, func.count())
            .where(InformationSystem.status.in_(OPEN_STATUSES))
            .group_by(InformationSystem.category_id)
        ).all()
    )
    first_day = today - timedelta(days=CALLS_WINDOW_DAYS - 1)
    calls = session.scalar(select(func.coalesce(func.sum(UsageDay.calls), 0)).where(UsageDay.day >= first_day))
    return {
        "citiesPerLevel": {level: per_level.get(level, 0) for level in LEVELS},
        "openedPerCategory": opened,
        "openedTotal": sum(opened.values()),
        "apps": session.scalar(select(func.count()).select_from(App).where(App.status == "active")),
        "apiCalls": {"days": CALLS_WINDOW_DAYS, "from": first_day.isoformat(), "calls": int(calls)},
    }
