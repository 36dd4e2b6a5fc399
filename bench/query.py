"""Query benchmark: the API beside hand-written SQL on the same SQLite file.

    .venv/bin/python bench/query.py            (what `make bench` runs)
    .venv/bin/python bench/query.py --quick    (shorter runs, for a smoke test)

1. builds (or reuses, from bench/out/) 20,000 entities and 1,000,000 observations;
2. times three queries as hand-written SQL (stdlib sqlite3, one connection):
   (a) entities of one type in one city within a bbox, (b) entities within
   500 m of a point, (c) hourly averages of no2 of one sensor over 7 days;
3. starts the real server (uvicorn with 1 worker, with --workers 2, and as 2
   processes on SO_REUSEPORT sockets — `icity serve --workers 2`), checks that the API
   answers exactly what the SQL answers, and measures p50/p99 and requests/s
   at 1 and 16 concurrent clients from a separate client process
   (bench/load_client.py);
4. on the first server, measures the cost of developer access: query (a) with
   an approved developer's API key (app on the `partner` plan: authentication,
   access policy, rate limits, metering) beside the same query anonymously on
   the public IS, requests alternating (bench/developer.py makes the key);
   and again on one IS switched to `approval` with a grant for the key's app
   (versus the same queries anonymously while it is public); target: overhead
   ≤ 15% at p50;
5. on the first server, asks queries (a) and (b) through NGSI-LD as well
   (`/ngsi-ld/v1/entities`: `type` + `georel=within` the bbox as a Polygon, and
   `georel=near;maxDistance==500` around the point), normalized and with
   `options=keyValues`, checks them against the SQL, and measures them beside
   /api/v1 from one client whose requests rotate /api/v1 → normalized →
   keyValues on the same query; targets at p50: keyValues ≤ 1.2× /api/v1,
   normalized ≤ 1.5×; and query (c) through the NGSI-LD temporal API
   (`/ngsi-ld/v1/temporal/entities/{id}`, `options=aggregatedValues`, `avg` per
   `PT1H`), checked against the SQL and measured the same way beside /api/v1's
   history aggregation; target at p50: ≤ 1.2× /api/v1;
6. measures datasette 0.65.5 (installed by `make bench` in .venv-datasette) on a
   plain copy of the same rows, asked the same SQL through its SQL API
   (`/plain.json?sql=…&_shape=array`), checked against the direct SQL, at the
   same client counts (bench/peer_datasette.py);
7. prints each API figure beside its SQL baseline, the API's overhead and the
   targets, then direct SQL, datasette and iCity (the recommended workers) side
   by side with the targets against datasette (iCity p50 at 1 client ≤
   datasette's; req/s at 16 clients ≥ 1.5× datasette's), and writes everything
   to bench/out/query.json.

    .venv/bin/python bench/query.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

runs the same on PostgreSQL: the data set is copied into that database with COPY
(created or recreated as needed, reused when it holds this data set), iCity
serves it, the direct SQL runs there (psycopg, PostgreSQL's dialect); datasette
is n/a; the developer-access part runs on SQLite only; results in
bench/out/query_postgresql.json.

Exits 0 even when a target is missed (the benchmark reports), non-zero when the
server fails to start or answers wrongly.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "src"))

import dataset  # noqa: E402
import dataset_pg  # noqa: E402
import developer  # noqa: E402
import peer_datasette  # noqa: E402
import workload  # noqa: E402

KINDS = {
    "a": "(a) type+city+bbox",
    "b": "(b) near 500 m",
    "c": "(c) hourly avg 7 d",
}
P99_TARGET_MS = {"a": 25.0, "b": 25.0, "c": 50.0}
OVERHEAD_TARGET_MS = 3.0
ACCESS_OVERHEAD_TARGET_PCT = 15.0  # developer key vs anonymous, query (a), p50
NGSI_LD_RATIO_TARGET = {"normalized": 1.5, "keyValues": 1.2}  # NGSI-LD p50 / the same query's /api/v1 p50
NGSI_LD_KINDS = ("a", "b")
TEMPORAL_RATIO_TARGET = 1.2  # NGSI-LD temporal (c) p50 / /api/v1 history p50
NOISE_CORES = 0.25  # CPU used by other programs during a run above which its figures are flagged
CORES_TARGET = 1.5  # "uses both cores": server processes busy ≥ 1.5 of the machine's 2 cores
# datasette is measured in the same run (bench/peer_datasette.py); pygeoapi only as a note
PYGEOAPI_NOTE = "pygeoapi 0.21.0 (measured once elsewhere, not in this run): (a) p50 7.7–8.4 ms, 114–120 req/s at 16 clients; no aggregation (c)"
DATASETTE_P50_TARGET = 1.0  # iCity p50 at 1 client ≤ datasette's
DATASETTE_RPS_TARGET = 1.5  # iCity req/s at 16 clients (recommended workers) ≥ 1.5× datasette's


class BenchFailure(Exception):
    pass


def log(message: str) -> None:
    print(message, flush=True)


# ---- the server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(b")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def uvicorn_options() -> list[str]:
    options = []
    import importlib.util

    if importlib.util.find_spec("uvloop"):
        options += ["--loop", "uvloop"]
    if importlib.util.find_spec("httptools"):
        options += ["--http", "httptools"]
    return options


class Server:
    """`uvicorn --workers N` (label "N"), or N uvicorn processes on SO_REUSEPORT sockets (label "Nr")."""

    def __init__(self, db_path: Path, label: str, database_url: str | None = None):
        self.db_path = db_path
        self.database_url = database_url or f"sqlite:///{db_path}"
        self.label = label
        self.reuseport = label.endswith("r")
        self.workers = int(label.rstrip("r"))
        self.port = free_port()
        self.log_path = dataset.OUT / f"server-{label}.log"
        self.process: subprocess.Popen | None = None
        self.pids: list[int] = []
        self.command: list[str] = []

    def start(self, timeout: float = 180.0) -> float:
        # each worker answers once it has loaded the registry (icity.warmup): seconds each, more on a busy machine
        uvicorn = Path(sys.executable).with_name("uvicorn")
        launcher = [str(uvicorn)] if uvicorn.exists() else [sys.executable, "-m", "uvicorn"]
        if self.reuseport:
            icity = Path(sys.executable).with_name("icity")
            self.command = [str(icity), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        else:
            self.command = launcher + [
            "icity.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers),
            "--no-access-log", "--log-level", "warning",
            ] + uvicorn_options()  # fmt: skip
        env = {**os.environ, "ICITY_DATABASE_URL": self.database_url, "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchFailure(f"the server exited with code {self.process.returncode}:\n{self.log_tail()}")
            try:
                status, _ = get(self.port, "/health", timeout=2)
                if status == 200 and (self.workers == 1 or len(descendants(self.process.pid)) >= self.workers):
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise BenchFailure(f"the server did not answer GET /health with 200 within {timeout:.0f} s:\n{self.log_tail()}")
        self.pids = [self.process.pid] + descendants(self.process.pid)
        return time.perf_counter() - started

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None:
            return
        pids = [self.process.pid] + descendants(self.process.pid)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                for pid in reversed(pids):  # only the processes this benchmark started
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.process.wait(timeout=5)
        self._log.close()
        self.process = None


def get(port: int, path: str, timeout: float = 10, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    status, _, body = get_with_headers(port, path, timeout, headers)
    return status, body


def get_with_headers(
    port: int, path: str, timeout: float = 10, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


# ---- checking that the API answers what the SQL answers ----------------------------------


def verify(
    port: int,
    db_path: Path,
    queries: dict[str, list[workload.Query]],
    per_kind: int = 25,
    headers: dict[str, str] | None = None,
) -> dict[str, int]:
    db = workload.connect(db_path)
    checked = {}
    try:
        for kind, kind_queries in queries.items():
            for query in kind_queries[:per_kind]:
                status, body = get(port, query.path, headers=headers)
                if status != 200:
                    raise BenchFailure(f"{query.path}: HTTP {status}: {body[:400]!r}")
                data = json.loads(body)
                expected = workload.RUNNERS[kind](db, query)
                if kind in ("a", "b"):
                    ids = [item["id"] for item in data["items"]]
                    want = [row["id"] for row in expected[: workload.LIMIT]]
                    if ids != want:
                        raise BenchFailure(
                            f"{query.path}: the API returned {len(ids)} entities, the SQL {len(want)}; "
                            f"first differences: {sorted(set(ids) ^ set(want))[:5]}"
                        )
                    if bool(data.get("nextCursor")) != (len(expected) > workload.LIMIT):
                        raise BenchFailure(f"{query.path}: nextCursor is {data.get('nextCursor')!r}")
                    for item, row in zip(data["items"], expected):
                        if item.get("name") != row["attributes"].get("name") or item.get("location") != row["location"]:
                            raise BenchFailure(f"{query.path}: {item['id']} differs from the stored row")
                else:
                    buckets = data["buckets"]
                    if len(buckets) != len(expected):
                        raise BenchFailure(f"{query.path}: {len(buckets)} buckets, the SQL has {len(expected)}")
                    for bucket, (start, avg, count) in zip(buckets, expected):
                        at = datetime.fromisoformat(bucket["start"].replace("Z", "+00:00")).timestamp()
                        if at != start or bucket["count"] != count or abs(bucket["value"] - avg) > 1e-9 * max(1, abs(avg)):
                            raise BenchFailure(f"{query.path}: bucket {bucket} differs from SQL {(start, avg, count)}")
            checked[kind] = min(per_kind, len(kind_queries))
    finally:
        db.close()
    return checked


# ---- load -------------------------------------------------------------------------------


def run_client(spec: dict, timeout: float) -> dict:
    completed = subprocess.run(
        [sys.executable, str(BENCH / "load_client.py")],
        input=json.dumps(spec).encode(),
        capture_output=True,
        timeout=timeout,
        cwd=ROOT,
    )
    try:
        result = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise BenchFailure(f"the load client failed (code {completed.returncode}): {completed.stderr.decode()[-2000:]}")
    if completed.returncode != 0 or not result.get("ok"):
        raise BenchFailure(f"wrong responses under load: {result.get('errors')}")
    return result


def load(
    server: Server,
    queries: list[workload.Query],
    concurrency: int,
    args,
    headers: dict[str, str] | None = None,
    variants: list[dict[str, str]] | None = None,
    duration: float | None = None,
) -> dict:
    return load_paths(server, [q.path for q in queries], "buckets" if queries[0].kind == "c" else "items",
                      concurrency, args, headers, variants, duration)  # fmt: skip


def load_paths(
    server,
    paths: list[str],
    check: str,
    concurrency: int,
    args,
    headers: dict[str, str] | None = None,
    variants: list[dict[str, str]] | None = None,
    duration: float | None = None,
) -> dict:
    duration = duration or args.duration
    spec = {
        "port": server.port,
        "paths": paths,
        "concurrency": concurrency,
        "warmup": args.warmup,
        "duration": duration,
        "max_requests": int(args.max_requests * duration / args.duration),
        "check": check,
        "check_every": 10,
        "server_pids": server.pids,
        "headers": headers or {},
        "variants": variants,
    }
    return run_client(spec, timeout=duration + 120)


def warm_up(server: Server, queries: dict[str, list[workload.Query]]) -> None:
    """Every worker loads what it loads lazily (Smart Data Models registry, SQL caches)."""
    for kind_queries in queries.values():
        spec = {
            "port": server.port, "paths": [q.path for q in kind_queries], "concurrency": 16,
            "warmup": 100 * server.workers, "duration": 0.0, "max_requests": 0,
            "check": None, "server_pids": [],
        }  # fmt: skip
        run_client(spec, timeout=120)


# ---- developer access: the cost of a key ---------------------------------------------------


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def developer_access(
    server: Server, db_path: Path, queries: list[workload.Query], key: str, app_id: int, args
) -> dict:
    """Query (a) with the developer's key (authentication, policy, rate limits,
    metering) beside the same query anonymously, on the same server, from one
    client whose requests alternate: anonymous, then the same path with the key.
    Each pair meets the machine in the same state, so its drifts (the machine is
    shared, and a long run slows) hit both sides alike."""
    headers = {"X-API-Key": key}
    checked = verify(server.port, db_path, {"a": queries}, headers=headers)
    status, response_headers, body = get_with_headers(server.port, queries[0].path, headers=headers)
    if status != 200 or "ratelimit-limit" not in response_headers:
        raise BenchFailure(f"a request with the developer key: HTTP {status}, headers {response_headers}: {body[:300]!r}")
    paired = load(server, queries, 1, args, variants=[{}, headers], duration=args.duration * args.access_rounds)
    throughput = {
        "anonymous": load(server, queries, 16, args)["rps"],
        "key": load(server, queries, 16, args, headers=headers)["rps"],
    }
    summary: dict = {
        "workers": server.label,
        "seconds": paired["seconds"],
        "checked": checked["a"],
        "other_cpu_cores": paired["other_cpu_cores"],
    }
    for side, variant in zip(("anonymous", "key"), paired["variants"]):
        summary[side] = {
            "p50_ms": round(variant["p50_ms"], 3),
            "p99_ms": round(variant["p99_ms"], 3),
            "requests": variant["requests"],
            "rps_16_clients": throughput[side],
        }
    anonymous, keyed = summary["anonymous"], summary["key"]
    summary["overhead_p50_ms"] = round(keyed["p50_ms"] - anonymous["p50_ms"], 3)
    summary["overhead_p50_pct"] = round(100 * summary["overhead_p50_ms"] / anonymous["p50_ms"], 1)
    summary["overhead_p99_ms"] = round(keyed["p99_ms"] - anonymous["p99_ms"], 3)
    summary["target"] = f"≤ {ACCESS_OVERHEAD_TARGET_PCT:.0f}% at p50"
    summary["met"] = summary["overhead_p50_pct"] <= ACCESS_OVERHEAD_TARGET_PCT
    summary["approval"] = approval_variant(server, db_path, queries, headers, app_id, args)
    return summary


def approval_variant(
    server: Server, db_path: Path, queries: list[workload.Query], headers: dict[str, str], app_id: int, args
) -> dict:
    """The queries (a) on one system, asked anonymously while it is public and
    with the key while it is `approval` and the key's app holds a grant (rounds
    alternate, switching the policy in between): the policy's cost on the path
    where the grant decides."""
    system = developer.APPROVAL_SYSTEM
    city, slug = system.split("/")
    entity_type = next(t for t, s, *_ in dataset.OTHER_TYPES if s == slug)
    subset = [q for q in queries if q.args[:2] == (entity_type, city)]
    if len(subset) < 5:
        raise BenchFailure(f"only {len(subset)} queries (a) on {system}")
    runs: dict[str, list[dict]] = {"anonymous_public": [], "key_approval": []}
    try:
        developer.set_policy(db_path, app_id, "approval")
        verify(server.port, db_path, {"a": subset}, headers=headers)
        status, body = get(server.port, subset[0].path)
        if status != 200 or json.loads(body)["items"]:
            raise BenchFailure(f"an anonymous caller read the approval system {system}: HTTP {status} {body[:200]!r}")
        # the policy is the server's state, so the two sides cannot alternate by
        # request: short rounds alternate instead, and their medians are compared
        for _ in range(2 * args.access_rounds):
            developer.set_policy(db_path, app_id, "public")
            runs["anonymous_public"].append(load(server, subset, 1, args, duration=args.duration / 2))
            developer.set_policy(db_path, app_id, "approval")
            runs["key_approval"].append(load(server, subset, 1, args, headers=headers, duration=args.duration / 2))
    finally:
        developer.set_policy(db_path, app_id, "public")
    summary: dict = {"system": system, "queries": len(subset), "rounds": len(runs["key_approval"])}
    for side, side_runs in runs.items():
        summary[side] = {
            "p50_ms": round(median([r["p50_ms"] for r in side_runs]), 3),
            "p99_ms": round(median([r["p99_ms"] for r in side_runs]), 3),
        }
    anonymous, keyed = summary["anonymous_public"], summary["key_approval"]
    summary["overhead_p50_ms"] = round(keyed["p50_ms"] - anonymous["p50_ms"], 3)
    summary["overhead_p50_pct"] = round(100 * summary["overhead_p50_ms"] / anonymous["p50_ms"], 1)
    summary["met"] = summary["overhead_p50_pct"] <= ACCESS_OVERHEAD_TARGET_PCT
    return summary


def access_table(access: dict) -> str:
    anonymous, keyed = access["anonymous"], access["key"]
    lines = [
        f"developer access — query {KINDS['a']}, {describe(access['workers'])}, 1 client alternating "
        f"anonymous and keyed requests for {access['seconds']:.0f} s:",
        f"  {'':<32} {'p50 ms':>7} {'p99 ms':>7} {'req/s@16':>9}",
        f"  {'anonymous, public IS':<32} {anonymous['p50_ms']:>7.2f} {anonymous['p99_ms']:>7.2f} {anonymous['rps_16_clients']:>9.0f}",
        f"  {'developer key (partner plan)':<32} {keyed['p50_ms']:>7.2f} {keyed['p99_ms']:>7.2f} {keyed['rps_16_clients']:>9.0f}",
        f"  overhead: p50 {access['overhead_p50_ms']:+.2f} ms ({access['overhead_p50_pct']:+.1f}%), "
        f"p99 {access['overhead_p99_ms']:+.2f} ms; target {access['target']}: {'met' if access['met'] else 'NOT MET'}",
    ]
    busy = access["other_cpu_cores"] or 0
    if busy > NOISE_CORES:
        lines.append(f"  WARNING: other programs used up to {busy:.2f} cores meanwhile: rerun on a quiet machine")
    approval = access.get("approval")
    if approval:
        lines += [
            f"  approval variant — the {approval['queries']} queries on {approval['system']}, "
            f"median of {approval['rounds']} alternating rounds:",
            f"  {'anonymous, while it is public':<32} {approval['anonymous_public']['p50_ms']:>7.2f} {approval['anonymous_public']['p99_ms']:>7.2f}",
            f"  {'key, `approval` with a grant':<32} {approval['key_approval']['p50_ms']:>7.2f} {approval['key_approval']['p99_ms']:>7.2f}",
            f"  overhead: p50 {approval['overhead_p50_ms']:+.2f} ms ({approval['overhead_p50_pct']:+.1f}%); "
            f"target {access['target']}: {'met' if approval['met'] else 'NOT MET'}",
        ]
    if "metered_calls" in access:
        lines.append(
            f"  metering: {access['metered_calls']:,} calls of the benchmark app recorded in usage_daily "
            f"(flushed in the background and at shutdown)"
        )
    return "\n".join(lines)


# ---- NGSI-LD: the same queries through the standard -----------------------------------------


def verify_ngsi_ld(port: int, db_path: Path, queries: list[workload.Query], per_kind: int = 25) -> int:
    """The NGSI-LD form of each query answers the entities the SQL finds, with their values:
    normalized (GeoProperty/Property) and keyValues. For (b), an entity may be in one answer and
    not the other only when it lies within 1 m of the circle (the distance formula may differ)."""
    db = workload.connect(db_path)
    try:
        for query in queries[:per_kind]:
            rows = {row["id"]: row for row in workload.ngsi_ld_expected(db, query)[: workload.LIMIT]}
            for key_values in (False, True):
                path = workload.ngsi_ld_path(query, key_values)
                status, body = get(port, path)
                if status != 200:
                    raise BenchFailure(f"{path}: HTTP {status}: {body[:400]!r}")
                entities = json.loads(body)
                if not isinstance(entities, list):
                    raise BenchFailure(f"{path}: not an array of entities: {body[:200]!r}")
                got = {entity["id"]: entity for entity in entities}
                for entity_id in set(got) ^ set(rows):
                    location = (rows[entity_id]["location"] if entity_id in rows else _ld_value(got[entity_id]["location"], key_values))
                    if query.kind != "b" or abs(workload.distance_m(*workload.near_point(query), location) - workload.RADIUS_M) > 1:
                        raise BenchFailure(
                            f"{path}: NGSI-LD answered {len(got)} entities, the SQL {len(rows)}; {entity_id} is only in "
                            f"{'the NGSI-LD answer' if entity_id in got else 'the SQL'}"
                        )
                for entity_id in set(got) & set(rows):
                    entity, row = got[entity_id], rows[entity_id]
                    name = row["attributes"].get("name")
                    if (
                        entity.get("type") != row["type"]
                        or _ld_value(entity.get("location"), key_values) != row["location"]
                        or (name is not None and _ld_value(entity.get("name"), key_values) != name)
                    ):
                        raise BenchFailure(f"{path}: {entity_id} differs from the stored row: {json.dumps(entity)[:300]}")
    finally:
        db.close()
    return min(per_kind, len(queries))


def _ld_value(attribute, key_values: bool):
    if key_values or not isinstance(attribute, dict):
        return attribute
    return attribute.get("value")


def ngsi_ld_beside_api(server: Server, db_path: Path, queries: dict[str, list[workload.Query]], args) -> dict:
    """Per kind: one client, requests rotating /api/v1 → NGSI-LD normalized → NGSI-LD keyValues on
    the same query, so that the three meet the machine in the same state; p50 ratios to /api/v1."""
    summary: dict = {"workers": server.label, "kinds": {}}
    for kind in NGSI_LD_KINDS:
        if kind not in queries:
            continue
        kind_queries = queries[kind]
        checked = verify_ngsi_ld(server.port, db_path, kind_queries)
        variant_paths = [
            [q.path for q in kind_queries],
            [workload.ngsi_ld_path(q, key_values=False) for q in kind_queries],
            [workload.ngsi_ld_path(q, key_values=True) for q in kind_queries],
        ]
        spec = {
            "port": server.port, "paths": variant_paths[0], "variant_paths": variant_paths, "variants": [{}, {}, {}],
            "concurrency": 1, "warmup": args.warmup, "duration": args.duration * 3,
            "max_requests": args.max_requests * 3, "check": "entities", "check_every": 10, "server_pids": server.pids,
        }  # fmt: skip
        result = run_client(spec, timeout=args.duration * 3 + 120)
        api, normalized, key_values = result["variants"]
        figures: dict = {"checked": checked, "seconds": result["seconds"], "other_cpu_cores": result["other_cpu_cores"]}
        for name, variant in (("api_v1", api), ("normalized", normalized), ("keyValues", key_values)):
            figures[name] = {"p50_ms": round(variant["p50_ms"], 3), "p99_ms": round(variant["p99_ms"], 3), "requests": variant["requests"]}
        for name in ("normalized", "keyValues"):
            ratio = figures[name]["p50_ms"] / figures["api_v1"]["p50_ms"]
            figures[name] |= {"ratio_p50": round(ratio, 2), "target": f"≤ {NGSI_LD_RATIO_TARGET[name]}×", "met": ratio <= NGSI_LD_RATIO_TARGET[name]}
        summary["kinds"][kind] = figures
    return summary


def verify_temporal(port: int, db_path: Path, queries: list[workload.Query], per_query: int = 25) -> int:
    """NGSI-LD's hourly averages of query (c) are the SQL's: the same periods, the same values."""
    db = workload.connect(db_path)
    try:
        for query in queries[:per_query]:
            path = workload.ngsi_ld_temporal_path(query)
            status, body = get(port, path)
            if status != 200:
                raise BenchFailure(f"{path}: HTTP {status}: {body[:400]!r}")
            entity_id, attribute = query.args[:2]
            averages = json.loads(body)[attribute]["avg"]
            expected = workload.run_history(db, query)
            if len(averages) != len(expected):
                raise BenchFailure(f"{path}: {len(averages)} periods, the SQL has {len(expected)} buckets")
            for (value, start, end), (bucket, avg, _count) in zip(averages, expected):
                at = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
                ends = datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp()
                if at != bucket or ends != bucket + workload.INTERVAL_S or abs(value - avg) > 1e-9 * max(1, abs(avg)):
                    raise BenchFailure(f"{path}: period {[value, start, end]} differs from SQL {(bucket, avg)}")
    finally:
        db.close()
    return min(per_query, len(queries))


def temporal_beside_api(server: Server, db_path: Path, queries: list[workload.Query], sql: dict, args) -> dict:
    """Query (c): one client, requests alternating /api/v1's history aggregation → NGSI-LD temporal
    aggregatedValues on the same sensor; p50 ratio to /api/v1, the hand-written SQL beside them."""
    checked = verify_temporal(server.port, db_path, queries)
    variant_paths = [[q.path for q in queries], [workload.ngsi_ld_temporal_path(q) for q in queries]]
    spec = {
        "port": server.port, "paths": variant_paths[0], "variant_paths": variant_paths, "variants": [{}, {}],
        "concurrency": 1, "warmup": args.warmup, "duration": args.duration * 2,
        "max_requests": args.max_requests * 2, "check": "aggregated", "check_every": 10, "server_pids": server.pids,
    }  # fmt: skip
    result = run_client(spec, timeout=args.duration * 2 + 120)
    api, temporal = result["variants"]
    ratio = temporal["p50_ms"] / api["p50_ms"]
    return {
        "checked": checked, "seconds": result["seconds"], "other_cpu_cores": result["other_cpu_cores"],
        "sql": {"p50_ms": sql["p50_ms"], "p99_ms": sql["p99_ms"]},
        "api_v1": {"p50_ms": round(api["p50_ms"], 3), "p99_ms": round(api["p99_ms"], 3), "requests": api["requests"]},
        "aggregatedValues": {"p50_ms": round(temporal["p50_ms"], 3), "p99_ms": round(temporal["p99_ms"], 3),
                             "requests": temporal["requests"], "ratio_p50": round(ratio, 2),
                             "target": f"≤ {TEMPORAL_RATIO_TARGET}×", "met": ratio <= TEMPORAL_RATIO_TARGET},
    }  # fmt: skip


def temporal_table(figures: dict, driver: str = "stdlib sqlite3") -> str:
    api, temporal, sql = figures["api_v1"], figures["aggregatedValues"], figures["sql"]
    lines = [
        f"NGSI-LD temporal beside /api/v1 — {KINDS['c']}, 1 client alternating on the same sensor:",
        f"  {'form':<34} {'p50 ms':>7} {'p99 ms':>7} {'× api p50':>9}  {'target':<7} met",
        f"  {f'hand-written SQL ({driver})':<34} {sql['p50_ms']:>7.2f} {sql['p99_ms']:>7.2f}",
        f"  {'/api/v1 …/history?aggregate=avg':<34} {api['p50_ms']:>7.2f} {api['p99_ms']:>7.2f} {1:>9.2f}",
        f"  {'NGSI-LD temporal aggregatedValues':<34} {temporal['p50_ms']:>7.2f} {temporal['p99_ms']:>7.2f} {temporal['ratio_p50']:>9.2f}"
        f"  {temporal['target']:<7} {'yes' if temporal['met'] else 'NO'}",
    ]
    if (figures["other_cpu_cores"] or 0) > NOISE_CORES:
        lines.append(f"  WARNING: other programs used up to {figures['other_cpu_cores']:.2f} cores meanwhile: rerun on a quiet machine")
    return "\n".join(lines)


def ngsi_ld_table(ngsi_ld: dict) -> str:
    lines = [
        f"NGSI-LD beside /api/v1 — {describe(ngsi_ld['workers'])}, 1 client rotating /api/v1, normalized, keyValues on the same query:",
        f"  {'query':<20} {'form':<20} {'p50 ms':>7} {'p99 ms':>7} {'× api p50':>9}  {'target':<7} met",
    ]
    for kind, figures in ngsi_ld["kinds"].items():
        api = figures["api_v1"]
        lines.append(f"  {KINDS[kind]:<20} {'/api/v1':<20} {api['p50_ms']:>7.2f} {api['p99_ms']:>7.2f} {1:>9.2f}")
        for name, label in (("normalized", "NGSI-LD normalized"), ("keyValues", "NGSI-LD keyValues")):
            f = figures[name]
            lines.append(
                f"  {'':<20} {label:<20} {f['p50_ms']:>7.2f} {f['p99_ms']:>7.2f} {f['ratio_p50']:>9.2f}  {f['target']:<7} {'yes' if f['met'] else 'NO'}"
            )
        if (figures["other_cpu_cores"] or 0) > NOISE_CORES:
            lines.append(f"  WARNING: other programs used up to {figures['other_cpu_cores']:.2f} cores meanwhile: rerun on a quiet machine")
    return "\n".join(lines)


# ---- datasette: the same SQL through a generic SQL-over-HTTP server ------------------------------


def measure_datasette(db_path: Path, queries: dict[str, list[workload.Query]], clients_list: list[int], args) -> dict:
    """datasette serving a plain copy of the same rows, the direct SQL through its SQL API, at each
    client count; its answers checked against the direct SQL first."""
    if peer_datasette.executable() is None:
        reason = f"not installed: `make {peer_datasette.VENV.name}/.installed-datasette-0.65.5` (make bench does it)"
        log(f"datasette: {reason}")
        return {"available": False, "reason": reason}
    plain = peer_datasette.plain_copy(db_path, dataset.OUT)
    server = peer_datasette.DatasetteServer(plain, free_port(), dataset.OUT / "server-datasette.log")
    summary: dict = {"available": True, "version": peer_datasette.version(), "runs": []}
    try:
        log(f"datasette: {summary['version']}, serving {plain.relative_to(ROOT)} (immutable) …")
        summary["boot_s"] = round(server.start(get), 2)
        checked = peer_datasette.verify(get, server.port, db_path, queries)
        log(f"  datasette answers match the SQL ({', '.join(f'{n} {k}' for k, n in checked.items())})")
        for kind, kind_queries in queries.items():
            paths = peer_datasette.paths(kind_queries)
            check = "buckets" if kind == "c" else "entities"
            for clients in clients_list:
                run = load_paths(server, paths, check, clients, args)
                summary["runs"].append({"kind": kind, "clients": clients, **run})
                log(f"  {KINDS[kind]:<20} {clients:>2} client(s): p50 {run['p50_ms']:.2f} ms  p99 {run['p99_ms']:.2f} ms  "
                    f"{run['rps']:.0f} req/s  server {run['server_cpu_cores']} cores, other programs {run['other_cpu_cores']}")  # fmt: skip
    finally:
        server.stop()
    return summary


def datasette_paired(server: Server, db_path: Path, queries: dict[str, list[workload.Query]], args) -> dict:
    """Per query kind, one client whose requests alternate iCity → datasette on the same query (each on
    its own keep-alive connection): both meet the machine in the same state, which the separate runs
    cannot promise on a shared machine. The p50 target is judged on these pairs."""
    plain = peer_datasette.plain_copy(db_path, dataset.OUT)
    peer = peer_datasette.DatasetteServer(plain, free_port(), dataset.OUT / "server-datasette.log")
    summary: dict = {"workers": server.label, "kinds": {}}
    try:
        peer.start(get)
        for kind, kind_queries in queries.items():
            paths = [q.path for q in kind_queries]
            spec = {
                "port": server.port, "paths": paths, "variant_paths": [paths, peer_datasette.paths(kind_queries)],
                "variants": [{}, {}], "variant_ports": [server.port, peer.port], "concurrency": 1,
                "warmup": args.warmup, "duration": args.duration * 2, "max_requests": args.max_requests * 2,
                "check": "buckets" if kind == "c" else "entities", "check_every": 10, "server_pids": server.pids + peer.pids,
            }  # fmt: skip
            result = run_client(spec, timeout=args.duration * 2 + 120)
            icity, other = result["variants"]
            summary["kinds"][kind] = {
                "icity_p50_ms": round(icity["p50_ms"], 3), "icity_p99_ms": round(icity["p99_ms"], 3),
                "datasette_p50_ms": round(other["p50_ms"], 3), "datasette_p99_ms": round(other["p99_ms"], 3),
                "ratio_p50": round(icity["p50_ms"] / other["p50_ms"], 2), "met": icity["p50_ms"] <= other["p50_ms"],
                "requests": icity["requests"] + other["requests"], "other_cpu_cores": result["other_cpu_cores"],
            }  # fmt: skip
    finally:
        peer.stop()
    return summary


def peers_table(results: dict, queries: dict) -> str:
    """Direct SQL, datasette and iCity (the recommended workers) side by side, with the targets:
    iCity p50 at 1 client ≤ datasette's; iCity req/s at the most clients ≥ 1.5× datasette's."""
    peer = results["datasette"]
    recommended = (results.get("recommendation") or {}).get("workers")
    lines = [
        f"iCity beside datasette and the direct SQL ({results['backend']}; same data, same run; iCity = {describe(recommended) if recommended else 'n/a'}):",
        f"  {'query':<20} {'cli':>3} │ {'SQL p50':>7} │ {'dsette p50':>10} {'p99':>6} {'req/s':>6} │ {'iCity p50':>9} {'p99':>6} {'req/s':>6} │ {'target':<18} met",
    ]
    verdicts = []
    for kind in queries:
        for clients in sorted({r["clients"] for r in results["api"] if r["kind"] == kind}):
            icity = next((r for r in results["api"] if r["kind"] == kind and r["clients"] == clients and r["workers"] == recommended), None)
            other = next((r for r in peer.get("runs", []) if r["kind"] == kind and r["clients"] == clients), None) if peer.get("available") else None
            ds = f"{other['p50_ms']:>10.2f} {other['p99_ms']:>6.2f} {other['rps']:>6.0f}" if other else f"{'n/a':>10} {'':>6} {'':>6}"
            ic = f"{icity['p50_ms']:>9.2f} {icity['p99_ms']:>6.2f} {icity['rps']:>6.0f}" if icity else f"{'n/a':>9} {'':>6} {'':>6}"
            target, met = "", None
            if icity and other:
                if clients == 1:
                    target, met = f"p50 ≤ datasette's", icity["p50_ms"] <= other["p50_ms"] * DATASETTE_P50_TARGET
                else:
                    ratio = icity["rps"] / other["rps"]
                    target, met = f"≥{DATASETTE_RPS_TARGET}× req/s (×{ratio:.2f})", ratio >= DATASETTE_RPS_TARGET
                verdicts.append({"kind": kind, "clients": clients, "target": target, "met": met})
            lines.append(
                f"  {KINDS[kind]:<20} {clients:>3} │ {results['sql'][kind]['p50_ms']:>7.2f} │ {ds} │ {ic} │ {target:<18} "
                + ("" if met is None else "yes" if met else "NO")
            )
    if not peer.get("available"):
        lines.append(f"  datasette: {peer.get('reason', 'n/a')}")
    paired = results.get("datasette_paired")
    if paired:
        lines.append(f"  paired, 1 client alternating iCity ({describe(paired['workers'])}) and datasette on the same query "
                     "(same machine state; the p50 target's verdict):")  # fmt: skip
        for kind, f in paired["kinds"].items():
            lines.append(
                f"  {KINDS[kind]:<20} {1:>3} │ iCity p50 {f['icity_p50_ms']:.2f} ms p99 {f['icity_p99_ms']:.2f} │ datasette p50 "
                f"{f['datasette_p50_ms']:.2f} ms p99 {f['datasette_p99_ms']:.2f} │ ×{f['ratio_p50']:.2f}  p50 ≤ datasette's "
                + ("yes" if f["met"] else "NO") + (f"  (other programs {f['other_cpu_cores']:.2f} cores)" if (f["other_cpu_cores"] or 0) > NOISE_CORES else "")
            )
            verdicts.append({"kind": kind, "clients": 1, "paired": True, "target": "p50 ≤ datasette's", "met": f["met"]})
    results["datasette_verdicts"] = verdicts
    return "\n".join(lines)


# ---- report ---------------------------------------------------------------------------------


def judge(kind: str, clients: int, api: dict, sql: dict) -> tuple[str, bool]:
    if clients == 1:
        target = f"p99≤{P99_TARGET_MS[kind]:.0f} ovh≤{OVERHEAD_TARGET_MS:.0f}"
        met = api["p99_ms"] <= P99_TARGET_MS[kind] and api["p50_ms"] - sql["p50_ms"] <= OVERHEAD_TARGET_MS
    else:
        target = f"≥{CORES_TARGET} cores"
        met = (api.get("server_cpu_cores") or 0) >= CORES_TARGET
    return target, met


def table(results: dict) -> str:
    header = (
        f"{'scenario':<20} {'wrk':>3} {'cli':>3} │ {'API p50':>7} {'API p99':>7} {'req/s':>7} {'srv cpu':>7} {'other':>5} │"
        f" {'SQL p50':>7} {'SQL p99':>7} │ {'ovh p50':>7} │ {'target':<14} {'met':<3}"
    )
    lines = [header, "─" * len(header)]
    for run in results["api"]:
        kind, sql = run["kind"], results["sql"][run["kind"]]
        lines.append(
            f"{KINDS[kind]:<20} {run['workers']:>3} {run['clients']:>3} │ {run['p50_ms']:>7.2f} {run['p99_ms']:>7.2f}"
            f" {run['rps']:>7.0f} {run['server_cpu_cores']:>7.2f} {run['other_cpu_cores']:>5.2f} │ {sql['p50_ms']:>7.2f} {sql['p99_ms']:>7.2f} │"
            f" {run['overhead_p50_ms']:>+7.2f} │ {run['target']:<14} {'yes' if run['met'] else 'NO':<3}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--workers",
        default="1,2,2r",
        help="server configurations: N = `uvicorn --workers N`, Nr = `icity serve --workers N` (N processes on SO_REUSEPORT sockets) (default 1,2,2r)",
    )
    parser.add_argument("--clients", default="1,16", help="concurrent client counts (default 1,16)")
    parser.add_argument("--kinds", default="a,b,c", help="queries to measure (default a,b,c)")
    parser.add_argument("--duration", type=float, default=3.0, help="measured seconds per scenario (default 3)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="cap on measured requests per scenario")
    parser.add_argument("--warmup", type=int, default=100, help="unmeasured requests before each scenario")
    parser.add_argument("--sql-iterations", type=int, default=2000, help="timed SQL queries per kind (default 2000)")
    parser.add_argument("--sql-only", action="store_true", help="skip the server: data set and SQL baseline only")
    parser.add_argument("--quick", action="store_true", help="1.5 s per scenario, 500 SQL queries: a smoke test")
    parser.add_argument(
        "--access-rounds", type=int, default=6,
        help="length of the developer-access runs in --duration units, on the first server (default 6; 0 skips)",
    )  # fmt: skip
    parser.add_argument("--no-ngsi-ld", action="store_true", help="skip the NGSI-LD forms of queries (a), (b) and (c)")
    parser.add_argument("--db", type=Path, help="measure this copy of the generated data set (e.g. after ANALYZE) instead")
    parser.add_argument(
        "--database-url",
        help="measure on PostgreSQL: the server, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres (the data set is"
        f" copied into a database of its own there, {dataset_pg.DATABASE}, kept for the next run; the direct SQL runs there"
        " too; datasette has no PostgreSQL: n/a)",
    )  # fmt: skip
    parser.add_argument("--no-datasette", action="store_true", help="skip datasette")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.sql_iterations = 1.5, 500
        args.access_rounds = min(args.access_rounds, 2)
    workers_list = [w.strip() for w in args.workers.split(",") if w.strip()]
    for label in workers_list:
        if not label.rstrip("r").isdigit():
            parser.error(f"--workers: '{label}' is not N or Nr")
    clients_list = [int(c) for c in args.clients.split(",")]
    bench_started = time.perf_counter()

    params = dataset.Params()
    if args.db:
        db_path = args.db.resolve()
        data_info = {"reused": True, "build_seconds": 0.0, "counts": dataset.counts(db_path), "given": True}
    else:
        db_path, data_info = dataset.ensure(params, log=log)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    if not kinds or set(kinds) - set(KINDS):
        parser.error(f"--kinds: choose among {', '.join(KINDS)}")
    queries = {k: v for k, v in workload.build_queries(db_path, params).items() if k in kinds}
    database_url = args.database_url
    if database_url:
        if not database_url.startswith("postgresql"):
            parser.error("--database-url: a postgresql+psycopg:// URL (SQLite is the default)")
        database_url = dataset_pg.own_database(database_url)
        data_info["postgresql"] = dataset_pg.ensure(database_url, db_path, params, log=log)
    log(
        "queries: "
        + ", ".join(
            f"{k} {len(v)} distinct, {sum(q.expected_rows for q in v) / len(v):.0f} rows on average" for k, v in queries.items()
        )
    )

    log(f"SQL baseline: {args.sql_iterations} queries of each kind, one connection, rows parsed …")
    sql = {kind: workload.time_sql(db_path, kind_queries, args.sql_iterations, database_url=database_url) for kind, kind_queries in queries.items()}
    results: dict = {
        "started_at": datetime.now(timezone.utc).isoformat(),
        "backend": "PostgreSQL" if database_url else "SQLite",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": __import__("sqlite3").sqlite_version},
        "dataset": {"path": str(db_path), **data_info},
        "settings": {"duration_s": args.duration, "warmup": args.warmup, "sql_iterations": args.sql_iterations, "limit": workload.LIMIT},
        "sql": sql,
        "api": [],
        "servers": [],
        "pygeoapi_note": PYGEOAPI_NOTE,
    }
    for kind in queries:
        s = sql[kind]
        log(f"  SQL {KINDS[kind]:<20} p50 {s['p50_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms  {s['qps']:.0f} q/s  {s['mean_rows']} rows  (other programs {s['other_cpu_cores']} cores)")

    failure = None
    access_key = None
    if not args.sql_only and not args.no_datasette:
        if database_url:
            results["datasette"] = {"available": False, "reason": "n/a on PostgreSQL (datasette serves SQLite only)"}
        else:
            try:
                results["datasette"] = measure_datasette(db_path, queries, clients_list, args)
            except (RuntimeError, BenchFailure, subprocess.TimeoutExpired, OSError, ValueError) as exc:
                failure = f"datasette: {type(exc).__name__}: {exc}"
                log(f"FAILED: {failure}")
                results["datasette"] = {"available": False, "reason": failure}
    if database_url and args.access_rounds > 0:
        log("developer access: measured on SQLite only (its policy switches write the SQLite file)")
        args.access_rounds = 0
    if not args.sql_only and "a" in queries and args.access_rounds > 0:
        access_key, access_app = developer.ensure_key(db_path)
        metered_before = developer.metered_calls(db_path, access_app)
    if not args.sql_only:
        for workers in workers_list:
            server = Server(db_path, workers, database_url)
            try:
                log(f"server: {describe(workers)} …")
                boot = server.start()
                log(f"  {' '.join(Path(server.command[0]).name if i == 0 else c for i, c in enumerate(server.command))}  up in {boot:.1f} s")
                checked = verify(server.port, db_path, queries)
                log(f"  API answers match the SQL ({', '.join(f'{n} {k}' for k, n in checked.items())})")
                warm_up(server, queries)
                server.pids = [server.process.pid] + descendants(server.process.pid)
                results["servers"].append({"workers": workers, "command": server.command, "boot_s": round(boot, 2), "pids": len(server.pids)})
                for kind, kind_queries in queries.items():
                    for clients in clients_list:
                        api = load(server, kind_queries, clients, args)
                        target, met = judge(kind, clients, api, sql[kind])
                        run = {
                            "kind": kind, "workers": workers, "clients": clients, **api,
                            "overhead_p50_ms": round(api["p50_ms"] - sql[kind]["p50_ms"], 3),
                            "target": target, "met": met,
                        }  # fmt: skip
                        results["api"].append(run)
                        log(
                            f"  {KINDS[kind]:<20} {clients:>2} client(s): p50 {api['p50_ms']:.2f} ms  p99 {api['p99_ms']:.2f} ms  "
                            f"{api['rps']:.0f} req/s  server {api['server_cpu_cores']} cores {api['server_cpu_cores_by_process']}, "
                            f"client {api['client_cpu_cores']}, other programs {api['other_cpu_cores']}"
                        )
                if not args.no_ngsi_ld and "ngsi_ld" not in results and set(NGSI_LD_KINDS) & set(queries):
                    log(f"  NGSI-LD: queries {', '.join(k for k in NGSI_LD_KINDS if k in queries)} beside /api/v1, {args.duration * 3:.0f} s each …")
                    results["ngsi_ld"] = ngsi_ld_beside_api(server, db_path, queries, args)
                    for kind, figures in results["ngsi_ld"]["kinds"].items():
                        log(f"  {KINDS[kind]:<20} /api/v1 p50 {figures['api_v1']['p50_ms']:.2f} ms, NGSI-LD normalized "
                            f"{figures['normalized']['p50_ms']:.2f} ms (×{figures['normalized']['ratio_p50']:.2f}), keyValues "
                            f"{figures['keyValues']['p50_ms']:.2f} ms (×{figures['keyValues']['ratio_p50']:.2f})")  # fmt: skip
                if not args.no_ngsi_ld and "ngsi_ld_temporal" not in results and "c" in queries:
                    log(f"  NGSI-LD temporal: query (c) beside /api/v1, {args.duration * 2:.0f} s …")
                    results["ngsi_ld_temporal"] = temporal_beside_api(server, db_path, queries["c"], sql["c"], args)
                    figures = results["ngsi_ld_temporal"]
                    log(f"  {KINDS['c']:<20} /api/v1 p50 {figures['api_v1']['p50_ms']:.2f} ms, NGSI-LD aggregatedValues "
                        f"{figures['aggregatedValues']['p50_ms']:.2f} ms (×{figures['aggregatedValues']['ratio_p50']:.2f})")  # fmt: skip
                if (results.get("datasette") or {}).get("available") and "datasette_paired" not in results:
                    log(f"  datasette paired: 1 client alternating iCity and datasette, {args.duration * 2:.0f} s per query …")
                    results["datasette_paired"] = datasette_paired(server, db_path, queries, args)
                    for kind, f in results["datasette_paired"]["kinds"].items():
                        log(f"  {KINDS[kind]:<20} iCity p50 {f['icity_p50_ms']:.2f} ms, datasette p50 {f['datasette_p50_ms']:.2f} ms (×{f['ratio_p50']:.2f})")
                if access_key and "developer_access" not in results:
                    log(f"  developer access: query (a) anonymous and with a key, alternating, {args.duration * args.access_rounds:.0f} s …")
                    results["developer_access"] = developer_access(server, db_path, queries["a"], access_key, access_app, args)
                    access = results["developer_access"]
                    log(f"  anonymous p50 {access['anonymous']['p50_ms']:.2f} ms, with key p50 {access['key']['p50_ms']:.2f} ms "
                        f"({access['overhead_p50_pct']:+.1f}%)")  # fmt: skip
            except (BenchFailure, subprocess.TimeoutExpired, OSError, KeyError, ValueError) as exc:
                failure = f"{describe(workers)}: {type(exc).__name__}: {exc}"
                log(f"FAILED: {failure}")
                break
            finally:
                server.stop()

    if "developer_access" in results:  # every server has stopped: its last usage flush is in the file
        results["developer_access"]["metered_calls"] = developer.metered_calls(db_path, access_app) - metered_before
    results["seconds"] = round(time.perf_counter() - bench_started, 1)
    if results["api"]:
        results["recommendation"] = recommend(results["api"], workers_list, clients_list)
    results["failure"] = failure
    peers = peers_table(results, queries) if results.get("datasette") is not None else None
    out = dataset.OUT / ("query_postgresql.json" if database_url else "query.json")
    out.write_text(json.dumps(results, indent=2, default=str))

    log("")
    log(f"data set ({results['backend']}): {params.entities:,} entities, {params.sensors * params.observations_per_sensor:,} observations, "
        f"{'reused' if data_info.get('reused') else 'generated'} ({data_info['build_seconds']:.1f} s to generate)")  # fmt: skip
    if results["api"]:
        log(table(results))
        log(f"ovh p50 = API p50 − SQL p50 (SQL: {'psycopg' if database_url else 'stdlib sqlite3'}, one connection, rows fetched and JSON decoded); "
            f"srv cpu = cores used by the server's processes, other = by other programs meanwhile; targets at 1 client: p99 and overhead, at 16: ≥{CORES_TARGET} cores")  # fmt: skip
        log("wrk: 1 = uvicorn, 1 worker; 2 = uvicorn --workers 2 (one shared socket); "
            "2r = `icity serve --workers 2`: 2 uvicorn processes on SO_REUSEPORT sockets")  # fmt: skip
        noisy = [r for r in results["api"] if (r.get("other_cpu_cores") or 0) > NOISE_CORES]
        if noisy:
            log(f"WARNING: other programs kept the machine busy during {len(noisy)} of {len(results['api'])} runs "
                f"(up to {max(r['other_cpu_cores'] for r in noisy):.2f} cores, column 'other'): those figures are "
                "pessimistic; rerun on a quiet machine")  # fmt: skip
        log(f"recommendation: {results['recommendation']['text']}")
    if "ngsi_ld" in results:
        log(ngsi_ld_table(results["ngsi_ld"]))
    if "ngsi_ld_temporal" in results:
        log(temporal_table(results["ngsi_ld_temporal"], "psycopg" if database_url else "stdlib sqlite3"))
    if "developer_access" in results:
        log(access_table(results["developer_access"]))
    else:
        for kind in queries:
            log(f"SQL {KINDS[kind]}: p50 {sql[kind]['p50_ms']:.2f} ms, p99 {sql[kind]['p99_ms']:.2f} ms")
    if peers:
        log(peers)
    log(f"note: {PYGEOAPI_NOTE}")
    log(f"results: {out.relative_to(ROOT)}; whole benchmark {results['seconds']:.0f} s")
    if failure:
        log(f"FAILED: {failure}")
        return 1
    return 0


def describe(label: str) -> str:
    workers = int(label.rstrip("r"))
    if label.endswith("r"):
        return f"{workers} uvicorn processes on SO_REUSEPORT sockets"
    return "uvicorn, 1 worker" if workers == 1 else f"uvicorn --workers {workers}"


def recommend(runs: list[dict], workers_list: list[str], clients_list: list[int]) -> dict:
    top = max(clients_list)
    by_workers = {}
    for workers in workers_list:
        rps = {r["kind"]: r["rps"] for r in runs if r["workers"] == workers and r["clients"] == top}
        if rps and len(rps) == len({r["kind"] for r in runs}):
            by_workers[workers] = rps
    if not by_workers:
        return {"text": "not enough runs to compare", "workers": None}
    base = next(iter(by_workers))
    kinds = list(by_workers[base])
    score = {w: sum(v[k] / by_workers[base][k] for k in kinds) / len(kinds) for w, v in by_workers.items()}
    best = max(score, key=score.get)
    details = "; ".join(
        f"{describe(w)}: " + ", ".join(f"{k} {v[k]:.0f}" for k in kinds) + " req/s" for w, v in by_workers.items()
    )
    return {
        "workers": best,
        "relative_throughput": {str(w): round(s, 2) for w, s in score.items()},
        "text": f"{describe(best)}, by throughput at {top} clients (×{score[best]:.2f} that of {describe(base)}): {details}",
    }


if __name__ == "__main__":
    sys.exit(main())
