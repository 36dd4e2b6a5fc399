"""Pages that need someone signed in send anonymous visitors to the sign-in page
(and back afterwards); what a signed-in person may do is the services' call."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from icity.services.access import Principal


def sign_in_first(request: Request, viewer: Principal) -> RedirectResponse | None:
    """A redirect to the sign-in page unless a person is signed in."""
    if viewer.kind == "user":
        return None
    return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
