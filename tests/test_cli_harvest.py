"""`icity harvest run|runs` and `icity worker --once`, through Typer's CliRunner; `icity worker` as a process."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from icity.cli import app
from tests.connectors.feed_server import Feed, FeedServer
from tests.sources import add_system, csv, set_source

runner = CliRunner()


@pytest.fixture
def configured(cli_network: str) -> str:
    """The command line on the test network, which has alpha/aire to harvest into."""
    add_system(cli_network, "aire")
    return cli_network


def test_harvest_run_prints_the_counts_and_each_rejection(configured: str, feeds: FeedServer):
    set_source(configured, feeds.serve("/cli-aire.csv", Feed(csv("Sants", "Broken", "Gràcia"), "text/csv")))
    result = runner.invoke(app, ["harvest", "run", "alpha/aire"])
    assert result.exit_code == 0, result.output
    assert "succeeded — 3 fetched, 2 created, 0 updated, 0 unchanged, 1 rejected, 0 retired" in result.output
    assert "record 2: field 'NO2 (mg/m³)': 'n/d' is not a number" in result.output
    listed = runner.invoke(app, ["harvest", "runs", "alpha/aire"])
    assert listed.exit_code == 0 and "run 1 of alpha/aire (cli" in listed.output


def test_a_failed_run_exits_non_zero_with_the_reason(configured: str, feeds: FeedServer):
    set_source(configured, feeds.serve("/cli-gone.csv", Feed(b"", statuses=[404])))
    result = runner.invoke(app, ["harvest", "run", "alpha/aire"])
    assert result.exit_code == 1
    assert "answered HTTP 404" in result.output


def test_harvest_run_without_a_source_says_how_to_set_one(configured: str):
    result = runner.invoke(app, ["harvest", "run", "alpha/aire"])
    assert result.exit_code == 1
    assert "has no connector yet" in result.output


def test_worker_once_harvests_what_is_due(configured: str, feeds: FeedServer):
    set_source(configured, feeds.serve("/cli-due.csv", Feed(csv("Sants"), "text/csv")), schedule="1h")
    result = runner.invoke(app, ["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "harvested 1 information system(s)" in result.output
    assert "run 1 of alpha/aire (schedule" in runner.invoke(app, ["harvest", "runs", "alpha/aire"]).output


def test_the_worker_stops_its_tasks_and_exits_on_sigterm(cli_network: str):
    """A service manager stops the worker with SIGTERM: it ends cleanly, not killed mid-work."""
    env = {**os.environ, "ICITY_MQTT_URL": "", "ICITY_REDIS_URL": ""}
    worker = subprocess.Popen(
        [sys.executable, "-m", "icity.cli", "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        said = _read_until(worker, "worker ready", timeout_s=60)  # its handler installed, its tasks started
        assert "worker ready" in said, said
        assert worker.poll() is None, said
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()  # only the process this test started


def _read_until(process: subprocess.Popen, marker: str, timeout_s: float) -> str:
    """What the process printed up to the line holding `marker` (or all it printed within the timeout)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    said = ""
    deadline = time.monotonic() + timeout_s
    while marker not in said and time.monotonic() < deadline:
        try:
            said += lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                break
    return said
