"""iCalendar agendas (RFC 5545): a city's events, recurring ones expanded over a window."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import recurring_ical_events
from icalendar import Calendar, Component
from pydantic import Field, ValidationInfo, field_validator

from icity.connectors.base import ConnectorConfig, Record, SourceError
from icity.connectors.document import DocumentConnector
from icity.connectors.streams import refuse_html

_SOURCE = "The iCalendar source"
# Expanding an unbounded RRULE is cut by the window; the window itself is bounded so a typo
# (futureDays: 365000) cannot make one run produce millions of occurrences.
_MAX_DAYS = 3660


class ICalendarConfig(ConnectorConfig):
    """Which occurrences to read. An agenda repeats events for ever, so records exist only for
    a window: absolute (``windowStart``/``windowEnd``, both days included) or relative to the
    day of the run (``pastDays``/``futureDays``), the relative form keeping the window moving."""

    window_start: date | None = Field(None, description="First day included (ISO date); default: today - pastDays.")
    window_end: date | None = Field(None, description="Last day included (ISO date); default: today + futureDays.")
    past_days: int = Field(0, ge=0, le=_MAX_DAYS, description="Days before today, when windowStart is not given.")
    future_days: int = Field(365, ge=0, le=_MAX_DAYS, description="Days after today, when windowEnd is not given.")

    @field_validator("window_end")
    @classmethod
    def _after_start(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("window_start")
        if value is not None and start is not None:
            if value < start:
                raise ValueError(f"The window ends ({value}) before it starts ({start}).")
            if (value - start).days > _MAX_DAYS:
                raise ValueError(f"The window is longer than {_MAX_DAYS} days; read a shorter period.")
        return value

    def window(self, today: date | None = None) -> tuple[date, date]:
        """(first day, last day), both included."""
        today = today or date.today()
        start = self.window_start or today - timedelta(days=self.past_days)
        end = self.window_end or today + timedelta(days=self.future_days)
        return start, end


class ICalendarConnector(DocumentConnector):
    """One record per occurrence of each VEVENT within the window, in document order of the
    events and then of their occurrences. A modified occurrence (RECURRENCE-ID) replaces the
    one it moves; EXDATEs are left out. ``occurrenceId`` (uid@start, the start the rule gave
    for an occurrence of a series) is stable between runs, so it can be the entity id. Times
    are ISO 8601 with their offset (floating times, which RFC 5545 ties to no zone, stay
    without one), all-day events plain dates; ``end`` is exclusive, as in RFC 5545."""

    kind = "icalendar"
    Config = ICalendarConfig

    @classmethod
    def records(cls, config: ICalendarConfig, body: Iterable[bytes]) -> Iterator[Record]:
        calendar = _parse(body)
        groups = _events_by_uid(calendar)
        timezones = calendar.walk("VTIMEZONE")
        start, end = config.window()
        number = 0
        for uid, events in groups.items():
            problem = _problem(uid, events)
            if problem is not None:
                number += 1
                yield Record(number, _summary_of(events), problem)
                continue
            recurring = any(event.get(name) is not None for event in events for name in _RECURRENCE)
            # Expand one event (with its modified occurrences) at a time, so that one bad
            # series fails that event alone and records come out in document order.
            single = Calendar()
            for component in (*timezones, *events):
                single.add_component(component)
            try:
                occurrences = recurring_ical_events.of(single).between(start, end + timedelta(days=1))
            except Exception as error:  # the library raises many kinds for a bad series
                number += 1
                yield Record(number, _summary_of(events), f"the event's recurrence cannot be expanded: {error}")
                continue
            for occurrence in sorted(occurrences, key=_start_key):
                number += 1
                yield Record(number, _occurrence_data(uid, occurrence, recurring))

    @classmethod
    def default_mapping(cls, config: ICalendarConfig) -> dict[str, Any]:
        """To the Smart Data Model ``Event``. Times stay as the agenda gives them (with their
        offset; dates for all-day events): converting to UTC would turn an all-day festival
        into a time at midnight of the wrong day."""
        return {
            "entityType": "Event",
            "id": {"field": "occurrenceId"},
            "location": {"lat": "lat", "lon": "lon", "required": False},
            "attributes": {
                "name": {"field": "summary"},
                "description": {"field": "description"},
                "startDate": {"field": "start", "required": True},
                "endDate": {"field": "end"},
                "url": {"field": "url"},
                "category": {"field": "categories", "type": "list"},
                # schema.org EventStatusType, which the model's eventStatus follows; a tentative
                # event has no equivalent and is left without a status.
                "eventStatus": {
                    "field": "status",
                    "type": "list",
                    "values": {"CONFIRMED": "EventScheduled", "CANCELLED": "EventCancelled", "TENTATIVE": None},
                },
            },
        }


_RECURRENCE = ("RRULE", "RDATE", "RECURRENCE-ID")


def _parse(body: Iterable[bytes]) -> Calendar:
    """icalendar parses a whole calendar at once; agendas are small, so the body is joined."""
    data = b"".join(refuse_html(body, _SOURCE))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SourceError(
            f"{_SOURCE} is not valid UTF-8 at byte {error.start} (line {line}), as RFC 5545 requires."
        ) from None
    if not text.lstrip().upper().startswith("BEGIN:VCALENDAR"):
        raise SourceError(f"{_SOURCE} is not an iCalendar document: it does not start with BEGIN:VCALENDAR.")
    try:
        calendar = Calendar.from_ical(text)
    except ValueError as error:
        reason = str(error).splitlines()[0]
        raise SourceError(f"{_SOURCE} is not a valid iCalendar document (truncated or malformed): {reason}") from None
    if not isinstance(calendar, Calendar):
        raise SourceError(f"{_SOURCE} is not an iCalendar document: its top component is not a VCALENDAR.")
    return calendar


def _events_by_uid(calendar: Calendar) -> dict[str, list[Component]]:
    """VEVENTs grouped by UID (a series and its modified occurrences), in document order.
    An event without UID gets one from its position: it cannot be matched across runs anyway."""
    groups: dict[str, list[Component]] = {}
    for position, event in enumerate(calendar.walk("VEVENT"), start=1):
        uid = str(event.get("UID") or "").strip() or f"#{position}"
        groups.setdefault(uid, []).append(event)
    return groups


def _problem(uid: str, events: list[Component]) -> str | None:
    for event in events:
        label = "a modified occurrence of the event" if event.get("RECURRENCE-ID") is not None else "the VEVENT"
        if uid.startswith("#"):
            return f"{label} has no UID"
        if event.get("DTSTART") is None:
            return f"{label} '{uid}' has no DTSTART"
        for name, reason in event.errors:
            return f"{label} '{uid}' has a malformed {name}: {reason}"
    return None


def _summary_of(events: list[Component]) -> dict[str, Any]:
    """What identifies a rejected event to the city admin."""
    event = events[0]
    return {"uid": str(event.get("UID") or ""), "summary": _text(event.get("SUMMARY"))}


def _start_key(event: Component) -> tuple[float, str]:
    start = event.start
    return _instant(start).timestamp(), _iso(start)


def _instant(value: date | datetime) -> datetime:
    """A comparable instant: dates at midnight, floating times as if UTC (only for ordering)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _occurrence_data(uid: str, event: Component, recurring: bool) -> dict[str, Any]:
    start = event.start
    try:
        end = event.end
    except Exception:  # noqa: BLE001 - no DTEND/DURATION and nothing RFC 5545 can derive
        end = None
    geo = event.get("GEO")
    organizer = event.get("ORGANIZER")
    # An occurrence of a series carries RECURRENCE-ID, the start its rule gave it: a moved
    # occurrence keeps that id, so moving it updates the entity instead of adding another.
    scheduled = event.get("RECURRENCE-ID")
    return {
        "uid": uid,
        "occurrenceId": f"{uid}@{_iso(scheduled.dt if scheduled is not None else start)}",
        "summary": _text(event.get("SUMMARY")),
        "description": _text(event.get("DESCRIPTION")),
        "location": _text(event.get("LOCATION")),
        "start": _iso(start),
        "end": _iso(end),
        "allDay": not isinstance(start, datetime),
        "url": _text(event.get("URL")),
        "categories": [str(category) for category in event.categories],
        "status": _text(event.get("STATUS")),
        "organizer": _organizer(organizer),
        "lat": float(geo.latitude) if geo is not None else None,
        "lon": float(geo.longitude) if geo is not None else None,
        "recurring": recurring,
    }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _organizer(value: Any) -> str | None:
    """Its common name when given (what an agenda shows), else the address without ``mailto:``."""
    if value is None:
        return None
    name = value.params.get("CN") if hasattr(value, "params") else None
    if name:
        return str(name).strip()
    address = str(value)
    return address[7:] if address.lower().startswith("mailto:") else address
