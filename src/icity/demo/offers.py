"""The demo's commercial offer: Barcelona prices its car-park IS, one partner app accepted it and
used it this month, so a monthly statement exists from the first start."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import App, InformationSystem, UsageDay, User
from icity.services import offers
from icity.services.access import CLI
from icity.services.authentication import principal_of_user

PRICED_SYSTEM = "barcelona/parking"
OFFER = {
    "currency": "EUR",
    "monthlyFee": "25.00",
    "pricePer1000": "0.40",
    "freeCalls": 5000,
    "terms": "Real-time occupancy of B:SM car parks. Attribution to B:SM; no resale of the raw data.",
    "termsUrl": "https://www.bsmsa.cat/en/",
}
DAILY_CALLS = 1_850  # per day of the month so far


def load_offers(session: Session, today: date) -> dict[str, int]:
    if session.get(InformationSystem, PRICED_SYSTEM) is None:
        return {"offers": 0}
    offers.set_offer(session, CLI, PRICED_SYSTEM, OFFER, today=today)
    app = session.scalar(select(App).where(App.status == "active").order_by(App.id))
    if app is None:
        return {"offers": 1}
    developer = principal_of_user(session, session.get(User, app.created_by))
    offers.accept_offer(session, developer, app.id, PRICED_SYSTEM, 1, today=today)
    day = offers.month_start(today)
    while day <= today:
        session.add(UsageDay(app_id=app.id, information_system_id=PRICED_SYSTEM, day=day, calls=DAILY_CALLS, errors=0, bytes_out=DAILY_CALLS * 900))
        day += timedelta(days=1)
    session.flush()
    return {"offers": 1}
