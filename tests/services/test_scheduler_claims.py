"""Several schedulers on one database (`icity worker` processes): each schedule tick's run is started once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select, update

from icity.db.engine import transaction
from icity.db.models import HarvestRun, utcnow
from icity.services import harvest, harvest_leases
from icity.services.access import CLI
from icity.services.scheduler import HarvestScheduler
from tests.connectors.feed_server import Feed, FeedServer
from tests.sources import add_system, csv, set_source


def run_counts(url: str) -> Counter[str]:
    with transaction(url) as session:
        return Counter(session.scalars(select(HarvestRun.information_system_id)))


def scheduled_sources(url: str, feeds: FeedServer, count: int, prefix: str) -> list[str]:
    systems = []
    for n in range(count):
        system = add_system(url, f"{prefix}-{n}")
        body = csv("Sants", "Gràcia").replace(b";24/11", f" {n};24/11".encode())  # ids of its own
        set_source(url, feeds.serve(f"/{prefix}-{n}.csv", Feed(body, "text/csv")), schedule="1h", system=system)
        systems.append(system)
    return systems


def test_two_schedulers_ticking_at_once_start_each_due_run_once(network_copy: str, feeds: FeedServer):
    systems = scheduled_sources(network_copy, feeds, 6, "race")
    schedulers = [HarvestScheduler(network_copy, parallel=6) for _ in range(2)]
    together = threading.Barrier(len(schedulers))
    started: list[list[str]] = [[] for _ in schedulers]

    def tick(index: int) -> None:
        together.wait()
        started[index] = schedulers[index].tick()

    threads = [threading.Thread(target=tick, args=(index,)) for index in range(len(schedulers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for scheduler in schedulers:
        scheduler.wait(timeout_s=60)

    assert sorted(started[0] + started[1]) == systems  # each by one of the two
    assert run_counts(network_copy) == Counter({system: 1 for system in systems})
    assert [scheduler.tick() for scheduler in schedulers] == [[], []]  # hourly: none is due again


def test_a_scheduler_that_read_the_due_list_late_does_not_run_a_finished_tick_again(network_copy: str, feeds: FeedServer):
    """The second worker saw the IS due, but the first one's run started (and even finished) meanwhile."""
    (system,) = scheduled_sources(network_copy, feeds, 1, "late")
    first = harvest.claim_scheduled_run(system, CLI, database_url=network_copy)
    assert first is not None
    assert harvest.execute_run(first, network_copy)["status"] == "succeeded"
    assert harvest.claim_scheduled_run(system, CLI, database_url=network_copy) is None
    assert run_counts(network_copy) == Counter({system: 1})
    # the next tick is claimed once again
    next_tick = utcnow() + timedelta(hours=1, minutes=1)
    assert harvest.claim_scheduled_run(system, CLI, next_tick, network_copy) is not None
    assert harvest.claim_scheduled_run(system, CLI, next_tick, network_copy) is None
    assert run_counts(network_copy) == Counter({system: 2})


def runs_of(url: str, system: str) -> list[HarvestRun]:
    with transaction(url) as session:
        runs = session.scalars(select(HarvestRun).where(HarvestRun.information_system_id == system).order_by(HarvestRun.id)).all()
        session.expunge_all()
        return list(runs)


def test_a_run_left_running_by_a_killed_worker_is_failed_once_its_lease_ends_and_the_tick_runs_again(
    network_copy: str, feeds: FeedServer
):
    (system,) = scheduled_sources(network_copy, feeds, 1, "killed")
    # a worker claimed this tick's run, then was killed before executing it: nothing renews the lease
    dead = harvest.claim_scheduled_run(system, CLI, database_url=network_copy)
    assert dead is not None
    scheduler = HarvestScheduler(network_copy, parallel=2)
    assert scheduler.tick() == []  # while the lease lasts, the run is the dead worker's
    assert [run.status for run in runs_of(network_copy, system)] == ["running"]

    with transaction(network_copy) as session:  # the lease's time passes (leases are on the real clock)
        session.execute(update(HarvestRun).where(HarvestRun.id == dead).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert scheduler.tick() == [system]  # a minute after the kill, not the hour after which a run was stale
    scheduler.wait(timeout_s=60)
    abandoned, again = runs_of(network_copy, system)
    assert abandoned.id == dead and abandoned.status == "failed" and abandoned.finished_at is not None
    assert abandoned.error.startswith("Abandoned: the worker running it stopped renewing its lease")
    assert again.status == "succeeded" and again.trigger == "schedule"
    assert HarvestScheduler(network_copy).tick() == []  # taken over once: a second scheduler finds it done
    assert len(runs_of(network_copy, system)) == 2
    # the abandoned run's worker, come back to life, does not run it after all
    assert harvest.execute_run(dead, network_copy)["status"] == "failed"
    assert [run.status for run in runs_of(network_copy, system)] == ["failed", "succeeded"]


def test_a_running_run_renews_its_lease_and_a_finished_one_is_not_renewed(network_copy: str, feeds: FeedServer):
    (system,) = scheduled_sources(network_copy, feeds, 1, "renewed")
    run_id = harvest.claim_scheduled_run(system, CLI, database_url=network_copy)
    (first,) = runs_of(network_copy, system)
    assert harvest_leases.renew_lease(run_id, network_copy)
    (renewed,) = runs_of(network_copy, system)
    assert renewed.lease_until > first.lease_until
    with transaction(network_copy) as session:
        assert harvest_leases.fail_abandoned_runs(session, system) == []  # a live lease: not abandoned
    assert harvest.execute_run(run_id, network_copy)["status"] == "succeeded"
    assert not harvest_leases.renew_lease(run_id, network_copy)
