"""The city network: cities, their levels and engagement follow-ups; the platform admin
adds cities and records level changes and engagement actions (services/cities decides who may)."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.network_schemas import CityIn, EngagementActionIn, LevelChangeIn
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import CityDetail, CityPublic, EngagementActionPublic, FollowUp, LevelChangePublic, Page, Problem, RowId
from icity.db.models import utctoday
from icity.services import cities

router = APIRouter(tags=["city network"])

ADMIN_ONLY = {
    401: {"model": Problem, "description": "Not logged in."},
    403: {"model": Problem, "description": "Only the platform admin records the network's changes."},
}
BAD_BODY = {
    # the document cannot list a 422 (app.py turns it into 400), so the 400 tells of both
    400: {
        "model": Problem,
        "description": "A malformed body (400, e.g. a date that is not YYYY-MM-DD) or a value the network's rules "
        "refuse (422, e.g. evidence of the wrong kind for the level): `param` names the field.",
    },
}
ADMIN_WRITE = {**ADMIN_ONLY, **BAD_BODY, 404: {"model": Problem, "description": "No such city."}}


@router.get("/cities", response_model=Page[CityPublic], summary="List the cities of the network")
def list_cities(
    request: Request,
    session: SessionDep,
    level: Annotated[
        str | None,
        Query(description="prospect, sig, pilot, consortium, or all; default: the members (sig and above)", examples=["pilot"]),
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    return json_page(cities.list_cities(session, level=level, limit=limit, cursor=cursor).as_dict(), request)


@router.post(
    "/cities",
    status_code=201,
    response_model=CityPublic,
    summary="Add a city to the network, as a prospect (platform admin)",
    description="Audited. Its first level change (e.g. to `sig` with its letter of commitment) follows at "
    "`/cities/{city_id}/level-changes`.",
    responses={**ADMIN_ONLY, **BAD_BODY, 409: {"model": Problem, "description": "A city with this id exists."}},
)
def create_city(body: CityIn, session: TransactionDep, principal: PrincipalDep):
    city = cities.create_city(session, principal, **body.model_dump())
    new_city = cities.city_summary(city, opened_by_category={})  # a prospect opens nothing yet
    return JSONResponse(new_city, status_code=201, headers={"Location": f"/api/v1/cities/{city.id}"})


@router.get(
    "/cities/follow-ups",
    response_model=list[FollowUp],
    summary="Cities whose engagement next step is overdue",
    description="Started engagements that need following up: next steps past their due date and not done.",
)
def overdue_follow_ups(
    session: SessionDep,
    today: Annotated[date | None, Query(description="Reference date (default: today, UTC).")] = None,
):
    return JSONResponse(cities.overdue_follow_ups(session, today or utctoday()))


@router.get(
    "/cities/{city_id}",
    response_model=CityDetail,
    summary="A city with its level history and engagement actions",
    responses={404: {"description": "No such city"}},
)
def get_city(city_id: str, session: SessionDep):
    return JSONResponse(cities.get_city(session, city_id))


@router.post(
    "/cities/{city_id}/level-changes",
    status_code=201,
    response_model=LevelChangePublic,
    summary="Move a city to another level, with its evidence (platform admin)",
    description="The change is dated, attributed to the caller, kept in the city's `levelHistory` and audited. "
    "The `Location` header points to the city, whose history shows it.",
    responses={
        **ADMIN_WRITE,
        409: {
            "model": Problem,
            "description": "The city is already at that level, or has IS in trial or open and would drop below pilot.",
        },
    },
)
def change_level(city_id: str, body: LevelChangeIn, session: TransactionDep, principal: PrincipalDep):
    change = cities.change_level(session, principal, city_id, **body.arguments())
    return _recorded_in(city_id, cities.level_change_dict(change))


@router.post(
    "/cities/{city_id}/engagement-actions",
    status_code=201,
    response_model=EngagementActionPublic,
    summary="Record an engagement action with a city, and its next step (platform admin)",
    description="Attributed to the caller and audited. The `Location` header points to the city, "
    "whose `engagementActions` list it.",
    responses=ADMIN_WRITE,
)
def add_engagement_action(city_id: str, body: EngagementActionIn, session: TransactionDep, principal: PrincipalDep):
    action = cities.add_engagement_action(session, principal, city_id, **body.arguments())
    return _recorded_in(city_id, cities.action_dict(action))


@router.post(
    "/cities/{city_id}/engagement-actions/{action_id}/next-step-done",
    response_model=EngagementActionPublic,
    summary="Mark an engagement action's next step done (platform admin)",
    description="Audited; the action leaves the overdue follow-ups. Marking it again changes nothing.",
    responses={
        **ADMIN_ONLY,
        404: {"model": Problem, "description": "No such action in this city."},
        409: {"model": Problem, "description": "The action has no next step."},
    },
)
def complete_next_step(city_id: str, action_id: RowId, session: TransactionDep, principal: PrincipalDep):
    action = cities.complete_next_step(session, principal, action_id, city_id=city_id)
    return JSONResponse(cities.action_dict(action))


def _recorded_in(city_id: str, recorded: dict) -> JSONResponse:
    """201 with what was recorded. Level changes and actions have no URL of their own:
    `Location` is the city, whose history and action list show them."""
    return JSONResponse(recorded, status_code=201, headers={"Location": f"/api/v1/cities/{city_id}"})
