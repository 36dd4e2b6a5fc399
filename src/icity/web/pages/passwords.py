"""Forgetting, resetting and changing a password in the portal (services/passwords decides)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse

from icity.api.deps import TransactionDep
from icity.errors import ICityError
from icity.services import passwords
from icity.web import session as web_session
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)


@router.get("/forgot-password")
def forgot_password_page(request: Request, viewer: ViewerDep):
    return render(request, "passwords/forgot.html", email="", error=None, sent=False)


@router.post("/forgot-password", dependencies=[Depends(web_session.check_csrf)])
def forgot_password(request: Request, viewer: ViewerDep, session: TransactionDep, email: Annotated[str, Form()] = ""):
    """The same page whether or not the address has an account."""
    if "@" not in email or len(email) > 320:
        return render(request, "passwords/forgot.html", status_code=400, email=email, error="Give your email address.", sent=False)
    try:
        passwords.request_reset(session, email, client=request.client.host if request.client else "unknown")
    except ICityError as error:
        return render(request, "passwords/forgot.html", status_code=error.status, email=email, error=error.detail, sent=False)
    return render(request, "passwords/forgot.html", email="", error=None, sent=True)


@router.get("/reset-password")
def reset_password_page(request: Request, viewer: ViewerDep, session: TransactionDep, token: str = ""):
    try:
        passwords.user_of_reset_link(session, token)
    except ICityError as error:
        return render(request, "passwords/reset.html", status_code=400, token="", error=error.detail, done=False)
    return render(request, "passwords/reset.html", token=token, error=None, done=False)


@router.post("/reset-password", dependencies=[Depends(web_session.check_csrf)])
def reset_password(
    request: Request,
    viewer: ViewerDep,
    session: TransactionDep,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirmation: Annotated[str, Form()] = "",
):
    if password != confirmation:
        return render(request, "passwords/reset.html", status_code=400, token=token, error="The two passwords differ.", done=False)
    try:
        passwords.reset_password(session, token, password)
    except ICityError as error:
        keep = token if error.param != "token" else ""
        return render(request, "passwords/reset.html", status_code=error.status, token=keep, error=error.detail, done=False)
    response = render(request, "passwords/reset.html", token="", error=None, done=True)
    web_session.sign_out(response)  # every session ended, this browser's too
    return response


@router.get("/account/password")
def change_password_page(request: Request, viewer: ViewerDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return render(request, "passwords/change.html", error=None, done=False)


@router.post("/account/password", dependencies=[Depends(web_session.check_csrf)])
def change_password(
    request: Request,
    viewer: ViewerDep,
    session: TransactionDep,
    current: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    confirmation: Annotated[str, Form()] = "",
):
    if redirect := sign_in_first(request, viewer):
        return redirect
    if password != confirmation:
        return render(request, "passwords/change.html", status_code=400, error="The two new passwords differ.", done=False)
    try:
        passwords.change_password(session, viewer, current, password)
    except ICityError as error:
        return render(request, "passwords/change.html", status_code=error.status, error=error.detail, done=False)
    return render(request, "passwords/change.html", error=None, done=True)
