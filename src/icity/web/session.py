"""Who is looking at a page (the sign-in cookie) and CSRF protection of its forms.

The cookie holds the session token services/accounts issues on login, so a
page and the API identify a person the same way (principal_for_session). Every
form carries `csrf_token`: for a signed-in person an HMAC of their session
token, for an anonymous visitor (sign-in) an HMAC of a random nonce kept in a
cookie of its own (signed double submit). A POST without the right token is
refused before anything is read or written.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from fastapi import Request, Response
from sqlalchemy.orm import Session

from icity.api.deps import SESSION_COOKIE
from icity.config import get_settings, secret_key
from icity.errors import ICityError
from icity.services import authentication
from icity.services.access import ANONYMOUS, Principal
from icity.services.secrets import SESSION_PREFIX

NONCE_COOKIE = "icity_csrf"
CSRF_FIELD = "csrf_token"


def _secure() -> bool:
    return get_settings().public_url.startswith("https://")


def session_token(request: Request) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token if token and token.startswith(SESSION_PREFIX) else None


def viewer(request: Request, session: Session) -> Principal:
    """The signed-in person, or anonymous (also when the session ended)."""
    token = session_token(request)
    if token is None:
        return ANONYMOUS
    try:
        return authentication.principal_for_session(session, token)
    except ICityError:
        return ANONYMOUS


def sign_in(response: Response, token: str, expires_at: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, expires=expires_at, httponly=True, samesite="lax", secure=_secure(), path="/"
    )


def sign_out(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=_secure(), path="/")


def _mac(purpose: str, value: str) -> str:
    key = secret_key(get_settings()).encode()
    return hmac.new(key, f"csrf:{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token this request's forms carry. An anonymous visitor without a nonce
    cookie gets one (set on the response by `render`)."""
    token = session_token(request)
    if token is not None:
        return _mac("session", token)
    nonce = request.cookies.get(NONCE_COOKIE) or getattr(request.state, "new_csrf_nonce", None)
    if nonce is None:
        nonce = secrets.token_urlsafe(32)
        request.state.new_csrf_nonce = nonce
    return _mac("anonymous", nonce)


def set_nonce_cookie(request: Request, response: Response) -> None:
    nonce = getattr(request.state, "new_csrf_nonce", None)
    if nonce is not None:
        response.set_cookie(NONCE_COOKIE, nonce, httponly=True, samesite="lax", secure=_secure(), path="/")


class CsrfRefused(Exception):
    """A form came back without the token of this visitor's session: nothing is done."""


async def check_csrf(request: Request) -> None:
    """Dependency of every POST page route: 403 unless the form carries this visitor's token."""
    form = await request.form()
    request.state.form = form  # for routes that read the whole form (sync routes cannot await it)
    sent = form.get(CSRF_FIELD)
    token = session_token(request)
    nonce = request.cookies.get(NONCE_COOKIE)
    if token is not None:
        expected = _mac("session", token)
    elif nonce:
        expected = _mac("anonymous", nonce)
    else:
        raise CsrfRefused()
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise CsrfRefused()
