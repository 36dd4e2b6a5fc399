"""Device commands through the API: the city declares what a device accepts, an app with a grant
sends one (202 and its URL), follows it to its end; bad parameters are refused with every path
and write nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from icity.app import create_app
from icity.db.engine import new_session, transaction
from icity.db.models import Command, Device, InformationSystem
from icity.services.command_dispatcher import CommandDispatcher
from tests.services.test_commands import DeviceEndpoint
from tests.world import GATE_OPEN, World, build_world

pytestmark = pytest.mark.postgres_ok

GATE = "/api/v1/information-systems/alpha/parking/devices/gate-1"


@pytest.fixture
def world(network_copy: str) -> Iterator[tuple[TestClient, World, str]]:
    with transaction(network_copy) as session:
        built = build_world(session)
    yield TestClient(create_app(network_copy)), built, network_copy


def granted(world) -> dict[str, str]:
    return world[1].keys["granted"]


def send(client: TestClient, headers: dict[str, str], body: dict[str, Any], device: str = GATE):
    return client.post(f"{device}/commands", json=body, headers=headers)


OPEN = {"command": "open", "parameters": {"seconds": 1}}


def commands_stored(url: str) -> int:
    with new_session(url) as session:
        return session.scalar(select(func.count()).select_from(Command))


def test_an_app_with_a_grant_sends_a_command_and_follows_it(world):
    client, built, url = world
    sent = send(client, granted(world), {"command": "open", "parameters": {"seconds": 10}, "expiresInS": 120})
    assert sent.status_code == 202, sent.text
    body = sent.json()
    assert sent.headers["location"] == f"{GATE}/commands/{body['id']}"
    assert {k: body[k] for k in ("command", "parameters", "status", "app", "device", "informationSystem")} == {
        "command": "open", "parameters": {"seconds": 10}, "status": "pending", "app": built.ids["app_g"],
        "device": "gate-1", "informationSystem": "alpha/parking",
    }  # fmt: skip
    assert client.get(sent.headers["location"], headers=granted(world)).json() == body

    listed = client.get(f"{GATE}/commands", headers=granted(world)).json()
    assert [c["id"] for c in listed["items"]] == [body["id"], built.ids["command"]]  # newest first
    assert client.get(f"{GATE}/commands", params={"status": "acknowledged"}, headers=granted(world)).json()["items"] == []
    # the city's admins see every command of their devices; another organisation's app sees none of them
    admin = built.sessions["owning_city_admin"]
    assert len(client.get(f"{GATE}/commands", headers=admin).json()["items"]) == 2
    with transaction(url) as session:
        session.get(InformationSystem, "alpha/parking").access_policy = "public"
    other = built.keys["developer"]
    assert client.get(f"{GATE}/commands", headers=other).json()["items"] == []
    assert client.get(sent.headers["location"], headers=other).status_code == 404


def test_the_command_reaches_the_device_endpoint_and_its_answer_shows(world, private_networks):
    client, built, url = world
    device = DeviceEndpoint([(200, {"open": True})])
    try:
        admin = built.sessions["owning_city_admin"]
        declared = client.put(f"{GATE}/commands", json={"commands": [GATE_OPEN], "commandUrl": device.url}, headers=admin)
        assert declared.status_code == 200, declared.text
        assert declared.json()["commandUrl"] == device.url
        location = send(client, granted(world), OPEN).headers["location"]
        dispatcher = CommandDispatcher(url)
        try:
            dispatcher.run_once()
        finally:
            dispatcher.stop()
    finally:
        device.close()
    done = client.get(location, headers=granted(world)).json()
    assert (done["status"], done["result"], done["attempts"]) == ("acknowledged", {"open": True}, 1)


def test_parameters_are_checked_against_the_declared_schema_and_nothing_is_written(world):
    client, _, url = world
    before = commands_stored(url)
    refused = send(client, granted(world), {"command": "open", "parameters": {"seconds": "ten"}})
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"] == [{"path": "parameters.seconds", "detail": "'ten' is not of type 'integer'"}]
    refused = send(client, granted(world), {"command": "open", "parameters": {}})
    assert refused.json()["errors"] == [{"path": "parameters", "detail": "'seconds' is a required property"}]
    unknown = send(client, granted(world), {"command": "selfDestruct"})
    assert (unknown.status_code, unknown.json()["param"]) == (422, "command")
    too_long = send(client, granted(world), {**OPEN, "expiresInS": 86_401})
    assert (too_long.status_code, too_long.json()["param"]) == (400, "expiresInS")
    assert commands_stored(url) == before


def test_without_a_grant_an_app_may_not_command_even_a_public_system(world):
    client, built, url = world
    with transaction(url) as session:
        session.get(InformationSystem, "alpha/parking").access_policy = "public"
    refused = send(client, built.keys["developer"], OPEN)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/no-grant")
    # the granted developer too, through a session rather than the app's key
    by_session = send(client, built.sessions["granted"], OPEN)
    assert by_session.status_code == 403
    assert send(client, {}, OPEN).status_code == 401


def test_declarations_are_json_schemas_shown_with_the_device(world):
    client, built, _ = world
    admin = built.sessions["owning_city_admin"]
    bad = {"name": "open", "parameters": {"type": "object", "required": "seconds"}}
    refused = client.put(f"{GATE}/commands", json={"commands": [bad], "commandUrl": None}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "commands[0].parameters.required"
    schema = {"type": "object", "properties": {"s": {"type": "integer"}}}
    setting = {"name": "setPeriod", "description": "Seconds between counts", "parameters": schema}
    assert client.put(f"{GATE}/commands", json={"commands": [setting]}, headers=admin).status_code == 200
    devices = client.get("/api/v1/information-systems/alpha/parking/devices", headers=granted(world)).json()["items"]
    assert devices[0]["commands"] == [setting] and devices[0]["commandUrl"] is None
    not_admin = client.put(f"{GATE}/commands", json={"commands": []}, headers=built.sessions["other_city_admin"])
    assert not_admin.status_code == 403


def test_an_unknown_device_is_404(world):
    client, _, _ = world
    assert send(client, granted(world), OPEN, device=GATE.replace("gate-1", "gate-9")).status_code == 404
    assert client.get(f"{GATE}/commands/999999", headers=granted(world)).status_code == 404


def test_a_developer_of_the_organisation_sees_its_apps_commands_through_a_session(world):
    client, built, _ = world
    listed = client.get(f"{GATE}/commands", headers=built.sessions["granted"])
    assert [c["id"] for c in listed.json()["items"]] == [built.ids["command"]]


def test_a_running_dispatcher_is_woken_by_the_new_command(world, private_networks):
    client, built, url = world
    device = DeviceEndpoint([(204, None)])
    dispatcher = CommandDispatcher(url, poll_s=30)  # only the wake-up after the commit can be this quick
    dispatcher.start()
    try:
        admin = built.sessions["owning_city_admin"]
        client.put(f"{GATE}/commands", json={"commands": [GATE_OPEN], "commandUrl": device.url}, headers=admin)
        location = send(client, granted(world), OPEN).headers["location"]
        deadline = time.monotonic() + 5
        while client.get(location, headers=granted(world)).json()["status"] != "acknowledged":
            assert time.monotonic() < deadline, "the dispatcher was not woken"
            time.sleep(0.05)
    finally:
        dispatcher.stop()
        device.close()


@pytest.mark.parametrize("policy", ["registered", "public"])
def test_an_app_asks_for_the_commands_of_an_open_system_and_sends_them_once_approved(world, policy):
    client, built, url = world
    with transaction(url) as session:
        session.get(InformationSystem, "alpha/parking").access_policy = policy
    assert send(client, built.keys["developer"], OPEN).json()["type"].endswith("/no-grant")
    asked = client.post(
        "/api/v1/access-requests",
        json={"app": built.ids["app_n"], "informationSystem": "alpha/parking", "purpose": "Open the gate for our members."},
        headers=built.sessions["developer"],
    )
    assert asked.status_code == 201, asked.text
    approved = client.post(f"/api/v1/access-requests/{asked.json()['id']}/approve", headers=built.sessions["owning_city_admin"])
    assert approved.status_code == 200, approved.text
    assert send(client, built.keys["developer"], OPEN).status_code == 202


def test_a_request_for_an_open_system_without_commands_is_still_refused(world):
    client, built, url = world
    with transaction(url) as session:
        session.get(InformationSystem, "alpha/parking").access_policy = "registered"
        for device in session.scalars(select(Device).where(Device.information_system_id == "alpha/parking")):
            device.commands = []
    refused = client.post(
        "/api/v1/access-requests",
        json={"app": built.ids["app_n"], "informationSystem": "alpha/parking", "purpose": "Free spaces near you."},
        headers=built.sessions["developer"],
    )
    assert refused.status_code == 409 and "none of its devices accepts commands" in refused.json()["detail"]
