"""Public-interest projects: the list, and a project's page with its cities, partners and apps,
what each city can already run and its work list, as services/projects computes them for the
API. Its managers add and invite cities there, and developers attach their certified apps;
the forms are read as the API's bodies (api/project_schemas) and services/projects decides."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.api.project_schemas import AttachedAppIn, MemberIn
from icity.errors import ICityError
from icity.services import cities, projects
from icity.services.access import Principal
from icity.web import session as web_session
from icity.web.forms import blank_as_none, first_problem
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

EVERY_PROJECT = 500  # a network runs a handful of projects
EVERY_CITY = 1000  # the network and its prospects are a few dozen cities
STATUS_WORDS = {
    "ready": "ready",
    "needs-access": "opened, access to request",
    "not-opened": "registered, not open yet",
    "missing": "not open yet",
}
MEMBER_LABELS = {"city": "City", "role": "Role", "joinedOn": "Joined on"}
APP_LABELS = {"app": "App"}
# what a redirect after a form says (a fixed text per outcome: nothing from the URL is shown)
DONE = {"member": "The city is added to the project.", "app": "The app is attached to the project."}


@router.get("/projects")
def projects_page(request: Request, viewer: ViewerDep, session: SessionDep):
    listed = projects.list_projects(session, limit=EVERY_PROJECT, cursor=None).items
    return render(request, "projects/index.html", projects=sorted(listed, key=lambda p: p["name"]))


def _project_page(
    request: Request, session: Session, viewer: Principal, slug: str, *, status_code: int = 200,
    member_error: str | None = None, app_error: str | None = None, posted: dict[str, Any] | None = None,
):  # fmt: skip
    project = projects.get_project(session, slug, viewer)
    row = projects.get_project_row(session, slug)
    can_manage = projects.may_manage(session, viewer, row)
    in_project = {c["city"] for c in project["members"] + project["invited"]}
    addable = []
    if can_manage:
        every = cities.list_cities(session, level="all", limit=EVERY_CITY, cursor=None).items
        addable = sorted((c for c in every if c["id"] not in in_project), key=lambda c: c["name"])
    return render(
        request,
        "projects/project.html",
        status_code=status_code,
        project=project,
        app_names={app["id"]: app["name"] for app in project["apps"]},
        status_words=STATUS_WORDS,
        can_manage=can_manage,
        addable_cities=addable,
        attachable_apps=projects.attachable_apps(session, viewer, row),
        member_error=member_error,
        app_error=app_error,
        posted=posted or {},
        done=DONE.get(request.query_params.get("done", "")),
    )


@router.get("/projects/{slug}")
def project_page(slug: str, request: Request, viewer: ViewerDep, session: SessionDep):
    return _project_page(request, session, viewer, slug)


@router.post("/projects/{slug}/members", dependencies=[Depends(web_session.check_csrf)])
def add_member(
    request: Request,
    slug: str,
    viewer: ViewerDep,
    session: TransactionDep,
    city: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "member",
    joined_on: Annotated[str, Form()] = "",
):
    posted = {"city": city, "role": role, "joined_on": joined_on}
    try:
        body = MemberIn.model_validate({"city": city, "role": role, "joinedOn": blank_as_none(joined_on)})
        projects.add_member(session, viewer, slug, **body.arguments())
    except ValidationError as error:
        return _project_page(request, session, viewer, slug, status_code=400, member_error=first_problem(error, MEMBER_LABELS), posted=posted)
    except ICityError as error:
        session.rollback()  # a refused change writes nothing
        return _project_page(request, session, viewer, slug, status_code=error.status, member_error=error.detail, posted=posted)
    return RedirectResponse(f"/projects/{slug}?done=member#members-heading", status_code=303)


@router.post("/projects/{slug}/apps", dependencies=[Depends(web_session.check_csrf)])
def attach_app(request: Request, slug: str, viewer: ViewerDep, session: TransactionDep, app: Annotated[str, Form()] = ""):
    try:
        body = AttachedAppIn.model_validate({"app": app})
        projects.attach_app(session, viewer, slug, body.app)
    except ValidationError as error:
        return _project_page(request, session, viewer, slug, status_code=400, app_error=first_problem(error, APP_LABELS))
    except ICityError as error:
        session.rollback()
        return _project_page(request, session, viewer, slug, status_code=error.status, app_error=error.detail)
    return RedirectResponse(f"/projects/{slug}?done=app#apps-heading", status_code=303)
