"""Who may see or manage an app: below both apps.py and certification.py, which each need the rule."""

from __future__ import annotations

from sqlalchemy.orm import Session

from icity.db.models import App
from icity.errors import conflict, not_found
from icity.services.access import Principal, require_approved_developer, require_user


def visible_app(session: Session, principal: Principal, app_id: int) -> App:
    """The app if the caller's organisation owns it (or the caller is the platform admin); else 404."""
    require_user(principal)
    app = session.get(App, app_id)
    if app is None or not (principal.is_admin or (principal.is_developer and app.organisation_id == principal.organisation_id)):
        raise not_found("app", str(app_id))
    return app


def managed_app(session: Session, principal: Principal, app_id: int) -> App:
    """An active app the caller (an approved developer of its organisation) may change."""
    app = visible_app(session, principal, app_id)
    require_approved_developer(principal)
    if app.status != "active":
        raise conflict(f"App {app_id} was withdrawn; create a new app instead.")
    return app
