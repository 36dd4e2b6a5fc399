"""What every NGSI-LD request shares: its body and media types, its @context, its tenant, its answer."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from sqlalchemy.orm import Session

from icity.api.deps import get_session
from icity.api.responses import JSONResponse
from icity.db.models import City, InformationSystem
from icity.ngsi_ld.contexts import JSON_LD_CONTEXT_REL, Context, from_link_header, resolve
from icity.ngsi_ld.errors import bad_request_data, invalid_request, ngsi_ld_error, nonexistent_tenant

JSON, LD_JSON, GEO_JSON, MERGE_PATCH = "application/json", "application/ld+json", "application/geo+json", "application/merge-patch+json"
TENANT_HEADER = "NGSILD-Tenant"


def _media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


async def read_body(request: Request) -> Any:
    """The JSON body: 415 for a media type NGSI-LD does not take, 400 InvalidRequest for broken JSON."""
    media_type = _media_type(request.headers.get("content-type"))
    allowed = (JSON, LD_JSON, MERGE_PATCH) if request.method == "PATCH" else (JSON, LD_JSON)
    if media_type not in allowed:
        raise ngsi_ld_error(
            "UnsupportedMediaType", f"Send the body as {' or '.join(allowed)}, not '{media_type or 'no Content-Type'}'."
        )
    raw = await request.body()
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise invalid_request(f"The body is not valid JSON: {error}") from None
    request.state.ngsi_ld_media_type = media_type
    return body


Body = Annotated[Any, Depends(read_body)]


def body_context(request: Request, body: Any) -> Context:
    """The @context of a request with a body: in it (application/ld+json) or in the Link header (application/json)."""
    media_type = getattr(request.state, "ngsi_ld_media_type", JSON)
    items = body if isinstance(body, list) else [body]
    if media_type == LD_JSON:
        contexts = [item.get("@context") for item in items if isinstance(item, dict)]
        if any(context is None for context in contexts):
            raise bad_request_data("A body sent as application/ld+json carries its @context (or send application/json with a Link header)")
        if request.headers.get("link") and JSON_LD_CONTEXT_REL in request.headers["link"]:
            raise bad_request_data("Give the @context once: in the body (application/ld+json) or in a Link header (application/json)")
        distinct = {orjson.dumps(c, option=orjson.OPT_SORT_KEYS) for c in contexts}
        if len(distinct) > 1:
            raise bad_request_data("Every entity of one request must bring the same @context")
        return resolve(contexts[0] if contexts else None)
    if any(isinstance(item, dict) and "@context" in item for item in items):
        raise bad_request_data("A body sent as application/json has no @context: send it in a Link header, or send application/ld+json")
    return from_link_header(request.headers.get("link"))


def link_context(request: Request) -> Context:
    """The @context of a request without a body: its Link header, else iCity's."""
    return from_link_header(request.headers.get("link"))


LinkContext = Annotated[Context, Depends(link_context)]


def accepted(request: Request, allow_geo: bool = True) -> str:
    """The media type of the answer: JSON (context in a Link header), JSON-LD (context in the body),
    or GeoJSON; 406 NotAcceptable for anything else."""
    header = request.headers.get("accept") or "*/*"
    offered = [JSON, LD_JSON] + ([GEO_JSON] if allow_geo else [])
    best, best_q = None, 0.0
    for part in header.split(","):
        pieces = [p.strip() for p in part.split(";")]
        media, q = pieces[0].lower(), 1.0
        for param in pieces[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media in ("*/*", "application/*"):
            candidate = JSON
        elif media in offered:
            candidate = media
        else:
            continue
        if q > best_q:
            best, best_q = candidate, q
    if best is None:
        raise ngsi_ld_error("NotAcceptable", f"This answers {', '.join(offered)}; Accept: {header} asks for none of them.")
    return best


def tenant_scope(request: Request, session: Annotated[Session, Depends(get_session)]) -> tuple[str | None, str | None]:
    """(city, information system) named by NGSILD-Tenant: a city id narrows to the city, a city/slug to one IS."""
    tenant = request.headers.get(TENANT_HEADER)
    if tenant is None or not tenant.strip():
        return None, None
    tenant = tenant.strip()
    if "/" in tenant:
        if session.get(InformationSystem, tenant) is None:
            raise nonexistent_tenant(tenant)
        return None, tenant
    if session.get(City, tenant) is None:
        raise nonexistent_tenant(tenant)
    return tenant, None


Tenant = Annotated[tuple[str | None, str | None], Depends(tenant_scope)]


def answer(content: Any, media_type: str, context: Context, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    """An answer with the request's @context where NGSI-LD puts it for the media type."""
    headers = dict(headers or {})
    if media_type == LD_JSON:
        if isinstance(content, dict):
            content = {**content, "@context": context.body_context()}
        elif isinstance(content, list):
            content = [{**item, "@context": context.body_context()} if isinstance(item, dict) else item for item in content]
    elif context.urls:  # a context given inline has no URL to link to
        headers["Link"] = f'<{context.urls[0]}>; rel="{JSON_LD_CONTEXT_REL}"; type="application/ld+json"'
    return JSONResponse(content, status_code=status_code, media_type=media_type, headers=headers)


MAX_LIMIT = 1000  # entities (or subscriptions) per answer; more is TooManyResults: page with offset
MAX_OFFSET = 2**31 - 1  # beyond any list here, and within what both databases take


def paging(limit: int | None, offset: int | None, count: bool) -> tuple[int, int]:
    """(limit, offset) of a list request (CIM 009 5.5.9): limit 20 by default, 0 only to count."""
    limit = 20 if limit is None else limit
    offset = 0 if offset is None else offset
    if limit < 0 or offset < 0:
        raise bad_request_data("limit and offset must not be negative", param="limit" if limit < 0 else "offset")
    if offset > MAX_OFFSET:
        raise bad_request_data(f"offset must be at most {MAX_OFFSET}", param="offset")
    if limit == 0 and not count:
        raise bad_request_data("limit=0 only with count=true", param="limit")
    if limit > MAX_LIMIT:
        raise ngsi_ld_error("TooManyResults", f"limit must be at most {MAX_LIMIT}; page with offset", param="limit")
    return limit, offset
