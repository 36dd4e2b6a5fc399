"""A device's commands page over HTTP (no browser), on the matrix world (gate-1 of alpha/parking
accepts `open` and, here, `mode`): the IS's managers see its declared commands, each as a form
generated from its JSON Schema, and its history; a form sends what it says through
services/commands.send (audited); parameters breaking the schema re-render with each field's
problem and send nothing; others and forms without this browser's CSRF token are refused. The
browser journey (the command followed to acknowledged over MQTT) is in test_command_journeys.py."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from icity.db.engine import new_session, transaction
from icity.db.models import AuditEvent, Command
from icity.services import commands
from icity.services.access import CLI
from icity.web.schema_forms import fields_of, parameters_of
from tests.web.test_city_admin_pages import Site, csrf
from tests.world import APPROVAL_IS, GATE_OPEN, build_world

PAGE = f"/manage/information-systems/{APPROVAL_IS}/devices/gate-1/commands"
MODE = {
    "name": "mode",
    "description": "Set how the barrier works",
    "parameters": {
        "type": "object",
        "properties": {
            "mode": {"enum": ["auto", "manual", "closed"]},
            "label": {"type": "string", "maxLength": 20, "title": "Display text"},
            "level": {"type": "number", "minimum": 0, "maximum": 1},
            "lit": {"type": "boolean"},
        },
        "required": ["mode"],
    },
}


@pytest.fixture
def site(network_copy) -> Site:
    with transaction(network_copy) as session:
        world = build_world(session)
        commands.declare(session, CLI, APPROVAL_IS, "gate-1", [GATE_OPEN, MODE], None)
        session.execute(delete(Command))  # the world's own command: each test sends its own
    tokens = {role: headers["Authorization"].removeprefix("Bearer ") for role, headers in world.sessions.items()}
    return Site(network_copy, tokens, {})


def sent(url: str) -> list[tuple[str, dict, str, int | None]]:
    with new_session(url) as session:
        return [(c.name, c.parameters, c.status, c.app_id) for c in session.scalars(select(Command).order_by(Command.id))]


def test_the_form_follows_the_json_schema():
    fields = {field.name: field for field in fields_of(MODE["parameters"])}
    assert {name: (f.input, f.required) for name, f in fields.items()} == {
        "mode": ("select", True), "label": ("text", False), "level": ("number", False), "lit": ("checkbox", False),
    }  # fmt: skip
    assert (fields["level"].minimum, fields["level"].maximum, fields["label"].max_length, fields["label"].label) == (0, 1, 20, "Display text")
    posted = {"p.mode": "manual", "p.label": "", "p.level": "0.5"}
    assert parameters_of(MODE["parameters"], posted) == {"mode": "manual", "level": 0.5, "lit": False}
    assert parameters_of(GATE_OPEN["parameters"], {"p.seconds": "ten"}) == {"seconds": "ten"}  # the service names it


def test_the_page_is_for_those_who_manage_the_is(site):
    anonymous = site.client().get(PAGE, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/sign-in?next=")
    for who, status in {"developer": 403, "granted": 403, "other_city_admin": 403, "owner_admin": 403}.items():
        assert site.client(who).get(PAGE).status_code == status, who
    assert site.client("owning_city_admin").get(PAGE.replace("gate-1", "gate-9")).status_code == 404
    for who in ("owning_city_admin", "platform_admin"):
        page = site.client(who).get(PAGE)
        assert page.status_code == 200, who
        text = page.text
        assert 'data-command="open"' in text and 'data-command="mode"' in text
        assert re.search(r'<input id="c1-seconds" name="p.seconds" type="number" step="1" value="" min="1" max="60" required>', text)
        assert '<option value="manual"' in text and 'name="p.lit" value="true"' in text and 'maxlength="20"' in text
        assert 'data-testid="no-history"' in text
    assert site.client("developer").get(f"{PAGE}/history.json").status_code == 403


def test_a_command_sent_from_the_page_is_queued_audited_and_listed(site):
    admin = site.client("owning_city_admin")
    token = csrf(admin.get(PAGE).text)
    answer = admin.post(f"{PAGE}/mode", data={"csrf_token": token, "p.mode": "manual", "p.level": "0.25", "p.lit": "true"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"{PAGE}?done=sent#history"
    assert sent(site.url) == [("mode", {"mode": "manual", "level": 0.25, "lit": True}, "pending", None)]
    with new_session(site.url) as session:
        audited = select(AuditEvent.action).where(AuditEvent.action == "command.sent", AuditEvent.actor == "admin@alpha.example")
        assert session.scalars(audited).all() == ["command.sent"]
    page = admin.get(PAGE).text
    assert 'data-testid="command-status">pending<' in page and 'data-following="yes"' in page
    [listed] = admin.get(f"{PAGE}/history.json").json()["items"]
    assert (listed["command"], listed["status"], listed["parameters"]["mode"]) == ("mode", "pending", "manual")


@pytest.mark.parametrize(
    "name, form, message",
    [
        ("open", {"p.seconds": "90"}, "Parameters (seconds): 90 is greater than the maximum of 60"),
        ("open", {"p.seconds": "ten"}, "Parameters (seconds): &#39;ten&#39; is not of type &#39;integer&#39;"),
        ("open", {}, "&#39;seconds&#39; is a required property"),
        ("mode", {"p.mode": "sideways"}, "Parameters (mode): &#39;sideways&#39; is not one of"),
        ("fly", {}, "Command: gate-1 accepts no command &#39;fly&#39;"),
    ],
)
def test_parameters_breaking_the_schema_are_shown_by_field_and_nothing_is_sent(site, name, form, message):
    admin = site.client("owning_city_admin")
    token = csrf(admin.get(PAGE).text)
    before = site.rows()
    refused = admin.post(f"{PAGE}/{name}", data={"csrf_token": token, **form})
    assert refused.status_code == 422 and "Nothing was saved" in refused.text and message in refused.text, refused.text
    assert site.rows() == before


def test_others_and_forms_without_this_browsers_csrf_token_send_nothing(site):
    before = site.rows()
    other = site.client("other_city_admin")
    assert other.post(f"{PAGE}/open", data={"csrf_token": csrf(other.get("/manage").text), "p.seconds": "5"}).status_code == 403
    admin = site.client("owning_city_admin")
    for given in ({}, {"csrf_token": "forged"}, {"csrf_token": csrf(other.get("/manage").text)}):
        refused = admin.post(f"{PAGE}/open", data={**given, "p.seconds": "5"})
        assert refused.status_code == 403 and "Form expired" in refused.text, given
    assert site.rows() == before
