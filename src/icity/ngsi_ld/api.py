"""The NGSI-LD API mounted on the platform at /ngsi-ld/v1, in front of the same services as /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from icity.api.deps import get_principal
from icity.ngsi_ld import discovery, provision, query, subscriptions, temporal, temporal_provision

PREFIX = "/ngsi-ld/v1"
# batches of up to 10,000 entities take larger bodies
BATCH_PATHS = tuple(f"{PREFIX}/entityOperations/{operation}" for operation in ("create", "upsert", "update", "delete", "merge"))


class TrailingSlash:
    """NGSI-LD paths answer with and without a trailing slash (no redirect: clients do not all follow one)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith(PREFIX + "/") and path.endswith("/") and len(path) > len(PREFIX) + 1:
                scope = {**scope, "path": path.rstrip("/"), "raw_path": scope.get("raw_path", b"").rstrip(b"/")}
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    # every call is authenticated (and an app key's rate-limited and metered), as on /api/v1
    router = APIRouter(prefix=PREFIX, dependencies=[Depends(get_principal)])
    for module in (query, provision, discovery, subscriptions, temporal, temporal_provision):
        router.include_router(module.router)
    app.include_router(router)
    app.add_middleware(TrailingSlash)
