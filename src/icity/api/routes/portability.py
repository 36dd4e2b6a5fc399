"""Where can this app run: the portability promise as one query."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.deps import PrincipalDep, SessionDep
from icity.api.middleware import served
from icity.api.responses import JSONResponse
from icity.api.portability_schemas import WhereCanAppRun
from icity.api.schemas import Problem
from icity.services import filters, portability

router = APIRouter(tags=["portability"])


@router.get(
    "/where-can-app-run",
    response_model=WhereCanAppRun,
    summary="Cities that open every entity type (or category) an app needs",
    responses={400: {"model": Problem}},
)
def where_can_app_run(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    entity_types: Annotated[str | None, Query(alias="entityTypes", description="Comma-separated Smart Data Model types", examples=["AirQualityObserved,NoiseLevelObserved"])] = None,
    categories: Annotated[str | None, Query(description="Comma-separated category ids", examples=["environment"])] = None,
):
    body = portability.where_can_app_run(
        session, principal, entity_types=filters.parse_list(entity_types), categories=filters.parse_list(categories)
    )
    served(
        request,
        (
            system["id"]
            for city in body["cities"]
            for offer in city["provides"]
            for system in offer["informationSystems"]
        ),
        data=False,  # which IS exist where: a catalogue answer, not their data
    )
    return JSONResponse(body)
