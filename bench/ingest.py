"""Ingest benchmark: providers pushing observations over HTTP into SQLite or PostgreSQL, beside the storage limit.

    .venv/bin/python bench/ingest.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
                                                          (the same on PostgreSQL: a database of its own is created, copied
                                                          with CREATE DATABASE … TEMPLATE for each run, and dropped)

    .venv/bin/python bench/ingest.py                      (what `make bench` runs)
    .venv/bin/python bench/ingest.py --batches 20         (a smoke test: 20,000 observations)
    .venv/bin/python bench/ingest.py --profile-lines 40   (a longer server-side profile)

1. builds a fresh, migrated SQLite database: a city, an air-quality IS (AirQualityObserved),
   200 entities (entity_store.upsert_entities), a provider, 200 devices each reporting into
   one entity, and a provider token;
2. prepares 200,000 observations as 200 batches of 1,000 (each batch: the 200 devices × 5
   attributes, no2 pm10 pm25 o3 co, at one time a minute after the previous batch's), the
   request bodies encoded before any clock starts;
3. for 1 client and for 4 concurrent clients: copies the database, starts the real server
   (`icity serve`, one worker, ICITY_BACKGROUND_IN_SERVER=false) on a free port, warms it up
   with refused batches (422, nothing stored), and from a separate client process (httpx,
   one keep-alive connection per client) pushes every batch, each of which must be
   acknowledged 200 with 1,000 observations; measures observations/s and each batch's
   latency; stops the server and checks that exactly 200,000 history rows were stored;
4. in the same run, right after each HTTP run, on its database: the storage limit, a plain executemany
   (stdlib sqlite3, the server's PRAGMAs) of the same 200,000 rows (same columns, same
   value encoding, same order) into a table with the same schema as `observations` (its
   CREATE TABLE, renamed: same primary key and foreign key), 1,000 rows a transaction
   (BEGIN IMMEDIATE … COMMIT, as the API does); then checks the two tables hold the same rows;
5. the server's own work without HTTP: in this process, on another copy, each body parsed
   (PushIn), authenticated and pushed (ingest.push) in a write transaction, timed; then
   again on a third copy with the last 20 batches under cProfile;
6. prints observations/s beside the raw rate measured right after, the ratio and the target
   (≥ 0.7 of the raw rate), p50/p99 latency per batch, the profile; writes bench/out/ingest-<sqlite|postgresql>.json.

Exits 0 even when the target is missed (the benchmark reports), non-zero when the server
fails, refuses a batch or stores the wrong number of rows.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "ingest"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(BENCH))

from air_city import (  # noqa: E402
    CITY,
    ENTITY_TYPE,
    SLUG,
    SYSTEM,
    BenchFailure,
    count_rows,
    create_air_city,
    create_postgresql_database,
    own_database_url,
    database_name,
    device_name,
    drop_postgresql_database,
    free_port,
    is_postgresql,
    libpq_url,
    log,
    percentile,
    sibling_url,
    unlink_database,
)  # fmt: skip

RATIO_TARGET = 0.7  # of the raw executemany rate, from issue 18
PUSH = f"/api/v1/information-systems/{CITY}/{SLUG}/observations"
ATTRIBUTES = ("no2", "pm10", "pm25", "o3", "co")
DEVICES = 200
BATCH = DEVICES * len(ATTRIBUTES)  # 1,000 observations a request
CONCURRENCY = (1, 4)
PROFILED_BATCHES = 20


# ---- the database --------------------------------------------------------------------------


def template_database(start: datetime, url: str) -> tuple[str, str]:
    """A migrated database at `url` (created) with the IS, its entities, provider, devices and a token; (url, token)."""
    if is_postgresql(url):
        create_postgresql_database(url)
    else:
        unlink_database(Path(url.removeprefix("sqlite:///")))
    from icity.db.engine import dispose, get_engine, transaction
    from icity.services import catalogue, entity_store, provider_tokens
    from icity.services.access import CLI

    create_air_city(url)
    with transaction(url) as session:
        entity_store.upsert_entities(
            session, SYSTEM,
            [
                {
                    "id": entity_store.entity_urn(ENTITY_TYPE, CITY, device_name(i)), "type": ENTITY_TYPE,
                    "location": {"type": "Point", "coordinates": [round(2.06 + (i % 20) * 0.008, 5), round(41.33 + (i // 20) * 0.012, 5)]},
                    "observedAt": (start - timedelta(hours=1)).isoformat(), "name": f"Estació {i}", "no2": 20.0,
                }
                for i in range(DEVICES)
            ],
        )  # fmt: skip
        provider = catalogue.add_provider(session, SYSTEM, name="Xarxa de qualitat de l'aire (benchmark)")
        for i in range(DEVICES):
            catalogue.add_device(
                session, SYSTEM, local_id=device_name(i), provider_id=provider.id,
                entity_id=entity_store.entity_urn(ENTITY_TYPE, CITY, device_name(i)), reporting_period_s=600,
            )  # fmt: skip
        token = provider_tokens.create_token(session, CLI, SYSTEM, provider.id, "bench gateway")["token"]
    get_engine(url).dispose()
    dispose(url)
    if not is_postgresql(url):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:  # one self-contained file to copy
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return url, token


def fresh_database(template: str, name: str) -> str:
    """A copy of the template database (a file copy, or CREATE DATABASE … TEMPLATE); its URL."""
    if is_postgresql(template):
        return create_postgresql_database(sibling_url(template, f"{database_name(template)}_{name}"), database_name(template))
    path = OUT / f"{name}.sqlite"
    unlink_database(path)
    shutil.copyfile(template.removeprefix("sqlite:///"), path)
    return f"sqlite:///{path}"


def remove_database(url: str) -> None:
    if is_postgresql(url):
        drop_postgresql_database(url)
    else:
        unlink_database(Path(url.removeprefix("sqlite:///")))


# ---- the workload ----------------------------------------------------------------------------


def batches(start: datetime, count: int) -> list[dict]:
    """`count` batches of 1,000 observations: every device, 5 attributes, one time each (a minute apart)."""
    out = []
    for b in range(count):
        at = (start + timedelta(minutes=b)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(
            {
                "measures": [
                    {
                        "device": device_name(i),
                        "observedAt": at,
                        "values": {name: round(5 + ((b * 7919 + i * 104729 + k * 31) % 11500) / 100, 2)
                                   for k, name in enumerate(ATTRIBUTES)},
                    }  # fmt: skip
                    for i in range(DEVICES)
                ]
            }
        )
    return out


def raw_rows(bodies: list[dict], postgresql: bool = False) -> list[list[tuple]]:
    """The history rows each batch stores, as the API stores them: (entity_id, attribute,
    observed_at as SQLAlchemy's SQLite text or, on PostgreSQL, a naive UTC datetime, value_number,
    value as JSON 'null')."""
    from icity.services.entity_store import entity_urn

    entity = {device_name(i): entity_urn(ENTITY_TYPE, CITY, device_name(i)) for i in range(DEVICES)}
    out = []
    for body in bodies:
        rows = []
        for measure in body["measures"]:
            at = datetime.strptime(measure["observedAt"], "%Y-%m-%dT%H:%M:%SZ")
            at = at if postgresql else at.strftime("%Y-%m-%d %H:%M:%S.%f")
            for name, value in measure["values"].items():
                rows.append((entity[measure["device"]], name, at, float(value), "null"))
        out.append(rows)
    return out


# ---- the server ---------------------------------------------------------------------------------


class Server:
    """`icity serve` with one worker on a database, as its own process."""

    def __init__(self, db_url: str, label: str):
        self.db_url = db_url
        self.port = free_port()
        self.log_path = OUT / f"server-{label}.log"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        icity = Path(sys.executable).with_name("icity")
        command = [str(icity), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        env = {
            **os.environ,
            "ICITY_DATABASE_URL": self.db_url,
            "ICITY_BACKGROUND_IN_SERVER": "false",
            "PYTHONUNBUFFERED": "1",
        }
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchFailure(f"the server exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise BenchFailure(f"the server did not answer GET /health with 200 within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()  # only the process this benchmark started
                self.process.wait(timeout=5)
        self._log.close()
        self.process = None


def warm_up(port: int, token: str, start: datetime) -> None:
    """Refused batches (a wrong type: 422, nothing stored) load the data models and the push path."""
    import httpx

    body = {"measures": [{"device": device_name(0), "observedAt": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "values": {"no2": "x"}}]}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(5):
            response = client.post(PUSH, json=body, timeout=60)
            if response.status_code != 422:
                raise BenchFailure(f"the warm-up batch gave {response.status_code}, expected 422: {response.text[:500]}")


# ---- the client (its own process) -----------------------------------------------------------------


def client(spec: dict) -> dict:
    """Push every body in `spec['bodies']` with `spec['clients']` threads, each its own connection;
    the next batch goes to whichever client is free. Each answer must be 200 with 1,000 observations."""
    import httpx

    bodies = [line.encode() for line in Path(spec["bodies"]).read_text().splitlines()]
    headers = {"Authorization": f"Bearer {spec['token']}", "Content-Type": "application/json"}
    latencies: list[float] = [0.0] * len(bodies)
    failures: list[str] = []
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()

    def work() -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{spec['port']}", headers=headers, timeout=120) as http:
            while not failures:
                with lock:
                    index = next(next_index, None)
                if index is None:
                    return
                sent = time.perf_counter()
                response = http.post(PUSH, content=bodies[index])
                latencies[index] = time.perf_counter() - sent
                if response.status_code != 200 or response.json().get("observations") != spec["batch"]:
                    failures.append(f"batch {index}: {response.status_code} {response.text[:300]}")

    threads = [threading.Thread(target=work) for _ in range(spec["clients"])]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "latencies": latencies, "failures": failures[:5]}


def run_client(spec: dict, timeout: float = 1800) -> dict:
    process = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--client", json.dumps(spec)],
        capture_output=True, cwd=ROOT, timeout=timeout,
    )  # fmt: skip
    try:
        return json.loads(process.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise BenchFailure(f"the client failed (code {process.returncode}):\n{process.stderr.decode()[-3000:]}")


def http_run(template: str, token: str, bodies_path: Path, count: int, clients: int, start: datetime) -> dict:
    db_url = fresh_database(template, f"http_{clients}")
    before = count_rows(db_url, "observations")
    server = Server(db_url, f"{clients}")
    server.start()
    try:
        warm_up(server.port, token, start)
        result = run_client({"port": server.port, "token": token, "bodies": str(bodies_path), "clients": clients, "batch": BATCH})
    finally:
        server.stop()
    if result["failures"]:
        raise BenchFailure(f"{clients} client(s): batches refused: {result['failures']}")
    stored = count_rows(db_url, "observations") - before
    if stored != count * BATCH:
        raise BenchFailure(f"{clients} client(s): the server stored {stored:,} history rows, expected {count * BATCH:,}")
    latencies = result["latencies"]
    return {
        "clients": clients,
        "db": db_url,
        "observations": count * BATCH,
        "stored": stored,
        "seconds": result["seconds"],
        "observations_per_s": count * BATCH / result["seconds"],
        "latency_ms": {
            "p50": 1000 * percentile(latencies, 0.50),
            "p99": 1000 * percentile(latencies, 0.99),
            "max": 1000 * max(latencies),
        },
    }


# ---- the storage limit ------------------------------------------------------------------------------


def raw_baseline(db_url: str, rows: list[list[tuple]]) -> dict:
    """executemany of the same rows into `observations_raw`, created by `observations`' own
    CREATE TABLE (same columns, primary key and foreign key), one transaction a batch."""
    if is_postgresql(db_url):
        return raw_baseline_postgresql(db_url, rows)
    from icity.db.engine import SQLITE_PRAGMAS

    db = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    for pragma in SQLITE_PRAGMAS:  # the server's
        db.execute(f"PRAGMA {pragma}")
    create = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'observations'").fetchone()[0]
    indexes = [sql for (sql,) in db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'observations' AND sql IS NOT NULL")]  # fmt: skip
    db.execute("DROP TABLE IF EXISTS observations_raw")
    db.execute(create.replace("CREATE TABLE observations", "CREATE TABLE observations_raw", 1).replace("pk_observations", "pk_observations_raw"))
    for sql in indexes:  # none today: the primary key is the only index
        db.execute(sql.replace(" ON observations ", " ON observations_raw ").replace("INDEX ix_", "INDEX ixraw_"))
    # the API also stamps each row with when it stored it: the baseline writes that column too
    recorded_at = db.execute("SELECT recorded_at FROM observations LIMIT 1").fetchone()[0]
    insert = (
        "INSERT INTO observations_raw (entity_id, attribute, observed_at, value_number, value, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    latencies = []
    started = time.perf_counter()
    for batch in rows:
        sent = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany(insert, [(*row, recorded_at) for row in batch])
        db.execute("COMMIT")
        latencies.append(time.perf_counter() - sent)
    seconds = time.perf_counter() - started
    count = sum(len(batch) for batch in rows)
    stored = db.execute("SELECT count(*) FROM observations_raw").fetchone()[0]
    columns = "entity_id, attribute, observed_at, value_number, value"  # all but when each was stored
    differ = db.execute(
        f"SELECT count(*) FROM (SELECT {columns} FROM observations_raw EXCEPT SELECT {columns} FROM observations)"
    ).fetchone()[0]  # the API stored the very same rows, byte for byte
    db.execute("DROP TABLE observations_raw")
    db.close()
    if stored != count or differ:
        raise BenchFailure(f"the raw baseline stored {stored:,} rows, {differ:,} of them not as the API stored them")
    return {
        "observations": count,
        "seconds": seconds,
        "observations_per_s": count / seconds,
        "latency_ms": {"p50": 1000 * percentile(latencies, 0.5), "p99": 1000 * percentile(latencies, 0.99)},
        "indexes": len(indexes),
    }


def raw_baseline_postgresql(db_url: str, rows: list[list[tuple]]) -> dict:
    """psycopg executemany (pipelined) of the same rows into `observations_raw`: the columns, defaults,
    indexes and primary key of `observations` (LIKE … INCLUDING ALL) and its foreign keys, one
    transaction a batch."""
    import psycopg

    with psycopg.connect(libpq_url(db_url), autocommit=True) as db:
        db.execute("DROP TABLE IF EXISTS observations_raw")
        db.execute("CREATE TABLE observations_raw (LIKE observations INCLUDING ALL)")
        foreign_keys = [definition for (definition,) in db.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'observations'::regclass AND contype = 'f'")]  # fmt: skip
        for definition in foreign_keys:
            db.execute(f"ALTER TABLE observations_raw ADD {definition}")
        indexes = db.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'observations_raw'").fetchone()[0]
        recorded_at = db.execute("SELECT recorded_at FROM observations LIMIT 1").fetchone()[0]
        insert = (
            "INSERT INTO observations_raw (entity_id, attribute, observed_at, value_number, value, recorded_at) "
            "VALUES (%s, %s, %s, %s, %s, %s)"
        )
        latencies = []
        started = time.perf_counter()
        for batch in rows:
            sent = time.perf_counter()
            with db.transaction(), db.cursor() as cursor:
                cursor.executemany(insert, [(*row, recorded_at) for row in batch])
            latencies.append(time.perf_counter() - sent)
        seconds = time.perf_counter() - started
        count = sum(len(batch) for batch in rows)
        stored = db.execute("SELECT count(*) FROM observations_raw").fetchone()[0]
        columns = "entity_id, attribute, observed_at, value_number, value::text"  # all but when each was stored
        differ = db.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM observations_raw EXCEPT SELECT {columns} FROM observations) AS d"
        ).fetchone()[0]
        db.execute("DROP TABLE observations_raw")
    if stored != count or differ:
        raise BenchFailure(f"the raw baseline stored {stored:,} rows, {differ:,} of them not as the API stored them")
    return {
        "observations": count,
        "seconds": seconds,
        "observations_per_s": count / seconds,
        "latency_ms": {"p50": 1000 * percentile(latencies, 0.5), "p99": 1000 * percentile(latencies, 0.99)},
        "indexes": indexes,
    }


# ---- the server's own work, in this process -----------------------------------------------------------


def in_process(template: str, token: str, encoded: list[bytes], profile_path: Path | None, profiled: int) -> dict:
    """What the route does per request, without HTTP: parse the body (PushIn), authenticate
    the token (its own session, as the dependency does), push in a write transaction, commit.
    With `profile_path`, the first `profiled` batches only, under cProfile."""
    from icity.api.push_schemas import PushIn
    from icity.datamodels import get_registry
    from icity.db.engine import get_engine, new_session, write_transaction
    from icity.services import authentication, ingest

    url = fresh_database(template, "in_process" if profile_path is None else "profiled")
    get_registry()  # loaded once per server process: the warm-up's work, not a batch's

    def one(body: bytes) -> None:
        parsed = PushIn.model_validate_json(body)
        with new_session(url) as session:
            principal = authentication.principal_for(session, token)
            measures = [ingest.Measure(m.device, m.observedAt, m.values) for m in parsed.measures]
            with write_transaction(url) as writer:
                ingest.push(writer, principal, SYSTEM, measures)

    bodies = encoded
    profiler = None
    if profile_path is not None:
        import cProfile

        profiler = cProfile.Profile()
        for body in encoded[:-profiled]:  # the profile is of the last batches, into a table of full size
            one(body)
        bodies = encoded[-profiled:]
    parse_seconds = 0.0
    started = time.perf_counter()
    for body in bodies:
        if profiler:
            profiler.enable()
        one(body)
        if profiler:
            profiler.disable()
    seconds = time.perf_counter() - started
    if profile_path is None:  # the parse alone, for the share of pydantic
        parse_started = time.perf_counter()
        for body in bodies:
            PushIn.model_validate_json(body)
        parse_seconds = time.perf_counter() - parse_started
    if profiler:
        profiler.dump_stats(str(profile_path))
    get_engine(url).dispose()
    count = len(bodies) * BATCH
    if count_rows(url, "observations") - count_rows(template, "observations") != len(encoded) * BATCH:
        raise BenchFailure("the in-process push stored the wrong number of rows")
    remove_database(url)
    return {"observations": count, "seconds": seconds, "observations_per_s": count / seconds, "parse_seconds": parse_seconds}


def print_profile(path: Path, limit: int, batches: int) -> None:
    import pstats

    for order in ("tottime", "cumulative"):
        log(
            f"profile of the last {batches} batches pushed in-process (parse, authenticate, push, commit),"
            f" top {limit} by {order}:"
        )
        pstats.Stats(str(path), stream=sys.stdout).strip_dirs().sort_stats(order).print_stats(limit)


# ---- report -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--batches", type=int, default=200, help="batches of 1,000 observations (default 200)")
    parser.add_argument("--clients", default=",".join(map(str, CONCURRENCY)), help="concurrent clients per run (default 1,4)")
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument(
        "--database-url", default=f"sqlite:///{OUT / 'template.sqlite'}",
        help="a SQLite file for the template database (default bench/out/ingest/template.sqlite), or a"
        " PostgreSQL server, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres, where the benchmark creates"
        " databases of its own (icity_bench_ingest_…), copies and drops them",
    )  # fmt: skip
    args = parser.parse_args()
    if is_postgresql(args.database_url):
        args.database_url = own_database_url(args.database_url, "ingest")
    if args.client:
        print(json.dumps(client(json.loads(args.client))), flush=True)
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    bench_started = time.perf_counter()
    # Every time in the past (the API refuses times more than 5 minutes ahead), on whole minutes.
    start = (datetime.now(timezone.utc) - timedelta(minutes=args.batches + 60)).replace(second=0, microsecond=0)
    concurrency = [int(c) for c in args.clients.split(",") if c.strip()]
    results: dict = {
        "started_at": datetime.now().astimezone().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version},
        "workload": {"observations": args.batches * BATCH, "batch": BATCH, "devices": DEVICES, "attributes": list(ATTRIBUTES)},
        "target": {"ratio_of_raw": RATIO_TARGET},
        "http": {},
    }
    log(f"ingest benchmark ({'PostgreSQL' if is_postgresql(args.database_url) else 'SQLite'}): {args.batches * BATCH:,} observations in batches of {BATCH:,} ({DEVICES} devices × {len(ATTRIBUTES)} attributes)")
    log("preparing a migrated template database and the request bodies …")
    postgresql = is_postgresql(args.database_url)
    results["database"] = "postgresql" if postgresql else "sqlite"
    template, token = template_database(start, args.database_url)
    bodies = batches(start, args.batches)
    encoded = [json.dumps(body, separators=(",", ":")) for body in bodies]
    bodies_path = OUT / "bodies.jsonl"
    bodies_path.write_text("\n".join(encoded) + "\n")
    results["workload"]["body_kib"] = round(sum(map(len, encoded)) / len(encoded) / 1024, 1)
    rows = raw_rows(bodies, postgresql)
    failure = None
    try:
        for clients in concurrency:
            run = http_run(template, token, bodies_path, args.batches, clients, start)
            results["http"][str(clients)] = run
            log(
                f"  HTTP, {clients} client(s): {run['observations']:,} observations in {run['seconds']:.2f} s ="
                f" {run['observations_per_s']:,.0f} obs/s; per batch p50 {run['latency_ms']['p50']:.1f} ms,"
                f" p99 {run['latency_ms']['p99']:.1f} ms; stored {run['stored']:,} history rows"
            )
            # Right after, into the same database: the machine's state (other load, disk) is the run's.
            raw = run["raw"] = raw_baseline(run["db"], rows)
            log(
                f"  raw executemany, same rows, same schema, same database: {raw['seconds']:.2f} s ="
                f" {raw['observations_per_s']:,.0f} obs/s; per batch p50 {raw['latency_ms']['p50']:.1f} ms,"
                f" p99 {raw['latency_ms']['p99']:.1f} ms"
            )
        results["raw"] = results["http"][str(concurrency[0])]["raw"]
        del rows, bodies  # 200,000 tuples the in-process runs need not walk at each garbage collection
        gc.collect()
        local = in_process(template, token, [e.encode() for e in encoded], None, 0)
        results["in_process"] = local
        log(
            f"  in-process (parse, authenticate, push, commit; no HTTP): {local['observations_per_s']:,.0f} obs/s"
            f" ({1000 * local['seconds'] / args.batches:.1f} ms a batch, of which parsing the body"
            f" {1000 * local['parse_seconds'] / args.batches:.1f} ms)"
        )
        if not args.no_profile:
            profile_path = OUT / "ingest.prof"
            in_process(template, token, [e.encode() for e in encoded], profile_path, min(PROFILED_BATCHES, args.batches))
            results["profile"] = str(profile_path)
    except BenchFailure as error:
        failure = str(error)
    finally:
        for run in results["http"].values():
            remove_database(run["db"])
        if postgresql:
            remove_database(template)

    results["seconds"] = round(time.perf_counter() - bench_started, 1)
    results["failure"] = failure
    log("")
    if "raw" in results:
        raw_rate = results["raw"]["observations_per_s"]
        header = f"{'':<36} │ {'obs/s':>8} │ {'p50 ms':>7} {'p99 ms':>7} │ {'÷ raw':>6} │ target ≥ {RATIO_TARGET} of raw"
        log(header)
        log("─" * len(header))
        met_all = True
        for clients, run in results["http"].items():
            raw = run["raw"]
            ratio = run["observations_per_s"] / raw["observations_per_s"]
            run["ratio"] = round(ratio, 3)
            run["met"] = ratio >= RATIO_TARGET
            met_all &= run["met"]
            log(
                f"{'HTTP push, ' + clients + ' client(s)':<36} │ {run['observations_per_s']:>8,.0f} │"
                f" {run['latency_ms']['p50']:>7.1f} {run['latency_ms']['p99']:>7.1f} │ {ratio:>6.2f} │"
                f" {'target met' if run['met'] else 'target NOT met'}"
            )
            log(
                f"{'  raw executemany right after':<36} │ {raw['observations_per_s']:>8,.0f} │ {raw['latency_ms']['p50']:>7.1f}"
                f" {raw['latency_ms']['p99']:>7.1f} │ {1:>6.2f} │"
            )
        if "in_process" in results:
            local = results["in_process"]
            log(f"{'in-process push (no HTTP) ÷ 1st raw':<36} │ {local['observations_per_s']:>8,.0f} │ {'':>7} {'':>7} │"
                f" {local['observations_per_s'] / raw_rate:>6.2f} │")  # fmt: skip
        results["met"] = met_all
        log(
            f"obs/s = observations acknowledged / wall time from the first request to the last answer; each batch"
            f" {BATCH:,} observations (~{results['workload']['body_kib']} KiB of JSON), validated whole, one transaction;"
            " the server: `icity serve`, 1 worker, " + ("PostgreSQL" if postgresql else "SQLite (WAL, synchronous=NORMAL)")
        )
        log(
            "raw = psycopg executemany (pipelined), one transaction a batch, of the same rows into a table LIKE observations"
            " INCLUDING ALL (same columns, primary key and indexes) with its foreign keys; the two tables were checked to"
            " hold the same rows" if postgresql else
            "raw = stdlib sqlite3 executemany of the same rows (same columns and encoding) into a copy of the"
            " observations table (same primary key and foreign key) of the same database, one BEGIN IMMEDIATE … COMMIT"
            f" per {BATCH:,}, rows prepared beforehand; the two tables were checked to hold the same rows"
        )
        log(f"target: HTTP ingest ≥ {RATIO_TARGET} of the raw rate: {'target met' if met_all else 'target NOT met'}")
    out = BENCH / "out" / f"ingest-{results['database']}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    if "profile" in results:
        log("")
        print_profile(Path(results["profile"]), args.profile_lines, min(PROFILED_BATCHES, args.batches))
    log(f"results: {out.relative_to(ROOT)}; whole benchmark {results['seconds']:.0f} s")
    if failure:
        log(f"FAILED: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
