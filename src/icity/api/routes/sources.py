"""Routes: a city opens its information systems — registers one, sets up its source
(connector, mapping, schedule), previews it, runs harvests and watches their health.
For the owning city's admins and the platform admin."""

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request

from icity.api.deps import DEFAULT_LIMIT, after_response, CursorParam, LimitParam, PrincipalDep, SessionDep, TransactionDep
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import InformationSystemPublic, Page, Problem, RowId
from icity.api.source_schemas import HarvestRunPublic, PreviewIn, PreviewOut, RetentionIn, RetentionPublic, SourceIn, SourcePublic, StatusIn, SystemIn
from icity.services import catalogue, harvest, observation_retention, sources

router = APIRouter(tags=["opening information systems"])

ADMIN_ONLY = {
    401: {"model": Problem, "description": "Not logged in."},
    403: {"model": Problem, "description": "Not an admin of this city."},
    404: {"model": Problem, "description": "No such information system (or not visible to you)."},
}
SETUP_PROBLEMS = {
    **ADMIN_ONLY,
    422: {"model": Problem, "description": "The setup is not valid: `errors` lists each problem with its path."},
}


@router.post(
    "/cities/{city_id}/information-systems",
    status_code=201,
    response_model=InformationSystemPublic,
    summary="Register one of the city's information systems (in draft)",
    responses=SETUP_PROBLEMS,
)
def register_system(city_id: str, body: SystemIn, session: TransactionDep, principal: PrincipalDep):
    fields = body.model_dump(exclude={"slug"})
    system = catalogue.register_system(session, principal, city_id, slug=body.slug, **fields)
    return JSONResponse(system, status_code=201)


@router.put(
    "/information-systems/{city_id}/{slug}/status",
    response_model=InformationSystemPublic,
    summary="Move an information system to draft, trial, open or retired",
    responses=SETUP_PROBLEMS,
)
def change_status(city_id: str, slug: str, body: StatusIn, session: TransactionDep, principal: PrincipalDep):
    return JSONResponse(catalogue.change_status(session, principal, f"{city_id}/{slug}", body.status))


@router.put(
    "/information-systems/{city_id}/{slug}/observation-retention",
    response_model=RetentionPublic,
    summary="Set how many days of observation history the IS keeps (null: everything, the default)",
    responses=SETUP_PROBLEMS,
)
def set_retention(city_id: str, slug: str, body: RetentionIn, session: TransactionDep, principal: PrincipalDep):
    system = observation_retention.set_retention(session, principal, f"{city_id}/{slug}", body.observation_retention_days)
    return JSONResponse(observation_retention.retention_dict(system))


@router.get(
    "/information-systems/{city_id}/{slug}/source",
    response_model=SourcePublic,
    summary="The source's setup and the connector's health (last success, failures since, freshness)",
    responses=ADMIN_ONLY,
)
def get_source(city_id: str, slug: str, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(harvest.get_source(session, principal, f"{city_id}/{slug}"))


@router.put(
    "/information-systems/{city_id}/{slug}/source",
    response_model=SourcePublic,
    summary="Set the source: connector, mapping, schedule (nothing is read until a run)",
    responses=SETUP_PROBLEMS,
)
def set_source(city_id: str, slug: str, body: SourceIn, session: TransactionDep, principal: PrincipalDep):
    system = sources.configure(
        session,
        principal,
        f"{city_id}/{slug}",
        connector=body.connector,
        mapping=body.mapping,
        schedule=body.schedule,
        retire_missing=body.retire_missing,
    )
    return JSONResponse(harvest.source_view(session, system))


@router.post(
    "/information-systems/{city_id}/{slug}/preview",
    response_model=PreviewOut,
    summary="Dry run: read the source and map it, saving nothing — the first entities and every rejected record",
    responses={**SETUP_PROBLEMS, 502: {"model": Problem, "description": "The source could not be read."}},
)
def preview(city_id: str, slug: str, session: SessionDep, principal: PrincipalDep, body: PreviewIn | None = None):
    body = body or PreviewIn()
    return JSONResponse(
        sources.preview(
            session, principal, f"{city_id}/{slug}", connector=body.connector, mapping=body.mapping, limit=body.limit
        )
    )


@router.post(
    "/information-systems/{city_id}/{slug}/harvests",
    status_code=202,
    response_model=HarvestRunPublic,
    summary="Harvest now: the run starts at once and goes on in the background; follow it at its URL",
    responses={**ADMIN_ONLY, 409: {"model": Problem, "description": "No source set up, or a run is still going."}},
)
def start_harvest(
    city_id: str, slug: str, request: Request, tasks: BackgroundTasks, session: TransactionDep, principal: PrincipalDep
):
    run = harvest.start_run(session, principal, f"{city_id}/{slug}", trigger="manual")
    after_response(tasks, harvest.execute_run, run["id"], request.app.state.database_url)
    location = f"/api/v1/information-systems/{city_id}/{slug}/harvests/{run['id']}"
    return JSONResponse(run, status_code=202, headers={"Location": location})


@router.get(
    "/information-systems/{city_id}/{slug}/harvests",
    response_model=Page[HarvestRunPublic],
    summary="Harvest runs, newest first, with their counts, rejections and errors",
    responses=ADMIN_ONLY,
)
def list_harvests(
    city_id: str,
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description="running, succeeded, unchanged or failed", examples=["failed"])] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = harvest.list_runs(session, principal, f"{city_id}/{slug}", status=status, limit=limit, cursor=cursor)
    return json_page(page.as_dict(), request)


@router.get(
    "/information-systems/{city_id}/{slug}/harvests/{run_id}",
    response_model=HarvestRunPublic,
    summary="One harvest run",
    responses=ADMIN_ONLY,
)
def get_harvest(city_id: str, slug: str, run_id: RowId, session: SessionDep, principal: PrincipalDep):
    return JSONResponse(harvest.get_run(session, principal, f"{city_id}/{slug}", run_id))
