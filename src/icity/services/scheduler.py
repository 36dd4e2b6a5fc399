"""Run the harvests that are due, each source in its own thread.

One thread per running source, up to ``harvest_parallel``: a source that is slow
to answer, or failing with retries and backoff, occupies its own thread and
delays no other. A source still running is not started again.

Several schedulers may read one database (`icity worker` processes, `icity serve`): each due run is
claimed in the database first (harvest.claim_scheduled_run, under a lock on the IS), so each
schedule tick's run is started by one of them only. A run whose worker died (its lease, renewed while
it runs, ended) is recorded as failed by the next claim, which starts that tick's run again.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from icity.config import get_settings
from icity.db.engine import background_thread, new_session
from icity.services import harvest, harvest_leases
from icity.services.access import CLI

log = logging.getLogger(__name__)


class HarvestScheduler:
    def __init__(self, database_url: str | None = None, parallel: int | None = None, poll_s: float = 5.0) -> None:
        self.database_url = database_url
        self.parallel = parallel or get_settings().harvest_parallel
        self.poll_s = poll_s
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None

    def tick(self, now: datetime | None = None) -> list[str]:
        """Start every due source that is not already running (as many as there are free slots),
        each once claimed: a source another scheduler claimed first is left to it."""
        with new_session(self.database_url) as session:
            # due, or left running by a killed worker (its lease ended): that tick's run starts again
            due = sorted(set(harvest.due_systems(session, now)) | set(harvest_leases.abandoned_systems(session)))
        started = []
        with self._lock:
            self._running = {system: thread for system, thread in self._running.items() if thread.is_alive()}
            for system_id in due:
                if system_id in self._running:
                    continue
                if len(self._running) >= self.parallel:
                    break  # the rest are still due at the next tick
                run_id = harvest.claim_scheduled_run(system_id, CLI, now, self.database_url)
                if run_id is None:
                    continue
                thread = background_thread(self._harvest, system_id, run_id, name=f"harvest {system_id}")
                self._running[system_id] = thread
                thread.start()
                started.append(system_id)
        return started

    def _harvest(self, system_id: str, run_id: int) -> None:
        try:
            run = harvest.execute_run(run_id, self.database_url)
            log.info("harvest of %s: %s (%s fetched, %s rejected)", system_id, run["status"], run["fetched"], run["rejected"])
        except Exception:
            log.exception("harvest of %s could not run", system_id)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(system for system, thread in self._running.items() if thread.is_alive())

    def wait(self, timeout_s: float | None = None) -> None:
        """Wait for the runs started so far (tests, `icity worker --once`)."""
        with self._lock:
            threads = list(self._running.values())
        for thread in threads:
            thread.join(timeout_s)

    def run_forever(self) -> None:
        # The first tick waits one period too: in `icity serve` the API (which may serve sources
        # itself, like the demo's) is listening by then.
        while not self._stop.wait(self.poll_s):
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the scheduling
                log.exception("harvest scheduling failed; trying again in %s s", self.poll_s)

    def start(self) -> None:
        self._loop = background_thread(self.run_forever, name="harvest scheduler")
        self._loop.start()

    def stop(self) -> None:
        self._stop.set()
        if self._loop is not None:
            self._loop.join()
