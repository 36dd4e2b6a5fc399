"""The platform admin's engagement pipeline and city engagement pages, in process:
they show what services/cities keeps, record what it accepts, and a refused or
forged form writes nothing. The browser journey is in test_admin_journeys.py."""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from icity.db.engine import new_session
from icity.db.models import AuditEvent, EngagementAction, LevelChange
from tests.web.admin_site import ADMIN, csrf, make_site


@pytest.fixture
def site(databases, demo_url):
    return make_site(databases, demo_url)


def stage(html: str, level: str) -> str:
    """The HTML of one stage of the pipeline."""
    return re.search(rf'data-testid="stage-{level}">(.*?)</section>', html, re.S).group(1)


def test_the_pipeline_shows_every_city_by_stage_with_the_evidence_of_its_level(site):
    page = site.client("admin").get("/admin/network")
    assert page.status_code == 200
    html = page.text
    assert 'data-city="manchester"' in stage(html, "sig") and 'data-city="barcelona"' in stage(html, "consortium")
    assert 'data-city="cornella"' in stage(html, "pilot") and 'data-city="bordeaux"' in stage(html, "prospect")
    assert "Since <time datetime=\"2014-05-20\">" in stage(html, "sig")  # Manchester's letter of commitment
    assert "No letter of commitment yet." in stage(html, "prospect")
    # the overdue follow-ups come first: Manchester's recent step, a few days late (the 2014 record is done)
    follow_ups = html.index('data-testid="overdue-follow-ups"')
    assert follow_ups < html.index('data-testid="stage-prospect"')
    overdue = html[follow_ups : html.index('data-testid="stage-prospect"')]
    assert 'data-city="manchester"' in overdue and "days overdue" in overdue
    days_late = [int(n.replace(",", "")) for n in re.findall(r"([\d,]+) days? overdue", html)]
    assert days_late and max(days_late) < 14  # no step overdue by years


def test_the_admin_moves_a_city_to_pilot_with_its_evidence(site):
    admin = site.client("admin")
    page = admin.get("/admin/network/manchester").text
    form = {"level": "pilot", "evidence_kind": "technical_trial", "evidence": "Air-quality trial with the city's sensors",
            "effective_on": date.today().isoformat(), "csrf_token": csrf(page)}  # fmt: skip
    moved = admin.post("/admin/network/manchester/level", data=form, follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/admin/network/manchester?done=level#history"
    after = admin.get(moved.headers["location"]).text
    assert 'data-testid="city-level">Pilot<' in after and "The change of level is recorded" in after
    history = re.search(r'data-testid="level-history">(.*?)</ol>', after, re.S).group(1)
    assert "Special Interest Group → Pilot" in history and "Air-quality trial with the city&#39;s sensors" in history
    assert f"Recorded by {ADMIN}" in history
    assert 'data-city="manchester"' in stage(admin.get("/admin/network").text, "pilot")
    with new_session(site.url) as session:
        change = session.scalars(select(LevelChange).where(LevelChange.city_id == "manchester").order_by(LevelChange.id.desc())).first()
        assert (change.from_level, change.to_level, change.recorded_by) == ("sig", "pilot", ADMIN)
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "city.level_changed").order_by(AuditEvent.id.desc())).first()
        assert (event.actor, event.actor_id, event.target_id) == (ADMIN, site.ids["admin"], "manchester")


REFUSED_CHANGES = [
    # (city, form, status, what the page says): the service's refusals (422, 409), then the form's (400)
    ("manchester", {"level": "pilot", "evidence_kind": "technical_trial", "evidence": "  "}, 422, "describe the evidence"),
    ("bordeaux", {"level": "pilot", "evidence_kind": "letter_of_commitment", "evidence": "A letter"}, 422,
     "reaching &#39;pilot&#39; is evidenced by technical_trial or first_opened_is"),
    ("cornella", {"level": "sig", "evidence_kind": "letter_of_commitment", "evidence": "Back to the SIG"}, 409,
     "retire them before moving it to &#39;sig&#39;"),
    ("manchester", {"level": "sig", "evidence_kind": "letter_of_commitment", "evidence": "Again"}, 409, "already at level"),
    ("manchester", {"level": "pilot", "evidence_kind": "technical_trial", "evidence": "Trial", "effective_on": "2010-01-01"},
     422, "a new one cannot be earlier"),
    ("manchester", {"level": "pilot", "evidence_kind": "technical_trial", "evidence": "Trial", "effective_on": "soon"},
     400, "Effective on:"),
]  # fmt: skip


@pytest.mark.parametrize(("city", "form", "status", "says"), REFUSED_CHANGES)
def test_a_refused_level_change_says_why_on_the_page_and_writes_nothing(site, city, form, status, says):
    admin = site.client("admin")
    token = csrf(admin.get(f"/admin/network/{city}").text)
    before = site.snapshot()
    refused = admin.post(f"/admin/network/{city}/level", data={**form, "csrf_token": token})
    assert refused.status_code == status
    error = re.search(r'data-testid="level-error">([^<]*)<', refused.text).group(1)
    assert says in error
    assert f'value="{form["evidence"]}"' in refused.text or form["evidence"] in refused.text  # what was typed is kept
    assert site.snapshot() == before


def test_the_admin_records_an_engagement_action_and_marks_its_next_step_done(site):
    admin = site.client("admin")
    token = csrf(admin.get("/admin/network/bordeaux").text)
    long_ago = date.today() - timedelta(days=40)
    form = {"kind": "call", "title": "Call with the smart-city team", "happened_on": long_ago.isoformat(),
            "outcome": "Interested in EV charging", "next_step": "Send the letter template",
            "next_step_due": (long_ago + timedelta(days=10)).isoformat(), "csrf_token": token}  # fmt: skip
    added = admin.post("/admin/network/bordeaux/actions", data=form, follow_redirects=False)
    assert added.status_code == 303
    with new_session(site.url) as session:
        action = session.scalars(select(EngagementAction).where(EngagementAction.title == form["title"])).one()
    page = admin.get(added.headers["location"]).text
    row = re.search(rf'<tr id="action-{action.id}".*?</tr>', page, re.S).group(0)
    assert "overdue-row" in row and 'data-testid="overdue"' in row and "Send the letter template" in row
    assert "Send the letter template" in admin.get("/admin/network").text  # also among the overdue follow-ups

    done = admin.post(f"/admin/network/actions/{action.id}/next-step-done", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/admin/network/bordeaux?done=step#action-{action.id}"
    row = re.search(rf'<tr id="action-{action.id}".*?</tr>', admin.get(done.headers["location"]).text, re.S).group(0)
    assert ">done<" in row and "overdue" not in row
    with new_session(site.url) as session:
        assert session.get(EngagementAction, action.id).next_step_done


REFUSED_ACTIONS = [
    ({"title": "A due date alone", "next_step_due": "2014-05-01"}, 422, "a due date needs the next step it is for"),
    ({"title": "   "}, 422, "give the action a title"),
    ({"kind": "lunch"}, 422, "kind must be one of"),
    ({"next_step": "Call back", "next_step_due": "2014-01-01"}, 422, "the next step cannot be due before the action happened"),
    ({"happened_on": ""}, 400, "Date:"),
]


@pytest.mark.parametrize(("changes", "status", "says"), REFUSED_ACTIONS)
def test_a_refused_engagement_action_says_why_and_writes_nothing(site, changes, status, says):
    admin = site.client("admin")
    token = csrf(admin.get("/admin/network/torino").text)
    form = {"kind": "meeting", "title": "Meeting", "happened_on": "2014-06-01", "csrf_token": token, **changes}
    before = site.snapshot()
    refused = admin.post("/admin/network/torino/actions", data=form)
    assert refused.status_code == status
    assert says in re.search(r'data-testid="action-error">([^<]*)<', refused.text).group(1)
    assert site.snapshot() == before


def test_network_forms_without_this_sessions_token_are_refused_and_write_nothing(site):
    admin = site.client("admin")
    with new_session(site.url) as session:
        open_step = session.scalars(select(EngagementAction.id).where(EngagementAction.next_step_done.is_(False))).first()
    posts = [
        ("/admin/network/manchester/level", {"level": "pilot", "evidence_kind": "technical_trial", "evidence": "Trial"}),
        ("/admin/network/manchester/actions", {"kind": "call", "title": "Call", "happened_on": "2014-06-01"}),
        (f"/admin/network/actions/{open_step}/next-step-done", {}),
    ]
    other_session = csrf(site.client("developer").get("/").text)  # a real token, of another session
    before = site.snapshot()
    for path, form in posts:
        for token in ({}, {"csrf_token": "forged"}, {"csrf_token": other_session}):
            refused = admin.post(path, data={**form, **token})
            assert refused.status_code == 403 and "Form expired" in refused.text, (path, token)
    assert site.snapshot() == before


def test_only_the_platform_admin_opens_or_posts_to_the_network_pages(site):
    paths = ["/admin/network", "/admin/network/manchester"]
    for path in paths:
        anonymous = site.client().get(path, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/sign-in?next={path}"
    before = site.snapshot()
    for who in ("developer", "london", "pending"):
        client = site.client(who)
        for path in paths:
            refused = client.get(path)
            assert refused.status_code == 403 and "Only the platform admin does this." in refused.text, (who, path)
        token = csrf(client.get("/").text)
        form = {"level": "pilot", "evidence_kind": "technical_trial", "evidence": "Trial", "csrf_token": token}
        refused = client.post("/admin/network/manchester/level", data=form)
        assert refused.status_code == 403 and "Only the platform admin does this." in refused.text
        action = {"kind": "call", "title": "Call", "happened_on": "2014-06-01", "csrf_token": token}
        assert client.post("/admin/network/manchester/actions", data=action).status_code == 403
        assert client.post("/admin/network/actions/1/next-step-done", data={"csrf_token": token}).status_code == 403
    assert site.snapshot() == before
