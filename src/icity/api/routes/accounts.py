"""Routes: registration, email verification, login, the caller's profile, users (admin)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from icity.api.access_schemas import Accepted, CitiesIn, Credentials, EmailIn, NewUser, OptionalReason, PasswordChange, PasswordReset, ReasonIn, Registration, SessionOut, UserPublic, Verified
from icity.api.deps import DEFAULT_LIMIT, SESSION_COOKIE, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep, credentials
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import Page, RowId
from icity.config import get_settings
from icity.services import accounts, passwords
from icity.services.access import require_user

router = APIRouter(tags=["accounts"])

ACCEPTED = {"detail": "If the address can be used, a mail is on its way to it: open the link in it."}


@router.post("/registrations", status_code=202, response_model=Accepted, summary="Register as a developer (IT partner)")
def register(body: Registration, session: TransactionDep):
    """Creates the account, unverified, and mails a verification link. The answer
    is the same whether or not the address already has an account."""
    accounts.register_developer(
        session,
        name=body.name,
        email=str(body.email),
        password=body.password,
        phone=body.phone,
        organisation=body.organisation.model_dump(mode="json"),
        first_app=body.app.model_dump(mode="json") if body.app else None,
    )
    return JSONResponse(ACCEPTED, status_code=202)


@router.get("/registrations/verify", response_model=Verified, summary="Verify an email address (the link in the mail)")
def verify(token: Annotated[str, Query(max_length=2000, examples=["eyJ1Ijo3LCJlIjoiYWRh…"])], session: TransactionDep):
    return JSONResponse(accounts.verify_email(session, token))


@router.post("/registrations/resend", status_code=202, response_model=Accepted, summary="Mail a new verification link")
def resend(body: EmailIn, session: TransactionDep):
    accounts.resend_verification(session, str(body.email))
    return JSONResponse(ACCEPTED, status_code=202)


@router.post(
    "/auth/login",
    response_model=SessionOut,
    summary="Log in: a session for the portal and for managing apps and keys",
    responses={
        401: {"description": "Wrong email or password"},
        403: {"description": "The email address is not confirmed yet, or the account may not sign in"},
        429: {"description": "Too many failed attempts"},
    },
)
def login(body: Credentials, session: TransactionDep):
    result = accounts.login(session, body.email, body.password)
    response = JSONResponse({"token": result.token, "expiresAt": result.expires_at.isoformat(), "user": result.user})
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        max_age=get_settings().session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=get_settings().public_url.startswith("https"),
    )
    return response


@router.post("/auth/logout", status_code=204, summary="End the current session")
def logout(request: Request, session: TransactionDep, principal: PrincipalDep):
    require_user(principal)
    accounts.logout(session, credentials(request) or "")
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post(
    "/auth/forgot-password",
    status_code=202,
    response_model=Accepted,
    summary="Mail a password reset link (the same answer whether or not the address has an account)",
    responses={429: {"description": "Too many reset requests from this client"}},
)
def forgot_password(body: EmailIn, request: Request, session: TransactionDep):
    passwords.request_reset(session, str(body.email), client=request.client.host if request.client else "unknown")
    return JSONResponse(ACCEPTED, status_code=202)


@router.post(
    "/auth/reset-password",
    status_code=204,
    summary="Set a new password with the token of a reset link; every session of the account ends",
    responses={400: {"description": "The link is not valid, was used, or has expired"}},
)
def reset_password(body: PasswordReset, session: TransactionDep):
    passwords.reset_password(session, body.token, body.password)
    return Response(status_code=204)


@router.post(
    "/me/password",
    status_code=204,
    summary="Change the logged-in user's password; their other sessions end",
    responses={400: {"description": "The current password is wrong"}},
)
def change_password(body: PasswordChange, session: TransactionDep, principal: PrincipalDep):
    passwords.change_password(session, principal, body.current_password, body.new_password)
    return Response(status_code=204)


@router.get("/me", response_model=UserPublic, summary="The logged-in user")
def me(session: SessionDep, principal: PrincipalDep):
    require_user(principal)
    return JSONResponse(accounts.me(session, principal))


@router.get("/users", response_model=Page[UserPublic], summary="Users (platform admin)")
def list_users(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description="unverified, pending, approved, refused, suspended", examples=["pending"])] = None,
    role: Annotated[str | None, Query(description="developer, city_admin, owner_admin, admin", examples=["developer"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = accounts.list_users(session, principal, status=status, role=role, limit=limit, cursor=cursor)
    return json_page(page.as_dict(), request)


@router.post("/users", status_code=201, response_model=UserPublic, summary="Create an account of any role (platform admin)")
def create_user(body: NewUser, session: TransactionDep, principal: PrincipalDep):
    user = accounts.create_user(
        session,
        principal,
        email=str(body.email),
        name=body.name,
        password=body.password,
        role=body.role,
        cities=body.cities,
        organisation=body.organisation,
        owners=body.owners,
    )
    return JSONResponse(accounts.profile(session, user), status_code=201)


@router.put("/users/{user_id}/cities", response_model=UserPublic, summary="Set the cities a city admin administers")
def set_cities(user_id: RowId, body: CitiesIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(accounts.set_cities(session, principal, user_id, body.cities))


@router.post("/users/{user_id}/approve", response_model=UserPublic, summary="Approve a developer account (or reinstate one)")
def approve_user(user_id: RowId, session: TransactionDep, principal: PrincipalDep, body: OptionalReason | None = None):
    return JSONResponse(accounts.decide_user(session, principal, user_id, "approve", body.reason if body else None))


@router.post("/users/{user_id}/refuse", response_model=UserPublic, summary="Refuse a developer account, saying why")
def refuse_user(user_id: RowId, body: ReasonIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(accounts.decide_user(session, principal, user_id, "refuse", body.reason))


@router.post("/users/{user_id}/suspend", response_model=UserPublic, summary="Suspend an account: its sessions and keys stop working")
def suspend_user(user_id: RowId, body: ReasonIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(accounts.decide_user(session, principal, user_id, "suspend", body.reason))
