"""Routes: app certification (submission, the review queue, decisions) and the app portal."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.certification_schemas import CertificationOut, PortalApp, QueueItem, ReviewIn, SubmissionIn
from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import Page, RowId
from icity.services import app_portal, certification

router = APIRouter(tags=["app certification"])
portal_router = APIRouter(tags=["app portal"])
NOT_FOUND = {404: {"description": "No such app in your organisation"}}


@router.post(
    "/apps/{app_id}/submission",
    status_code=201,
    response_model=CertificationOut,
    summary="Submit an app for certification (a draft or a returned app)",
    responses={**NOT_FOUND, 409: {"description": "Already submitted or certified"}},
)
def submit(app_id: RowId, session: TransactionDep, principal: PrincipalDep, body: SubmissionIn | None = None):
    return JSONResponse(certification.submit(session, principal, app_id, body.note if body else None), status_code=201)


@router.get(
    "/apps/{app_id}/certification",
    response_model=CertificationOut,
    summary="An app's certification: status, the checklist as computed now, its reviews",
    responses=NOT_FOUND,
)
def get_certification(
    app_id: RowId,
    session: TransactionDep,  # a probe's findings are kept with the pending review
    principal: PrincipalDep,
    probe: Annotated[bool, Query(description="Also fetch each link to see that it answers (platform admin)", examples=[True])] = False,
):
    return JSONResponse(certification.get_certification(session, principal, app_id, probe_links=probe))


@router.get(
    "/certification-queue",
    response_model=Page[QueueItem],
    summary="Apps waiting for review, longest waiting first (platform admin)",
)
def certification_queue(
    request: Request, session: SessionDep, principal: PrincipalDep, limit: LimitParam = DEFAULT_LIMIT, cursor: CursorParam = None
):
    return json_page(certification.queue(session, principal, limit=limit, cursor=cursor).as_dict(), request)


@router.post(
    "/apps/{app_id}/review",
    response_model=CertificationOut,
    summary="Certify a submitted app or return it with comments (platform admin)",
    responses={**NOT_FOUND, 409: {"description": "Not waiting for review, or a check failed"}},
)
def review(app_id: RowId, body: ReviewIn, session: TransactionDep, principal: PrincipalDep):
    decided = certification.review(
        session, principal, app_id, decision=body.decision, comments=body.comments, checklist=body.verdicts()
    )
    return JSONResponse(decided)


@portal_router.get(
    "/app-portal",
    response_model=Page[PortalApp],
    summary="Certified apps and the cities where each works",
)
def list_portal_apps(
    request: Request,
    session: SessionDep,
    city: Annotated[str | None, Query(description="Only the apps that work in this city", examples=["cornella"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    return json_page(app_portal.portal_page(session, city=city, limit=limit, cursor=cursor).as_dict(), request)
