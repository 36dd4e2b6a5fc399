"""The offer gate: an app key reading a priced IS beyond its free allowance must have accepted the offer.

It runs on every data read made with a key (`api.middleware.served`), so it is kept cheap:

- which IS are priced this month comes from one snapshot of all offer versions (a small
  table), read again after `TTL_S` seconds; a read of free IS does no more than a dict lookup;
- per (app, IS, month) an entry holds whether the app accepted the version in effect and its
  calls so far this month (stored counters plus the worker's calls not flushed yet), read once
  per `TTL_S` and counted up in memory between reads.

So the allowance is checked per worker to within the calls other workers made in the last
`TTL_S` seconds, and an acceptance or a new offer is seen at once by the worker that recorded
it (`offers.recorded()` moves), by the others within `TTL_S`: a small, bounded overshoot, never a call
refused wrongly for long. The statement bills the metered calls whatever the gate let through.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from icity.db.engine import new_session
from icity.db.models import OfferAcceptance, OfferVersion, UsageDay, utctoday
from icity.services import offers
from icity.services.offers import month_start, next_month, offer_not_accepted

TTL_S = 30.0


@dataclass
class _Priced:
    """The priced version in effect for one IS this month."""

    version: OfferVersion  # detached copy: only its plain fields are read
    free_calls: int


@dataclass
class _Entry:
    accepted: bool
    calls: int
    read_at: float


class OfferGate:
    def __init__(self, ttl_s: float = TTL_S):
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._priced: dict[str, _Priced] = {}
        self._priced_month: date | None = None
        self._priced_at = float("-inf")
        self._entries: dict[tuple[int, str, date], _Entry] = {}
        self._recorded = offers.recorded()

    def forget(self) -> None:
        with self._lock:
            self._priced_at = float("-inf")
            self._entries.clear()

    def _priced_systems(self, database_url: str, month: date, now: float) -> dict[str, _Priced]:
        with self._lock:
            if self._priced_month == month and now - self._priced_at < self.ttl_s:
                return self._priced
        with new_session(database_url) as session:
            versions = list(session.scalars(select(OfferVersion).where(OfferVersion.effective_from <= month)))
            session.expunge_all()
        latest: dict[str, OfferVersion] = {}
        for v in versions:
            held = latest.get(v.information_system_id)
            if held is None or (v.effective_from, v.version) > (held.effective_from, held.version):
                latest[v.information_system_id] = v
        priced = {
            system_id: _Priced(v, v.free_calls)
            for system_id, v in latest.items()
            if v.monthly_fee > Decimal(0) or v.price_per_1000 > Decimal(0)
        }
        with self._lock:
            self._priced, self._priced_month, self._priced_at = priced, month, now
        return priced

    def _entry(self, database_url: str, meter, app_id: int, system_id: str, month: date, version: int, now: float) -> _Entry:
        key = (app_id, system_id, month)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and now - entry.read_at < self.ttl_s:
                return entry
        with new_session(database_url) as session:
            accepted = session.scalar(
                select(OfferAcceptance.id).where(
                    OfferAcceptance.app_id == app_id,
                    OfferAcceptance.information_system_id == system_id,
                    OfferAcceptance.version == version,
                )
            ) is not None
            stored = session.scalar(
                select(func.coalesce(func.sum(UsageDay.calls), 0)).where(
                    UsageDay.app_id == app_id,
                    UsageDay.information_system_id == system_id,
                    UsageDay.day >= month,
                    UsageDay.day < next_month(month),
                )
            )
        unflushed = 0
        if meter is not None and not accepted:
            unflushed = sum(
                c.calls for (a, s, day), c in meter.pending().items() if a == app_id and s == system_id and day >= month
            )
        entry = _Entry(accepted, int(stored) + unflushed, now)
        with self._lock:
            self._entries[key] = entry
        return entry

    def check(self, database_url: str, meter, app_id: int, systems: list[str], today: date | None = None) -> None:
        """Raise 402 if one of `systems` is priced, the app has not accepted its offer, and its
        free allowance for the month is used up; else count the call."""
        month = month_start(today or utctoday())
        now = time.monotonic()
        if self._recorded != offers.recorded():  # an offer or acceptance recorded here since: read afresh
            self._recorded = offers.recorded()
            self.forget()
        priced = self._priced_systems(database_url, month, now)
        if not priced:
            return
        for system_id in systems:
            offer = priced.get(system_id)
            if offer is None:
                continue
            entry = self._entry(database_url, meter, app_id, system_id, month, offer.version.version, now)
            if entry.accepted:
                continue
            with self._lock:
                if entry.calls >= offer.free_calls:
                    refused = True
                else:
                    entry.calls += 1
                    refused = False
            if refused:
                raise offer_not_accepted(
                    system_id,
                    offer.version,
                    f"This app used the {offer.free_calls:,} free calls of {system_id} this month.",
                )


_GATES: dict[str, OfferGate] = {}  # one per database: a process may serve several (tests do)
_GATES_LOCK = threading.Lock()


def gate_for(database_url: str) -> OfferGate:
    with _GATES_LOCK:
        gate = _GATES.get(database_url)
        if gate is None:
            gate = _GATES[database_url] = OfferGate()
        return gate


def check(database_url: str, meter, app_id: int, systems: list[str]) -> None:
    gate_for(database_url).check(database_url, meter, app_id, systems)


def forget_offers() -> None:
    """Every gate of this process forgets what it cached (tests start each afresh)."""
    with _GATES_LOCK:
        gates = list(_GATES.values())
    for gate in gates:
        gate.forget()
