"""The city network: cities, their levels and engagement follow-ups."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, SessionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import CityDetail, CityPublic, FollowUp, Page
from icity.services import cities

router = APIRouter(tags=["city network"])


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
    return JSONResponse(cities.overdue_follow_ups(session, today or date.today()))


@router.get(
    "/cities/{city_id}",
    response_model=CityDetail,
    summary="A city with its level history and engagement actions",
    responses={404: {"description": "No such city"}},
)
def get_city(city_id: str, session: SessionDep):
    return JSONResponse(cities.get_city(session, city_id))
