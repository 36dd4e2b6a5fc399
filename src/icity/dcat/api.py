"""The DCAT-AP catalogue at /catalog (the network's) and /cities/{id}/catalog (one city's): Turtle,
JSON-LD or RDF/XML by extension or by Accept, a page at a time (Hydra), for portals to harvest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.responses import Response

from icity.api.deps import PrincipalDep, SessionDep, get_principal, refuse_unknown_query_params
from icity.config import get_settings
from icity.dcat.formats import FORMATS, Format, negotiate, serialise
from icity.dcat.graph import Page, catalog_graph
from icity.services.publication import parse_modified_since, published_systems

TAG = "DCAT-AP"
DEFAULT_PAGE_SIZE = 100
_settings = get_settings()

MAX_PAGE = 1_000_000  # a page number no catalogue reaches: larger ones are a 400, never a database offset
PageParam = Annotated[
    int,
    Query(ge=1, le=MAX_PAGE, description="Page of the catalogue, from 1 (hydra:next and hydra:last say which follow).", examples=[1]),
]
PageSizeParam = Annotated[
    int, Query(ge=1, le=_settings.page_size_max, description="Datasets per page.", examples=[DEFAULT_PAGE_SIZE])
]
ModifiedSinceParam = Annotated[
    str | None,
    Query(description="Only the datasets changed at or after this time (ISO 8601 date-time with a zone, or a date): "
          "for a harvester's incremental runs.", examples=["2024-05-01T00:00:00Z"]),
]  # fmt: skip
RDF_CONTENT = {
    200: {
        "description": "The catalogue page as DCAT-AP 3.0.1 (dcat:Catalog, its datasets, distributions and data services; "
        "Hydra paging).",
        "content": {f.media_type: {"schema": {"type": "string"}} for f in FORMATS.values()},
    },
    404: {"description": "No such city, or no such page."},
    406: {"description": "The Accept header takes none of text/turtle, application/ld+json, application/rdf+xml."},
}

router = APIRouter(tags=[TAG], dependencies=[Depends(get_principal), Depends(refuse_unknown_query_params)])


def _answer(
    request: Request, session, principal, chosen: Format, *, city: str | None, page: int, page_size: int,
    modified_since: str | None, negotiated: bool,
) -> Response:  # fmt: skip
    since = parse_modified_since(modified_since)
    publication = published_systems(session, principal, city=city, modified_since=since, page=page, page_size=page_size)
    query = {"modified_since": modified_since} if modified_since is not None else {}
    where = Page(
        base=get_settings().public_url,
        path=request.url.path,
        catalog_path=f"/cities/{city}/catalog" if city else "/catalog",
        query=query,
        city=city,
    )
    body = serialise(catalog_graph(publication, where), chosen)
    links = [f'<{where.url(page - 1, page_size)}>; rel="prev"'] if page > 1 else []
    if page < publication.last_page:
        links.append(f'<{where.url(page + 1, page_size)}>; rel="next"')
    headers = {"Link": ", ".join(links)} if links else {}
    if negotiated:
        headers["Vary"] = "Accept"
    return Response(body, media_type=chosen.media_type, headers=headers)


@router.get("/catalog", summary="The network's DCAT-AP catalogue (format by Accept)", responses=RDF_CONTENT, response_class=Response)
def network_catalog(
    request: Request, session: SessionDep, principal: PrincipalDep, page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE, modified_since: ModifiedSinceParam = None,
):  # fmt: skip
    chosen = negotiate(request.headers.get("accept"))
    return _answer(request, session, principal, chosen, city=None, page=page, page_size=page_size,
                   modified_since=modified_since, negotiated=True)  # fmt: skip


@router.get("/cities/{city_id}/catalog", summary="One city's DCAT-AP catalogue (format by Accept)", responses=RDF_CONTENT, response_class=Response)
def city_catalog(
    city_id: str, request: Request, session: SessionDep, principal: PrincipalDep, page: PageParam = 1,
    page_size: PageSizeParam = DEFAULT_PAGE_SIZE, modified_since: ModifiedSinceParam = None,
):  # fmt: skip
    chosen = negotiate(request.headers.get("accept"))
    return _answer(request, session, principal, chosen, city=city_id, page=page, page_size=page_size,
                   modified_since=modified_since, negotiated=True)  # fmt: skip


def _add_fixed_format_routes(chosen: Format) -> None:
    """/catalog.<ext> and /cities/{id}/catalog.<ext>: one format whatever the Accept header. One route
    per extension, not a `{extension}` parameter, so that the document gives each its one media type."""

    def network_catalog_as(
        request: Request, session: SessionDep, principal: PrincipalDep, page: PageParam = 1,
        page_size: PageSizeParam = DEFAULT_PAGE_SIZE, modified_since: ModifiedSinceParam = None,
    ):  # fmt: skip
        return _answer(request, session, principal, chosen, city=None, page=page, page_size=page_size,
                       modified_since=modified_since, negotiated=False)  # fmt: skip

    def city_catalog_as(
        city_id: str, request: Request, session: SessionDep, principal: PrincipalDep, page: PageParam = 1,
        page_size: PageSizeParam = DEFAULT_PAGE_SIZE, modified_since: ModifiedSinceParam = None,
    ):  # fmt: skip
        return _answer(request, session, principal, chosen, city=city_id, page=page, page_size=page_size,
                       modified_since=modified_since, negotiated=False)  # fmt: skip

    name = chosen.extension
    responses = {200: {**RDF_CONTENT[200], "content": {chosen.media_type: {"schema": {"type": "string"}}}}, 404: RDF_CONTENT[404]}
    router.add_api_route(
        f"/catalog.{name}", network_catalog_as, methods=["GET"], name=f"network_catalog_{name}",
        summary=f"The network's DCAT-AP catalogue as {chosen.media_type}", responses=responses, response_class=Response,
    )  # fmt: skip
    router.add_api_route(
        f"/cities/{{city_id}}/catalog.{name}", city_catalog_as, methods=["GET"], name=f"city_catalog_{name}",
        summary=f"One city's DCAT-AP catalogue as {chosen.media_type}", responses=responses, response_class=Response,
    )  # fmt: skip


for _format in FORMATS.values():
    _add_fixed_format_routes(_format)


def install(app: FastAPI) -> None:
    app.include_router(router)
