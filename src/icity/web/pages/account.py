"""Signing in and out of the portal (the session cookie; services/accounts decides)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from icity.api.access_schemas import Registration
from icity.api.deps import TransactionDep
from icity.errors import ICityError
from icity.services import accounts
from icity.web import session as web_session
from icity.web.forms import first_problem
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)


def _local(path: str | None) -> str:
    """Only a path on this site is followed after signing in (no open redirect)."""
    if not path:
        return "/"
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//"):
        return "/"
    return path


@router.get("/sign-in")
def sign_in_page(request: Request, viewer: ViewerDep, next: str | None = None):
    return render(request, "sign_in.html", next=_local(next), email="", error=None)


@router.post("/sign-in", dependencies=[Depends(web_session.check_csrf)])
def sign_in(
    request: Request,
    viewer: ViewerDep,
    session: TransactionDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
):
    try:
        login = accounts.login(session, email, password)
    except ICityError as error:
        return render(request, "sign_in.html", status_code=error.status, next=_local(next), email=email, error=error.detail)
    response = RedirectResponse(_local(next), status_code=303)
    web_session.sign_in(response, login.token, login.expires_at)
    return response


@router.post("/sign-out", dependencies=[Depends(web_session.check_csrf)])
def sign_out(request: Request, viewer: ViewerDep, session: TransactionDep):
    token = web_session.session_token(request)
    if token is not None:
        accounts.logout(session, token)
    response = RedirectResponse("/", status_code=303)
    web_session.sign_out(response)
    return response


@router.get("/sign-up")
def sign_up_page(request: Request, viewer: ViewerDep):
    return render(request, "sign_up.html", form={}, error=None, done=False)


@router.post("/sign-up", dependencies=[Depends(web_session.check_csrf)])
def sign_up(request: Request, viewer: ViewerDep, session: TransactionDep):
    """Registers a developer as POST /api/v1/registrations does (same checks, same answer
    whether or not the address already has an account)."""
    form = dict(request.state.form)
    fields = {
        "name": form.get("name", ""),
        "email": form.get("email", ""),
        "password": form.get("password", ""),
        "organisation": {"name": form.get("organisation", ""), "country": form.get("country") or None},
    }
    try:
        registration = Registration.model_validate(fields)
    except ValidationError as error:
        form.pop("password", None)
        return render(request, "sign_up.html", status_code=400, form=form, error=first_problem(error), done=False)
    accounts.register_developer(
        session,
        name=registration.name,
        email=str(registration.email),
        password=registration.password,
        phone=None,
        organisation=registration.organisation.model_dump(mode="json"),
        first_app=None,
    )
    return render(request, "sign_up.html", form={}, error=None, done=True)
