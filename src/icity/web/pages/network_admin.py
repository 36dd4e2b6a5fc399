"""The platform admin's engagement pipeline and each city's engagement page: level
changes with their evidence, engagement actions and their next steps.
services/cities decides; the forms are read as the API's bodies (api/network_schemas)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from icity.api.deps import SessionDep, TransactionDep
from icity.api.network_schemas import EngagementActionIn, LevelChangeIn
from icity.api.schemas import RowId
from icity.db.models import utctoday
from icity.errors import ICityError
from icity.services import cities
from icity.services.access import Principal, require_admin
from icity.web import session as web_session
from icity.web.forms import blank_as_none, first_problem
from icity.web.guards import sign_in_first
from icity.web.rendering import ViewerDep, render

router = APIRouter(include_in_schema=False)

# the forms' labels, by the API field each fills
LEVEL_LABELS = {"level": "New level", "effectiveOn": "Effective on", "evidenceKind": "Evidence", "evidence": "What proves it"}
ACTION_LABELS = {
    "kind": "Kind", "title": "Title", "happenedOn": "Date", "outcome": "Outcome", "nextStep": "Next step",
    "nextStepDue": "Next step due",
}  # fmt: skip
# what a redirect after a form says (a fixed text per outcome: nothing from the URL is shown)
DONE = {
    "level": "The change of level is recorded in the city's history.",
    "action": "The engagement action is recorded.",
    "step": "The next step is marked done.",
}


@router.get("/admin/network")
def pipeline_page(request: Request, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    require_admin(viewer)
    today = utctoday()
    return render(
        request,
        "network_admin/pipeline.html",
        stages=cities.pipeline(session, today),
        follow_ups=cities.overdue_follow_ups(session, today),
    )


def _city_page(
    request: Request, session: Session, viewer: Principal, city_id: str, *, status_code: int = 200,
    level_error: str | None = None, action_error: str | None = None, posted: dict[str, Any] | None = None,
):  # fmt: skip
    require_admin(viewer)
    return render(
        request,
        "network_admin/city.html",
        status_code=status_code,
        city=cities.get_city(session, city_id),
        evidence_kinds=cities.EVIDENCE_KINDS,
        action_kinds=cities.ACTION_KINDS,
        today=utctoday().isoformat(),
        level_error=level_error,
        action_error=action_error,
        posted=posted or {},
        done=DONE.get(request.query_params.get("done", "")),
    )


@router.get("/admin/network/{city_id}")
def city_page(request: Request, city_id: str, viewer: ViewerDep, session: SessionDep):
    if redirect := sign_in_first(request, viewer):
        return redirect
    return _city_page(request, session, viewer, city_id)


@router.post("/admin/network/{city_id}/level", dependencies=[Depends(web_session.check_csrf)])
def change_level(
    request: Request,
    city_id: str,
    viewer: ViewerDep,
    session: TransactionDep,
    level: Annotated[str, Form()] = "",
    effective_on: Annotated[str, Form()] = "",
    evidence_kind: Annotated[str, Form()] = "",
    evidence: Annotated[str, Form()] = "",
):
    posted = {"level": level, "effective_on": effective_on, "evidence_kind": evidence_kind, "evidence": evidence}
    try:
        body = LevelChangeIn.model_validate(
            {"level": level, "effectiveOn": blank_as_none(effective_on), "evidenceKind": evidence_kind, "evidence": evidence}
        )
        cities.change_level(session, viewer, city_id, **body.arguments())
    except ValidationError as error:
        return _city_page(request, session, viewer, city_id, status_code=400, level_error=first_problem(error, LEVEL_LABELS), posted=posted)
    except ICityError as error:
        session.rollback()  # a refused change writes nothing
        return _city_page(request, session, viewer, city_id, status_code=error.status, level_error=error.detail, posted=posted)
    return RedirectResponse(f"/admin/network/{city_id}?done=level#history", status_code=303)


@router.post("/admin/network/{city_id}/actions", dependencies=[Depends(web_session.check_csrf)])
def add_action(
    request: Request,
    city_id: str,
    viewer: ViewerDep,
    session: TransactionDep,
    kind: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    happened_on: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    next_step: Annotated[str, Form()] = "",
    next_step_due: Annotated[str, Form()] = "",
):
    posted = {
        "kind": kind, "title": title, "happened_on": happened_on, "outcome": outcome, "next_step": next_step,
        "next_step_due": next_step_due,
    }  # fmt: skip
    try:
        body = EngagementActionIn.model_validate(
            {
                "kind": kind, "title": title, "happenedOn": blank_as_none(happened_on), "outcome": outcome,
                "nextStep": blank_as_none(next_step), "nextStepDue": blank_as_none(next_step_due),
            }
        )  # fmt: skip
        cities.add_engagement_action(session, viewer, city_id, **body.arguments())
    except ValidationError as error:
        return _city_page(request, session, viewer, city_id, status_code=400, action_error=first_problem(error, ACTION_LABELS), posted=posted)
    except ICityError as error:
        session.rollback()  # a refused action writes nothing
        return _city_page(request, session, viewer, city_id, status_code=error.status, action_error=error.detail, posted=posted)
    return RedirectResponse(f"/admin/network/{city_id}?done=action#actions", status_code=303)


@router.post("/admin/network/actions/{action_id}/next-step-done", dependencies=[Depends(web_session.check_csrf)])
def complete_next_step(action_id: RowId, viewer: ViewerDep, session: TransactionDep):
    action = cities.complete_next_step(session, viewer, action_id)
    return RedirectResponse(f"/admin/network/{action.city_id}?done=step#action-{action.id}", status_code=303)
