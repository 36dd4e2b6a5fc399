"""Harvest runs against a real local HTTP server: counts, values after mapping, idempotency,
retirement, sources that fail half-way, preview, health and what is due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from icity.db.engine import transaction
from icity.db.models import HarvestRun, InformationSystem, utcnow
from icity.errors import ICityError
from icity.services import harvest, sources
from icity.services.access import CLI, Principal, administered_system
from tests.connectors.feed_server import Feed, FeedServer
from tests.sources import CONNECTOR, HEADER, MAPPING, ROWS, SYSTEM, add_system, csv, entities, observation_count, run, set_source


@pytest.fixture
def aire(network_copy: str) -> str:
    """alpha/aire: a draft IS of AirQualityObserved with no entities yet."""
    add_system(network_copy, "aire")
    return network_copy


def test_a_csv_source_is_harvested_into_harmonised_entities(aire: str, feeds: FeedServer):
    set_source(aire, feeds.serve("/aire-1.csv", Feed(csv("Sants", "Broken", "Gràcia"), "text/csv")))
    result = run(aire)
    assert result["status"] == "succeeded"
    assert (result["fetched"], result["created"], result["rejected"], result["retired"]) == (3, 2, 1, 0)
    assert result["rejections"] == [
        {"record": 2, "reason": "field 'NO2 (mg/m³)': 'n/d' is not a number", "field": "NO2 (mg/m³)"}
    ]
    stored = entities(aire)
    assert set(stored) == {"Sants", "Gr%C3%A0cia"}
    sants = stored["Sants"]
    assert sants.attributes["no2"] == pytest.approx(12.5)  # 0,0125 mg/m³
    assert sants.attributes["airQualityLevel"] == "good"
    assert sants.observed_at.isoformat() == "2026-11-24T09:00:00+00:00"  # 10:00 in Madrid, winter time
    assert sants.lon == pytest.approx(2.1453, abs=1e-3) and sants.lat == pytest.approx(41.3776, abs=1e-3)


def test_harvesting_unchanged_data_twice_writes_nothing_new(aire: str, feeds: FeedServer):
    set_source(aire, feeds.serve("/aire-2.csv", Feed(csv("Sants", "Gràcia"), "text/csv")))
    run(aire)
    before = {key: entity.modified_at for key, entity in entities(aire).items()}
    history = observation_count(aire)
    second = run(aire)
    assert (second["created"], second["updated"], second["unchanged"], second["retired"]) == (0, 0, 2, 0)
    assert {key: entity.modified_at for key, entity in entities(aire).items()} == before
    assert observation_count(aire) == history


def test_a_source_that_says_not_modified_is_not_read_again(aire: str, feeds: FeedServer):
    feed = Feed(csv("Sants", "Gràcia"), "text/csv", etag='"v1"')
    set_source(aire, feeds.serve("/aire-etag.csv", feed))
    assert run(aire)["created"] == 2
    second = run(aire)
    assert second["status"] == "unchanged"
    assert (second["fetched"], second["retired"]) == (0, 0)  # nothing read, so nothing counts as vanished
    assert all(entity.retired_at is None for entity in entities(aire).values())


def test_records_that_vanish_are_retired_then_revived_when_they_return(aire: str, feeds: FeedServer):
    feed = Feed(csv("Sants", "Gràcia", "Poblenou"), "text/csv")
    set_source(aire, feeds.serve("/aire-3.csv", feed))
    run(aire)
    feed.body = csv("Sants", "Poblenou")
    assert run(aire)["retired"] == 1
    stored = entities(aire)
    assert stored["Gr%C3%A0cia"].retired_at is not None  # kept, not deleted
    assert stored["Sants"].retired_at is None
    feed.body = csv("Sants", "Gràcia", "Poblenou")
    revived = run(aire)
    assert (revived["updated"], revived["unchanged"], revived["retired"]) == (1, 2, 0)
    assert entities(aire)["Gr%C3%A0cia"].retired_at is None


def test_a_rejected_record_does_not_retire_its_entity(aire: str, feeds: FeedServer):
    feed = Feed(csv("Sants", "Gràcia"), "text/csv")
    set_source(aire, feeds.serve("/aire-4.csv", feed))
    run(aire)
    feed.body = csv("Sants") + ROWS["Gràcia"].replace("0,0312", "n/d").encode("latin-1")
    second = run(aire)
    assert (second["rejected"], second["retired"]) == (1, 0)
    assert entities(aire)["Gr%C3%A0cia"].attributes["no2"] == pytest.approx(31.2)  # the last good value stays


def test_retirement_can_be_switched_off(aire: str, feeds: FeedServer):
    feed = Feed(csv("Sants", "Gràcia"), "text/csv")
    set_source(aire, feeds.serve("/aire-5.csv", feed), retire=False)
    run(aire)
    feed.body = csv("Sants")
    assert run(aire)["retired"] == 0
    assert entities(aire)["Gr%C3%A0cia"].retired_at is None


@pytest.mark.parametrize(
    ("feed", "error"),
    [
        (Feed(b"<!DOCTYPE html><html><body>Manteniment</body></html>", "text/html"), "HTML page"),
        (Feed(b"", statuses=[500]), "failed after 3 attempts: HTTP 500"),
        (Feed(HEADER.encode("latin-1") + ROWS["Sants"].encode("latin-1") * 500, "text/csv", truncate_at=4000), "broke off"),
        (Feed(HEADER.encode("utf-16"), "text/csv"), "NUL characters (line 1): it is not latin-1 text"),
    ],
    ids=["html", "http-500", "truncated", "wrong-encoding"],
)
def test_a_source_answering_garbage_fails_the_run_and_leaves_the_data_untouched(
    aire: str, feeds: FeedServer, feed: Feed, error: str
):
    good = Feed(csv("Sants", "Gràcia"), "text/csv")
    url = feeds.serve(f"/garbage-{id(feed)}.csv", good)
    set_source(aire, url)
    run(aire)
    before = {key: (entity.attributes, entity.modified_at, entity.retired_at) for key, entity in entities(aire).items()}
    feeds.serve(f"/garbage-{id(feed)}.csv", feed)
    result = run(aire)
    assert result["status"] == "failed"
    assert error in result["error"]
    assert {key: (e.attributes, e.modified_at, e.retired_at) for key, e in entities(aire).items()} == before


def test_preview_shows_mapped_entities_and_every_rejection_and_saves_nothing(aire: str, feeds: FeedServer):
    url = feeds.serve("/aire-preview.csv", Feed(csv("Sants", "Broken", "Gràcia", "Poblenou"), "text/csv"))
    with transaction(aire) as session:
        shown = sources.preview(session, CLI, SYSTEM, connector={**CONNECTOR, "url": url}, mapping=MAPPING, limit=2)
    assert (shown["fetched"], shown["valid"], shown["rejected"]) == (4, 3, 1)
    assert [entity["name"] for entity in shown["entities"]] == ["Sants", "Gràcia"]
    assert shown["entities"][0]["no2"] == pytest.approx(12.5)
    assert shown["rejections"] == [{"record": 2, "reason": "field 'NO2 (mg/m³)': 'n/d' is not a number", "field": "NO2 (mg/m³)"}]
    assert entities(aire) == {}
    with transaction(aire) as session:
        assert session.scalar(select(func.count()).select_from(HarvestRun)) == 0
        assert session.get(InformationSystem, SYSTEM).connector is None


def test_a_bad_setup_is_refused_with_every_path_and_nothing_is_saved(aire: str):
    bad_mapping = {**MAPPING, "entityType": "OffStreetParking", "attributes": {"no2": {"field": "NO2", "type": "float"}}}
    with pytest.raises(ICityError) as raised, transaction(aire) as session:
        sources.configure(
            session, CLI, SYSTEM, connector={"kind": "csv", "url": "file:///etc/passwd", "delimiter": ";;"},
            mapping=bad_mapping, schedule="every so often", retire_missing=True,
        )
    assert raised.value.status == 422
    paths = {problem.path for problem in raised.value.errors}
    assert paths == {
        "connector.url", "connector.delimiter", "mapping.attributes.no2.type", "schedule",
    }
    with transaction(aire) as session:
        assert session.get(InformationSystem, SYSTEM).connector is None


def test_a_mapping_to_a_type_the_system_does_not_serve_is_refused(aire: str):
    with pytest.raises(ICityError) as raised, transaction(aire) as session:
        sources.configure(
            session, CLI, SYSTEM, connector={**CONNECTOR, "url": "http://example.org/a.csv"},
            mapping={**MAPPING, "entityType": "OffStreetParking", "attributes": {}}, schedule=None, retire_missing=True,
        )
    assert [(p.path, p.detail) for p in raised.value.errors] == [
        ("mapping.entityType", "alpha/aire serves AirQualityObserved, not OffStreetParking")
    ]


def test_only_the_citys_admins_and_the_platform_admin_set_up_sources(aire: str):
    other_city = Principal(kind="user", email="b@beta", role="city_admin", approved=True, city_ids=frozenset({"beta"}))
    own_city = Principal(kind="user", email="a@alpha", role="city_admin", approved=True, city_ids=frozenset({"alpha"}))
    developer = Principal(kind="user", email="d@dev", role="developer", approved=True, organisation_id=1)
    with transaction(aire) as session:
        assert administered_system(session, own_city, SYSTEM).id == SYSTEM
        with pytest.raises(ICityError) as draft:
            administered_system(session, developer, SYSTEM)
        assert draft.value.status == 404  # a draft is not shown to those who cannot see it
        with pytest.raises(ICityError) as served:
            administered_system(session, other_city, "alpha/air")
        assert served.value.status == 403


def test_health_counts_failures_since_the_last_success(aire: str, feeds: FeedServer):
    feed = Feed(csv("Sants"), "text/csv")
    set_source(aire, feeds.serve("/aire-health.csv", feed), schedule="15m")
    with transaction(aire) as session:
        assert harvest.get_source(session, CLI, SYSTEM)["health"]["state"] == "never-run"
    run(aire)
    feed.statuses = [404]
    run(aire)
    run(aire)
    with transaction(aire) as session:
        view = harvest.get_source(session, CLI, SYSTEM)
    state = view["health"]
    assert (state["state"], state["consecutiveFailures"]) == ("failing", 2)
    assert state["lastSuccessAt"] is not None and state["freshnessSeconds"] >= 0
    assert state["lastRun"]["status"] == "failed" and "HTTP 404" in state["lastRun"]["error"]
    feed.statuses = [200]
    run(aire)
    with transaction(aire) as session:
        assert harvest.get_source(session, CLI, SYSTEM)["health"]["state"] == "healthy"


def test_due_systems_follow_their_schedule(aire: str, feeds: FeedServer):
    set_source(aire, feeds.serve("/aire-due.csv", Feed(csv("Sants"), "text/csv")), schedule="1h")
    with transaction(aire) as session:
        assert harvest.due_systems(session) == [SYSTEM]  # never run: due at once
    run(aire)
    with transaction(aire) as session:
        assert harvest.due_systems(session) == []
        assert harvest.due_systems(session, utcnow() + timedelta(minutes=61)) == [SYSTEM]


def test_runs_are_listed_newest_first(aire: str, feeds: FeedServer):
    set_source(aire, feeds.serve("/aire-list.csv", Feed(csv("Sants"), "text/csv")))
    first, second = run(aire), run(aire)
    with transaction(aire) as session:
        page = harvest.list_runs(session, CLI, SYSTEM, limit=1, cursor=None)
        assert [item["id"] for item in page.items] == [second["id"]]
        rest = harvest.list_runs(session, CLI, SYSTEM, limit=5, cursor=page.next_cursor)
        assert [item["id"] for item in rest.items] == [first["id"]]


def test_a_system_may_not_take_over_the_entities_of_another(aire: str, feeds: FeedServer):
    url = feeds.serve("/aire-shared.csv", Feed(csv("Sants", "Gràcia"), "text/csv"))
    set_source(aire, url)
    run(aire)
    other = add_system(aire, "aire-copia")
    set_source(aire, url, system=other)
    result = run(aire, other)
    assert result["status"] == "failed"
    assert "2 entity id(s) already belong to alpha/aire" in result["error"]
    assert set(entities(aire)) == {"Sants", "Gr%C3%A0cia"} and entities(aire, other) == {}


def test_a_record_with_a_value_or_time_a_city_cannot_use_is_rejected_with_its_reason(aire: str, feeds: FeedServer):
    bell = ROWS["Gràcia"].replace("Gràcia;", "Grà\x07cia;")
    old = ROWS["Poblenou"].replace("24/11/2026", "01/01/1000")
    set_source(aire, feeds.serve("/aire-values.csv", Feed(csv("Sants") + (bell + old).encode("latin-1"), "text/csv")))
    result = run(aire)
    assert (result["created"], result["rejected"]) == (1, 2)
    reasons = " | ".join(rejection["reason"] for rejection in result["rejections"])
    assert "U+0007" in reasons and "1970-01-01" in reasons, reasons
    assert set(entities(aire)) == {"Sants"}


def test_a_record_read_again_with_a_corrected_value_replaces_its_history_row(aire: str, feeds: FeedServer):
    from icity.db.models import Observation

    feed = Feed(csv("Sants"), "text/csv")
    set_source(aire, feeds.serve("/aire-corrected.csv", feed))
    run(aire)
    feed.body = (HEADER + ROWS["Sants"].replace("0,0125", "0,0999")).encode("latin-1")
    assert run(aire)["updated"] == 1
    sants = entities(aire)["Sants"]
    with transaction(aire) as session:
        values = session.scalars(
            select(Observation.value_number).where(Observation.entity_id == sants.id, Observation.attribute == "no2")
        ).all()
    assert values == [pytest.approx(99.9)] and sants.attributes["no2"] == pytest.approx(99.9)


def test_a_harvest_keeps_the_models_own_time_in_step(aire: str, feeds: FeedServer):
    set_source(aire, feeds.serve("/aire-time.csv", Feed(csv("Sants"), "text/csv")))
    run(aire)
    sants = entities(aire)["Sants"]
    assert sants.attributes["dateObserved"] == sants.observed_at.isoformat() == "2026-11-24T09:00:00+00:00"
