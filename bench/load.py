"""Load benchmark: many clients at once, some pushing observations, the rest reading, on a real server.

    .venv/bin/python bench/load.py                                    (what `make bench` runs: both databases)
    .venv/bin/python bench/load.py --database sqlite --clients 10 --pushers 3 --duration 10   (the CI smoke)

For each database (the embedded SQLite file, then a fresh database on the PostgreSQL server):
1. migrates it and loads the demo network (`icity db upgrade`, `icity demo load`);
2. gives the demo's sensor networks a provider token each and a benchmark app on the `partner` plan
   a key (so the plan's limits are not what is measured);
3. starts `icity serve` (one worker, background work on: harvests, webhooks, alarms, commands)
   on a free port, and sends one request of each kind (a worker's first requests load the data models);
4. runs `--clients` clients for `--duration` seconds, each with its own keep-alive connection:
   `--pushers` of them push batches of observations (every device of one sensor network, five
   attributes, each batch at a new time), the others read in turn: an entity list, a `near`
   search, a bbox as GeoJSON, an hourly average over a week of history, the catalogue and
   where-can-app-run;
5. stops the server (SIGTERM) and counts the observations stored at the pushed times.

Prints requests/s, p50/p99/max latency per kind, answers by status, and acknowledged vs stored
observations, beside the targets: no request over 5 s, no error but 429/503, every acknowledged
observation stored. Exits non-zero only when the benchmark itself cannot run, or when an
acknowledged observation is missing (a broken promise, not a slow machine).
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "load"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(BENCH))

from air_city import BenchFailure, free_port, log, percentile  # noqa: E402
from database import POSTGRES_SERVER, BenchDatabase, Server  # noqa: E402
ATTRIBUTES = {"AirQualityObserved": ("no2", "pm10", "pm25", "o3", "co"), "NoiseLevelObserved": ("LAeq", "LAmax")}
SLOW_S = 5.0  # the target: no request slower than this
# idle keep-alive connections dropped before uvicorn closes them (after 5 s), so a request never
# races the close of its connection
CLIENT_LIMITS = {"keepalive_expiry": 4}
ALLOWED_ERRORS = {429, 503}  # the server said "not now": the only refusals allowed under load
READ_KINDS = ("list", "near", "bbox-geojson", "history-avg", "catalogue", "where-can-app-run")


# ---- the database ----------------------------------------------------------------------------


def load_demo(database: BenchDatabase, port: int) -> None:
    icity = str(Path(sys.executable).with_name("icity"))
    for command in (["db", "upgrade"], ["demo", "load"]):
        done = subprocess.run([icity, *command], env=database.env(port), cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchFailure(f"icity {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def credentials(url: str) -> tuple[list[dict], str, list[str]]:
    """A provider token for each demo sensor network with devices, the key of a `partner` app,
    and the ids of entities with history (for the history reads)."""
    from sqlalchemy import func, select

    from icity.db.engine import get_engine, transaction
    from icity.db.models import Device, Observation
    from icity.services import provider_tokens
    from icity.services.access import CLI
    from developer import ensure_key_at

    networks = []
    with transaction(url) as session:
        devices = session.execute(select(Device.information_system_id, Device.provider_id, Device.local_id, Device.entity_id)).all()
        by_network: dict[tuple[str, int], list[str]] = defaultdict(list)
        entity_types: dict[str, str] = {}
        for system_id, provider_id, local_id, entity_id in devices:
            entity_type = (entity_id or "").split(":")[2] if entity_id and entity_id.count(":") >= 3 else None
            if entity_type in ATTRIBUTES and provider_id is not None:
                by_network[(system_id, provider_id)].append(local_id)
                entity_types[system_id] = entity_type
        for (system_id, provider_id), local_ids in sorted(by_network.items()):
            token = provider_tokens.create_token(session, CLI, system_id, provider_id, "load benchmark")["token"]
            entity_type = entity_types[system_id]
            networks.append({"system": system_id, "token": token, "devices": local_ids, "attributes": ATTRIBUTES[entity_type]})
        with_history = session.scalars(
            select(Observation.entity_id).where(Observation.attribute == "no2").group_by(Observation.entity_id).having(func.count() > 10).limit(20)
        ).all()
    get_engine(url).dispose()
    key, _app_id = ensure_key_at(url)
    if not networks or not with_history:
        raise BenchFailure("the demo has no sensor network with devices, or no history to read")
    return networks, key, list(with_history)


def stored_observations(url: str, systems: list[str], since: datetime) -> int:
    from sqlalchemy import func, select

    from icity.db.engine import get_engine, new_session
    from icity.db.models import Entity, Observation

    with new_session(url) as session:
        count = session.scalar(
            select(func.count())
            .select_from(Observation)
            .join(Entity, Entity.id == Observation.entity_id)
            .where(Entity.information_system_id.in_(systems), Observation.observed_at >= since)
        )
    get_engine(url).dispose()
    return count or 0


# ---- the server ------------------------------------------------------------------------------


# ---- the clients -----------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.acknowledged = 0
        self.failures: list[str] = []

    def add(self, kind: str, seconds: float, status: int | str, acknowledged: int = 0, failure: str | None = None) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1
            self.acknowledged += acknowledged
            if failure and len(self.failures) < 20:
                self.failures.append(failure)


def read_paths(history_ids: list[str], now: datetime, rng: random.Random) -> dict[str, str]:
    entity = rng.choice(history_ids)
    week_ago = (now - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "list": "/api/v1/entities?type=AirQualityObserved&city=barcelona&limit=20",
        "near": "/api/v1/entities?near=41.3874,2.1686,3000&limit=50",
        "bbox-geojson": "/api/v1/entities?bbox=2.05,41.32,2.23,41.47&limit=200",
        "history-avg": f"/api/v1/entities/{entity}/history?attribute=no2&aggregate=avg&interval=1h&from={week_ago}",
        "catalogue": "/api/v1/information-systems?limit=50",
        "where-can-app-run": "/api/v1/where-can-app-run?entityTypes=AirQualityObserved,NoiseLevelObserved",
    }


def warm_up(port: int, key: str, history_ids: list[str]) -> None:
    """One request of each kind before the clock starts: a worker's first requests load the data models."""
    import httpx

    paths = read_paths(history_ids, datetime.now(timezone.utc), random.Random(0))
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=60) as client:
        for kind in READ_KINDS:
            response = client.get(paths[kind])
            if response.status_code != 200:
                raise BenchFailure(f"the warm-up {kind} request got {response.status_code}: {response.text[:300]}")


def reader(port: int, key: str, history_ids: list[str], stop: threading.Event, tally: Tally, seed: int) -> None:
    import httpx

    rng = random.Random(seed)
    kinds = itertools.cycle(READ_KINDS[seed % len(READ_KINDS):] + READ_KINDS[: seed % len(READ_KINDS)])
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"X-API-Key": key}, timeout=70, limits=httpx.Limits(**CLIENT_LIMITS)) as client:
        while not stop.is_set():
            kind = next(kinds)
            path = read_paths(history_ids, datetime.now(timezone.utc), rng)[kind]
            headers = {"Accept": "application/geo+json"} if kind == "bbox-geojson" else {}
            started = time.monotonic()
            try:
                response = client.get(path, headers=headers)
                status, failure = response.status_code, None
                if status >= 400 and status not in ALLOWED_ERRORS:
                    failure = f"{kind} {status}: {response.text[:200]}"
            except httpx.HTTPError as error:
                status, failure = type(error).__name__, f"{kind}: {error!r}"
            tally.add(kind, time.monotonic() - started, status, failure=failure)


def pusher(port: int, network: dict, times: itertools.count, base: datetime, stop: threading.Event, tally: Tally) -> None:
    import httpx

    path = f"/api/v1/information-systems/{network['system']}/observations"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {network['token']}"}, timeout=70, limits=httpx.Limits(**CLIENT_LIMITS)) as client:
        while not stop.is_set():
            at = (base + timedelta(seconds=next(times))).strftime("%Y-%m-%dT%H:%M:%SZ")
            values = {attribute: round(random.uniform(5, 80), 1) for attribute in network["attributes"]}
            body = {"measures": [{"device": device, "observedAt": at, "values": values} for device in network["devices"]]}
            started = time.monotonic()
            try:
                response = client.post(path, json=body)
                status, acknowledged, failure = response.status_code, 0, None
                if status == 200:
                    acknowledged = response.json()["observations"]
                elif status not in ALLOWED_ERRORS:
                    failure = f"push {status}: {response.text[:200]}"
            except httpx.HTTPError as error:
                status, acknowledged, failure = type(error).__name__, 0, f"push: {error!r}"
            tally.add("push", time.monotonic() - started, status, acknowledged, failure)


# ---- a run -------------------------------------------------------------------------------------


def run(engine: str, clients: int, pushers: int, duration: float, server_url: str = POSTGRES_SERVER) -> bool:
    folder = OUT / engine
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    port = free_port()
    database = BenchDatabase(folder, "load", server_url if engine == "postgres" else None)
    try:
        log(f"\n== {engine}: {clients} clients for {duration:.0f} s, {pushers} of them pushing")
        load_demo(database, port)
        networks, key, history_ids = credentials(database.url)
        server = Server(database, port, OUT / f"server-{engine}.log")
        server.start()
        warm_up(port, key, history_ids)
        # each batch at its own second, counted from a start later than any demo observation
        base = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=6)
        times = itertools.count()
        tally, stop = Tally(), threading.Event()
        threads = [
            threading.Thread(target=pusher, args=(port, networks[i % len(networks)], times, base, stop, tally))
            for i in range(pushers)
        ] + [threading.Thread(target=reader, args=(port, key, history_ids, stop, tally, i)) for i in range(clients - pushers)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        time.sleep(duration)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.monotonic() - started
        exit_s = server.stop()
        stored = stored_observations(database.url, [n["system"] for n in networks], base)
        return report(engine, tally, elapsed, stored, exit_s)
    finally:
        database.drop()


def report(engine: str, tally: Tally, elapsed: float, stored: int, exit_s: float | None) -> bool:
    total = sum(len(v) for v in tally.latencies.values())
    exited = f"exited {exit_s:.1f} s after SIGTERM" if exit_s is not None else "did NOT exit within 60 s of SIGTERM (killed)"
    log(f"{total} requests in {elapsed:.1f} s: {total / elapsed:.1f} requests/s; the server {exited}")
    log(f"{'kind':<18} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    slowest = 0.0
    errors = Counter()
    for kind in ("push", *READ_KINDS):
        values = sorted(tally.latencies.get(kind, []))
        if not values:
            continue
        slowest = max(slowest, values[-1])
        statuses = tally.statuses[kind]
        errors.update({s: n for s, n in statuses.items() if s != 200})
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items(), key=str))
        log(f"{kind:<18} {len(values):>8} {percentile(values, 0.50) * 1000:>8.1f} {percentile(values, 0.99) * 1000:>8.1f} {values[-1] * 1000:>8.1f}  {shown}")
    bad = {s: n for s, n in errors.items() if s not in ALLOWED_ERRORS}
    log(f"observations acknowledged {tally.acknowledged}, stored {stored}")
    log(f"targets: no request over {SLOW_S:.0f} s: {'met' if slowest <= SLOW_S else f'NOT met (slowest {slowest:.1f} s)'}; "
        f"no error but 429/503: {'met' if not bad else f'NOT met {bad}'}; "
        f"every acknowledged observation stored: {'met' if stored >= tally.acknowledged else 'NOT met'}")  # fmt: skip
    for failure in tally.failures[:5]:
        log(f"  e.g. {failure}")
    return stored >= tally.acknowledged and exit_s is not None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--pushers", type=int, default=10)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--database-url", default=POSTGRES_SERVER, help="the PostgreSQL server (a database of its own is created there, then dropped)")
    args = parser.parse_args()
    engines = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    kept = True
    try:
        for engine in engines:
            kept = run(engine, args.clients, args.pushers, args.duration, args.database_url) and kept
    except BenchFailure as failure:
        log(f"FAILED: {failure}")
        return 1
    return 0 if kept else 2


if __name__ == "__main__":
    sys.exit(main())
