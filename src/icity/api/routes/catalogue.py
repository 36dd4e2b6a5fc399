"""The catalogue: categories, information systems, providers and devices."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from icity.api.deps import DEFAULT_LIMIT, CursorParam, LimitParam, PrincipalDep, ReadSessionDep
from icity.api.middleware import served
from icity.api.responses import JSONResponse, json_page
from icity.api.schemas import CategoryPublic, DevicePublic, InformationSystemDetail, InformationSystemPublic, Page, ProviderPublic, RowId
from icity.services import catalogue

router = APIRouter(tags=["catalogue"])


@router.get("/categories", response_model=list[CategoryPublic], summary="Categories of information systems")
def list_categories(session: ReadSessionDep):
    return JSONResponse(catalogue.list_categories(session))


@router.get("/information-systems", response_model=Page[InformationSystemPublic], summary="List information systems")
def list_information_systems(
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    city: Annotated[str | None, Query(examples=["barcelona"])] = None,
    category: Annotated[str | None, Query(examples=["environment"])] = None,
    status: Annotated[str | None, Query(description="trial or open (others are not served)", examples=["open"])] = None,
    entity_type: Annotated[str | None, Query(alias="entityType", examples=["AirQualityObserved"])] = None,
    access_policy: Annotated[str | None, Query(alias="accessPolicy", examples=["public"])] = None,
    publisher: Annotated[
        str | None, Query(description="A city's or an infrastructure owner's id: the IS it publishes.", examples=["voltia"])
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = catalogue.list_systems(
        session,
        principal,
        city=city,
        category=category,
        status=status,
        entity_type=entity_type,
        access_policy=access_policy,
        publisher=publisher,
        limit=limit,
        cursor=cursor,
    )
    return json_page(page.as_dict(), request)


@router.get(
    "/information-systems/{city_id}/{slug}",
    response_model=InformationSystemDetail,
    summary="One information system, with its providers",
    responses={404: {"description": "No such information system (or not readable by you)"}},
)
def get_information_system(city_id: str, slug: str, request: Request, session: ReadSessionDep, principal: PrincipalDep):
    system = catalogue.get_system(session, principal, f"{city_id}/{slug}")
    served(request, [system["id"]], data=False)  # a description, not data: never behind the offer gate
    return JSONResponse(system)


@router.get(
    "/information-systems/{city_id}/{slug}/providers",
    response_model=list[ProviderPublic],
    summary="Providers (operators, manufacturers) of an information system's devices",
)
def list_providers(city_id: str, slug: str, request: Request, session: ReadSessionDep, principal: PrincipalDep):
    providers = catalogue.list_providers(session, principal, f"{city_id}/{slug}")
    served(request, [f"{city_id}/{slug}"])
    return JSONResponse(providers)


@router.get(
    "/information-systems/{city_id}/{slug}/devices",
    response_model=Page[DevicePublic],
    summary="Devices of an information system",
)
def list_devices(
    city_id: str,
    slug: str,
    request: Request,
    session: ReadSessionDep,
    principal: PrincipalDep,
    provider: Annotated[RowId | None, Query(description="Only this provider's devices.")] = None,
    silent: Annotated[
        bool | None, Query(description="Only the devices silent for longer than their reporting period (true), or the others.", examples=[True])
    ] = None,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
):
    page = catalogue.list_devices(
        session, principal, f"{city_id}/{slug}", provider=provider, silent=silent, limit=limit, cursor=cursor
    )
    served(request, [f"{city_id}/{slug}"])
    return json_page(page.as_dict(), request)
