"""Whole downloads, streamed: an IS's current entities as CSV or GeoJSON, one attribute's history as CSV.

CSV (RFC 4180, UTF-8, CRLF): a value that is not a string is written as its JSON text (numbers,
booleans, objects and arrays alike); null or absent is an empty cell.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import StreamingResponse

from icity.api.deps import PrincipalDep, SessionDep
from icity.api.middleware import served
from icity.api.responses import GEO_JSON
from icity.api.routes.entities import BAD_PARAMETER, feature
from icity.api.schemas import Problem
from icity.services.access import Principal
from icity.services import downloads, filters
from icity.services.entities import entity_dict

router = APIRouter(tags=["downloads"])

CSV = "text/csv"
ENTITY_COLUMNS = ("id", "type", "observedAt", "latitude", "longitude")
HISTORY_COLUMNS = ("observedAt", "value", "unitCode")
CSV_EXAMPLE = (
    "id,type,observedAt,latitude,longitude,airQualityLevel,name,no2\r\n"
    "urn:ngsi-ld:AirQualityObserved:barcelona:eixample,AirQualityObserved,2024-05-01T10:00:00+00:00,41.3853,2.1538,moderate,Eixample,41.5\r\n"
)
GEOJSON_EXAMPLE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "id": "urn:ngsi-ld:AirQualityObserved:barcelona:eixample",
            "geometry": {"type": "Point", "coordinates": [2.1538, 41.3853]},
            "properties": {"type": "AirQualityObserved", "city": "barcelona", "informationSystem": "barcelona/air-quality", "no2": 41.5},
        }
    ],
}
HISTORY_EXAMPLE = "observedAt,value,unitCode\r\n2024-05-01T10:00:00+00:00,41.5,GQ\r\n"
NOT_READABLE = {
    401: {"model": Problem, "description": "The IS is listed but its data need credentials."},
    403: {"model": Problem, "description": "The IS is listed but its data are not readable to this caller; `detail` says why."},
    404: {"model": Problem, "description": "No such information system (or not one this caller may see)."},
}


def _download(body: Iterator[bytes], media_type: str, filename: str) -> StreamingResponse:
    return StreamingResponse(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _cell(value: Any) -> str:
    if type(value) is str:
        return value
    return "" if value is None else orjson.dumps(value).decode()


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def entities_csv(download: downloads.EntityDownload, chunks: Iterator[list[Any]]) -> Iterator[bytes]:
    yield _csv_lines([ENTITY_COLUMNS + download.attributes])
    names = download.attributes
    for rows in chunks:
        yield _csv_lines(
            (r.id, r.type, r.observed_at.isoformat() if r.observed_at else "", _cell(r.lat), _cell(r.lon),
             *(_cell(r.attributes.get(name)) for name in names))
            for r in rows
        )  # fmt: skip


def entities_geojson(chunks: Iterator[list[Any]]) -> Iterator[bytes]:
    yield b'{"type":"FeatureCollection","features":['
    separator = b""
    for rows in chunks:
        yield separator + b",".join(orjson.dumps(feature(entity_dict(r))) for r in rows)
        separator = b","
    yield b"]}"


def history_csv(download: downloads.HistoryDownload, chunks: Iterator[list[Any]]) -> Iterator[bytes]:
    yield _csv_lines([HISTORY_COLUMNS])
    unit = download.unit_code or ""
    for values in chunks:
        yield _csv_lines((observed_at.isoformat(), _cell(value), unit) for observed_at, value in values)


def _opened(city_id: str, slug: str, request: Request, session: Session, principal: Principal, *columns):
    """The download the caller may make (refused here, before any byte is sent), metered, and its chunks."""
    download = downloads.entity_download(session, principal, f"{city_id}/{slug}")
    served(request, [download.system_id])
    session.close()  # the stream reads in sessions of its own: this connection goes back to the pool now
    return download, downloads.entity_chunks(request.app.state.database_url, download.system_id, *columns)


@router.get(
    "/information-systems/{city_id}/{slug}/download.csv",
    summary="The IS's current entities as CSV, whole (streamed)",
    description=(
        "One row per current entity, in id order. Columns: id, type, observedAt, latitude, longitude (the point "
        "of its location, or the centre of its bounding box), then every attribute its entities hold, sorted "
        "by name. A value that is not a string is its JSON text; null or absent is an empty cell. "
        "Readable by whoever reads the IS's data; metered and rate limited like every data call."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {CSV: {"schema": {"type": "string", "examples": [CSV_EXAMPLE]}}}}, **NOT_READABLE},
)
def download_csv(city_id: str, slug: str, request: Request, session: SessionDep, principal: PrincipalDep):
    download, chunks = _opened(city_id, slug, request, session, principal, downloads.TABLE_COLUMNS)
    return _download(entities_csv(download, chunks), f"{CSV}; charset=utf-8", f"{city_id}-{slug}.csv")


@router.get(
    "/information-systems/{city_id}/{slug}/download.geojson",
    summary="The IS's current entities as a GeoJSON FeatureCollection, whole (streamed)",
    description=(
        "RFC 7946: each current entity a Feature (id order) whose geometry is its location (null where it has "
        "none) and whose properties are the rest of the entity, as `GET /entities` gives it."
    ),
    response_class=StreamingResponse,
    responses={200: {"content": {GEO_JSON: {"schema": {"type": "object", "examples": [GEOJSON_EXAMPLE]}}}}, **NOT_READABLE},
)
def download_geojson(city_id: str, slug: str, request: Request, session: SessionDep, principal: PrincipalDep):
    _, chunks = _opened(city_id, slug, request, session, principal)
    return _download(entities_geojson(chunks), GEO_JSON, f"{city_id}-{slug}.geojson")


@router.get(
    "/entities/{entity_id}/history.csv",
    summary="One attribute's raw history as CSV, whole (streamed)",
    description=(
        "The values `GET /entities/{entity_id}/history` pages through, for one attribute over a time range, "
        "in time order and in one response. Columns: observedAt, value (JSON text when not a string), "
        "unitCode (the attribute's NGSI-LD unit code, when the entity gives one)."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {CSV: {"schema": {"type": "string", "examples": [HISTORY_EXAMPLE]}}}},
        **BAD_PARAMETER,
        404: {"model": Problem, "description": "No such entity (or not readable by you)"},
    },
)
def history_download(
    entity_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    attribute: Annotated[str, Query(examples=["no2"])],
    start: Annotated[str | None, Query(alias="from", description="observedAt ≥ this (ISO 8601)", examples=["2024-05-01T00:00:00Z"])] = None,
    end: Annotated[str | None, Query(alias="to", description="observedAt < this (ISO 8601)", examples=["2024-05-08T00:00:00Z"])] = None,
):
    download = downloads.history_download(
        session, principal, entity_id, attribute,
        filters.parse_time("from", start) if start else None, filters.parse_time("to", end) if end else None,
    )  # fmt: skip
    served(request, [download.information_system_id])
    session.close()
    chunks = downloads.history_chunks(request.app.state.database_url, download)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{entity_id.removeprefix('urn:ngsi-ld:')}-{attribute}")
    return _download(history_csv(download, chunks), f"{CSV}; charset=utf-8", f"{name}.csv")
