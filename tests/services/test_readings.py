"""What the portal's maps and charts read of an IS (icity.services.readings): the GIS layers an
offline map draws follow the same access rules as the data, and so do the units and measures
shown; the API serves the layer's shapes to those who may read them, and to no one else."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import InformationSystem, User
from icity.services import readings
from icity.services.access import Principal
from icity.services.authentication import principal_of_user
from tests.gis_layers import DEVELOPER, add_gis_layers

TOKENS: dict[str, str] = {}  # email -> session token, set by gis_network


@pytest.fixture
def gis_network(network_copy) -> str:
    with transaction(network_copy) as session:
        TOKENS[DEVELOPER] = add_gis_layers(session)
    return network_copy


def _layer_ids(url: str, who: str | None, cities: list[str]) -> list[str]:
    with new_session(url) as session:
        principal = Principal() if who is None else principal_of_user(session, session.scalar(select(User).where(User.email == who)))
        return [layer["id"] for layer in readings.gis_layers(session, principal, cities)]


def test_anonymous_visitors_get_the_public_served_gis_layers_of_the_cities_shown(gis_network):
    assert _layer_ids(gis_network, None, ["alpha"]) == ["alpha/streets"]
    assert _layer_ids(gis_network, None, ["alpha", "beta"]) == ["alpha/streets", "beta/streets"]
    assert _layer_ids(gis_network, None, []) == []


def test_an_approved_developer_also_gets_the_registered_layers_never_a_draft(gis_network):
    assert _layer_ids(gis_network, "ada@dev.example", ["alpha"]) == ["alpha/cadastre", "alpha/streets"]


def test_only_gis_systems_are_layers(gis_network):
    # alpha's air quality is public and open, but not a layer of the map
    assert all(layer.endswith(("streets", "cadastre")) for layer in _layer_ids(gis_network, "admin@icity.example", ["alpha"]))


def test_the_api_serves_a_layers_shapes_with_the_same_rules(gis_network):
    client = TestClient(create_app(gis_network))
    ada = {"Cookie": f"icity_session={TOKENS[DEVELOPER]}"}
    geojson = {"Accept": "application/geo+json"}
    public = client.get("/api/v1/entities", params={"informationSystem": "alpha/streets", "limit": 1000}, headers=geojson)
    assert public.status_code == 200
    assert [f["geometry"]["type"] for f in public.json()["features"]] == ["LineString"]
    refused = client.get("/api/v1/entities", params={"informationSystem": "alpha/cadastre"}, headers=geojson)
    assert refused.status_code == 200 and refused.json()["features"] == []  # a query shows only what one may read
    signed_in = client.get("/api/v1/entities", params={"informationSystem": "alpha/cadastre"}, headers={**geojson, **ada})
    assert [f["geometry"]["type"] for f in signed_in.json()["features"]] == ["Polygon"]


def test_chart_specs_give_units_and_main_measure_of_the_systems_the_visitor_may_see(gis_network):
    with transaction(gis_network) as session:
        system = session.get(InformationSystem, "alpha/air")
        system.properties_out = [{"name": "no2", "type": "number", "unit": "µg/m³"}]
    with new_session(gis_network) as session:
        specs = readings.chart_specs(session, Principal(), {("alpha/air", "AirQualityObserved"), ("gamma/wifi", "WifiPointOfInterest")})
    assert specs["alpha/air"]["AirQualityObserved"]["main"] == "no2"
    assert specs["alpha/air"]["AirQualityObserved"]["units"]["no2"] == "µg/m³"
    assert "gamma/wifi" not in specs  # a draft: not in the catalogue for an anonymous visitor
