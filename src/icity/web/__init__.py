"""The web portal: server-rendered pages over the same services as the API.

Pages call services and honour the same access rules (services/access.py);
they add no logic of their own. Browser libraries come from npm (assets/,
installed by `make install`) and are served from /static/vendor/, never a CDN.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from icity.web.errors import install_error_pages
from icity.web.pages import PAGE_ROUTERS
from icity.web.rendering import WEB

NODE_MODULES = WEB / "assets" / "node_modules"
# what each vendored package serves, under /static/vendor/<name>/
VENDOR = {
    "leaflet": NODE_MODULES / "leaflet" / "dist",
    "leaflet.markercluster": NODE_MODULES / "leaflet.markercluster" / "dist",  # the home map's count badges
    "chart.js": NODE_MODULES / "chart.js" / "dist",
    "topojson-client": NODE_MODULES / "topojson-client" / "dist",
    "world-atlas": NODE_MODULES / "world-atlas",
    # the API's interactive documentation (/docs, /redoc: icity/api/docs.py)
    "swagger-ui-dist": NODE_MODULES / "swagger-ui-dist",
    "redoc": NODE_MODULES / "redoc" / "bundles",
}


def install_portal(app: FastAPI) -> None:
    """Add the portal's pages, static files and error pages to the application."""
    for router in PAGE_ROUTERS:
        app.include_router(router)
    for name, directory in VENDOR.items():
        # check_dir=False: the app still starts before `make install` fetched the assets
        app.mount(f"/static/vendor/{name}", StaticFiles(directory=directory, check_dir=False), name=f"vendor-{name}")
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")
    install_error_pages(app)
