"""The operator's console for pushed IS over HTTP (no browser), on the authorisation matrix's world
(tests/world.py): how an IS's data arrives, its devices (list, page, add, edit) and its provider
tokens (issue, list, revoke; the push lines shown work as shown: the MQTT one on this machine's Mosquitto). Managers (the owning city's admin, an owner's admin for its owner's
IS, the platform admin) see and act; others are refused; a refused form writes nothing; CSRF holds.
The browser journey is in test_device_journeys.py."""

from __future__ import annotations

import html
import json
import re
import subprocess
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.config import get_settings
from icity.db.engine import new_session, transaction
from icity.db.models import AuditEvent, Base, Device, Entity, ProviderToken, utcnow
from icity.services import provider_tokens
from icity.services.access import CLI
from icity.services.mqtt_ingest import MqttIngest
from tests.world import APPROVAL_IS, OWNER_IS, PARKING, World, build_world

MANAGE = "/manage/information-systems"
MANAGERS = {"owning_city_admin": APPROVAL_IS, "platform_admin": APPROVAL_IS, "owner_admin": OWNER_IS}
REFUSED = ("developer", "granted", "other_city_admin", "owner_admin")  # on APPROVAL_IS (open: 403, not 404)
SEATS = {"name": "seats", "parameters": {"type": "object", "properties": {"n": {"type": "integer"}}}}


class Site:
    def __init__(self, url: str, world: World):
        self.url, self.world = url, world

    def client(self, role: str | None = None) -> TestClient:
        client = TestClient(create_app(self.url), headers={"Accept": "text/html"}, follow_redirects=False)
        if role is not None:
            client.cookies.set("icity_session", self.world.sessions[role]["Authorization"].removeprefix("Bearer "))
        return client

    def rows(self) -> dict[str, list[tuple]]:
        with new_session(self.url) as session:
            return {t.name: sorted(map(tuple, session.execute(select(t)).all()), key=repr) for t in Base.metadata.sorted_tables}

    def device(self, local_id: str, system_id: str = APPROVAL_IS) -> Device | None:
        with new_session(self.url) as session:
            return session.scalar(select(Device).where(Device.information_system_id == system_id, Device.local_id == local_id))

    def audited(self, action: str) -> int:
        with new_session(self.url) as session:
            return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


@pytest.fixture
def site(network_copy: str) -> Site:
    with transaction(network_copy) as session:
        return Site(network_copy, build_world(session))


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def new_token(site: Site) -> str:
    with transaction(site.url) as session:
        return provider_tokens.create_token(session, CLI, APPROVAL_IS, site.world.ids["gate_provider"])["token"]


def push(site: Site, token: str, value: int, at=None) -> None:
    """A provider's push, through the API as any provider sends it."""
    observed = (at or utcnow()).isoformat()
    body = {"measures": [{"device": "gate-1", "observedAt": observed, "values": {"availableSpotNumber": value}}]}
    answer = TestClient(create_app(site.url)).post(
        f"/api/v1/information-systems/{APPROVAL_IS}/observations", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text


def issue(site: Site, client: TestClient, system_id: str = APPROVAL_IS, **form: str) -> str:
    page = client.get(f"{MANAGE}/{system_id}/provider-tokens")
    answer = client.post(f"{MANAGE}/{system_id}/provider-tokens", data={"csrf_token": csrf(page.text), **form})
    assert answer.status_code == 200, answer.text
    return answer.text


def device_form(client: TestClient, system_id: str = APPROVAL_IS, **fields: str) -> dict[str, str]:
    page = client.get(f"{MANAGE}/{system_id}/devices/new")
    assert page.status_code == 200, page.text
    return {"csrf_token": csrf(page.text), "local_id": "gate-2", "name": "North gate", "device_type": "barrier",
            "lat": "41.39", "lon": "2.17", "reporting_period_s": "60", "entity": "", "commands": "[]", "command_url": "", **fields}  # fmt: skip


# ---- the IS's page: how its data arrives


def test_a_pushed_is_shows_what_its_devices_sent(site: Site):
    client = site.client("owning_city_admin")
    page = client.get(f"{MANAGE}/{APPROVAL_IS}")
    assert page.status_code == 200
    assert 'data-testid="push-facts"' in page.text and 'data-testid="no-source"' not in page.text
    assert 'id="runs"' not in page.text  # no source, no harvest runs to list
    assert re.search(r'data-testid="device-counts">0 reporting, 0 silent, 1 never heard', page.text)
    assert re.search(r'data-testid="last-observation">none yet', page.text)
    secret = new_token(site)
    push(site, secret, 7, utcnow() - timedelta(minutes=2))
    push(site, secret, 6, utcnow() - timedelta(hours=3))
    page = client.get(f"{MANAGE}/{APPROVAL_IS}")
    assert re.search(r'data-testid="device-counts">1 reporting, 0 silent, 0 never heard', page.text)
    assert re.search(r'data-testid="observation-counts">1 in the last hour, 2 in the last day', page.text)
    assert re.search(r'data-testid="last-observation"><time datetime="[^"]+">[^<]+</time> \(\d+ min ago\)', page.text)


def test_an_is_nothing_arrives_into_offers_both_ways_to_set_it_up(site: Site):
    page = site.client("owner_admin").get(f"{MANAGE}/{OWNER_IS}")
    assert page.status_code == 200
    assert 'data-testid="no-source"' in page.text and 'data-testid="push-facts"' not in page.text
    assert f'href="{MANAGE}/{OWNER_IS}/source"' in page.text
    assert f'href="{MANAGE}/{OWNER_IS}/provider-tokens"' in page.text


def test_the_managed_list_says_how_each_is_data_arrives(site: Site):
    page = site.client("owning_city_admin").get("/manage")
    assert page.status_code == 200
    row = re.search(rf'<tr data-system="{APPROVAL_IS}">.*?</tr>', page.text, re.S).group(0)
    assert re.search(r'data-testid="arrival">\s*<a href="[^"]+/devices">pushed</a>:\s*0 of 1 device reporting', row)
    owners = site.client("owner_admin").get("/manage")
    row = re.search(rf'<tr data-system="{OWNER_IS}">.*?</tr>', owners.text, re.S).group(0)
    assert "Set up how its data arrives" in row


# ---- devices


@pytest.mark.parametrize("role", sorted(MANAGERS))
def test_managers_see_the_devices_and_a_device(site: Site, role: str):
    system_id = MANAGERS[role]
    client = site.client(role)
    if role == "owner_admin":  # its owner's IS has no device yet: it adds one
        form = device_form(client, system_id, local_id="charger-1")
        assert client.post(f"{MANAGE}/{system_id}/devices", data=form).status_code == 303
    listed = client.get(f"{MANAGE}/{system_id}/devices")
    assert listed.status_code == 200
    local_id = "charger-1" if role == "owner_admin" else "gate-1"
    assert f'data-device="{local_id}"' in listed.text and "never heard" in listed.text
    shown = client.get(f"{MANAGE}/{system_id}/devices/{local_id}")
    assert shown.status_code == 200
    assert f'href="{MANAGE}/{system_id}/devices/{local_id}/commands"' in shown.text


@pytest.mark.parametrize("role", sorted(REFUSED))
def test_others_are_refused_the_devices(site: Site, role: str):
    client = site.client(role)
    for path in ("devices", "devices/gate-1", "devices/new", "devices/gate-1/edit", "provider-tokens"):
        assert client.get(f"{MANAGE}/{APPROVAL_IS}/{path}").status_code == 403, path


def test_anonymous_visitors_are_sent_to_sign_in(site: Site):
    for path in ("devices", "devices/gate-1", "devices/new", "provider-tokens"):
        answer = site.client().get(f"{MANAGE}/{APPROVAL_IS}/{path}")
        assert answer.status_code == 303 and answer.headers["location"].startswith("/sign-in?next=")


def test_a_device_page_shows_its_latest_values_and_their_history(site: Site):
    secret = new_token(site)
    push(site, secret, 12, utcnow() - timedelta(minutes=3))
    push(site, secret, 9, utcnow() - timedelta(minutes=1))
    page = site.client("owning_city_admin").get(f"{MANAGE}/{APPROVAL_IS}/devices/gate-1")
    assert 'data-testid="device-status">reporting' in page.text
    assert '<dd data-attribute="availableSpotNumber">9</dd>' in page.text
    data = json.loads(re.search(r'<script type="application/json" id="device-data">(.*?)</script>', page.text).group(1))
    charted = data["charts"]["availableSpotNumber"]
    assert [p["v"] for p in charted[-2:]] == [12, 9]  # after the world's earlier history
    assert f'data-attribute="availableSpotNumber" data-points="{len(charted)}"' in page.text
    assert data["entity"] == PARKING


def test_adding_a_device_records_it_with_its_new_entity_and_commands(site: Site):
    client = site.client("owning_city_admin")
    form = device_form(client, entity="new:OffStreetParking", commands=json.dumps([SEATS]))
    answer = client.post(f"{MANAGE}/{APPROVAL_IS}/devices", data=form)
    assert answer.status_code == 303 and answer.headers["location"] == f"{MANAGE}/{APPROVAL_IS}/devices/gate-2?done=added"
    device = site.device("gate-2")
    assert (device.name, device.device_type, device.lon, device.lat, device.reporting_period_s) == ("North gate", "barrier", 2.17, 41.39, 60)
    assert device.commands == [SEATS] and device.command_url is None
    assert device.entity_id == "urn:ngsi-ld:OffStreetParking:alpha:gate-2"
    with new_session(site.url) as session:
        assert session.get(Entity, device.entity_id).information_system_id == APPROVAL_IS
    assert site.audited("device.created") == 1


def test_editing_a_device_changes_it(site: Site):
    client = site.client("platform_admin")
    page = client.get(f"{MANAGE}/{APPROVAL_IS}/devices/gate-1/edit")
    assert page.status_code == 200 and '"name": "open"' in page.text.replace("&#34;", '"')
    form = {"csrf_token": csrf(page.text), "local_id": "gate-1", "name": "Main gate", "device_type": "barrier", "lat": "", "lon": "",
            "reporting_period_s": "300", "entity": PARKING, "commands": "[]", "command_url": "https://gate.example/cmd"}  # fmt: skip
    answer = client.post(f"{MANAGE}/{APPROVAL_IS}/devices/gate-1", data=form)
    assert answer.status_code == 303, answer.text
    device = site.device("gate-1")
    assert (device.name, device.reporting_period_s, device.commands, device.command_url) == ("Main gate", 300, [], "https://gate.example/cmd")
    assert site.audited("device.updated") == 1


@pytest.mark.parametrize(
    "fields, status, message",
    [
        ({"commands": json.dumps([{"name": "seats", "parameters": {"type": "wrong"}}])}, 422, "not a valid JSON Schema"),
        ({"commands": "[{"}, 422, "Commands: not JSON"),
        ({"lat": "95", "lon": "2"}, 422, "Location: give both"),
        ({"lat": "41.3", "lon": ""}, 422, "Location: give both"),
        ({"local_id": "gate-1"}, 409, "already has a device"),
        ({"entity": "urn:ngsi-ld:OffStreetParking:beta:nope"}, 422, "Entity: alpha/parking has no entity"),
        ({"command_url": "ftp://gate.example"}, 422, "Command URL"),
    ],
)
def test_a_refused_device_writes_nothing(site: Site, fields, status, message):
    client = site.client("owning_city_admin")
    form = device_form(client, **{"entity": "new:OffStreetParking", **fields})
    before = site.rows()
    answer = client.post(f"{MANAGE}/{APPROVAL_IS}/devices", data=form)
    assert answer.status_code == status
    assert 'data-testid="form-errors"' in answer.text and message in answer.text.replace("&#39;", "'")
    assert 'value="North gate"' in answer.text  # what was typed is kept
    assert site.rows() == before


def test_a_device_form_without_its_csrf_token_is_refused(site: Site):
    client = site.client("owning_city_admin")
    form = device_form(client)
    before = site.rows()
    assert client.post(f"{MANAGE}/{APPROVAL_IS}/devices", data={**form, "csrf_token": "forged"}).status_code == 403
    assert client.post(f"{MANAGE}/{APPROVAL_IS}/devices/gate-1", data={k: v for k, v in form.items() if k != "csrf_token"}).status_code == 403
    assert site.rows() == before


def test_others_cannot_add_a_device(site: Site):
    mine = device_form(site.client("owning_city_admin"))
    client = site.client("other_city_admin")
    page = client.get("/manage")
    before = site.rows()
    answer = client.post(f"{MANAGE}/{APPROVAL_IS}/devices", data={**mine, "csrf_token": csrf(page.text)})
    assert answer.status_code == 403
    assert site.rows() == before


# ---- provider tokens


def test_issuing_a_token_shows_its_secret_once_with_the_lines_that_push_with_it(site: Site):
    client = site.client("owning_city_admin")
    issued_before = site.audited("provider_token.created")  # the world's own token
    page = issue(site, client, provider=str(site.world.ids["gate_provider"]), name="north gateway")
    token = re.search(r'value="(icp_[^"]+)" data-testid="new-token-value"', page).group(1)
    curl = re.search(r'data-testid="curl-line"><code>(.*?)</code>', page, re.S).group(1)
    assert f"/api/v1/information-systems/{APPROVAL_IS}/observations" in curl and token in curl
    assert '"device": "gate-1"' in curl.replace("&#34;", '"')  # the IS's device (its entity has no numeric value yet)
    with new_session(site.url) as session:
        stored = session.scalar(select(ProviderToken).where(ProviderToken.name == "north gateway"))
        assert stored is not None and stored.revoked_at is None
    assert site.audited("provider_token.created") == issued_before + 1
    listed = client.get(f"{MANAGE}/{APPROVAL_IS}/provider-tokens")
    assert stored.prefix in listed.text and token not in listed.text  # never shown again


def test_a_token_for_a_new_provider(site: Site):
    page = issue(site, site.client("owner_admin"), OWNER_IS, provider_name="GridCo field team")
    assert 'data-testid="new-token"' in page and "&lt;device&gt;" in page  # no device yet: placeholders


def test_a_token_needs_a_provider(site: Site):
    client = site.client("owner_admin")
    page = client.get(f"{MANAGE}/{OWNER_IS}/provider-tokens")
    before = site.rows()
    answer = client.post(f"{MANAGE}/{OWNER_IS}/provider-tokens", data={"csrf_token": csrf(page.text), "provider_name": " "})
    assert answer.status_code == 400 and 'data-testid="token-error"' in answer.text
    assert site.rows() == before


def test_revoking_a_token(site: Site):
    client = site.client("owning_city_admin")
    token_id = site.world.ids["provider_token"]
    page = client.get(f"{MANAGE}/{APPROVAL_IS}/provider-tokens")
    answer = client.post(f"{MANAGE}/{APPROVAL_IS}/provider-tokens/{token_id}/revoke", data={"csrf_token": csrf(page.text)})
    assert answer.status_code == 303 and answer.headers["location"].endswith("?done=revoked")
    with new_session(site.url) as session:
        assert session.get(ProviderToken, token_id).revoked_at is not None
    assert site.audited("provider_token.revoked") == 1


def test_others_cannot_issue_or_revoke_tokens_nor_without_csrf(site: Site):
    token_id = site.world.ids["provider_token"]
    client = site.client("other_city_admin")
    token = csrf(client.get("/manage").text)
    before = site.rows()
    assert client.post(f"{MANAGE}/{APPROVAL_IS}/provider-tokens", data={"csrf_token": token, "provider_name": "x"}).status_code == 403
    assert client.post(f"{MANAGE}/{APPROVAL_IS}/provider-tokens/{token_id}/revoke", data={"csrf_token": token}).status_code == 403
    mine = site.client("owning_city_admin")
    assert mine.post(f"{MANAGE}/{APPROVAL_IS}/provider-tokens/{token_id}/revoke", data={"csrf_token": "forged"}).status_code == 403
    assert site.rows() == before


def test_the_mqtt_line_shown_pushes_over_the_real_broker(site: Site, monkeypatch):
    """With ICITY_MQTT_URL set, the page's mosquitto_pub line (run by the shell, as shown) reaches
    the platform's MQTT consumer on this machine's Mosquitto and the device is heard."""
    monkeypatch.setenv("ICITY_MQTT_URL", "mqtt://127.0.0.1:1883")
    get_settings.cache_clear()
    try:
        page = issue(site, site.client("owning_city_admin"), provider=str(site.world.ids["gate_provider"]))
    finally:
        monkeypatch.delenv("ICITY_MQTT_URL")
        get_settings.cache_clear()
    line = html.unescape(re.search(r'data-testid="mqtt-line"><code>(.*?)</code>', page, re.S).group(1))
    assert "-h 127.0.0.1 -p 1883 -V 5 -q 1" in line and f"-t icity/{APPROVAL_IS}/gate-1/attrs" in line
    consumer = MqttIngest("mqtt://127.0.0.1:1883", site.url, share_group=None)  # every message, whoever else listens
    consumer.start()
    try:
        assert consumer.wait_subscribed(10), "no MQTT broker answers on 127.0.0.1:1883: start Mosquitto"
        sent = subprocess.run(["bash", "-c", line], capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 20
        while site.device("gate-1").last_seen_at is None and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        consumer.stop()
    assert site.device("gate-1").last_seen_at is not None and consumer.stats["stored"] == 1
