"""The live portal's pages over HTTP (no browser): the explorer and an IS's page give units and
the main measure of what they show, and list the GIS layers an offline map draws under its
markers — only those the visitor may read. The browser journeys are in test_live_portal_journeys.py."""

import json
import re

import pytest
from fastapi.testclient import TestClient

from icity.app import create_app
from icity.db.engine import transaction
from icity.db.models import InformationSystem
from tests.gis_layers import add_gis_layers


@pytest.fixture(scope="module")
def site(databases, network_url) -> tuple[str, str]:
    url = databases.copy(network_url)
    with transaction(url) as session:
        token = add_gis_layers(session)
        session.get(InformationSystem, "alpha/air").properties_out = [
            {"name": "pm10", "type": "number", "description": "PM10"},
            {"name": "no2", "type": "number", "description": "NO2", "unit": "µg/m³"},
        ]
    return url, token


def _script(html: str, element_id: str):
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    return json.loads(found.group(1)) if found else None


def _client(site, signed_in: bool) -> TestClient:
    client = TestClient(create_app(site[0]))
    if signed_in:
        client.cookies.set("icity_session", site[1])
    return client


def test_the_explorer_gives_each_systems_units_and_main_measure(site):
    html = _client(site, False).get("/explorer", params={"city": "alpha"}).text
    air = _script(html, "explorer-specs")["alpha/air"]["AirQualityObserved"]
    assert air["main"] == "no2"  # not pm10, declared first, nor airQualityIndex, first by name
    assert air["attributes"][:2] == ["pm10", "no2"] and air["units"]["no2"] == "µg/m³"
    assert "alpha/noise" not in _script(html, "explorer-specs")  # registered: not shown to an anonymous visitor


def test_the_explorer_lists_the_gis_layers_the_visitor_may_read(site):
    anonymous = _script(_client(site, False).get("/explorer", params={"city": "alpha"}).text, "map-layers")
    assert [layer["id"] for layer in anonymous] == ["alpha/streets"]
    developer = _script(_client(site, True).get("/explorer", params={"city": "alpha"}).text, "map-layers")
    assert [layer["id"] for layer in developer] == ["alpha/cadastre", "alpha/streets"]
    # without a city chosen: the layers of the cities of the entities shown
    everywhere = _script(_client(site, False).get("/explorer").text, "map-layers")
    assert [layer["id"] for layer in everywhere] == ["alpha/streets", "beta/streets"]


def test_a_city_without_readable_gis_layers_lists_none(site):
    html = _client(site, False).get("/explorer", params={"city": "gamma"}).text
    assert _script(html, "map-layers") is None


def test_an_is_page_draws_its_citys_layers_and_shows_the_declared_units(site):
    html = _client(site, False).get("/information-systems/alpha/air").text
    assert [layer["id"] for layer in _script(html, "map-layers")] == ["alpha/streets"]
    row = re.search(r"<tr class=\"provided\"><td><code>no2</code>.*?</tr>", html, re.S).group(0)
    assert "µg/m³" in row
    assert 'data-system="alpha/air"' in html  # what the live stream follows
