"""The README's walk-throughs: each is a script under docs/walkthroughs/, included verbatim in the
README between markers (checked here, so the two cannot drift) and run here as written against a
real `icity serve` on a free, non-default port with its own database and the demo loaded."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
WALKTHROUGHS = ROOT / "docs" / "walkthroughs"
ICITY = str(Path(sys.executable).with_name("icity"))
INCLUDED = re.compile(r"<!-- walkthrough: (?P<path>\S+) -->\n```sh\n(?P<body>.*?)```\n<!-- /walkthrough -->", re.S)


def readme_blocks() -> dict[str, str]:
    return {m["path"]: m["body"] for m in INCLUDED.finditer((ROOT / "README.md").read_text(encoding="utf-8"))}


def test_every_walkthrough_is_in_the_readme_exactly_as_its_script():
    scripts = {f"docs/walkthroughs/{p.name}": p.read_text(encoding="utf-8") for p in sorted(WALKTHROUGHS.glob("*.sh"))}
    assert scripts, "no walk-through scripts"
    assert readme_blocks() == scripts


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[dict[str, str]]:
    """`icity serve` on a free port, its own var dir and SQLite database, the demo loaded."""
    var = tmp_path_factory.mktemp("walkthrough-var")
    port = _free_port()
    assert port != 8000
    env = {
        **os.environ,
        "ICITY_VAR_DIR": str(var),
        "ICITY_PORT": str(port),
        "ICITY_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ICITY_MQTT_URL": "",
        "ICITY_REDIS_URL": "",
    }
    env.pop("ICITY_DATABASE_URL", None)
    for command in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run([ICITY, *command], env=env, check=True, capture_output=True, timeout=600)
    outbox = subprocess.run([ICITY, "outbox"], env=env, check=True, capture_output=True, text=True).stdout
    assert "[sent]" in outbox and "[pending" not in outbox, outbox  # the demo's mails are delivered
    log = open(var / "serve.log", "wb")
    serve = subprocess.Popen([ICITY, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{api}/cities", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert serve.poll() is None and time.monotonic() < deadline, (var / "serve.log").read_text()
            time.sleep(0.3)
        yield {**env, "ICITY_API": api, "ICITY_CLI": ICITY}
    finally:
        serve.terminate()  # only the server this fixture started
        try:
            serve.wait(timeout=20)
        except subprocess.TimeoutExpired:
            serve.kill()
        log.close()


@pytest.mark.parametrize("script", sorted(p.name for p in WALKTHROUGHS.glob("*.sh")))
def test_the_walkthrough_runs_as_written(server, script, tmp_path):
    # a session of its own: no terminal, so the password prompts read the script's stdin
    result = subprocess.run(
        ["bash", str(WALKTHROUGHS / script)], env=server, cwd=tmp_path, capture_output=True, text=True,
        timeout=180, start_new_session=True,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
