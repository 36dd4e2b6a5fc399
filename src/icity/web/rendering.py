"""Rendering a page: the Jinja2 templates and the context every page shares."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.responses import Response

from icity.api.deps import SessionDep
from icity.config import get_settings
from icity.services.access import Principal
from icity.web import session as web_session

WEB = Path(__file__).parent
templates = Jinja2Templates(directory=WEB / "templates")

NAVIGATION = (
    ("/", "Home"),
    ("/catalogue", "Catalogue"),
    ("/explorer", "Data explorer"),
    ("/apps", "App portal"),
    ("/projects", "Projects"),
)
# shown to the platform admin only, under the main bar
ADMIN_NAVIGATION = (
    ("/admin/network", "Engagement pipeline"),
    ("/admin/owners", "Infrastructure owners"),
    ("/admin/developers", "Developer approvals"),
    ("/admin/certification", "Certification queue"),
    ("/admin/messages", "Message developers"),
)
LEVEL_NAMES = {"prospect": "Prospect", "sig": "Special Interest Group", "pilot": "Pilot", "consortium": "Consortium"}
POLICY_NAMES = {"public": "Public", "registered": "Registered developers", "approval": "On approval by the city"}


def _json_script(value: Any) -> Markup:
    """JSON for a <script type="application/json"> block: `</` cannot close the element."""
    return Markup(json.dumps(value, ensure_ascii=False).replace("</", "<\\/"))


templates.env.filters["json_script"] = _json_script
templates.env.globals.update(navigation=NAVIGATION, admin_navigation=ADMIN_NAVIGATION, level_names=LEVEL_NAMES, policy_names=POLICY_NAMES)


def get_viewer(request: Request, session: SessionDep) -> Principal:
    """Dependency of every page: who is looking, kept for `render` (and for the error pages)."""
    principal = web_session.viewer(request, session)
    request.state.viewer = principal
    return principal


ViewerDep = Annotated[Principal, Depends(get_viewer)]


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    settings = get_settings()
    context.setdefault("viewer", getattr(request.state, "viewer", None) or Principal())
    context.update(
        request=request,
        csrf_token=web_session.csrf_token(request),
        map_settings={"tilesUrl": settings.map_tiles_url or "", "tilesAttribution": settings.map_tiles_attribution},
    )
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    web_session.set_nonce_cookie(request, response)
    return response
