"""The portal's live stream (/live/events), against a real `icity serve` process: a page follows the
changes of what its visitor may read — anonymous visitors public IS only, a granted developer's
session the IS it was granted — filtered by IS, type and kind; while a page follows, the change
log is written (nothing else listens here), and once it goes, its view is forgotten."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import func, select

from icity.api.deps import SESSION_COOKIE
from icity.db.engine import get_engine, transaction
from icity.db.models import Change, LiveView
from icity.services import catalogue, entity_store, provider_tokens
from icity.services.access import CLI
from tests import people
from tests.api.test_streams import EventReader, push
from tests.servers import start_server, stop_server

pytestmark = pytest.mark.postgres_ok

AIR, PARKING = "alpha/air", "alpha/parking"  # public; on approval (the developer holds a grant)
S0 = entity_store.entity_urn("AirQualityObserved", "alpha", "s0")


@pytest.fixture(scope="module")
def served(databases, network_url, tmp_path_factory):
    url = databases.copy(network_url)
    with transaction(url) as session:
        developer = people.person(session, "dev@live.example")
        app, _ = people.app_with_key(session, developer, "Live", plan="partner")
        people.grant(session, app, PARKING)
        air = catalogue.add_provider(session, AIR, name="Air network")
        catalogue.add_device(session, AIR, local_id="aq-0", provider_id=air.id, entity_id=S0)
        gates = catalogue.add_provider(session, PARKING, name="Parking operator")
        catalogue.add_device(session, PARKING, local_id="gate-0", provider_id=gates.id,
                             entity_id=entity_store.entity_urn("OffStreetParking", "alpha", "p0"))  # fmt: skip
        tokens = {
            AIR: {"Authorization": f"Bearer {provider_tokens.create_token(session, CLI, AIR, air.id)['token']}"},
            PARKING: {"Authorization": f"Bearer {provider_tokens.create_token(session, CLI, PARKING, gates.id)['token']}"},
        }
        cookie = {"Cookie": f"{SESSION_COOKIE}={developer.token}"}
    get_engine(url).dispose()
    server, base = start_server(url, tmp_path_factory.mktemp("live"), stream_poll_s="30")
    yield base, url, tokens, cookie
    stop_server(server)


def views(url: str) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(LiveView))


def test_an_anonymous_page_follows_public_changes_only_and_the_log_is_written_for_it(served):
    base, url, tokens, _ = served
    with transaction(url) as session:
        logged_before = session.scalar(select(func.count()).select_from(Change))
    push(base, tokens[AIR], AIR, ("aq-0", {"no2": 10}))  # nobody follows: nothing is logged
    with transaction(url) as session:
        assert session.scalar(select(func.count()).select_from(Change)) == logged_before
    with EventReader(f"{base}/live/events", {}) as page:
        assert page.status == 200 and page.content_type.startswith("text/event-stream")
        assert views(url) == 1
        push(base, tokens[PARKING], PARKING, ("gate-0", {"availableSpotNumber": 3}))  # on approval: not for anonymous
        push(base, tokens[AIR], AIR, ("aq-0", {"no2": 41.5}))
        event = page.next()
        assert event.event == "change"
        assert event.data["id"] == S0 and event.data["kind"] == "entity" and event.data["informationSystem"] == AIR
        assert event.data["entity"]["no2"] == 41.5 and "no2" in event.data["changed"]
        assert page.quiet(1)
    deadline = time.monotonic() + 10  # the view is forgotten once the page goes
    while views(url):
        assert time.monotonic() < deadline, "the page's view outlived it"
        time.sleep(0.05)


def test_a_signed_in_developer_follows_the_is_granted_to_them_filtered_by_system(served):
    base, _, tokens, cookie = served
    with EventReader(f"{base}/live/events", cookie, params={"system": PARKING}) as page:
        push(base, tokens[AIR], AIR, ("aq-0", {"no2": 12}))  # another IS: not followed
        push(base, tokens[PARKING], PARKING, ("gate-0", {"availableSpotNumber": 7}))
        event = page.next()
        assert event.data["informationSystem"] == PARKING and event.data["entity"]["availableSpotNumber"] == 7
        assert page.quiet(1)


def test_following_what_one_may_not_read_or_an_unknown_kind_is_refused_in_problem_json(served):
    base, url, _, _ = served
    refused = httpx.get(f"{base}/live/events", params={"system": PARKING}, timeout=10)  # anonymous, on approval
    assert refused.status_code == 404 and refused.headers["content-type"].startswith("application/problem+json")
    bad = httpx.get(f"{base}/live/events", params={"kind": "everything"}, timeout=10)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "kind"
    assert views(url) == 0  # nothing was registered
