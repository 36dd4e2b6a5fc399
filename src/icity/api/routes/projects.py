"""Public-interest projects: anyone reads them, with each city's readiness computed live; the
platform admin and the member cities' admins manage them; developers attach their certified apps."""

from fastapi import APIRouter, Request, Response

from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.project_schemas import (
    AttachedAppIn,
    MemberIn,
    PartnerIn,
    ProjectAppOut,
    ProjectChange,
    ProjectDetail,
    ProjectIn,
    ProjectMemberOut,
    ProjectPartnerOut,
    ProjectSummary,
)
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import Page, Problem, RowId
from icity.services import projects

router = APIRouter(tags=["projects"])

NO_PROJECT = {404: {"model": Problem, "description": "No such project."}}
MANAGERS = {
    401: {"model": Problem, "description": "Not logged in."},
    403: {"model": Problem, "description": "Only the platform admin and the admins of the project's member cities manage it."},
    **NO_PROJECT,
}
BAD_BODY = {
    400: {
        "model": Problem,
        "description": "A malformed body (400) or a value the rules refuse (422: an unknown entity type or city): "
        "`param` names the field.",
    }
}


def _project_url(slug: str) -> str:
    return f"/api/v1/projects/{slug}"


@router.get("/projects", response_model=Page[ProjectSummary], summary="List the public-interest projects")
def list_projects(request: Request, session: SessionDep, limit: LimitParam = DEFAULT_LIMIT, cursor: CursorParam = None):
    return json_page(projects.list_projects(session, limit=limit, cursor=cursor).as_dict(), request)


@router.post(
    "/projects",
    status_code=201,
    response_model=ProjectDetail,
    summary="Start a project (platform admin, or a city admin for one of their cities)",
    description="Audited. A city admin names one of their cities, which becomes the first member.",
    responses={
        401: MANAGERS[401],
        403: {"model": Problem, "description": "Only platform and city admins start projects, a city admin for their own city."},
        **BAD_BODY,
        409: {"model": Problem, "description": "A project with this slug exists, or the city is a prospect."},
    },
)
def create_project(body: ProjectIn, session: TransactionDep, principal: PrincipalDep):
    project = projects.create_project(session, principal, **body.arguments())
    return JSONResponse(projects.get_project(session, project.slug, principal), status_code=201, headers={"Location": _project_url(project.slug)})


@router.get(
    "/projects/{slug}",
    response_model=ProjectDetail,
    summary="A project: its cities, its apps, what each city can run and what it still has to open",
    description="Computed from the catalogue at each request: a city that opens an IS is ready at once. An IS not "
    "open yet (`not-opened`) is named only to its city's admins and the platform admin; to others that type is `missing`.",
    responses=NO_PROJECT,
)
def get_project(slug: str, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(projects.get_project(session, slug, principal))


@router.patch(
    "/projects/{slug}",
    response_model=ProjectDetail,
    summary="Change a project's name, description or entity types (its managers)",
    responses={**MANAGERS, **BAD_BODY},
)
def update_project(slug: str, body: ProjectChange, session: TransactionDep, principal: PrincipalDep):
    projects.update_project(session, principal, slug, **body.arguments())
    return JSONResponse(projects.get_project(session, slug, principal))


@router.post(
    "/projects/{slug}/members",
    status_code=201,
    response_model=ProjectMemberOut,
    summary="Add a member city, or invite a city (its managers)",
    description="Audited. A prospect (outside the network) can only be invited. The `Location` header points to the "
    "project, whose readiness now lists the city.",
    responses={**MANAGERS, **BAD_BODY, 409: {"model": Problem, "description": "The city is already in the project, or a prospect added as member."}},
)
def add_member(slug: str, body: MemberIn, session: TransactionDep, principal: PrincipalDep):
    member = projects.add_member(session, principal, slug, **body.arguments())
    body_out = {"project": slug, "city": member.city_id, "role": member.role, "joinedOn": member.joined_on.isoformat()}
    return JSONResponse(body_out, status_code=201, headers={"Location": _project_url(slug)})


@router.delete(
    "/projects/{slug}/members/{city_id}",
    status_code=204,
    summary="Take a city off a project (its managers)",
    responses=MANAGERS,
)
def remove_member(slug: str, city_id: str, session: TransactionDep, principal: PrincipalDep):
    projects.remove_member(session, principal, slug, city_id)
    return Response(status_code=204)


@router.post(
    "/projects/{slug}/partners",
    status_code=201,
    response_model=ProjectPartnerOut,
    summary="Add an infrastructure owner (a member of the network) as a partner (the project's managers)",
    description="Audited. The project's page then lists it with the information systems it opens.",
    responses={**MANAGERS, **BAD_BODY, 409: {"model": Problem, "description": "Already a partner, or an applicant owner."}},
)
def add_partner(slug: str, body: PartnerIn, session: TransactionDep, principal: PrincipalDep):
    partner = projects.add_partner(session, principal, slug, **body.arguments())
    body_out = {"project": slug, "owner": partner.owner_id, "joinedOn": partner.joined_on.isoformat()}
    return JSONResponse(body_out, status_code=201, headers={"Location": _project_url(slug)})


@router.delete(
    "/projects/{slug}/partners/{owner_id}",
    status_code=204,
    summary="Take a partner off a project (its managers)",
    responses=MANAGERS,
)
def remove_partner(slug: str, owner_id: str, session: TransactionDep, principal: PrincipalDep):
    projects.remove_partner(session, principal, slug, owner_id)
    return Response(status_code=204)


@router.post(
    "/projects/{slug}/apps",
    status_code=201,
    response_model=ProjectAppOut,
    summary="Attach a certified app of your organisation to a project (developers)",
    responses={
        401: MANAGERS[401],
        403: {"model": Problem, "description": "Not a developer, or another organisation's app."},
        **NO_PROJECT,
        **BAD_BODY,
        409: {"model": Problem, "description": "The app is not certified, or already attached."},
    },
)
def attach_app(slug: str, body: AttachedAppIn, session: TransactionDep, principal: PrincipalDep):
    attached = projects.attach_app(session, principal, slug, body.app)
    body_out = {"project": slug, "app": attached.app_id, "attachedAt": attached.attached_at.isoformat()}
    return JSONResponse(body_out, status_code=201, headers={"Location": _project_url(slug)})


@router.delete(
    "/projects/{slug}/apps/{app_id}",
    status_code=204,
    summary="Take an app off a project (its developers, or the project's managers)",
    responses=MANAGERS,
)
def detach_app(slug: str, app_id: RowId, session: TransactionDep, principal: PrincipalDep):
    projects.detach_app(session, principal, slug, app_id)
    return Response(status_code=204)
