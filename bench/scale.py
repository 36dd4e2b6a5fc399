"""Scale benchmark on PostgreSQL: 100,000 entities and 100,000,000 observations.

    .venv/bin/python bench/scale.py                 (what `make bench-scale` runs; not in CI)
    .venv/bin/python bench/scale.py --tiny          (2,000 entities, 100,000 observations: a smoke test)
    .venv/bin/python bench/scale.py --database-url postgresql+psycopg://postgres@host:5432/postgres  (a server: it makes its own databases)

1. creates the database (dropped first if it exists; dropped at the end unless --keep), migrates it
   (observations partitioned by month, migration 0016), registers the cities and IS of bench/dataset.py,
   inserts the entities (bench/dataset.py's, 10% of them air-quality sensors), creates the monthly
   partitions of the last year, and generates the sensors' no2 history server-side
   (INSERT … SELECT generate_series, sensor by sensor in primary-key order; outside any timing):
   one reading every ~53 min over 365 days ending now;
2. the same on a second database at 1/100 of the size (1,000,000 observations at full size):
   the "1M case" query (a) is compared with;
3. starts `icity serve --workers 2` on each, and from a separate client process (bench/load_client.py,
   as bench/query.py does) measures p50/p99 at 1 client of (a) type+city+bbox, (b) near 500 m,
   (c) hourly averages of no2 of one sensor over the last 30 days (720 buckets);
4. ingest while queries run: HTTP pushes of bench/ingest.py's batches (200 devices × 5 attributes)
   into the big database while one client asks (c) and (a) in a loop, then the same rows deleted
   and written again by a raw COPY into `observations` (same table, same indexes), the same
   queries running; observations/s of both and the ratio;
5. prints disk per million observations (pg_total_relation_size of every partition) and the
   verdicts: (c) p50 <= 20 ms, (a) p50 <= 1.5x the 1M case, ingest >= 0.7x the raw COPY.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, urlencode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "scale"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "src"))

import dataset  # noqa: E402
from air_city import own_database_url  # noqa: E402
import ingest  # noqa: E402
import query  # noqa: E402
import workload  # noqa: E402

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"  # this machine's (trust auth)
C_TARGET_MS = 20.0
A_RATIO_TARGET = 1.5
INGEST_RATIO_TARGET = 0.7
DAYS = 365
WINDOW_DAYS = 30


@dataclass(frozen=True)
class Size:
    entities: int
    sensors: int
    per_sensor: int

    @property
    def observations(self) -> int:
        return self.sensors * self.per_sensor


FULL = Size(100_000, 10_000, 10_000)
TINY = Size(2_000, 50, 2_000)  # 30 days hold >= 100 hourly buckets, as the load client checks
SMALL_SHARE = 100  # the comparison case: 1/100 (1,000,000 observations at full size)


def log(message: str = "") -> None:
    print(message, flush=True)


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)


def _admin(url: str, statement: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_with_database(url, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


def recreate(url: str) -> None:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    _admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(url, f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    from sqlalchemy.engine import make_url

    from icity.db.engine import dispose

    dispose(url)
    _admin(url, f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')


def raw(url: str):
    """A psycopg connection (autocommit) to the database at the SQLAlchemy `url`."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return psycopg.connect(
        host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres", password=u.password,
        dbname=u.database, autocommit=True,
    )  # fmt: skip


# ---- the data ------------------------------------------------------------------------------------


def build(url: str, size: Size, end: datetime) -> dict:
    """Migrate, catalogue, entities, partitions, history; figures of the load."""
    from sqlalchemy import insert

    from icity.db import partitions
    from icity.db.engine import get_engine, transaction
    from icity.db.migrate import upgrade
    from icity.db.models import Entity

    recreate(url)
    upgrade(url)
    start = end - timedelta(days=DAYS)
    params = dataset.Params(entities=size.entities, sensors=size.sensors, observations_per_sensor=size.per_sensor,
                            start=start.isoformat(), days=DAYS)  # fmt: skip
    systems = dataset._setup_catalogue(url)
    rows = dataset._entity_rows(params, random.Random(params.seed), systems)
    with transaction(url) as session:
        for first in range(0, len(rows), 5000):
            session.execute(insert(Entity.__table__), rows[first : first + 5000])
        month = partitions.month_of(start)
        while month <= partitions.month_of(end):  # as an import of a year's history would
            partitions.create_month(session.connection(), month)
            month = partitions.next_month(month)
    get_engine(url).dispose()
    step_s = DAYS * 86400 / size.per_sensor
    t0 = start.replace(tzinfo=None)
    sensors = sorted(r["id"] for r in rows if r["type"] == dataset.SENSOR_TYPE[0])
    chunk = max(1, 1_000_000 // size.per_sensor)
    chunks = [sensors[first : first + chunk] for first in range(0, len(sensors), chunk)]
    progress = {"done": 0, "reported": 0}
    lock = threading.Lock()
    started = time.perf_counter()

    def loader() -> None:  # two connections: the server's two cores
        with raw(url) as db:
            db.execute("SET synchronous_commit = off")
            # no per-row foreign-key trigger during the load (the ids come from the entities just
            # inserted), as pg_restore loads; the benchmark's own writes later run with it
            db.execute("SET session_replication_role = replica")
            while True:
                with lock:
                    if not chunks:
                        return
                    ids = chunks.pop(0)
                # the nested loop yields sensor by sensor, in time order: appends to each partition's index
                db.execute(
                    "INSERT INTO observations (entity_id, attribute, observed_at, value_number, value, recorded_at) "
                    "SELECT e.id, 'no2', %(t0)s + k * make_interval(secs => %(step)s), "
                    "30 + 12 * sin(k * %(daily)s + e.n) + random() * 8, 'null'::json, "
                    "%(t0)s + k * make_interval(secs => %(step)s) "
                    "FROM unnest(%(ids)s::text[]) WITH ORDINALITY AS e(id, n) CROSS JOIN generate_series(0, %(last)s) AS k",
                    {"t0": t0, "step": step_s, "daily": 2 * 3.14159265 * step_s / 86400, "ids": ids, "last": size.per_sensor - 1},
                )
                with lock:
                    progress["done"] += len(ids) * size.per_sensor
                    if progress["done"] - progress["reported"] >= 5_000_000 or progress["done"] == size.observations:
                        progress["reported"] = progress["done"]
                        rate = progress["done"] / (time.perf_counter() - started)
                        log(f"    {progress['done']:>13,} observations generated ({rate:,.0f}/s)")

    threads = [threading.Thread(target=loader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load_s = time.perf_counter() - started
    if progress["done"] != size.observations:
        raise query.BenchFailure(f"generated {progress['done']:,} observations of {size.observations:,}")
    with raw(url) as db:
        db.execute("ANALYZE observations")
        db.execute("ANALYZE entities")
    return {"entities": len(rows), "observations": size.observations, "load_s": round(load_s, 1), "sensors": sensors}


def disk(url: str) -> dict:
    with raw(url) as db:
        total = db.execute(
            "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('observations') WHERE isleaf"
        ).fetchone()[0]
        count = db.execute("SELECT count(*) FROM observations").fetchone()[0]
        parts = db.execute("SELECT count(*) FROM pg_partition_tree('observations') WHERE isleaf").fetchone()[0]
    return {"bytes": int(total), "observations": count, "partitions": parts,
            "mb_per_million": round(int(total) / 1e6 / max(count / 1e6, 1e-9), 1)}  # fmt: skip


# ---- the queries ---------------------------------------------------------------------------------


def choose_queries(url: str, sensors: list[str], end: datetime, n: int = 200, seed: int = 7) -> dict[str, list[workload.Query]]:
    """(a) a bbox around a random entity of a type, resized until it holds 24–100 of them; (b) a point
    near an entity with 5–100 entities within 500 m; (c) the last 30 days of a random sensor."""
    import math

    rng = random.Random(seed)
    with raw(url) as db:
        points = db.execute("SELECT city_id, type, lon, lat FROM entities ORDER BY id").fetchall()
        by_key: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for city, entity_type, lon, lat in points:
            by_key.setdefault((city, entity_type), []).append((lon, lat))
        keys = sorted(by_key)
        queries_a: list[workload.Query] = []
        for _ in range(n * 20):
            if len(queries_a) >= n:
                break
            city, entity_type = rng.choice(keys)
            lon, lat = rng.choice(by_key[(city, entity_type)])
            half_m = rng.uniform(300, 1500)
            for _step in range(12):
                dlat = half_m / workload.METRES_PER_DEGREE
                dlon = half_m / (workload.METRES_PER_DEGREE * math.cos(math.radians(lat)))
                bbox = [round(lon - dlon, 5), round(lat - dlat, 5), round(lon + dlon, 5), round(lat + dlat, 5)]
                found = db.execute(
                    "SELECT count(*) FROM (SELECT 1 FROM entities WHERE type = %s AND city_id = %s AND lon BETWEEN %s AND %s "
                    "AND lat BETWEEN %s AND %s LIMIT 101) s",
                    (entity_type, city, bbox[0], bbox[2], bbox[1], bbox[3]),
                ).fetchone()[0]
                if found < 24:
                    half_m *= 1.4
                elif found > workload.LIMIT:
                    half_m /= 1.3
                else:
                    q = urlencode({"type": entity_type, "city": city, "bbox": ",".join(f"{v:.5f}" for v in bbox),
                                   "limit": workload.LIMIT}, safe=",:")  # fmt: skip
                    queries_a.append(workload.Query("a", f"/api/v1/entities?{q}", "", (), found))
                    break
        queries_b: list[workload.Query] = []
        everything = [(lon, lat) for _, _, lon, lat in points]
        for _ in range(n * 20):
            if len(queries_b) >= n:
                break
            lon, lat = rng.choice(everything)
            args = workload.near_args(round(lat, 5), round(lon, 5))
            found = db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM entities WHERE lat BETWEEN %s AND %s AND lon BETWEEN %s AND %s "
                "AND (lat - %s) * (lat - %s) * %s + (lon - %s) * (lon - %s) * %s <= %s LIMIT %s) s",
                args,
            ).fetchone()[0]
            if 5 <= found <= workload.LIMIT:
                q = urlencode({"near": f"{lat:.5f},{lon:.5f},{workload.RADIUS_M:g}", "limit": workload.LIMIT}, safe=",")
                queries_b.append(workload.Query("b", f"/api/v1/entities?{q}", "", (), found))
    window = urlencode(
        {"attribute": "no2", "aggregate": "avg", "interval": "1h",
         "from": workload.iso_z(end - timedelta(days=WINDOW_DAYS)), "to": workload.iso_z(end)},
        safe=":",
    )  # fmt: skip
    chosen = rng.sample(sensors, min(n, len(sensors)))
    queries_c = [
        workload.Query("c", f"/api/v1/entities/{quote(entity_id, safe='')}/history?{window}", "", (entity_id,), WINDOW_DAYS * 24)
        for entity_id in chosen
    ]
    return {"a": queries_a, "b": queries_b, "c": queries_c}


def check_history(url: str, port: int, queries: list[workload.Query], end: datetime, per: int = 5) -> None:
    """The API's hourly buckets against PostgreSQL's own date_trunc('hour') … avg."""
    start = (end - timedelta(days=WINDOW_DAYS)).replace(tzinfo=None)
    with raw(url) as db:
        for q in queries[:per]:
            want = db.execute(
                "SELECT date_trunc('hour', observed_at), avg(value_number), count(*) FROM observations "
                "WHERE entity_id = %s AND attribute = 'no2' AND observed_at >= %s AND observed_at < %s GROUP BY 1 ORDER BY 1",
                (q.args[0], start, end.replace(tzinfo=None)),
            ).fetchall()
            status, body = query.get(port, q.path, timeout=120)
            buckets = json.loads(body)["buckets"] if status == 200 else None
            if buckets is None or len(buckets) != len(want) or any(
                b["count"] != w[2] or abs(b["value"] - w[1]) > 1e-9 * max(1.0, abs(w[1])) for b, w in zip(buckets, want)
            ):
                raise query.BenchFailure(f"{q.path}: the API's buckets differ from PostgreSQL's ({status})")


class Serve:
    """`icity serve --workers N` on the database at `url` (its background work on, as in production)."""

    def __init__(self, url: str, workers: int = 2) -> None:
        self.url, self.workers, self.port = url, workers, query.free_port()
        self.pids: list[int] = []
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Serve":
        icity = Path(sys.executable).with_name("icity")
        OUT.mkdir(parents=True, exist_ok=True)
        self._log = open(OUT / f"server-{self.port}.log", "wb")
        env = {**os.environ, "ICITY_DATABASE_URL": self.url, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [str(icity), "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise query.BenchFailure(f"icity serve exited ({self.process.returncode}); see {self._log.name}")
            try:
                if query.get(self.port, "/health", timeout=2)[0] == 200 and len(query.descendants(self.process.pid)) >= self.workers:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            raise query.BenchFailure("icity serve did not answer /health within 120 s")
        self.pids = [self.process.pid] + query.descendants(self.process.pid)
        return self

    def __exit__(self, *exc) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for pid in reversed(self.pids):  # only what this benchmark started
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
        self._log.close()


def measure(server: Serve, queries: dict[str, list[workload.Query]], args) -> dict:
    out = {}
    for kind, kind_queries in queries.items():
        query.warm_up(server, {kind: kind_queries})
        out[kind] = query.load(server, kind_queries, 1, args)
    return out


# ---- ingest while queries run ----------------------------------------------------------------------


class Background:
    """One client asking (c) and (a) in turns until stopped; its latencies."""

    def __init__(self, port: int, paths: list[str]) -> None:
        self.port, self.paths, self.latencies = port, paths, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        i = 0
        while not self._stop.is_set():
            path = self.paths[i % len(self.paths)]
            i += 1
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            self.latencies.append(time.perf_counter() - started)

    def __enter__(self) -> "Background":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def p50_ms(self) -> float:
        return 1000 * workload.percentile(sorted(self.latencies), 50) if self.latencies else float("nan")


def ingest_beside_copy(url: str, server: Serve, background_paths: list[str], count: int) -> dict:
    """HTTP pushes, then the same rows by COPY, both into the big table, both while queries run."""
    from air_city import CITY, SLUG
    from icity.db.engine import get_engine, transaction
    from icity.services import catalogue, entity_store, provider_tokens
    from icity.services.access import CLI

    system = f"{CITY}/{SLUG}"
    start = (datetime.now(timezone.utc) - timedelta(minutes=count + 60)).replace(second=0, microsecond=0)
    with transaction(url) as session:  # bench/ingest.py's city, IS, devices and token, beside the big data
        from icity.services import audit, cities

        cities.create_city(session, audit.actor_named("bench"), id=CITY, name="Bench City", country="ES",
                           lon=2.17, lat=41.39, bbox=[2.05, 41.32, 2.23, 41.47])  # fmt: skip
        catalogue.create_information_system(session, city_id=CITY, slug=SLUG, name="Qualitat de l'aire (benchmark)",
                                            category="environment", entity_types=[ingest.ENTITY_TYPE])  # fmt: skip
        entity_store.upsert_entities(session, system, [
            {"id": entity_store.entity_urn(ingest.ENTITY_TYPE, CITY, ingest.device_name(i)), "type": ingest.ENTITY_TYPE,
             "location": {"type": "Point", "coordinates": [2.06 + (i % 20) * 0.008, 41.33 + (i // 20) * 0.012]},
             "observedAt": (start - timedelta(hours=1)).isoformat(), "name": f"Estació {i}", "no2": 20.0}
            for i in range(ingest.DEVICES)
        ])  # fmt: skip
        provider = catalogue.add_provider(session, system, name="bench gateway")
        for i in range(ingest.DEVICES):
            catalogue.add_device(session, system, local_id=ingest.device_name(i), provider_id=provider.id,
                                 entity_id=entity_store.entity_urn(ingest.ENTITY_TYPE, CITY, ingest.device_name(i)),
                                 reporting_period_s=600)  # fmt: skip
        token = provider_tokens.create_token(session, CLI, system, provider.id, "bench gateway")["token"]
    get_engine(url).dispose()
    bodies = ingest.batches(start, count)
    OUT.mkdir(parents=True, exist_ok=True)
    bodies_path = OUT / "bodies.jsonl"
    bodies_path.write_text("\n".join(json.dumps(b, separators=(",", ":")) for b in bodies) + "\n")
    ingest.warm_up(server.port, token, start)
    with Background(server.port, background_paths) as during_http:
        pushed = ingest.run_client({"port": server.port, "token": token, "bodies": str(bodies_path), "clients": 1, "batch": ingest.BATCH})
    if pushed["failures"]:
        raise query.BenchFailure(f"pushes refused: {pushed['failures']}")
    # the same rows, as stored: then deleted and written again by COPY
    prefix = f"urn:ngsi-ld:{ingest.ENTITY_TYPE}:{CITY}:"
    with raw(url) as db:
        rows = db.execute(
            "SELECT entity_id, attribute, observed_at, value_number, value::text, recorded_at FROM observations "
            "WHERE entity_id LIKE %s AND observed_at >= %s ORDER BY recorded_at, entity_id, attribute",
            (prefix + "%", start.replace(tzinfo=None)),
        ).fetchall()
        if len(rows) != count * ingest.BATCH:
            raise query.BenchFailure(f"{len(rows):,} pushed rows stored, expected {count * ingest.BATCH:,}")
        db.execute("DELETE FROM observations WHERE entity_id LIKE %s AND observed_at >= %s", (prefix + "%", start.replace(tzinfo=None)))
        db.execute("VACUUM observations")  # no dead rows left for COPY to step over
        per_batch = [rows[i : i + ingest.BATCH] for i in range(0, len(rows), ingest.BATCH)]
        with Background(server.port, background_paths) as during_copy:
            started = time.perf_counter()
            for batch in per_batch:  # one transaction a batch, as the API commits each push
                with db.transaction():
                    with db.cursor().copy(
                        "COPY observations (entity_id, attribute, observed_at, value_number, value, recorded_at) FROM STDIN"
                    ) as copy:
                        for row in batch:
                            copy.write_row(row)
            copy_s = time.perf_counter() - started
    http_rate = count * ingest.BATCH / pushed["seconds"]
    copy_rate = len(rows) / copy_s
    return {
        "observations": len(rows), "http_per_s": round(http_rate), "copy_per_s": round(copy_rate),
        "ratio": round(http_rate / copy_rate, 2),
        "query_p50_ms_during_http": round(during_http.p50_ms(), 2), "query_p50_ms_during_copy": round(during_copy.p50_ms(), 2),
    }  # fmt: skip


# ---- main ----------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database-url", default=DEFAULT_SERVER,
        help="the PostgreSQL server, where the benchmark creates databases of its own (icity_bench_scale_…) and drops them",
    )
    parser.add_argument("--tiny", action="store_true", help=f"{TINY.entities:,} entities, {TINY.observations:,} observations")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per query kind")
    parser.add_argument("--batches", type=int, default=100, help="pushes of 1,000 observations for the ingest figure")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    args.database_url = own_database_url(args.database_url, "scale")
    if args.tiny:
        args.duration, args.batches = min(args.duration, 2.0), min(args.batches, 10)
    args.warmup, args.max_requests = 20, 100_000
    size = TINY if args.tiny else FULL
    small = Size(max(200, size.entities // 5), max(10, size.sensors // 10), max(100, size.per_sensor // 10))
    small_url = args.database_url + "_small"
    end = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    figures: dict = {"size": size.__dict__, "small": small.__dict__}
    log(f"scale benchmark on {args.database_url.rsplit('@', 1)[-1]}: {size.entities:,} entities, "
        f"{size.observations:,} observations; beside {small.observations:,} observations")  # fmt: skip
    try:
        log(f"building the small case ({small.observations:,}) …")
        small_data = build(small_url, small, end)
        log(f"building the big case ({size.observations:,}) …")
        big = build(args.database_url, size, end)
        figures["load"] = {"observations": big["observations"], "seconds": big["load_s"],
                           "per_s": round(big["observations"] / max(big["load_s"], 1e-9))}  # fmt: skip
        log(f"  generated in {big['load_s']:,.0f} s ({figures['load']['per_s']:,} observations/s, outside the timing)")
        figures["disk"] = disk(args.database_url)
        with Serve(small_url) as server:
            small_queries = choose_queries(small_url, small_data["sensors"], end)
            figures["small_queries"] = measure(server, {"a": small_queries["a"]}, args)
        with Serve(args.database_url) as server:
            queries = choose_queries(args.database_url, big["sensors"], end)
            check_history(args.database_url, server.port, queries["c"], end)
            figures["queries"] = measure(server, queries, args)
            background = [q.path for pair in zip(queries["c"], queries["a"]) for q in pair]
            figures["ingest"] = ingest_beside_copy(args.database_url, server, background, args.batches)
    finally:
        if not args.keep:
            for url in (small_url, args.database_url):
                try:
                    drop_database(url)
                except Exception as error:  # noqa: BLE001  report, go on
                    log(f"could not drop {url}: {error}")
    report(figures)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "scale.json").write_text(json.dumps(figures, indent=2))
    return 0


def report(figures: dict) -> None:
    q, small_a, ing, d = figures["queries"], figures["small_queries"]["a"], figures["ingest"], figures["disk"]
    log("")
    log(f"{'query (1 client)':32} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'other cpu':>9}")
    for kind, label in (("a", "(a) type+city+bbox"), ("b", "(b) near 500 m"), ("c", f"(c) hourly avg {WINDOW_DAYS} d")):
        r = q[kind]
        log(f"{label:32} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['rps']:7.0f} {r['other_cpu_cores']:9}")
    log(f"{'(a) at ' + format(figures['small']['sensors'] * figures['small']['per_sensor'], ',') + ' obs':32} "
        f"{small_a['p50_ms']:8.2f} {small_a['p99_ms']:8.2f} {small_a['rps']:7.0f} {small_a['other_cpu_cores']:9}")  # fmt: skip
    a_ratio = q["a"]["p50_ms"] / small_a["p50_ms"]
    log(f"ingest: HTTP push {ing['http_per_s']:,} obs/s, raw COPY {ing['copy_per_s']:,} obs/s, ratio {ing['ratio']:.2f} "
        f"(queries' p50 meanwhile: {ing['query_p50_ms_during_http']} ms / {ing['query_p50_ms_during_copy']} ms)")  # fmt: skip
    log(f"disk: {d['bytes'] / 1e9:.2f} GB for {d['observations']:,} observations in {d['partitions']} partitions: "
        f"{d['mb_per_million']:.1f} MB per million observations")  # fmt: skip
    log(f"target (c) p50 <= {C_TARGET_MS:g} ms: {q['c']['p50_ms']:.2f} ms — {verdict(q['c']['p50_ms'] <= C_TARGET_MS)}")
    log(f"target (a) p50 <= {A_RATIO_TARGET}x the small case: {a_ratio:.2f}x — {verdict(a_ratio <= A_RATIO_TARGET)}")
    log(f"target ingest >= {INGEST_RATIO_TARGET}x raw COPY: {ing['ratio']:.2f}x — {verdict(ing['ratio'] >= INGEST_RATIO_TARGET)}")


if __name__ == "__main__":
    sys.exit(main())
