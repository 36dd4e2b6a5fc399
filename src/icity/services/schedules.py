"""Harvest schedules: an interval ("15m", "1h", "1d") or a cron expression ("0 6 * * *", in UTC)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from croniter import croniter

_INTERVAL = re.compile(r"^\s*(\d+)\s*(m|h|d)\s*$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
SHORTEST = timedelta(minutes=1)


def problem_with(schedule: str) -> str | None:
    """Why ``schedule`` cannot be used, or None."""
    interval = _interval(schedule)
    if interval is not None:
        return None if interval >= SHORTEST else "the interval must be at least 1 minute"
    if croniter.is_valid(schedule.strip()) and len(schedule.split()) == 5:
        return None
    return "give an interval such as '15m', '1h' or '1d', or a five-field cron expression such as '0 6 * * *' (UTC)"


def next_run(schedule: str, after: datetime) -> datetime:
    """When a source last read at ``after`` is due again."""
    interval = _interval(schedule)
    if interval is not None:
        return after + interval
    return croniter(schedule.strip(), after.astimezone(timezone.utc)).get_next(datetime)


def period(schedule: str, at: datetime) -> timedelta:
    """The time between two runs around ``at``: how old data may be before it counts as stale."""
    interval = _interval(schedule)
    if interval is not None:
        return interval
    first = next_run(schedule, at)
    return next_run(schedule, first) - first


def _interval(schedule: str) -> timedelta | None:
    match = _INTERVAL.match(schedule)
    if match is None:
        return None
    return int(match.group(1)) * _UNITS[match.group(2)]
