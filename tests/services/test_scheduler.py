"""The scheduler runs each due source in its own thread: a slow or failing source delays no other."""

from __future__ import annotations

import time

from sqlalchemy import select

from icity.db.engine import transaction
from icity.db.models import HarvestRun
from icity.services.scheduler import HarvestScheduler
from tests.connectors.feed_server import Feed, FeedServer
from tests.sources import add_system, csv, set_source


def runs(url: str) -> dict[str, HarvestRun]:
    with transaction(url) as session:
        return {run.information_system_id: run for run in session.scalars(select(HarvestRun))}


def test_a_slow_and_a_failing_source_do_not_delay_a_fast_one(network_copy: str, feeds: FeedServer):
    for slug in ("fast", "slow", "failing"):
        add_system(network_copy, slug)
    set_source(network_copy, feeds.serve("/fast.csv", Feed(csv("Sants"), "text/csv")), schedule="1h", system="alpha/fast")
    set_source(
        network_copy, feeds.serve("/slow.csv", Feed(csv("Gràcia"), "text/csv", delay_s=3)), schedule="1h", system="alpha/slow"
    )
    set_source(
        network_copy, feeds.serve("/failing.csv", Feed(b"", statuses=[503])), schedule="1h", system="alpha/failing"
    )
    scheduler = HarvestScheduler(network_copy, parallel=4)
    started_at = time.monotonic()
    assert sorted(scheduler.tick()) == ["alpha/failing", "alpha/fast", "alpha/slow"]
    assert scheduler.tick() == []  # all three are running or done: nothing is started twice

    while runs(network_copy).get("alpha/fast") is None or runs(network_copy)["alpha/fast"].status == "running":
        assert time.monotonic() - started_at < 2.5, "the fast source waited for the others"
        time.sleep(0.05)
    assert runs(network_copy)["alpha/fast"].status == "succeeded"
    assert "alpha/slow" in scheduler.running()

    scheduler.wait(timeout_s=30)
    done = runs(network_copy)
    assert (done["alpha/slow"].status, done["alpha/failing"].status) == ("succeeded", "failed")
    assert "HTTP 503" in done["alpha/failing"].error
    assert scheduler.tick() == []  # hourly: none is due again yet


def test_the_number_of_sources_read_at_once_is_bounded(network_copy: str, feeds: FeedServer):
    for slug, station in (("one", "Sants"), ("two", "Poblenou")):
        add_system(network_copy, slug)
        url = feeds.serve(f"/{slug}.csv", Feed(csv(station), "text/csv", delay_s=0.5))
        set_source(network_copy, url, schedule="1h", system=f"alpha/{slug}")
    scheduler = HarvestScheduler(network_copy, parallel=1)
    assert scheduler.tick() == ["alpha/one"]
    scheduler.wait(timeout_s=10)
    assert scheduler.tick() == ["alpha/two"]  # still due, started once a slot is free
    scheduler.wait(timeout_s=10)
    assert {run.status for run in runs(network_copy).values()} == {"succeeded"}


def test_sources_finishing_together_all_get_written(network_copy: str, feeds: FeedServer):
    """On SQLite a write phase that started as a reader was refused ("database is locked")
    when another harvest committed first; each now waits its turn."""
    systems = [add_system(network_copy, f"together-{n}") for n in range(6)]
    for n, system in enumerate(systems):
        body = csv("Sants", "Gràcia", "Poblenou").replace(b";24/11", f" {n};24/11".encode())  # ids of its own
        url = feeds.serve(f"/{system.replace('/', '-')}.csv", Feed(body, "text/csv"))
        set_source(network_copy, url, schedule="1h", system=system)
    scheduler = HarvestScheduler(network_copy, parallel=6)
    assert len(scheduler.tick()) == 6
    scheduler.wait(timeout_s=30)
    done = runs(network_copy)
    assert {system: done[system].status for system in systems} == {system: "succeeded" for system in systems}
