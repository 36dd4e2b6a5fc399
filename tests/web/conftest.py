"""Browser tests: the real server (uvicorn, in a thread) on a copy of the demo
network, driven by Debian's Chromium through Playwright. A page that logs a
console error or fails to load one of its resources fails its test; journeys
save screenshots in test-artifacts/."""

from __future__ import annotations

import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
import uvicorn

from icity.app import create_app
from icity.config import get_settings
from icity.db.engine import transaction
from icity.demo import load_demo
from tests.databases import POSTGRES_URL, DatabaseFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"

if POSTGRES_URL:  # `make test-postgres` runs storage, service and API tests only
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def demo_url(databases: DatabaseFactory) -> str:
    """The demo network, loaded once with today's date (history ends now), kept read-only as a template."""
    url = databases.new()
    with transaction(url) as session:
        load_demo(session, date.today())
    return url


@dataclass
class LiveServer:
    url: str
    database_url: str
    server: uvicorn.Server
    thread: threading.Thread = field(repr=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_server(databases: DatabaseFactory, demo_url: str, monkeypatch) -> Iterator[LiveServer]:
    """`icity`'s application on a writable copy of the demo network, served by uvicorn on a free port."""
    database_url = databases.copy(demo_url)
    port = _free_port()
    monkeypatch.setenv("ICITY_PUBLIC_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    config = uvicorn.Config(create_app(database_url), host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.02)
    yield LiveServer(f"http://127.0.0.1:{port}", database_url, server, thread)
    server.should_exit = True
    thread.join(10)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser context's page. Console errors, failed requests and failed
    resources (any status ≥ 400 but the page's own document) fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    # Chromium also logs a page's own 4xx document ("Failed to load resource"): resources are checked below
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}")
        if m.type == "error" and not m.text.startswith("Failed to load resource") else None,
    )  # fmt: skip
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    # ERR_ABORTED: the page navigated away before the request ended (a click), not a failure of the site
    page.on(
        "requestfailed",
        lambda r: problems.append(f"request failed: {r.url} ({r.failure})") if "ERR_ABORTED" not in (r.failure or "") else None,
    )  # fmt: skip
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} for {r.url}")
        if r.status >= 400 and r.request.resource_type != "document" else None,
    )  # fmt: skip
    yield page
    try:
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            shoot(page, f"failed-{request.node.name}")
    finally:
        context.close()
    assert not problems, "the pages had errors:\n" + "\n".join(problems)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report
        if report.failed and call.excinfo is not None and "Timeout" in call.excinfo.typename:
            # a page that never loaded: what the live server's threads were doing tells why
            report.sections.append(("threads at the timeout", _thread_stacks()))


def _thread_stacks() -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(
        f"--- {names.get(ident, ident)}\n" + "".join(traceback.format_stack(frame)) for ident, frame in sys._current_frames().items()
    )


def shoot(page, name: str) -> Path:
    """A full-page screenshot kept as a test artefact."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
