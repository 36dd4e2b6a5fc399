"""A developer's subscriptions in Debian's Chromium, on the demo network: created with the form
(the area taken from the map), the live view shows a real push (HTTP, with a provider token) as
it happens, without reloading; a webhook to a closed port becomes a dead letter in the delivery
log, and "Retry" puts it back in the outbox. Every page passes the axe-core WCAG check."""

from __future__ import annotations

import re
import socket
from datetime import datetime, timezone

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from icity.config import get_settings
from icity.db.engine import transaction
from icity.db.models import Device, InformationSystem, InformationSystemEntityType, Provider
from icity.services import provider_tokens, webhooks
from icity.services.access import CLI, SERVED_STATUSES
from tests.web.conftest import shoot
from tests.web.test_accessibility import violations
from tests.web.test_app_journeys import person_with_password, sign_in

DEVELOPER = "mia@airwatch.example"
APP = "AirWatch"


@pytest.fixture
def webhook_settings(monkeypatch):
    """Set before the live server starts: endpoints on 127.0.0.1 allowed, one failed attempt makes a dead letter."""
    monkeypatch.setenv("ICITY_WEBHOOK_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("ICITY_WEBHOOK_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("ICITY_WEBHOOK_TIMEOUT_S", "2")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def public_air_station(database_url: str) -> tuple[str, str, str, str, str]:
    """A device of a public, served air-quality IS: (IS id, city id, device local id, entity id, a provider token for it)."""
    with transaction(database_url) as session:
        system, device = session.execute(
            select(InformationSystem, Device)
            .join(Device, Device.information_system_id == InformationSystem.id)
            .join(InformationSystemEntityType, InformationSystemEntityType.information_system_id == InformationSystem.id)
            .where(
                InformationSystem.access_policy == "public", InformationSystem.status.in_(SERVED_STATUSES),
                InformationSystemEntityType.entity_type == "AirQualityObserved", Device.entity_id.is_not(None),
            )
            .order_by(InformationSystem.id, Device.id)
            .limit(1)
        ).one()  # fmt: skip
        provider = session.get(Provider, device.provider_id)
        token = provider_tokens.create_token(session, CLI, system.id, provider.id, "journey")["token"]
        return system.id, system.city_id, device.local_id, device.entity_id, token


def push(base_url: str, system_id: str, device: str, token: str, no2: float) -> None:
    batch = {"measures": [{"device": device, "observedAt": datetime.now(timezone.utc).isoformat(), "values": {"no2": no2}}]}
    answer = httpx.post(f"{base_url}/api/v1/information-systems/{system_id}/observations", json=batch,
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
    assert answer.status_code == 200 and answer.json()["entitiesUpdated"] == 1, answer.text


def create_with_the_form(page: Page, system_id: str, city_id: str, name: str, endpoint: str | None = None) -> None:
    form = page.get_by_test_id("subscription-form")
    form.get_by_label("App", exact=True).select_option(label=APP)
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Entity types").fill("AirQualityObserved")
    form.locator("#sub-city").select_option(city_id)
    form.get_by_label("Information system (optional)").select_option(system_id)
    form.get_by_label("Attributes the notifications carry").fill("no2, airQualityLevel")
    if endpoint:
        form.get_by_label("Webhook, and the stream").check()
        form.get_by_label("Webhook URL").fill(endpoint)
    form.get_by_role("button", name="Create the subscription").click()


def test_a_developer_watches_a_subscriptions_stream_and_retries_a_dead_letter(webhook_settings, live_server, page: Page):
    person_with_password(live_server.database_url, DEVELOPER, "developer", organisation="AirWatch Ltd")
    system_id, city_id, device, entity_id, token = public_air_station(live_server.database_url)

    sign_in(page, live_server.url, DEVELOPER, "/dashboard")
    page.get_by_label("Name", exact=True).fill(APP)
    page.get_by_label("Entity types it needs").fill("AirQualityObserved")
    page.get_by_role("button", name="Create the app").click()
    expect(page.locator(f'article[data-app="{APP}"]')).to_be_visible()

    # 1. the form: the city chosen, a box drawn on the map, then the map's view of the city taken instead
    page.get_by_test_id("subscriptions-link").click()
    expect(page.get_by_test_id("no-subscriptions")).to_be_visible()
    page.locator("#sub-city").select_option(city_id)
    bbox = page.get_by_label("Bounding box")
    page.get_by_role("button", name="Draw a box").click()
    page.locator("#area-map").click(position={"x": 200, "y": 100})
    page.locator("#area-map").click(position={"x": 600, "y": 300})
    expect(bbox).to_have_value(re.compile(r"^-?[\d.]+,-?[\d.]+,-?[\d.]+,-?[\d.]+$"))
    drawn_text = bbox.input_value()
    drawn = [float(v) for v in drawn_text.split(",")]
    assert drawn[0] < drawn[2] and drawn[1] < drawn[3]  # west < east, south < north, whatever the clicks' order
    page.get_by_role("button", name="Use the map's view").click()  # larger: the whole city in view
    expect(bbox).not_to_have_value(drawn_text)
    assert not violations(page)
    shoot(page, "subscription-form")
    create_with_the_form(page, system_id, city_id, "NO2 live")

    # 2. its page: the live view is connected; a real push appears without reloading
    expect(page.get_by_test_id("done")).to_contain_text("The subscription is created")
    expect(page.get_by_test_id("delivery")).to_have_text("stream only")
    expect(page.get_by_test_id("live-state")).to_contain_text("Connected")
    push(live_server.url, system_id, device, token, 87.5)
    event = page.locator(f'#live-events li[data-entity="{entity_id}"]')
    expect(event).to_contain_text("no2 = 87.5")
    assert not violations(page)
    shoot(page, "subscription-live")

    # 3. a webhook to a port nothing listens on: a dead letter, retried from the log
    page.goto(f"{live_server.url}/dashboard/subscriptions")
    create_with_the_form(page, system_id, city_id, "NO2 webhook", endpoint=f"http://127.0.0.1:{closed_port()}/hooks")
    expect(page.get_by_test_id("webhook-secret")).to_be_visible()
    expect(page.get_by_test_id("no-deliveries")).to_be_visible()
    push(live_server.url, system_id, device, token, 91.0)
    dispatcher = webhooks.WebhookDispatcher(live_server.database_url)  # what `icity worker` runs
    try:
        assert dispatcher.run_once()["dead"] == 1
    finally:
        dispatcher.close()
    page.goto(f"{live_server.url}/dashboard/subscriptions")
    page.get_by_role("link", name="NO2 webhook").click()
    dead = page.locator('[data-testid="deliveries"] tr[data-status="dead"]')
    expect(dead).to_have_count(1)
    expect(dead).to_contain_text(entity_id)
    expect(dead).to_contain_text("dead letter")
    assert not violations(page)
    shoot(page, "subscription-dead-letter")
    dead.get_by_role("button", name=re.compile(r"^Retry delivery")).click()
    expect(page.get_by_test_id("done")).to_contain_text("back in the outbox")
    expect(page.locator('[data-testid="deliveries"] tr[data-status="pending"]')).to_have_count(1)

    # 4. paused from its page: its stream closes, the list says so
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_test_id("live-off")).to_be_visible()
    page.goto(f"{live_server.url}/dashboard/subscriptions")
    expect(page.locator("tr", has_text="NO2 webhook").get_by_test_id("status")).to_have_text("paused")
