"""The usage chart's data, shared by the developer dashboard and the city admin's usage page:
usage_report already scopes the rows to what the viewer may see (their apps, or their IS)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from icity.db.models import utctoday
from icity.services import usage
from icity.services.access import Principal

USAGE_ROWS = 5000  # app × IS × day rows of the chart's window: plenty for a dashboard


def usage_chart(session: Session, viewer: Principal, days: int) -> dict[str, Any]:
    """Calls per day of the last ``days`` days, one series per app and IS, and each series'
    totals (calls, errors, bytes out) for a table beside the chart."""
    first = utctoday() - timedelta(days=days - 1)
    day_labels = [(first + timedelta(days=i)).isoformat() for i in range(days)]
    rows = usage.usage_report(session, viewer, start=first.isoformat(), limit=USAGE_ROWS)["items"]
    series: dict[str, dict[str, int]] = {}
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        label = f"{row['appName']} · {row['informationSystem'] or 'catalogue and network'}"
        series.setdefault(label, {})[row["day"]] = row["calls"]
        total = totals.setdefault(
            label, {"app": row["appName"], "informationSystem": row["informationSystem"], "calls": 0, "errors": 0, "bytesOut": 0}
        )
        for counter in ("calls", "errors", "bytesOut"):
            total[counter] += row[counter]
    return {
        "days": day_labels,
        "series": [{"label": label, "calls": [per_day.get(d, 0) for d in day_labels]} for label, per_day in sorted(series.items())],
        "totals": [totals[label] for label in sorted(totals)],
    }
