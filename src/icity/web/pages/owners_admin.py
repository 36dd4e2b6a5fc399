"""The platform admin's pages on infrastructure owners: record an owner applying to join, make it a
member on its letter of commitment (or an applicant again on its withdrawal), and create the accounts
of its admins. services/owners and services/accounts decide; forms are read as the API's bodies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.access_schemas import NewUser
from icity.api.deps import SessionDep, TransactionDep
from icity.api.owner_schemas import MembershipChangeIn, OwnerIn
from icity.db.models import utctoday
from icity.errors import ICityError
from icity.services import accounts, owners
from icity.services.access import Principal, require_admin
from icity.web import session as web_session
from icity.web.forms import blank_as_none, first_problem
from icity.web.guards import sign_in_first
from icity.web.pages.owners import KIND_NAMES, MEMBERSHIP_NAMES
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

OWNER_LABELS = {"id": "Id", "name": "Name", "kind": "Kind", "country": "Country", "website": "Website", "description": "Description"}
MEMBERSHIP_LABELS = {"membership": "New membership", "effectiveOn": "Effective on", "evidenceKind": "Evidence", "evidence": "What proves it"}
ADMIN_LABELS = {"email": "Email", "name": "Name", "password": "Password", "owners": "Owner"}
DONE = {
    "created": "The owner is recorded as an applicant: it becomes a member with its letter of commitment.",
    "membership": "The change of membership is recorded in the owner's history.",
    "admin": "The account is created and approved: give its email and password to the owner's admin.",
}


def _owners_page(request: Request, session: Session, viewer: Principal, status_code: int = 200, **extra: Any):
    require_admin(viewer)
    return render(
        request,
        "network_admin/owners.html",
        status_code=status_code,
        owners=owners.list_owners(session, viewer),
        kinds=owners.KINDS,
        kind_names=KIND_NAMES,
        membership_names=MEMBERSHIP_NAMES,
        posted=extra.pop("posted", {}),
        done=DONE.get(request.query_params.get("done", "")),
        **extra,
    )


@router.get("/admin/owners")
def owners_page(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _owners_page(request, session, viewer)


@router.post("/admin/owners", dependencies=[Depends(web_session.check_csrf)])
def create_owner(
    request: Request,
    viewer: ViewerDep,
    session: TransactionDep,
    id: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    country: Annotated[str, Form()] = "",
    website: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
):
    posted = {"id": id, "name": name, "kind": kind, "country": country, "website": website, "description": description}
    try:
        body = OwnerIn.model_validate({**posted, "id": id.strip(), "country": country.strip().upper(), "website": blank_as_none(website)})
        owner = owners.create_owner(session, viewer, **body.model_dump())
    except (ValidationError, ICityError) as error:
        if isinstance(error, ICityError):
            session.rollback()  # a refused owner writes nothing
        code = error.status if isinstance(error, ICityError) else 400
        return _owners_page(request, session, viewer, code, error=first_problem(error, OWNER_LABELS), posted=posted)
    return RedirectResponse(f"/admin/owners/{owner.id}?done=created", status_code=303)


def _owner_page(request: Request, session: Session, viewer: Principal, owner_id: str, status_code: int = 200, **extra: Any):
    require_admin(viewer)
    return render(
        request,
        "network_admin/owner.html",
        status_code=status_code,
        owner=owners.get_owner(session, viewer, owner_id),
        admins=owners.list_owner_admins(session, viewer, owner_id),
        evidence_kinds=owners.EVIDENCE_KINDS,
        kind_names=KIND_NAMES,
        membership_names=MEMBERSHIP_NAMES,
        today=utctoday().isoformat(),
        posted=extra.pop("posted", {}),
        done=DONE.get(request.query_params.get("done", "")),
        **extra,
    )


@router.get("/admin/owners/{owner_id}")
def owner_page(request: Request, owner_id: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _owner_page(request, session, viewer, owner_id)


@router.post("/admin/owners/{owner_id}/membership", dependencies=[Depends(web_session.check_csrf)])
def change_membership(
    request: Request,
    owner_id: str,
    viewer: ViewerDep,
    session: TransactionDep,
    membership: Annotated[str, Form()] = "",
    effective_on: Annotated[str, Form()] = "",
    evidence_kind: Annotated[str, Form()] = "",
    evidence: Annotated[str, Form()] = "",
):
    posted = {"membership": membership, "effective_on": effective_on, "evidence_kind": evidence_kind, "evidence": evidence}
    try:
        body = MembershipChangeIn.model_validate(
            {"membership": membership, "effectiveOn": blank_as_none(effective_on), "evidenceKind": evidence_kind, "evidence": evidence}
        )
        owners.change_membership(session, viewer, owner_id, **body.arguments())
    except (ValidationError, ICityError) as error:
        if isinstance(error, ICityError):
            session.rollback()  # a refused change writes nothing
        code = error.status if isinstance(error, ICityError) else 400
        return _owner_page(request, session, viewer, owner_id, code, membership_error=first_problem(error, MEMBERSHIP_LABELS), posted=posted)
    return RedirectResponse(f"/admin/owners/{owner_id}?done=membership#history", status_code=303)


@router.post("/admin/owners/{owner_id}/admins", dependencies=[Depends(web_session.check_csrf)])
def create_admin(
    request: Request,
    owner_id: str,
    viewer: ViewerDep,
    session: TransactionDep,
    email: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
):
    posted = {"email": email, "name": name}  # never the password back into the page
    try:
        body = NewUser.model_validate({"email": email.strip(), "name": name, "password": password, "role": "owner_admin", "owners": [owner_id]})
        accounts.create_user(
            session, viewer, email=body.email, name=body.name, password=body.password, role=body.role, owners=body.owners
        )
    except (ValidationError, ICityError) as error:
        if isinstance(error, ICityError):
            session.rollback()  # a refused account writes nothing
        code = error.status if isinstance(error, ICityError) else 400
        return _owner_page(request, session, viewer, owner_id, code, admin_error=first_problem(error, ADMIN_LABELS), posted=posted)
    return RedirectResponse(f"/admin/owners/{owner_id}?done=admin#admins", status_code=303)
