"""/docs (Swagger UI) and /redoc (ReDoc) render the API's operations in Chromium with every
request to another host aborted: they work without internet."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

LOCAL_HOSTS = ("127.0.0.1", "localhost")
# ReDoc's sidebar credit always asks for its logo, and drops the image when it cannot be loaded
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def offline_page(browser):
    """A page with every request outside this machine aborted; the outside URLs asked for and the
    page's errors are returned beside it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def block_outside(route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", block_outside)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: errors.append(f"{r.status} for {r.url}") if r.status >= 400 else None)
    yield page, outside, errors
    context.close()


def test_swagger_ui_lists_the_operations_offline(live_server, offline_page: tuple[Page, list, list]):
    page, outside, errors = offline_page
    page.goto(f"{live_server.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible(timeout=20_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/cities").first).to_be_visible()
    # past 150 rows (operations and tags) Swagger UI draws only those near the window: count what it loaded
    assert page.evaluate("ui.specSelectors.operations().size") > 50
    assert outside == [] and errors == []


def test_redoc_lists_the_operations_offline(live_server, offline_page: tuple[Page, list, list]):
    page, outside, errors = offline_page
    page.goto(f"{live_server.url}/redoc")
    operations = page.locator("[data-section-id*='operation/']")
    expect(operations.first).to_be_attached(timeout=30_000)
    expect(page.get_by_text("/api/v1/cities").first).to_be_attached()
    assert operations.count() > 50
    assert set(outside) <= {REDOC_LOGO} and errors == []
