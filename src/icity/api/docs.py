"""The API's interactive documentation, Swagger UI at /docs and ReDoc at /redoc, from the portal's
own copies of swagger-ui-dist and redoc (npm, /static/vendor/): no CDN, so they work offline."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse

FAVICON = "/static/img/favicon.svg"
SWAGGER_UI = "/static/vendor/swagger-ui-dist"
REDOC = "/static/vendor/redoc"

router = APIRouter(include_in_schema=False)


def install_docs(app: FastAPI) -> None:
    """/docs and /redoc for ``app`` (created with docs_url=None, redoc_url=None)."""

    @router.get("/docs")
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=FAVICON,
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @router.get("/docs/oauth2-redirect")
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc")
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{REDOC}/redoc.standalone.js",
            redoc_favicon_url=FAVICON,
            with_google_fonts=False,
        )

    app.include_router(router)
