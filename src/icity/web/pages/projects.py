"""Public-interest projects: the list, and a project's page with its cities, its apps, what each
city can already run and its work list, as services/projects computes them for the API."""

from __future__ import annotations

from fastapi import APIRouter, Request

from icity.api.deps import SessionDep
from icity.services import projects
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

EVERY_PROJECT = 500  # a network runs a handful of projects


@router.get("/projects")
def projects_page(request: Request, viewer: ViewerDep, session: SessionDep):
    listed = projects.list_projects(session, limit=EVERY_PROJECT, cursor=None).items
    return render(request, "projects/index.html", projects=sorted(listed, key=lambda p: p["name"]))


STATUS_WORDS = {
    "ready": "ready",
    "needs-access": "opened, access to request",
    "not-opened": "registered, not open yet",
    "missing": "no information system yet",
}


@router.get("/projects/{slug}")
def project_page(slug: str, request: Request, viewer: ViewerDep, session: SessionDep):
    project = projects.get_project(session, slug)
    app_names = {app["id"]: app["name"] for app in project["apps"]}
    return render(request, "projects/project.html", project=project, app_names=app_names, status_words=STATUS_WORDS)
