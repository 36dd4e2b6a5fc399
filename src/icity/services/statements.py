"""Monthly statements per (publisher, app), computed from the metering (usage_daily). No payment.

For month M, one line per priced IS of the publisher that the app used or accepted:
- the version billed is the one in effect in M (`offers.in_effect`);
- calls: the app's metered calls of the IS in M; billable = max(0, calls − free allowance);
- an app is billed only for an IS whose version in effect in M it accepted (by the end of M):
  without acceptance it could read only the free allowance (the gate refuses the rest), and
  owes nothing — its line shows its calls with an amount of 0;
- usage amount = billable × price per 1,000 / 1,000, rounded half-up to the currency's minor
  unit; fee = the monthly fee, whole, for every month the app held an acceptance (no pro-rata);
  amount = fee + usage amount; totals per currency. Amounts are Decimal, sent as strings.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from icity.db.models import App, InformationSystem, OfferAcceptance, OfferVersion, Organisation, UsageDay
from icity.errors import forbidden, not_found
from icity.services.access import Principal, administered_systems, require_user
from icity.services.publishers import KINDS as PUBLISHER_KINDS
from icity.services.publishers import publishers_of
from icity.services.offers import in_effect, is_priced, minor_unit, next_month, parse_month


@dataclass
class Line:
    publisher: dict[str, str]
    app: App
    organisation: str
    system: InformationSystem
    version: OfferVersion
    calls: int
    accepted: bool

    @property
    def billable(self) -> int:
        return max(0, self.calls - self.version.free_calls) if self.accepted else 0

    @property
    def usage_amount(self) -> Decimal:
        exact = Decimal(self.billable) * self.version.price_per_1000 / Decimal(1000)
        return exact.quantize(minor_unit(self.version.currency), rounding=ROUND_HALF_UP)

    @property
    def fee(self) -> Decimal:
        fee = self.version.monthly_fee if self.accepted else Decimal(0)
        return fee.quantize(minor_unit(self.version.currency))

    @property
    def amount(self) -> Decimal:
        return self.fee + self.usage_amount

    def as_dict(self) -> dict[str, Any]:
        v = self.version
        return {
            "informationSystem": self.system.id,
            "informationSystemName": self.system.name,
            "offerVersion": v.version,
            "accepted": self.accepted,
            "currency": v.currency,
            "calls": self.calls,
            "freeCalls": v.free_calls,
            "billableCalls": self.billable,
            "pricePer1000": format(v.price_per_1000, "f"),
            "usageAmount": format(self.usage_amount, "f"),
            "monthlyFee": format(self.fee, "f"),
            "amount": format(self.amount, "f"),
        }


def _visible(principal: Principal):
    """SQL condition on App ⋈ InformationSystem: the statements the caller may see."""
    require_user(principal)
    if not principal.approved:
        raise forbidden("Your account is not approved yet: statements are shown once a platform admin approved it.", code="account-not-approved")
    if principal.is_admin:
        return None
    if principal.is_publisher_admin:  # a city's or an infrastructure owner's admin: the IS they manage
        return administered_systems(principal)
    if principal.is_developer and principal.organisation_id is not None:
        return App.organisation_id == principal.organisation_id
    raise forbidden("Only developers, publishers' admins and the platform admin see statements.")


def _lines(session: Session, principal: Principal, month: date, *, app_id: int | None = None, city_id: str | None = None) -> list[Line]:
    visible = _visible(principal)
    end = next_month(month)
    # every version up to M of every IS priced at some point: the one in effect in M is picked in Python
    versions: dict[str, list[OfferVersion]] = {}
    for v in session.scalars(select(OfferVersion).where(OfferVersion.effective_from <= month)):
        versions.setdefault(v.information_system_id, []).append(v)
    billed = {s: v for s, vs in versions.items() if is_priced(v := in_effect(vs, month))}
    if not billed:
        return []
    usage = select(UsageDay.app_id, UsageDay.information_system_id, func.sum(UsageDay.calls).label("calls")).where(
        UsageDay.day >= month, UsageDay.day < end, UsageDay.information_system_id.in_(sorted(billed))
    ).group_by(UsageDay.app_id, UsageDay.information_system_id)
    calls = {(a, s): int(c) for a, s, c in session.execute(usage)}
    cutoff = datetime.combine(end, time(), timezone.utc)
    accepted = {
        (a, s)
        for a, s, version in session.execute(
            select(OfferAcceptance.app_id, OfferAcceptance.information_system_id, OfferAcceptance.version).where(
                OfferAcceptance.information_system_id.in_(sorted(billed)), OfferAcceptance.accepted_at < cutoff
            )
        )
        if billed[s].version == version
    }
    pairs = set(calls) | accepted
    if app_id is not None:
        pairs = {p for p in pairs if p[0] == app_id}
    if not pairs:
        return []
    rows = select(App, Organisation.name, InformationSystem).join(Organisation, Organisation.id == App.organisation_id)
    rows = rows.join(InformationSystem, InformationSystem.id.in_(sorted({s for _, s in pairs})))
    rows = rows.where(App.id.in_(sorted({a for a, _ in pairs})))
    if visible is not None:
        rows = rows.where(visible)
    if city_id is not None:
        rows = rows.where(InformationSystem.city_id == city_id)
    found = [row for row in session.execute(rows) if (row[0].id, row[2].id) in pairs]
    publishers = publishers_of(session, list({system.id: system for _, _, system in found}.values()))
    lines = [
        Line(publishers[system.id].as_dict(), app, organisation, system, billed[system.id], calls.get((app.id, system.id), 0), (app.id, system.id) in accepted)
        for app, organisation, system in found
    ]
    lines.sort(key=lambda line: (line.publisher["kind"], line.publisher["id"], line.app.id, line.system.id))
    return lines


def _totals(lines: list[Line]) -> list[dict[str, str]]:
    totals: dict[str, Decimal] = {}
    for line in lines:
        totals[line.version.currency] = totals.get(line.version.currency, Decimal(0)) + line.amount
    return [{"currency": c, "amount": format(a, "f")} for c, a in sorted(totals.items())]


def statement_path(publisher: dict[str, str], app_id: int) -> str:
    return f"/api/v1/statements/{publisher['kind']}/{publisher['id']}/{app_id}"


def _statement(month: date, lines: list[Line]) -> dict[str, Any]:
    first = lines[0]
    return {
        "month": month.strftime("%Y-%m"),
        "publisher": first.publisher,
        "app": {"id": first.app.id, "name": first.app.name, "organisation": first.app.organisation_id, "organisationName": first.organisation},
        "lines": [line.as_dict() for line in lines],
        "totals": _totals(lines),
        "url": statement_path(first.publisher, first.app.id) + f"?month={month.strftime('%Y-%m')}",
    }


def list_statements(session: Session, principal: Principal, month: str | None, app_id: int | None = None) -> dict[str, Any]:
    """Every statement of the month the caller may see (totals only), by publisher and app."""
    first_day = parse_month(month)
    grouped: dict[tuple[str, str, int], list[Line]] = {}
    for line in _lines(session, principal, first_day, app_id=app_id):
        grouped.setdefault((line.publisher["kind"], line.publisher["id"], line.app.id), []).append(line)
    items = []
    for lines in grouped.values():
        statement = _statement(first_day, lines)
        statement["informationSystems"] = len(statement.pop("lines"))
        items.append(statement)
    return {"month": first_day.strftime("%Y-%m"), "items": items}


def get_statement(session: Session, principal: Principal, publisher_kind: str, publisher_id: str, app_id: int, month: str | None) -> dict[str, Any]:
    """One statement; 404 when there is none or the caller may not see it (so others' apps do not leak)."""
    first_day = parse_month(month)
    if publisher_kind not in PUBLISHER_KINDS:
        raise not_found("publisher kind", publisher_kind)
    lines = [
        line
        for line in _lines(session, principal, first_day, app_id=app_id, city_id=publisher_id if publisher_kind == "city" else None)
        if line.publisher["kind"] == publisher_kind and str(line.publisher["id"]) == publisher_id
    ]
    if not lines:
        raise not_found("statement", f"{publisher_kind}/{publisher_id}/{app_id} for {first_day.strftime('%Y-%m')}")
    return _statement(first_day, lines)


CSV_COLUMNS = [
    "month", "publisherKind", "publisherId", "app", "informationSystem", "offerVersion", "accepted", "currency",
    "calls", "freeCalls", "billableCalls", "pricePer1000", "usageAmount", "monthlyFee", "amount",
]  # fmt: skip


def statement_csv(statement: dict[str, Any]) -> str:
    """The statement's lines as CSV, one row per IS, the same values as its JSON."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in statement["lines"]:
        writer.writerow(
            [statement["month"], statement["publisher"]["kind"], statement["publisher"]["id"], statement["app"]["id"]]
            + [str(line[c]).lower() if isinstance(line[c], bool) else line[c] for c in CSV_COLUMNS[4:]]
        )
    return out.getvalue()


def daily_calls(session: Session, statement: dict[str, Any]) -> dict[str, Any]:
    """Calls per UTC day of the statement's month, one series per IS of the statement (for its chart).
    The caller got `statement` from get_statement, which checked who may see it."""
    first = parse_month(statement["month"])
    end = next_month(first)
    systems = [line["informationSystem"] for line in statement["lines"]]
    rows = session.execute(
        select(UsageDay.information_system_id, UsageDay.day, UsageDay.calls).where(
            UsageDay.app_id == statement["app"]["id"], UsageDay.information_system_id.in_(systems),
            UsageDay.day >= first, UsageDay.day < end,
        )
    )  # fmt: skip
    days = [first.replace(day=d).isoformat() for d in range(1, (end - first).days + 1)]
    per_system: dict[str, dict[str, int]] = {s: {} for s in systems}
    for system_id, day, calls in rows:
        per_system[system_id][day.isoformat()] = calls
    return {"days": days, "series": [{"label": s, "calls": [per_system[s].get(d, 0) for d in days]} for s in systems]}
