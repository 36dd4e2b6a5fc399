"""A command sent from a device's commands page in a real browser, on the demo network: Barcelona's
operator sends `setReportingPeriod` to a noise meter with the form generated from its JSON Schema;
the command dispatcher publishes it to the real Mosquitto (127.0.0.1:1883), the meter — simulated
by the test over MQTT — answers on …/cmdexe with a provider token of the IS, and the page, which
polls its JSON view, shows the command acknowledged without being reloaded.

The live server runs no background task: the test starts a command dispatcher itself, as
`icity serve` does (icity/background.py), under a topic prefix of its own."""

from __future__ import annotations

import re
import socket
import threading
import uuid
from collections.abc import Iterator

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Page, expect
from sqlalchemy import select

from icity.db.engine import new_session, transaction
from icity.db.models import Command, Device
from icity.realtime.mqtt import publish_properties
from icity.services import provider_tokens
from icity.services.access import CLI
from icity.services.command_dispatcher import CommandDispatcher
from tests.web.conftest import shoot
from tests.web.test_accessibility import violations
from tests.web.test_app_journeys import sign_in
from tests.web.test_city_admin_journeys import city_admin

SYSTEM = "barcelona/noise"
BROKER = "mqtt://127.0.0.1:1883"


class NoiseMeter:
    """A sound level meter on the broker: takes commands on …/<device>/cmd, answers each on …/cmdexe."""

    def __init__(self, prefix: str, device: str, token: str) -> None:
        self.base = f"{prefix}/{SYSTEM}/{device}"
        self.token = token
        self.received: list[dict] = []
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda client, *_: client.subscribe(f"{self.base}/cmd", qos=1)
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.on_message = self._on_command
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert subscribed.wait(10), "the meter did not subscribe"

    def _on_command(self, _client, _userdata, message) -> None:
        command = orjson.loads(message.payload)
        self.received.append(command)
        seconds = command["setReportingPeriod"]["seconds"]
        reply = {"setReportingPeriod": {"reportingPeriodS": seconds}, "commandId": command["commandId"]}
        self.client.publish(f"{self.base}/cmdexe", orjson.dumps(reply), qos=1, properties=publish_properties(self.token))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def meter(live_server) -> Iterator[tuple[str, NoiseMeter]]:
    """A noise meter of Barcelona simulated over MQTT, and a dispatcher serving the live server's database."""
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        pytest.fail("no MQTT broker answers on 127.0.0.1:1883: start Mosquitto (`mosquitto -d`)")
    with transaction(live_server.database_url) as session:
        device = session.scalars(select(Device).where(Device.information_system_id == SYSTEM).order_by(Device.local_id)).first()
        token = provider_tokens.create_token(session, CLI, SYSTEM, device.provider_id, "meter")["token"]
        local_id = device.local_id
    prefix = f"icity-test-{uuid.uuid4().hex[:10]}"
    dispatcher = CommandDispatcher(live_server.database_url, BROKER, prefix=prefix, poll_s=0.2)
    dispatcher.start()
    assert dispatcher.wait_subscribed(10), "the dispatcher did not subscribe to …/cmdexe"
    simulated = NoiseMeter(prefix, local_id, token)
    yield local_id, simulated
    simulated.close()
    dispatcher.stop()


def test_a_command_sent_from_the_page_is_followed_to_acknowledged(live_server, page: Page, meter):
    local_id, simulated = meter
    city_admin(live_server.database_url, "sensors@barcelona.example", "barcelona")
    path = f"/manage/information-systems/{SYSTEM}/devices/{local_id}/commands"
    sign_in(page, live_server.url, "sensors@barcelona.example", path)
    expect(page.get_by_test_id("no-history")).to_be_visible()
    assert violations(page) == []

    form = page.locator("form[data-command=setReportingPeriod]")
    seconds = form.get_by_label(re.compile(r"^seconds"))
    expect(seconds).to_have_attribute("min", "60")
    seconds.fill("30")  # below the schema's minimum: the browser's own check says so first
    form.get_by_role("button", name="Send setReportingPeriod").click()
    expect(page.get_by_test_id("no-history")).to_be_visible()  # nothing sent
    seconds.fill("300")
    form.get_by_role("button", name="Send setReportingPeriod").click()
    expect(page).to_have_url(re.compile(re.escape(path) + r"\?done=sent#history$"))

    row = page.locator("tr[data-command-id]").first
    expect(row.get_by_test_id("command-status")).to_have_text("acknowledged", timeout=20_000)  # no reload
    expect(row.get_by_test_id("command-answer")).to_contain_text('"reportingPeriodS":300')
    assert simulated.received[0]["setReportingPeriod"] == {"seconds": 300}
    assert violations(page) == []
    shoot(page, "device-commands-acknowledged")
    with new_session(live_server.database_url) as session:
        command = session.scalars(select(Command)).one()
        assert (command.name, command.parameters, command.status, command.app_id) == (
            "setReportingPeriod", {"seconds": 300}, "acknowledged", None,
        )  # fmt: skip
