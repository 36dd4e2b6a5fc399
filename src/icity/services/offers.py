"""Commercial offers of information systems: versions, validation, acceptance by apps.

An IS's offer is free (no version, or a version with both prices zero) or priced: a
monthly fee and/or a price per 1,000 calls beyond a free allowance per app and month,
in one currency, with terms of use. Versions are kept, never changed:

- a publisher's change makes a new version, in effect from the first day of the next
  calendar month (UTC); the first version of an IS that had none is in effect at once
  (from the first day of the current month), so an IS can be opened priced. Two changes
  in one month: the later replaces the earlier as the next month's version;
- in a month, the version in effect is the latest whose `effective_from` has come;
- an app accepts one version (the one in effect, or the next one ahead of time). Its
  acceptance covers the whole month(s) that version is in effect, calls already made in
  the month included. When a newer priced version takes effect, the app accepts again
  before reading beyond the new free allowance (`gate.py` enforces it).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from icity.db.models import InformationSystem, OfferAcceptance, OfferVersion, utctoday
from icity.errors import FieldProblem, ICityError, conflict, invalid, not_found
from icity.services import audit
from icity.services.access import Principal, administered_system, discoverable_systems
from icity.services.app_access import managed_app

# ISO 4217 currencies accepted, with their minor-unit exponents (JPY has no cents, BHD has 3 decimals).
CURRENCIES: dict[str, int] = {
    "EUR": 2, "GBP": 2, "USD": 2, "CHF": 2, "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2,
    "HUF": 2, "RON": 2, "BGN": 2, "ISK": 0, "JPY": 0, "KRW": 0, "CAD": 2, "AUD": 2, "BHD": 3, "KWD": 3,
}  # fmt: skip
PRICE_EXTRA_DECIMALS = 4  # a price per 1,000 calls may go 4 decimals below the minor unit (0.0025 EUR)
MAX_AMOUNT = Decimal("1000000000")
MAX_FREE_CALLS = 2_000_000_000
MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


# ---- months ---------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def parse_month(value: str | None, today: date | None = None, param: str = "month") -> date:
    """`YYYY-MM` → the month's first day; none: the current month (UTC)."""
    if value is None:
        return month_start(today or utctoday())
    match = MONTH.match(value)
    if match is None:
        raise invalid([FieldProblem(param, "month must be YYYY-MM, e.g. 2026-12")])
    return date(int(match[1]), int(match[2]), 1)


def minor_unit(currency: str) -> Decimal:
    """The currency's smallest amount: 0.01 EUR, 1 JPY, 0.001 BHD."""
    return Decimal(1).scaleb(-CURRENCIES[currency])


# ---- validation -----------------------------------------------------------------


def _decimal(problems: list[FieldProblem], path: str, value: Any, decimals: int | None) -> Decimal:
    """A non-negative exact amount: a JSON number or a string; floats through their shortest text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        problems.append(FieldProblem(path, "must be a number (or a string holding one), e.g. 12.50"))
        return Decimal(0)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        problems.append(FieldProblem(path, f"'{value}' is not a number"))
        return Decimal(0)
    if not amount.is_finite():
        problems.append(FieldProblem(path, "must be a finite number"))
    elif amount < 0:
        problems.append(FieldProblem(path, "must not be negative (0 means nothing to pay)"))
    elif amount > MAX_AMOUNT:
        problems.append(FieldProblem(path, f"must be at most {MAX_AMOUNT}"))
    elif decimals is not None and amount != amount.quantize(Decimal(1).scaleb(-decimals)):
        problems.append(FieldProblem(path, f"has more than {decimals} decimals"))
    return amount if amount.is_finite() else Decimal(0)


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname) and " " not in value


def validate_offer(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of an offer as stored, or a 422 naming every wrong field."""
    problems: list[FieldProblem] = []
    currency = body.get("currency")
    if not isinstance(currency, str) or currency.upper() not in CURRENCIES:
        problems.append(FieldProblem("currency", f"must be one of {', '.join(sorted(CURRENCIES))} (ISO 4217)"))
        exponent = None
    else:
        currency = currency.upper()
        exponent = CURRENCIES[currency]
    fee = _decimal(problems, "monthlyFee", body.get("monthlyFee", 0), exponent)
    price = _decimal(problems, "pricePer1000", body.get("pricePer1000", 0), None if exponent is None else exponent + PRICE_EXTRA_DECIMALS)
    free_calls = body.get("freeCalls", 0)
    if isinstance(free_calls, bool) or not isinstance(free_calls, int):
        problems.append(FieldProblem("freeCalls", "must be a whole number of calls, e.g. 10000"))
    elif not 0 <= free_calls <= MAX_FREE_CALLS:
        problems.append(FieldProblem("freeCalls", f"must be between 0 and {MAX_FREE_CALLS:,}"))
    terms = body.get("terms") or ""
    if not isinstance(terms, str) or len(terms) > 20_000:
        problems.append(FieldProblem("terms", "must be a text of at most 20,000 characters"))
    terms_url = body.get("termsUrl") or None
    if terms_url is not None and (not isinstance(terms_url, str) or len(terms_url) > 500 or not _is_url(terms_url)):
        problems.append(FieldProblem("termsUrl", "must be an http(s) URL, e.g. https://city.example/terms"))
    if not problems and (fee > 0 or price > 0) and not (terms.strip() or terms_url):
        problems.append(FieldProblem("terms", "a priced offer needs its terms of use: a text, a URL or both"))
    if problems:
        raise invalid(problems)
    return {
        "currency": currency,
        "monthly_fee": fee,
        "price_per_1000": price,
        "free_calls": free_calls,
        "terms": terms.strip(),
        "terms_url": terms_url,
    }


# ---- versions -------------------------------------------------------------------


def is_priced(version: OfferVersion | None) -> bool:
    return version is not None and (version.monthly_fee > 0 or version.price_per_1000 > 0)


def versions_of(session: Session, system_id: str) -> list[OfferVersion]:
    return list(
        session.scalars(select(OfferVersion).where(OfferVersion.information_system_id == system_id).order_by(OfferVersion.version))
    )


def in_effect(versions: list[OfferVersion], month: date) -> OfferVersion | None:
    """The version that applies in `month`: the latest whose effective_from has come (ties: the later version)."""
    applying = [v for v in versions if v.effective_from <= month]
    return max(applying, key=lambda v: (v.effective_from, v.version)) if applying else None


def upcoming(versions: list[OfferVersion], month: date) -> OfferVersion | None:
    """The version that will apply from a later month, if one is set."""
    later = [v for v in versions if v.effective_from > month]
    return max(later, key=lambda v: (v.effective_from, v.version)) if later else None


def accept_url(system_id: str) -> str:
    return f"/api/v1/information-systems/{system_id}/offer"


def offer_dict(version: OfferVersion) -> dict[str, Any]:
    return {
        "informationSystem": version.information_system_id,
        "version": version.version,
        "effectiveFrom": version.effective_from.isoformat(),
        "currency": version.currency,
        "monthlyFee": format(version.monthly_fee, "f"),
        "pricePer1000": format(version.price_per_1000, "f"),
        "freeCalls": version.free_calls,
        "terms": version.terms,
        "termsUrl": version.terms_url,
        "priced": is_priced(version),
        "createdAt": version.created_at.isoformat(),
    }


def _discoverable(session: Session, principal: Principal, system_id: str) -> InformationSystem:
    system = session.scalar(select(InformationSystem).where(InformationSystem.id == system_id, discoverable_systems(principal)))
    if system is None:
        raise not_found("information system", system_id)
    return system


def offer_summary(session: Session, system_id: str, today: date | None = None) -> dict[str, Any]:
    """The offer in effect this month and the one announced for a later month."""
    month = month_start(today or utctoday())
    versions = versions_of(session, system_id)
    current, following = in_effect(versions, month), upcoming(versions, month)
    return {
        "informationSystem": system_id,
        "current": offer_dict(current) if current else None,
        "next": offer_dict(following) if following else None,
        "free": not is_priced(current),
        "acceptUrl": "/api/v1/apps/{appId}/offers",
    }


def get_offer(session: Session, principal: Principal, system_id: str, today: date | None = None) -> dict[str, Any]:
    _discoverable(session, principal, system_id)
    return offer_summary(session, system_id, today)


def list_versions(session: Session, principal: Principal, system_id: str) -> list[dict[str, Any]]:
    _discoverable(session, principal, system_id)
    return [offer_dict(v) for v in reversed(versions_of(session, system_id))]


def set_offer(session: Session, principal: Principal, system_id: str, body: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """A new version: from next month, or from this month for an IS's first offer."""
    system = administered_system(session, principal, system_id)
    fields = validate_offer(body)
    month = month_start(today or utctoday())
    versions = versions_of(session, system_id)
    effective_from = next_month(month) if versions else month
    version = OfferVersion(
        information_system_id=system.id,
        version=(versions[-1].version + 1) if versions else 1,
        effective_from=effective_from,
        created_by=principal.user_id,
        **fields,
    )
    session.add(version)
    session.flush()
    audit.record(
        session, principal, "offer.set", "information_system", system.id, city_id=system.city_id,
        details={"version": version.version, "effectiveFrom": effective_from.isoformat(), "currency": version.currency,
                 "monthlyFee": format(version.monthly_fee, "f"), "pricePer1000": format(version.price_per_1000, "f"),
                 "freeCalls": version.free_calls},
    )  # fmt: skip
    _forget_offers_after_commit(session)
    return offer_dict(version)


_recorded = 0  # offers and acceptances this worker recorded: the gate reads them afresh when it moves


def recorded() -> int:
    return _recorded


def _forget_offers_after_commit(session: Session) -> None:
    """The gate (services/gate.py) caches offers and acceptances: once this transaction is
    committed (not before: a read in between would cache the old state again), this worker's
    gate reads them afresh."""
    if not event.contains(session, "after_commit", _count_recorded):
        event.listen(session, "after_commit", _count_recorded, once=True)


def _count_recorded(_session: Session) -> None:
    global _recorded
    _recorded += 1


# ---- acceptance -----------------------------------------------------------------


def offer_not_accepted(system_id: str, version: OfferVersion, why: str) -> ICityError:
    """402 with an RFC 9457 problem naming the offer and where to accept it."""
    error = ICityError(
        detail=f"{why} Accept version {version.version} of the offer of {system_id} "
        f"(POST /api/v1/apps/{{appId}}/offers with {{\"informationSystem\": \"{system_id}\", \"version\": {version.version}}}); "
        f"its terms: GET {accept_url(system_id)}.",
        status=402,
        code="offer-not-accepted",
        title="Offer not accepted",
        param="informationSystem",
        extensions={"informationSystem": system_id, "offerVersion": version.version, "offer": accept_url(system_id)},
    )
    return error


def acceptance_dict(acceptance: OfferAcceptance) -> dict[str, Any]:
    return {
        "app": acceptance.app_id,
        "informationSystem": acceptance.information_system_id,
        "version": acceptance.version,
        "acceptedAt": acceptance.accepted_at.isoformat(),
    }


def record_acceptance(
    session: Session, principal: Principal, app_id: int, system: InformationSystem, version_number: Any, today: date | None = None
) -> tuple[dict[str, Any], bool]:
    """Record that the app accepts this version (the one in effect or the next one); returns
    (acceptance, created). Accepting again is harmless and returns the first acceptance."""
    if isinstance(version_number, bool) or not isinstance(version_number, int):
        raise invalid([FieldProblem("version", "must be the offer's version number, e.g. 2")])
    month = month_start(today or utctoday())
    versions = versions_of(session, system.id)
    acceptable = {v.version: v for v in (in_effect(versions, month), upcoming(versions, month)) if v is not None}
    version = acceptable.get(version_number)
    if version is None:
        known = ", ".join(str(v) for v in sorted(acceptable)) or "none"
        raise conflict(
            f"Version {version_number} of the offer of {system.id} is neither in effect nor the next one (those: {known}).",
            param="version",
        )
    if not is_priced(version):
        raise conflict(f"Version {version.version} of the offer of {system.id} is free: there is nothing to accept.", param="version")
    existing = session.scalar(
        select(OfferAcceptance).where(
            OfferAcceptance.app_id == app_id,
            OfferAcceptance.information_system_id == system.id,
            OfferAcceptance.version == version.version,
        )
    )
    if existing is not None:
        return acceptance_dict(existing), False
    acceptance = OfferAcceptance(app_id=app_id, information_system_id=system.id, version=version.version, accepted_by=principal.user_id)
    if today is not None:  # a use case run for another day (tests, back-office corrections) is dated that day
        acceptance.accepted_at = datetime.combine(today, time(12), timezone.utc)
    session.add(acceptance)
    session.flush()
    audit.record(
        session, principal, "offer.accepted", "app", app_id, city_id=system.city_id,
        details={"informationSystem": system.id, "version": version.version},
    )  # fmt: skip
    _forget_offers_after_commit(session)
    return acceptance_dict(acceptance), True


def accept_offer(
    session: Session, principal: Principal, app_id: int, system_id: Any, version: Any, today: date | None = None
) -> tuple[dict[str, Any], bool]:
    app = managed_app(session, principal, app_id)  # 404 for another organisation's app, 403 for who is no approved developer
    if not isinstance(system_id, str):
        raise invalid([FieldProblem("informationSystem", "must be an information system's id, e.g. barcelona/parking")])
    system = _discoverable(session, principal, system_id)
    return record_acceptance(session, principal, app.id, system, version, today)


def list_acceptances(session: Session, principal: Principal, app_id: int) -> list[dict[str, Any]]:
    from icity.services.app_access import visible_app

    app = visible_app(session, principal, app_id)
    rows = session.scalars(select(OfferAcceptance).where(OfferAcceptance.app_id == app.id).order_by(OfferAcceptance.id.desc()))
    return [acceptance_dict(row) for row in rows]


def required_acceptance(session: Session, system_id: str, today: date | None = None) -> OfferVersion | None:
    """The priced version an app must accept to use this IS beyond its free allowance now, if any."""
    current = in_effect(versions_of(session, system_id), month_start(today or utctoday()))
    return current if is_priced(current) else None


def has_accepted(session: Session, app_id: int, system_id: str, version: int) -> bool:
    return session.scalar(
        select(OfferAcceptance.id).where(
            OfferAcceptance.app_id == app_id, OfferAcceptance.information_system_id == system_id, OfferAcceptance.version == version
        )
    ) is not None


def accepting_apps(session: Session, app_ids: list[int], system_id: str, version: int) -> set[int]:
    """Which of these apps accepted this version."""
    return set(
        session.scalars(
            select(OfferAcceptance.app_id).where(
                OfferAcceptance.app_id.in_(app_ids), OfferAcceptance.information_system_id == system_id, OfferAcceptance.version == version
            )
        )
    )


def accepted_offers_in_effect(session: Session, app_ids: list[int], today: date | None = None) -> dict[int, list[dict[str, str]]]:
    """app id → the priced IS (id, name) whose version in effect this month the app accepted."""
    if not app_ids:
        return {}
    month = month_start(today or utctoday())
    rows = session.execute(
        select(OfferAcceptance.app_id, OfferAcceptance.version, InformationSystem.id, InformationSystem.name)
        .join(InformationSystem, InformationSystem.id == OfferAcceptance.information_system_id)
        .where(OfferAcceptance.app_id.in_(app_ids))
        .order_by(InformationSystem.name)
    ).all()
    current: dict[str, OfferVersion | None] = {}
    found: dict[int, list[dict[str, str]]] = {}
    for app_id, version, system_id, name in rows:
        if system_id not in current:
            current[system_id] = in_effect(versions_of(session, system_id), month)
        held = current[system_id]
        if is_priced(held) and held.version == version:
            found.setdefault(app_id, []).append({"id": system_id, "name": name})
    return found
