"""The live portal in Chromium: the home map parts the cities that share a spot and fits them all,
an offline map at city scale draws the city's GIS layer, and the explorer and an IS's page update
live when a device pushes (a real HTTP push with a provider token) — an anonymous visitor never
gets a restricted IS's changes. Every page keeps the axe-core WCAG check."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from icity.db.engine import new_session, transaction
from icity.db.models import City, Device, Entity
from icity.services import entity_store, provider_tokens
from icity.services.access import CLI
from tests.web.conftest import shoot
from tests.web.test_accessibility import violations

AIR, NOISE = "barcelona/air-quality", "barcelona/noise"  # public; registered developers only


def _device_and_token(database_url: str, system_id: str) -> tuple[Device, dict[str, str]]:
    with transaction(database_url) as session:
        device = session.scalars(select(Device).where(Device.information_system_id == system_id).order_by(Device.local_id)).first()
        token = provider_tokens.create_token(session, CLI, system_id, device.provider_id, "live portal test")["token"]
        session.expunge(device)
    return device, {"Authorization": f"Bearer {token}"}


def _push(base: str, headers: dict[str, str], system_id: str, device: str, values: dict) -> str:
    observed = datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    body = {"measures": [{"device": device, "observedAt": observed, "values": values}]}
    response = httpx.post(f"{base}/api/v1/information-systems/{system_id}/observations", json=body, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return observed


def test_the_home_map_parts_the_barcelona_area_cities_and_fits_every_city(live_server, page: Page):
    with new_session(live_server.database_url) as session:
        total = session.scalar(select(func.count()).select_from(City))
    page.goto(live_server.url + "/")
    badge = page.locator("#network-map .city-cluster", has_text="Barcelona")
    expect(badge).to_contain_text("Cornellà de Llobregat")
    expect(badge).to_contain_text("Viladecans")
    # every city is in the first view: markerclusters draws only what is in view, alone or counted in a badge
    shown = page.locator("#network-map path.city-marker").count()
    counted = sum(int(n) for n in page.locator("#network-map .city-cluster > span:first-child").all_inner_texts())
    assert shown + counted == total
    assert violations(page) == []
    shoot(page, "home-map")

    badge.click()  # zooms in until the three part
    spots = []
    for city in ("barcelona", "cornella", "viladecans"):
        marker = page.locator(f"#network-map path.city-{city}")
        expect(marker).to_be_visible()
        box = marker.bounding_box()
        spots.append((round(box["x"] + box["width"] / 2), round(box["y"] + box["height"] / 2)))
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) > 10 for i, a in enumerate(spots) for b in spots[i + 1:]), spots
    expect(page.locator("#network-map .city-cluster", has_text="Barcelona")).to_have_count(0)


def test_the_offline_map_at_city_scale_draws_the_citys_gis_layer(live_server, page: Page):
    page.goto(live_server.url + "/explorer?city=barcelona")
    expect(page.locator("#explorer-map")).to_have_attribute("data-gis-features", re.compile(r"^[1-9]\d+$"))
    expect(page.locator("#explorer-map .leaflet-gis-pane path").nth(20)).to_be_attached()
    expect(page.locator("#explorer-map .leaflet-control-attribution")).to_contain_text("Barcelona districts and streets")
    assert violations(page) == []
    shoot(page, "explorer-offline-map")


def test_the_explorer_and_the_is_page_update_live_and_anonymous_visitors_get_no_restricted_change(live_server, page: Page):
    air, air_token = _device_and_token(live_server.database_url, AIR)
    noise, noise_token = _device_and_token(live_server.database_url, NOISE)
    page.goto(f"{live_server.url}/explorer?city=barcelona#{air.entity_id}")
    explorer = page.locator("#explorer-map")
    expect(explorer).to_have_attribute("data-live", "open")
    chart = page.locator("#history-chart")
    expect(page.get_by_label("Attribute", exact=True)).to_have_value("no2")  # the main measure, with its unit
    expect(page.get_by_label("Attribute", exact=True).locator("option:checked")).to_have_text("no2 (µg/m³)")
    expect(page.locator("#entity-attributes dd[data-attribute=no2] .unit")).to_have_text(" µg/m³")
    expect(chart).to_have_attribute("data-points", re.compile(r"^[1-9]\d*$"))
    points = int(chart.get_attribute("data-points"))

    _push(live_server.url, noise_token, NOISE, noise.local_id, {"LAeq": 88.8})  # registered: not for an anonymous visitor
    _push(live_server.url, air_token, AIR, air.local_id, {"no2": 123.4})
    value = page.locator("#entity-attributes dd[data-attribute=no2]")
    expect(value).to_contain_text("123.4")
    expect(value).to_have_class(re.compile(r"\bflash\b"))
    expect(chart).to_have_attribute("data-points", str(points + 1))
    # the stream is in order: the air change came after the noise one, which never reached the page
    expect(explorer).to_have_attribute("data-changes", "1")
    assert violations(page) == []
    shoot(page, "explorer-live")

    page.goto(f"{live_server.url}/information-systems/{AIR}")
    system_map = page.locator("#system-map")
    expect(system_map).to_have_attribute("data-live", "open")
    expect(page.locator("#system-map .leaflet-gis-pane path").first).to_be_attached()  # the city under the stations
    observed = _push(live_server.url, air_token, AIR, air.local_id, {"no2": 55.5})
    cell = page.locator(f'[data-observed="{air.entity_id}"]')
    expect(cell).to_have_text(re.compile(re.escape(observed[:19])))
    expect(system_map).to_have_attribute("data-changes", "1")
    # a station the city adds appears, and one it moves is where it now stands
    stations = page.locator("#system-map path.entity-marker")
    before = stations.count()
    moved = page.locator("#system-map path.entity-marker").first.bounding_box()
    with transaction(live_server.database_url) as session:
        first = session.scalars(select(Entity).where(Entity.information_system_id == AIR).order_by(Entity.id)).first()
        entity_store.upsert_entities(session, AIR, [
            {"id": first.id, "type": first.type, "location": {"type": "Point", "coordinates": [first.lon + 0.01, first.lat]}},
            {"id": entity_store.entity_urn("AirQualityObserved", "barcelona", "aq-new"), "type": "AirQualityObserved",
             "name": "New station", "location": {"type": "Point", "coordinates": [2.17, 41.40]}, "no2": 20.0},
        ])  # fmt: skip
    expect(stations).to_have_count(before + 1)
    expect(system_map).to_have_attribute("data-changes", "3")
    assert page.locator("#system-map path.entity-marker").first.bounding_box()["x"] > moved["x"]
    assert violations(page) == []
