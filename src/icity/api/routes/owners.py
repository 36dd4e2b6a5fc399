"""Routes: infrastructure owners as publishers. The platform admin records owners and their
membership; an owner's admins register the owner's IS located in cities and open them; the city
where one lies is told and may object (opening notices). services/owners and services/openings decide."""

from typing import Annotated

from fastapi import APIRouter, Query

from icity.api.deps import PrincipalDep, SessionDep, TransactionDep
from icity.api.owner_schemas import (
    MembershipChangeIn,
    ObjectionIn,
    OpeningNoticePublic,
    OwnerDetail,
    OwnerIn,
    OwnerPublic,
    OwnerSystemIn,
)
from icity.api.responses import JSONResponse
from icity.api.schemas import InformationSystemPublic, Problem, RowId
from icity.services import catalogue, openings, owners

router = APIRouter(tags=["infrastructure owners"])

NOT_LOGGED_IN = {401: {"model": Problem, "description": "Not logged in."}}
PLATFORM_ADMIN = {**NOT_LOGGED_IN, 403: {"model": Problem, "description": "Only the platform admin records owners."}}
BAD_BODY = {400: {"model": Problem, "description": "A malformed body, or a value the rules refuse: `param` names the field."}}
NO_OWNER = {404: {"model": Problem, "description": "No such owner (applicants are visible to the platform admin and their admins only)."}}


@router.get("/owners", response_model=list[OwnerPublic], summary="Infrastructure owners of the network")
def list_owners(session: SessionDep, principal: PrincipalDep):
    return JSONResponse(owners.list_owners(session, principal))


@router.post(
    "/owners",
    status_code=201,
    response_model=OwnerPublic,
    summary="Record an infrastructure owner applying to join the network (platform admin)",
    description="Audited. It becomes a member, and may open IS, with its letter of commitment: "
    "`POST /owners/{owner_id}/membership`.",
    responses={**PLATFORM_ADMIN, **BAD_BODY, 409: {"model": Problem, "description": "A city or owner has this id."}},
)
def create_owner(body: OwnerIn, session: TransactionDep, principal: PrincipalDep):
    owner = owners.create_owner(session, principal, **body.model_dump())
    return JSONResponse(owners.owner_dict(owner, []), status_code=201, headers={"Location": f"/api/v1/owners/{owner.id}"})


@router.get("/owners/{owner_id}", response_model=OwnerDetail, summary="An owner with its membership history", responses=NO_OWNER)
def get_owner(owner_id: str, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(owners.get_owner(session, principal, owner_id))


@router.post(
    "/owners/{owner_id}/membership",
    status_code=201,
    response_model=OwnerDetail,
    summary="Make an applicant a member, or a member an applicant again, with the evidence (platform admin)",
    responses={**PLATFORM_ADMIN, **BAD_BODY, **NO_OWNER, 409: {"model": Problem, "description": "Already so, or it has open IS."}},
)
def change_membership(owner_id: str, body: MembershipChangeIn, session: TransactionDep, principal: PrincipalDep):
    owners.change_membership(session, principal, owner_id, **body.arguments())
    return JSONResponse(owners.get_owner(session, principal, owner_id), status_code=201)


@router.post(
    "/owners/{owner_id}/information-systems",
    status_code=201,
    response_model=InformationSystemPublic,
    summary="Register one of the owner's information systems, located in a city (in draft)",
    description="By the owner's admins (or the platform admin); an applicant may register drafts. Opening it "
    "(`PUT /information-systems/{city}/{slug}/status`) tells the city, which may object within "
    "ICITY_OWNER_OBJECTION_DAYS.",
    responses={**NOT_LOGGED_IN, **BAD_BODY, **NO_OWNER, 403: {"model": Problem, "description": "Not an admin of this owner."}},
)
def register_system(owner_id: str, body: OwnerSystemIn, session: TransactionDep, principal: PrincipalDep):
    fields = body.model_dump(exclude={"slug", "city"})
    system = catalogue.register_system(session, principal, body.city, owner_id=owner_id, slug=body.slug, **fields)
    return JSONResponse(system, status_code=201)


@router.get(
    "/opening-notices",
    response_model=list[OpeningNoticePublic],
    summary="Owners' requests to open IS: those in your cities (to object) or of your owners",
    responses={**NOT_LOGGED_IN, 403: {"model": Problem, "description": "Not a city, owner or platform admin."}},
)
def list_notices(
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description="pending, objected, opened or withdrawn", examples=["pending"])] = None,
):
    return JSONResponse(openings.list_notices(session, principal, status=status))


NOTICE_WRITE = {
    **NOT_LOGGED_IN,
    **BAD_BODY,
    403: {"model": Problem, "description": "Not an admin of the city where the IS lies."},
    404: {"model": Problem, "description": "No such notice (or not yours to see)."},
    409: {"model": Problem, "description": "The notice is not pending (object) or not objected (lift), or its period ended."},
}


@router.post(
    "/opening-notices/{notice_id}/object",
    response_model=OpeningNoticePublic,
    summary="Object, as the city where it lies, to an owner opening an IS",
    description="Before the deadline; the IS stays closed until the city lifts its objection. The owner's admins are told why.",
    responses=NOTICE_WRITE,
)
def object_to(notice_id: RowId, body: ObjectionIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(openings.object_to(session, principal, notice_id, body.reason))


@router.post(
    "/opening-notices/{notice_id}/lift",
    response_model=OpeningNoticePublic,
    summary="Lift the city's objection: the owner may ask to open again",
    responses=NOTICE_WRITE,
)
def lift_objection(notice_id: RowId, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(openings.lift_objection(session, principal, notice_id))
