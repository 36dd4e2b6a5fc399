"""Device commands delivered for real: over MQTT through the real Mosquitto on 127.0.0.1:1883 to a
paho "device" that answers on …/cmdexe, and over HTTP to a device endpoint served on 127.0.0.1.

Each MQTT test uses a topic prefix of its own, so parallel runs never see each other's messages."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import delete, func, select

from icity.config import get_settings
from icity.db.engine import new_session, transaction
from icity.db.models import AccessRequest, AuditEvent, Command, Device, InformationSystem
from icity.errors import ICityError
from icity.realtime.mqtt import publish_properties
from icity.services import commands, provider_tokens
from icity.services.access import CLI
from icity.services.authentication import principal_of_app
from icity.services.command_dispatcher import CommandDispatcher
from tests.world import APPROVAL_IS, GATE_OPEN, build_world

pytestmark = pytest.mark.postgres_ok

BROKER = "mqtt://127.0.0.1:1883"


@pytest.fixture(scope="module", autouse=True)
def broker() -> None:
    """The real Mosquitto of this machine: a missing broker fails, it is not skipped."""
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        pytest.fail("no MQTT broker answers on 127.0.0.1:1883: start Mosquitto (`mosquitto -d`)")


@pytest.fixture
def world(network_copy: str) -> dict[str, Any]:
    """The matrix world (gate-1 of alpha/parking accepts `open`; the granted app holds a grant)
    with a provider token whose secret the device replies with."""
    with transaction(network_copy) as session:
        built = build_world(session)
        token = provider_tokens.create_token(session, CLI, APPROVAL_IS, built.ids["gate_provider"], "gate")["token"]
        app = principal_of_app(session, built.ids["app_g"])
        session.execute(delete(Command))  # the world's own command: each test sends its own
    return {"url": network_copy, "token": token, "app": app, "ids": built.ids}


def send(url: str, principal, name: str = "open", parameters: dict | None = None, **options) -> dict:
    parameters = {"seconds": 5} if parameters is None else parameters
    with transaction(url) as session:
        return commands.send(session, principal, APPROVAL_IS, "gate-1", name, parameters, **options)


def command_row(url: str, command_id: int) -> Command:
    with new_session(url) as session:
        return session.get(Command, command_id)


def wait_until(condition: Callable[[], object], timeout_s: float = 15.0, what: Callable[[], str] | None = None) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout_s} s" + (f": {what()}" if what else ""))


# --- over MQTT ---------------------------------------------------------------------------


class GateDevice:
    """The barrier's controller: takes commands on …/gate-1/cmd and answers with `answer(command)`."""

    def __init__(self, prefix: str, token: str | None, answer: Callable[[dict], dict | None]) -> None:
        self.base = f"{prefix}/{APPROVAL_IS}/gate-1"
        self.token = token
        self.answer = answer
        self.received: list[dict] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda client, *_: client.subscribe(f"{self.base}/cmd", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_command
        self.client.connect("127.0.0.1", 1883)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the device did not subscribe"

    def _on_command(self, _client, _userdata, message) -> None:
        command = orjson.loads(message.payload)
        self.received.append(command)
        reply = self.answer(command)
        if reply is not None:
            self.reply(reply)

    def reply(self, payload: dict | bytes, token: str | None = None) -> None:
        token = token or self.token
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        properties = publish_properties(token) if token else None
        self.client.publish(f"{self.base}/cmdexe", body, qos=1, properties=properties)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def over_mqtt(world) -> Iterator[Callable[..., tuple[CommandDispatcher, GateDevice]]]:
    """Start a dispatcher and a device under a fresh topic prefix; both stopped afterwards."""
    started: list[tuple[CommandDispatcher, GateDevice]] = []

    def start(answer: Callable[[dict], dict | None], token: str | None = world["token"]) -> tuple[CommandDispatcher, GateDevice]:
        prefix = f"icity-test-{uuid.uuid4().hex[:10]}"
        dispatcher = CommandDispatcher(world["url"], BROKER, prefix=prefix, poll_s=0.1)
        dispatcher.start()
        assert dispatcher.wait_subscribed(10), "the dispatcher did not subscribe to …/cmdexe"
        device = GateDevice(prefix, token, answer)
        started.append((dispatcher, device))
        return dispatcher, device

    yield start
    for dispatcher, device in started:
        device.close()
        dispatcher.stop()


def test_a_command_goes_to_the_device_over_mqtt_and_its_reply_acknowledges_it(world, over_mqtt):
    dispatcher, device = over_mqtt(lambda command: {"open": "opened for 5 s", "commandId": command["commandId"]})
    sent = send(world["url"], world["app"])
    assert sent["status"] == "pending" and sent["app"] == world["ids"]["app_g"]

    done = wait_until(lambda: (row := command_row(world["url"], sent["id"])).status == "acknowledged" and row)
    # IoT Agent JSON style: the command's name → its parameters, and the id to answer with
    assert device.received == [{"open": {"seconds": 5}, "commandId": sent["id"]}]
    assert done.result == "opened for 5 s" and done.error is None
    assert done.created_at <= done.sent_at <= done.completed_at < done.expires_at
    assert dispatcher.stats["acknowledged"] == 1


def test_a_reply_without_command_id_answers_the_oldest_sent_command_of_that_name(world, over_mqtt):
    dispatcher, device = over_mqtt(lambda command: None)  # answers later, by hand
    first, second = send(world["url"], world["app"]), send(world["url"], world["app"], parameters={"seconds": 9})
    wait_until(lambda: all(command_row(world["url"], c["id"]).status == "sent" for c in (first, second)))

    device.reply({"open": "done"})
    wait_until(lambda: command_row(world["url"], first["id"]).status == "acknowledged")
    assert command_row(world["url"], second["id"]).status == "sent"
    device.reply({"open": "done too"})
    wait_until(lambda: command_row(world["url"], second["id"]).status == "acknowledged")
    assert command_row(world["url"], second["id"]).result == "done too"


def test_a_reply_naming_an_error_fails_the_command(world, over_mqtt):
    answers = iter([{"error": "the barrier is jammed"}, {"open": {"error": "no power"}}])
    over_mqtt(lambda command: {**next(answers), "commandId": command["commandId"]})
    sent = send(world["url"], world["app"])
    failed = wait_until(lambda: (row := command_row(world["url"], sent["id"])).status == "failed" and row)
    assert failed.error == "the barrier is jammed"

    sent = send(world["url"], world["app"])
    failed = wait_until(lambda: (row := command_row(world["url"], sent["id"])).status == "failed" and row)
    assert failed.error == "no power" and failed.result == {"error": "no power"}


def test_replies_without_a_valid_token_of_the_is_are_refused_and_counted_on_the_device(world, over_mqtt):
    dispatcher, device = over_mqtt(lambda command: None)
    sent = send(world["url"], world["app"])
    wait_until(lambda: command_row(world["url"], sent["id"]).status == "sent")

    device.reply({"open": "forged", "commandId": sent["id"]}, token="icp_not-a-real-token")
    device.token = None
    device.reply({"open": "anonymous", "commandId": sent["id"]})
    wait_until(lambda: dispatcher.stats["replies_rejected"] == 2, what=lambda: str(dispatcher.stats))
    assert command_row(world["url"], sent["id"]).status == "sent"  # still waiting for its real answer
    with new_session(world["url"]) as session:
        gate = session.scalar(select(Device).where(Device.local_id == "gate-1"))
    assert gate.rejected_messages == 2 and gate.last_rejection.startswith("command reply: no provider token")


def test_replies_that_answer_no_waiting_command_change_nothing(world, over_mqtt):
    dispatcher, device = over_mqtt(lambda command: {"open": "ok", "commandId": command["commandId"]})
    sent = send(world["url"], world["app"])
    wait_until(lambda: command_row(world["url"], sent["id"]).status == "acknowledged")
    device.reply({"open": "again", "commandId": sent["id"]})  # answered already
    device.reply({"close": "?"})  # nothing of that name is waiting
    device.reply(b"not json")
    wait_until(lambda: dispatcher.stats["replies_rejected"] == 3, what=lambda: str(dispatcher.stats))
    assert command_row(world["url"], sent["id"]).result == "ok"


# --- over HTTP ---------------------------------------------------------------------------


class DeviceEndpoint:
    """A device's HTTP command endpoint on 127.0.0.1: answers each POST with the next of `answers`
    (status, JSON body); the last one repeats."""

    def __init__(self, answers: list[tuple[int, Any]]) -> None:
        self.answers = answers
        self.received: list[dict] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                endpoint.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                status, body = endpoint.answers[min(len(endpoint.received), len(endpoint.answers)) - 1]
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/commands"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint(private_networks) -> Iterator[Callable[[list[tuple[int, Any]]], DeviceEndpoint]]:
    made: list[DeviceEndpoint] = []

    def make(answers: list[tuple[int, Any]]) -> DeviceEndpoint:
        made.append(DeviceEndpoint(answers))
        return made[-1]

    yield make
    for server in made:
        server.close()


def over_http(url: str, command_url: str | None) -> None:
    with transaction(url) as session:
        commands.declare(session, CLI, APPROVAL_IS, "gate-1", [GATE_OPEN], command_url)


@pytest.fixture
def dispatcher(world, private_networks) -> Iterator[CommandDispatcher]:
    """A dispatcher without a broker, driven by run_once (the devices' endpoints are on 127.0.0.1)."""
    made = CommandDispatcher(world["url"], http_timeout_s=2)
    yield made
    made.stop()


def test_a_command_posted_to_the_device_endpoint_is_acknowledged_with_its_answer(world, endpoint, dispatcher):
    device = endpoint([(200, {"opened": True})])
    over_http(world["url"], device.url)
    sent = send(world["url"], world["app"])
    dispatcher.run_once()
    assert device.received == [{"id": sent["id"], "command": "open", "parameters": {"seconds": 5}}]
    done = command_row(world["url"], sent["id"])
    assert (done.status, done.result, done.attempts) == ("acknowledged", {"opened": True}, 1)
    assert done.sent_at is not None and done.completed_at is not None


def test_a_refusal_of_the_device_endpoint_fails_the_command_at_once(world, endpoint, dispatcher):
    device = endpoint([(409, {"detail": "the barrier is in maintenance"})])
    over_http(world["url"], device.url)
    sent = send(world["url"], world["app"])
    dispatcher.run_once()
    dispatcher.run_once()  # not tried again
    failed = command_row(world["url"], sent["id"])
    assert (failed.status, failed.error) == ("failed", "the device's endpoint answered 409")
    assert failed.result == {"detail": "the barrier is in maintenance"} and len(device.received) == 1


def test_a_failing_device_endpoint_is_tried_again_until_it_answers(world, endpoint, dispatcher):
    device = endpoint([(503, None), (200, None)])
    over_http(world["url"], device.url)
    sent = send(world["url"], world["app"])
    dispatcher.run_once()
    waiting = command_row(world["url"], sent["id"])
    assert (waiting.status, waiting.error) == ("pending", "the device's endpoint answered 503")
    dispatcher.run_once()  # the retry is not due yet (1 s)
    assert len(device.received) == 1
    time.sleep(1.1)
    dispatcher.run_once()
    done = command_row(world["url"], sent["id"])
    assert (done.status, done.result, done.error, done.attempts) == ("acknowledged", None, None, 2)


def test_an_endpoint_that_never_answers_leaves_the_command_to_expire(world, dispatcher):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # closed when the block ends: nothing listens there
    over_http(world["url"], f"http://127.0.0.1:{port}/commands")
    sent = send(world["url"], world["app"], expires_in_s=1)
    dispatcher.run_once()
    assert command_row(world["url"], sent["id"]).error.startswith(f"no answer from http://127.0.0.1:{port}/commands")
    time.sleep(1.1)
    dispatcher.run_once()
    expired = command_row(world["url"], sent["id"])
    assert expired.status == "expired" and expired.error == "not delivered to the device before it expired"


def test_commands_no_one_delivers_or_answers_expire(world, dispatcher):
    pending = send(world["url"], world["app"], expires_in_s=1)  # gate-1 is reached over MQTT; no broker here
    with transaction(world["url"]) as session:
        session.get(Command, pending["id"]).status = "sent"  # as if the device had got it and kept silent
    later = send(world["url"], world["app"], expires_in_s=60)
    time.sleep(1.1)
    dispatcher.run_once()
    assert command_row(world["url"], pending["id"]).status == "expired"
    assert command_row(world["url"], pending["id"]).error == "the device did not answer before it expired"
    assert command_row(world["url"], later["id"]).status == "pending"


def test_two_dispatchers_deliver_each_command_once(world, endpoint):
    device = endpoint([(200, None)])
    over_http(world["url"], device.url)
    sent = [send(world["url"], world["app"], parameters={"seconds": n}) for n in range(1, 11)]
    first, second = CommandDispatcher(world["url"]), CommandDispatcher(world["url"])
    try:
        for _ in range(3):  # each takes up to 8 (its free HTTP slots) a round; what one took, the other does not
            runs = [threading.Thread(target=dispatcher.run_once) for dispatcher in (first, second)]
            for run in runs:
                run.start()
            for run in runs:
                run.join()
    finally:
        first.stop()
        second.stop()
    assert sorted(body["id"] for body in device.received) == [c["id"] for c in sent]


# --- the rules -----------------------------------------------------------------------------


def test_parameters_breaking_the_declared_schema_are_refused_with_each_path_and_nothing_is_written(world):
    with transaction(world["url"]) as session:
        commands.declare(session, CLI, APPROVAL_IS, "gate-1", [{
            "name": "display",
            "parameters": {
                "type": "object",
                "properties": {
                    "lines": {"type": "array", "items": {"type": "string", "maxLength": 16}},
                    "colour": {"enum": ["red", "green"]},
                },
                "required": ["lines", "colour"],
                "additionalProperties": False,
            },
        }], None)  # fmt: skip
    with new_session(world["url"]) as session:
        before = session.scalar(select(func.count()).select_from(Command))
    with pytest.raises(ICityError) as refused:
        send(world["url"], world["app"], "display", {"lines": ["Free: 12", "this line is far too long"], "blink": True})
    assert refused.value.status == 422
    assert [(p.path, p.detail) for p in refused.value.errors] == [
        ("parameters", "'colour' is a required property"),
        ("parameters", "Additional properties are not allowed ('blink' was unexpected)"),
        ("parameters.lines[1]", "'this line is far too long' is too long"),
    ]
    with pytest.raises(ICityError) as refused:
        send(world["url"], world["app"], "launch")
    assert (refused.value.status, refused.value.errors[0].path) == (422, "command")
    assert "it accepts: display" in refused.value.detail
    with new_session(world["url"]) as session:
        assert session.scalar(select(func.count()).select_from(Command)) == before


def test_only_apps_holding_a_grant_send_commands_whatever_the_policy(world):
    with transaction(world["url"]) as session:
        session.get(InformationSystem, APPROVAL_IS).access_policy = "public"
        no_grant = principal_of_app(session, world["ids"]["app_n"])
    with pytest.raises(ICityError) as refused:
        send(world["url"], no_grant)  # it reads the public IS, but may not drive its devices
    assert (refused.value.status, refused.value.code) == (403, "no-grant")


def test_declarations_are_checked_as_json_schemas(world):
    bad = [
        {"name": "open", "parameters": {"type": "object", "properties": {"seconds": {"type": "integr"}}}},
        {"name": "open", "parameters": {"type": "array"}},
        {"name": "commandId"},
        {"name": "fetch", "parameters": {"$ref": "https://example.org/schema.json"}},
    ]
    with transaction(world["url"]) as session, pytest.raises(ICityError) as refused:
        commands.declare(session, CLI, APPROVAL_IS, "gate-1", bad, "ftp://gate.example/")
    assert [p.path for p in refused.value.errors] == [
        "commands[0].parameters.properties.seconds.type",
        "commands[1].name",
        "commands[1].parameters.type",
        "commands[2].name",
        "commands[3].parameters",
        "commandUrl",
    ]
    with transaction(world["url"]) as session:
        declared = commands.declare(session, CLI, APPROVAL_IS, "gate-1", [{"name": "restart"}], "https://gate.example/cmd")
        audited = session.scalar(select(AuditEvent).where(AuditEvent.action == "device.commands_declared"))
    assert declared["commands"] == [{"name": "restart", "parameters": {"type": "object"}}]
    assert declared["commandUrl"] == "https://gate.example/cmd"
    assert audited.details == {"commands": ["restart"], "commandUrl": "https://gate.example/cmd"}


def test_a_command_of_an_app_whose_grant_was_revoked_is_not_delivered(world, endpoint, dispatcher):
    device = endpoint([(200, None)])
    over_http(world["url"], device.url)
    sent = send(world["url"], world["app"])
    with transaction(world["url"]) as session:
        session.get(AccessRequest, world["ids"]["grant"]).status = "revoked"
    dispatcher.run_once()
    refused = command_row(world["url"], sent["id"])
    assert (refused.status, refused.error) == ("failed", "the app's access to alpha/parking was revoked before it was delivered")
    assert device.received == [] and refused.sent_at is None


def test_a_command_url_on_a_private_address_is_refused_when_declared_and_not_called_when_sent(
    world, endpoint, dispatcher, monkeypatch
):
    device = endpoint([(200, None)])
    over_http(world["url"], device.url)  # allowed while ICITY_WEBHOOK_PRIVATE_NETWORKS is set
    monkeypatch.setenv("ICITY_WEBHOOK_PRIVATE_NETWORKS", "false")  # as if DNS now answered 127.0.0.1
    get_settings.cache_clear()
    sent = send(world["url"], world["app"])
    dispatcher.run_once()
    waiting = command_row(world["url"], sent["id"])
    assert waiting.status == "pending" and waiting.error.startswith("not sent: 127.0.0.1 is a private, loopback")
    assert device.received == []
    for url in (device.url, "http://169.254.169.254/latest/meta-data/", "http://localhost/commands"):
        with pytest.raises(ICityError) as refused:
            over_http(world["url"], url)
        assert refused.value.status == 422 and [e.path for e in refused.value.errors] == ["commandUrl"]
