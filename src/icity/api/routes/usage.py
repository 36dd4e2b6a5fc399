"""Routes: usage of the API by apps, per information system and UTC day."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, SessionDep
from icity.api.responses import json_page
from icity.api.schemas import Problem, RowId, UsageReport
from icity.services import usage

router = APIRouter(tags=["usage"])


@router.get(
    "/usage",
    response_model=UsageReport,
    summary="Metered use of the API: calls, errors and bytes per app, information system and day",
    description=(
        "Rows app × information system × UTC day, newest day first, with the totals of every matching row. "
        "A developer sees the apps of their organisation; a city admin the use of its own cities' information "
        "systems, by app; the platform admin everything. Only calls made with API keys are metered; each "
        "worker writes its counts every few seconds."
    ),
    responses={
        400: {"model": Problem, "description": "A parameter is malformed; `param` names it."},
        401: {"model": Problem, "description": "Not logged in."},
        403: {"model": Problem, "description": "An API key, or an account not approved yet."},
    },
)
def get_usage(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    app: Annotated[RowId | None, Query(description="Only this app (its id).", examples=[7])] = None,
    information_system: Annotated[
        str | None, Query(alias="informationSystem", description="Only this information system.", examples=["barcelona/air-quality"])
    ] = None,
    city: Annotated[str | None, Query(description="Only this city's information systems.", examples=["barcelona"])] = None,
    start: Annotated[str | None, Query(alias="from", description="First UTC day (YYYY-MM-DD), included.", examples=["2024-05-01"])] = None,
    end: Annotated[str | None, Query(alias="to", description="Last UTC day (YYYY-MM-DD), included.", examples=["2024-05-31"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    report = usage.usage_report(
        session,
        principal,
        app_id=app,
        system_id=information_system,
        city=city,
        start=start,
        end=end,
        limit=limit,
        cursor=cursor,
    )
    return json_page(report, request)
