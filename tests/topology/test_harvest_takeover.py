"""A worker killed in the middle of a scheduled harvest: its run, left `running`, is recorded as
abandoned once its lease ends, and another worker runs the source again — within about a minute
(harvest_leases.RUN_LEASE + the scheduler's poll), not the hour a stale run used to block its IS.

Run by `make test-topology` (its own PostgreSQL database; no broker needed)."""

from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import select

from icity.db.engine import dispose, transaction
from icity.db.migrate import upgrade
from icity.db.models import HarvestRun
from tests.connectors.feed_server import Feed, FeedServer
from tests.network import build_network
from tests.sources import add_system, csv, set_source
from tests.topology.world import Database, environment, start_worker, stop, wait_for

pytestmark = pytest.mark.topology


def runs(url: str, system: str) -> list[tuple[str, str, str | None]]:
    with transaction(url) as session:
        rows = session.execute(
            select(HarvestRun.status, HarvestRun.trigger, HarvestRun.error)
            .where(HarvestRun.information_system_id == system)
            .order_by(HarvestRun.id)
        ).all()
    return [tuple(row) for row in rows]


def test_a_harvest_cut_off_by_a_killed_worker_is_taken_over_by_another(tmp_path):
    database, feeds = Database(), FeedServer()
    workers = []
    try:
        upgrade(database.url)
        with transaction(database.url) as session:
            build_network(session)
        system = add_system(database.url, "slow")
        feed = Feed(csv("Sants", "Gràcia"), "text/csv", delay_s=600)  # answers only once the victim is dead
        set_source(database.url, feeds.serve("/slow.csv", feed), schedule="1h", system=system)
        dispose(database.url)
        env = environment(database.url, tmp_path, harvest_timeout_s="900")  # the victim waits on the feed until killed
        env.pop("ICITY_MQTT_URL")  # harvests only

        victim = start_worker({**env, "ICITY_WORKER_ID": "harvest-victim"}, tmp_path / "victim.log")
        workers.append(victim)
        wait_for(lambda: feed.hits >= 1, 60, "the first worker started the harvest")
        assert [status for status, _, _ in runs(database.url, system)] == ["running"]
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(30)
        feed.delay_s = 0

        workers.append(start_worker({**env, "ICITY_WORKER_ID": "harvest-survivor"}, tmp_path / "survivor.log"))
        wait_for(lambda: len(runs(database.url, system)) == 2 and runs(database.url, system)[1][0] == "succeeded",
                 180, "another worker ran the source again")  # fmt: skip
        (dead_status, _, dead_error), (status, trigger, _) = runs(database.url, system)
        assert dead_status == "failed" and dead_error.startswith("Abandoned: the worker running it stopped renewing its lease")
        assert (status, trigger) == ("succeeded", "schedule")
        assert feed.hits == 2
    finally:
        for worker in workers:
            stop(worker)
        feeds.close()
        dispose(database.url)
        database.drop()
