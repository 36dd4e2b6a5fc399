"""/docs and /redoc load Swagger UI and ReDoc from the platform itself, never from a CDN."""

import re

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app

OUTSIDE = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.IGNORECASE)
LOCAL = re.compile(r"""(?:src|href)\s*=\s*["'](/[^"'/][^"']*)["']""")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app("sqlite://")) as client:
        yield client


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_documentation_references_no_outside_host_and_every_asset_it_loads_is_served(client, path):
    page = client.get(path)
    assert page.status_code == 200
    assert not OUTSIDE.findall(page.text), page.text
    assert "cdn.jsdelivr" not in page.text and "fonts.googleapis" not in page.text
    assets = LOCAL.findall(page.text)
    assert any(a.endswith((".js")) for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
