"""Opening a certification review: below apps.py (a changed certified app is reviewed again) and
certification.py (a developer submits), so neither has to import the other."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from icity.db.models import App, AppReview, User
from icity.services import audit, messages
from icity.services.access import Principal


def approved_developers(session: Session, app: App) -> list[User]:
    return list(
        session.scalars(
            select(User).where(User.organisation_id == app.organisation_id, User.role == "developer", User.status == "approved")
        )
    )


def open_review(session: Session, principal: Principal, app: App, trigger: str, note: str | None) -> AppReview:
    review = AppReview(app_id=app.id, trigger=trigger, submitted_by=principal.user_id, note=note)
    session.add(review)
    app.certification = "submitted"
    session.flush()
    return review


def entity_types_changed(session: Session, principal: Principal, app: App, before: list[str]) -> None:
    """Called by apps.update_app: a certified app that changes the data it needs is reviewed again."""
    if app.certification != "certified" or list(before) == list(app.entity_types):
        return
    note = (
        f"The entity types changed from {', '.join(before) or 'none'} to {', '.join(app.entity_types) or 'none'}: "
        "the app is out of the app portal until it is reviewed again."
    )
    review = open_review(session, principal, app, "entity_types_changed", note)
    audit.record(
        session, principal, "app.recertification_required", "app", app.id,
        details={"review": review.id, "from": list(before), "to": list(app.entity_types)},
    )  # fmt: skip
    for developer in approved_developers(session, app):
        messages.notify(session, developer, f"{app.name} is being reviewed again", note)
