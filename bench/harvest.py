"""Harvest benchmark: a CSV source read over HTTP, mapped, checked and written to SQLite.

    .venv/bin/python bench/harvest.py                   (what `make bench` runs)
    .venv/bin/python bench/harvest.py --sizes 10000     (a smoke test)
    .venv/bin/python bench/harvest.py --profile         (also profile the largest harvest)

1. generates an air-quality CSV as city portals publish it (';' separated, decimal
   commas, UTM coordinates in EPSG:25831, local times in Europe/Madrid, CO in mg/m³)
   with 10,000 and 100,000 rows, one station id per row, so every row creates an
   entity (and 5 history values);
2. serves each file from a local HTTP server on 127.0.0.1 (a thread of this
   process; the body is streamed from disk, with no ETag or Last-Modified so that
   a second run reads the source again);
3. harvests each into a fresh, migrated SQLite database with `harvest.run_now`, each
   harvest in its own child process (after the child has loaded what a long-lived
   scheduler keeps loaded: the Smart Data Models registry, pyproj, pint), and measures
   rows/s and the child's peak memory (VmHWM, and the peak of its anonymous memory
   sampled from /proc while it runs);
4. harvests the largest source a second time, unchanged (the idempotent path: every
   entity compared, nothing written);
5. measures, in the same run, two baselines: reading the same CSV over HTTP and
   parsing it with csv.reader (httpx, no mapping, no database), and a plain
   executemany of the same entity and history rows into the same tables of a fresh
   database (stdlib sqlite3, rows prepared beforehand) — so the reader sees where the
   time goes;
6. prints the figures beside the baselines and the targets (≥ 20,000 rows/s; peak
   memory that does not grow with the file), writes bench/out/harvest-<sqlite|postgresql>.json.

Exits 0 even when a target is missed (the benchmark reports), non-zero when a
harvest fails or stores the wrong counts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "harvest"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(BENCH))

from air_city import (  # noqa: E402
    CITY,
    SYSTEM,
    create_air_city,
    create_postgresql_database,
    own_database_url,
    database_name,
    drop_postgresql_database,
    is_postgresql,
    libpq_url,
    sibling_url,
)  # fmt: skip

RATE_TARGET = 20_000  # rows/s, from the issue
# "Peak memory does not grow with the file": 10× the rows may cost at most this much more peak memory.
MEMORY_GROWTH_TARGET_MIB = 16.0
SEED = 20261124
HISTORISED = 5  # numeric attributes per row, each a history value

HEADER = ["CODI_ESTACIO", "NOM_ESTACIO", "DATA", "X_UTM", "Y_UTM", "NO2", "PM10", "PM2_5", "O3", "CO", "QUALITAT"]
QUALITY = {"B": "good", "M": "moderate", "D": "unhealthyForSensitiveGroups", "X": "unhealthy"}
CONNECTOR = {"kind": "csv", "delimiter": ";", "encoding": "utf-8"}
MAPPING = {
    "entityType": "AirQualityObserved",
    "id": {"field": "CODI_ESTACIO"},
    "observedAt": {"field": "DATA", "format": "%d/%m/%Y %H:%M", "timezone": "Europe/Madrid"},
    "location": {"x": "X_UTM", "y": "Y_UTM", "crs": "EPSG:25831"},
    "decimalSeparator": ",",
    "attributes": {
        "name": {"field": "NOM_ESTACIO"},
        "no2": {"field": "NO2", "type": "number"},
        "pm10": {"field": "PM10", "type": "number"},
        "pm25": {"field": "PM2_5", "type": "number"},
        "o3": {"field": "O3", "type": "number"},
        "co": {"field": "CO", "type": "number", "unit": {"from": "mg/m3", "to": "ug/m3"}},
        "airQualityLevel": {"field": "QUALITAT", "values": QUALITY},
    },
    "constants": {"dataProvider": "Ajuntament de Barcelona (benchmark)"},
}


def log(message: str = "") -> None:
    print(message, flush=True)


def mib(kib: float | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f} MiB"


# ---- the source ----------------------------------------------------------------------------


def decimal_comma(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def write_csv(path: Path, rows: int) -> None:
    """`rows` stations around Barcelona (UTM 31N), one reading each, in one hour of a November day."""
    rng = random.Random(SEED + rows)
    start = datetime(2026, 11, 24, 0, 0)
    levels = list(QUALITY)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as out:
        out.write(";".join(HEADER) + "\r\n")
        for i in range(rows):
            no2 = rng.uniform(5, 120)
            when = start + timedelta(minutes=rng.randrange(24 * 60))
            out.write(
                ";".join(
                    (
                        f"08019{i:06d}",
                        f"Estació {i} — Barcelona",
                        when.strftime("%d/%m/%Y %H:%M"),
                        decimal_comma(rng.uniform(420_000, 438_000), 1),
                        decimal_comma(rng.uniform(4_574_000, 4_590_000), 1),
                        decimal_comma(no2, 1),
                        decimal_comma(rng.uniform(5, 60), 1),
                        decimal_comma(rng.uniform(2, 35), 1),
                        decimal_comma(rng.uniform(10, 140), 1),
                        decimal_comma(rng.uniform(0.1, 2.5), 3),
                        levels[min(int(no2 // 30), 3)],
                    )
                )
                + "\r\n"
            )
    tmp.replace(path)


def ensure_csv(rows: int) -> Path:
    path = OUT / f"aire-{rows}.csv"
    if not path.exists():
        write_csv(path, rows)
    return path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        path = self.server.files.get(self.path)
        if path is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        with open(path, "rb") as body:  # streamed: the server never holds the whole file
            while chunk := body.read(64 * 1024):
                self.wfile.write(chunk)

    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, Path] = {}


class FileServer:
    def __init__(self) -> None:
        self._server = _Server()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def serve(self, path: Path) -> str:
        self._server.files[f"/{path.name}"] = path
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{path.name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---- databases -------------------------------------------------------------------------------


def template_database(url: str) -> str:
    """A migrated database at `url` (created) with the city and its air-quality IS, copied for every harvest."""
    from icity.db.engine import dispose, get_engine

    if is_postgresql(url):
        create_postgresql_database(url)
    else:
        remove_database(url)
    create_air_city(url)
    get_engine(url).dispose()
    dispose(url)
    if not is_postgresql(url):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:  # one self-contained file to copy
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return url


def remove_database(url: str) -> None:
    if is_postgresql(url):
        drop_postgresql_database(url)
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{url.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)


def fresh_database(template: str, name: str, source_url: str | None = None) -> str:
    """A copy of the template (a file copy, or CREATE DATABASE … TEMPLATE), its source set up; its URL."""
    name = name.replace("-", "_")
    if is_postgresql(template):
        url = create_postgresql_database(sibling_url(template, f"{database_name(template)}_{name}"), database_name(template))
    else:
        path = OUT / f"{name}.sqlite"
        remove_database(f"sqlite:///{path}")
        shutil.copyfile(template.removeprefix("sqlite:///"), path)
        url = f"sqlite:///{path}"
    if source_url:
        from icity.db.engine import get_engine, transaction
        from icity.services import sources
        from icity.services.access import CLI

        with transaction(url) as session:
            sources.configure(
                session, CLI, SYSTEM, connector={**CONNECTOR, "url": source_url}, mapping=MAPPING,
                schedule=None, retire_missing=True,
            )  # fmt: skip
        get_engine(url).dispose()
        from icity.db.engine import dispose

        dispose(url)
    return url


# ---- the child: one harvest --------------------------------------------------------------------


def status_kib(field: str) -> int | None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def child(spec: dict) -> dict:
    """Run in its own process: warm up, harvest once, report time and memory."""
    from icity.datamodels import get_registry
    from icity.harmonise import geometry, units
    from icity.harmonise.mapping import Mapping
    from icity.services import harvest
    from icity.services.access import CLI

    started = time.perf_counter()
    # What a long-lived scheduler has loaded before its first run; not the harvest's cost.
    get_registry()
    Mapping.parse(MAPPING)
    geometry.point(430000.0, 4582000.0, "EPSG:25831")
    units.linear_conversion("mg/m3", "ug/m3")
    warm_up_s = time.perf_counter() - started
    warm_up_hwm = status_kib("VmHWM")
    # Reset the high-water mark, so that it measures the harvest, not reading the registry
    # (whose peak varies by ~90 MiB from run to run). Linux ≥ 4.0.
    try:
        Path("/proc/self/clear_refs").write_text("5")
        hwm_reset = True
    except OSError:
        hwm_reset = False
    before = {"rss_kib": status_kib("VmRSS"), "hwm_kib": status_kib("VmHWM"), "warm_up_hwm_kib": warm_up_hwm,
              "hwm_reset": hwm_reset}  # fmt: skip
    print("harvesting", flush=True)  # the parent samples memory from now on
    profiler = None
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    if spec.get("trace"):
        import tracemalloc  # every Python allocation (SQLite's own caches are not Python's)

        tracemalloc.start()
    started = time.perf_counter()
    result = harvest.run_now(SYSTEM, CLI, database_url=spec["url"])
    seconds = time.perf_counter() - started
    python_peak_kib = None
    if spec.get("trace"):
        python_peak_kib = tracemalloc.get_traced_memory()[1] / 1024
        tracemalloc.stop()
    if profiler:
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    return {
        "seconds": seconds,
        "python_peak_kib": python_peak_kib,
        "warm_up_s": warm_up_s,
        "run": {k: v for k, v in result.items() if k != "rejections"},
        "rejections": result["rejections"][:3],
        "before": before,
        "after": {
            "rss_kib": status_kib("VmRSS"),
            "hwm_kib": status_kib("VmHWM"),
            "anon_kib": status_kib("RssAnon"),
            "file_kib": status_kib("RssFile"),
        },
    }


def run_child(spec: dict, timeout: float = 1800) -> dict:
    """The harvest in a child process; this process samples its anonymous memory meanwhile."""
    errors = open(OUT / "child.log", "w+b")  # a file, not a pipe: a chatty child must not block on it
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        stdout=subprocess.PIPE, stderr=errors, cwd=ROOT,
    )  # fmt: skip
    peaks = {"RssAnon": 0, "RssFile": 0}
    status = Path(f"/proc/{process.pid}/status")
    process.stdout.readline()  # warmed up: the harvest starts
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        try:
            for line in status.read_text().splitlines():
                name = line.split(":", 1)[0]
                if name in peaks:
                    peaks[name] = max(peaks[name], int(line.split()[1]))
        except (OSError, ValueError, IndexError):
            pass
        time.sleep(0.02)
    if process.poll() is None:
        process.kill()
    out = process.stdout.read()
    process.wait()
    errors.seek(0)
    err = errors.read()
    errors.close()
    try:
        result = json.loads(out.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"the harvest child failed (code {process.returncode}):\n{err.decode()[-3000:]}")
    result["peak_anon_kib"] = peaks["RssAnon"]
    result["peak_file_kib"] = peaks["RssFile"]
    return result


# ---- baselines ---------------------------------------------------------------------------------


def parse_baseline(url: str) -> dict:
    """The same CSV over HTTP (httpx, 64 KiB chunks, as the connector reads it) through csv.reader: no mapping, no DB."""
    import codecs
    import csv

    import httpx

    started = time.perf_counter()
    rows = 0

    def lines():
        decoder = codecs.getincrementaldecoder("utf-8")()
        pending = ""
        with httpx.Client() as client, client.stream("GET", url) as response:
            for chunk in response.iter_bytes(64 * 1024):
                pending += decoder.decode(chunk)
                parts = pending.split("\n")
                pending = parts.pop()
                for part in parts:
                    yield part + "\n"
        if pending:
            yield pending

    reader = csv.reader(lines(), delimiter=";")
    header = next(reader)
    for row in reader:
        dict(zip(header, row))
        rows += 1
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def insert_baseline(template: str, rows: int) -> dict:
    """executemany of `rows` entities and their history into the real tables (with their indexes)
    of a fresh database copy, in one transaction; rows prepared before the clock starts. SQLite:
    stdlib sqlite3 with the server's PRAGMAs; PostgreSQL: psycopg's (pipelined) executemany."""
    url = fresh_database(template, f"insert-{rows}")
    postgresql = is_postgresql(url)
    rng = random.Random(SEED)
    now = datetime(2026, 11, 24, 12) if postgresql else "2026-11-24 12:00:00.000000"
    entities, history = [], []
    for i in range(rows):
        entity_id = f"urn:ngsi-ld:AirQualityObserved:{CITY}:08019{i:06d}"
        lon, lat = 2.05 + rng.random() * 0.18, 41.32 + rng.random() * 0.15
        values = {"no2": round(rng.uniform(5, 120), 1), "pm10": 12.3, "pm25": 7.1, "o3": 55.2, "co": 410.0}
        attributes = {"name": f"Estació {i} — Barcelona", **values, "airQualityLevel": "good", "dataProvider": "bench"}
        observed = datetime(2026, 11, 24, 9) if postgresql else "2026-11-24 09:00:00.000000"
        entities.append((
            entity_id, "AirQualityObserved", CITY, SYSTEM,
            json.dumps({"type": "Point", "coordinates": [round(lon, 7), round(lat, 7)]}), lon, lat,
            json.dumps(attributes), observed, now, None,
        ))  # fmt: skip
        history += [(entity_id, name, observed, value, "null", now) for name, value in values.items()]
    insert_entities = (
        "INSERT INTO entities (id, type, city_id, information_system_id, location, lon, lat, attributes,"
        " observed_at, modified_at, retired_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
    )
    insert_history = (
        "INSERT INTO observations (entity_id, attribute, observed_at, value_number, value, recorded_at) VALUES (?,?,?,?,?,?)"
    )
    if postgresql:
        import psycopg

        with psycopg.connect(libpq_url(url)) as db:
            started = time.perf_counter()
            with db.transaction(), db.cursor() as cursor:
                cursor.executemany(insert_entities.replace("?", "%s"), entities)
                cursor.executemany(insert_history.replace("?", "%s"), history)
            seconds = time.perf_counter() - started
    else:
        from icity.db.engine import SQLITE_PRAGMAS

        db = sqlite3.connect(url.removeprefix("sqlite:///"))
        for pragma in SQLITE_PRAGMAS:  # the server's
            db.execute(f"PRAGMA {pragma}")
        started = time.perf_counter()
        with db:
            db.executemany(insert_entities, entities)
            db.executemany(insert_history, history)
        seconds = time.perf_counter() - started
        db.close()
    remove_database(url)
    return {"rows": rows, "history_rows": len(history), "seconds": seconds, "rows_per_s": rows / seconds}


def check_columns(template: str) -> None:
    """The insert baseline names the tables' columns; fail clearly if the schema moved."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(template)
    try:
        inspector = inspect(engine)
        for table, wanted in {
            "entities": {"id", "type", "city_id", "information_system_id", "location", "lon", "lat", "attributes",
                         "observed_at", "modified_at", "retired_at"},
            "observations": {"entity_id", "attribute", "observed_at", "value_number", "value", "recorded_at"},
        }.items():  # fmt: skip
            have = {column["name"] for column in inspector.get_columns(table)}
            if wanted - have:
                raise SystemExit(f"the insert baseline needs {sorted(wanted - have)} in {table}; update bench/harvest.py")
    finally:
        engine.dispose()


# ---- report ---------------------------------------------------------------------------------------


def print_profile(path: str, limit: int) -> None:
    import pstats

    for order in ("cumulative", "tottime"):
        log(f"profile of the {Path(path).stem} harvest, top {limit} by {order}:")
        stats = pstats.Stats(path, stream=sys.stdout)
        stats.strip_dirs().sort_stats(order).print_stats(limit)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="10000,100000", help="rows per source (default 10000,100000)")
    parser.add_argument("--profile", action="store_true", help="also harvest the largest source under cProfile")
    parser.add_argument("--profile-lines", type=int, default=30)
    parser.add_argument(
        "--database-url", default=f"sqlite:///{OUT / 'template.sqlite'}",
        help="a SQLite file for the template database (default bench/out/harvest/template.sqlite), or a"
        " PostgreSQL server, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres, where the benchmark creates"
        " databases of its own (icity_bench_harvest_…), copies and drops them",
    )  # fmt: skip
    args = parser.parse_args()
    if is_postgresql(args.database_url):
        args.database_url = own_database_url(args.database_url, "harvest")
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    OUT.mkdir(parents=True, exist_ok=True)
    bench_started = time.perf_counter()
    results: dict = {
        "started_at": datetime.now().astimezone().isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version},
        "targets": {"rows_per_s": RATE_TARGET, "memory_growth_mib": MEMORY_GROWTH_TARGET_MIB},
        "sizes": {},
    }
    log("harvest benchmark: preparing sources and a migrated template database …")
    files = {rows: ensure_csv(rows) for rows in sizes}
    postgresql = is_postgresql(args.database_url)
    results["database"] = "postgresql" if postgresql else "sqlite"
    log(f"database: {'PostgreSQL' if postgresql else 'SQLite'}")
    template = template_database(args.database_url)
    check_columns(template)
    server = FileServer()
    failure = None
    try:
        for rows in sizes:
            url = server.serve(files[rows])
            size_mib = files[rows].stat().st_size / 2**20
            entry: dict = {"rows": rows, "csv_mib": round(size_mib, 2)}
            parse = parse_baseline(url)
            entry["parse_baseline"] = parse
            insert = insert_baseline(template, rows)
            entry["insert_baseline"] = insert
            db_url = fresh_database(template, f"harvest-{rows}", url)
            first = run_child({"url": db_url})
            entry["first"] = first
            counts = first["run"]
            expected = {"status": "succeeded", "fetched": rows, "created": rows, "rejected": 0}
            if {k: counts[k] for k in expected} != expected:
                failure = f"{rows} rows: the first run gave {counts} {first['rejections']}, expected {expected}"
                break
            log(
                f"  {rows:>7,} rows ({size_mib:.1f} MiB): harvest {first['seconds']:.2f} s = {rows / first['seconds']:,.0f} rows/s"
                f"; peak RSS {mib(first['after']['hwm_kib'])} (anon {mib(first['peak_anon_kib'])}, before the run"
                f" {mib(first['before']['rss_kib'])}); csv.reader over HTTP {parse['rows_per_s']:,.0f} rows/s;"
                f" executemany {insert['rows_per_s']:,.0f} rows/s"
            )
            traced_url = fresh_database(template, f"traced-{rows}", url)
            traced = run_child({"url": traced_url, "trace": True})
            if postgresql:
                remove_database(traced_url)
            entry["python_peak_mib"] = round(traced["python_peak_kib"] / 1024, 1)
            log(f"  {rows:>7,} rows, again under tracemalloc: peak of Python's own memory {entry['python_peak_mib']:.1f} MiB")
            if not first["before"]["hwm_reset"]:
                log("  WARNING: could not reset VmHWM after the warm-up: peak RSS includes loading the registry")
            if rows == sizes[-1]:
                second = run_child({"url": db_url})
                entry["second"] = second
                counts = second["run"]
                expected = {"status": "succeeded", "fetched": rows, "created": 0, "updated": 0, "unchanged": rows}
                if {k: counts[k] for k in expected} != expected:
                    failure = f"{rows} rows: the second run gave {counts}, expected {expected}"
                    break
                log(f"  {rows:>7,} rows again, unchanged: {second['seconds']:.2f} s = {rows / second['seconds']:,.0f} rows/s")
                if args.profile:
                    profile_url = fresh_database(template, f"profile-{rows}", url)
                    profile_path = str(OUT / f"harvest-{rows}.prof")
                    profiled = run_child({"url": profile_url, "profile": profile_path})
                    entry["profiled_seconds"] = profiled["seconds"]
                    entry["profile"] = profile_path
                    remove_database(profile_url)
            results["sizes"][str(rows)] = entry
            if postgresql:  # the databases are the server's, not files under bench/out: drop them
                remove_database(db_url)
    finally:
        server.close()
        if postgresql:
            remove_database(template)

    results["seconds"] = round(time.perf_counter() - bench_started, 1)
    results["failure"] = failure
    done = [results["sizes"][str(r)] for r in sizes if str(r) in results["sizes"]]
    log("")
    if done:
        header = (
            f"{'rows':>8} {'CSV MiB':>7} │ {'harvest s':>9} {'rows/s':>8} │ {'peak RSS':>9} {'peak anon':>9} │"
            f" {'csv.reader rows/s':>17} {'executemany rows/s':>18} │ {'target':<14} {'met':<3}"
        )
        log(header)
        log("─" * len(header))
        for e in done:
            f = e["first"]
            rate = e["rows"] / f["seconds"]
            log(
                f"{e['rows']:>8,} {e['csv_mib']:>7.1f} │ {f['seconds']:>9.2f} {rate:>8,.0f} │ {mib(f['after']['hwm_kib']):>9}"
                f" {mib(f['peak_anon_kib']):>9} │ {e['parse_baseline']['rows_per_s']:>17,.0f} {e['insert_baseline']['rows_per_s']:>18,.0f} │"
                f" {'≥' + format(RATE_TARGET, ',') + ' rows/s':<14} {'yes' if rate >= RATE_TARGET else 'NO':<3}"
            )
            e["rows_per_s"] = round(rate)
            e["rate_met"] = rate >= RATE_TARGET
        last = done[-1]
        if "second" in last:
            s = last["second"]
            rate = last["rows"] / s["seconds"]
            last["second_rows_per_s"] = round(rate)
            log(
                f"{last['rows']:>8,} again, unchanged │ {s['seconds']:>9.2f} {rate:>8,.0f} │ {mib(s['after']['hwm_kib']):>9}"
                f" {mib(s['peak_anon_kib']):>9} │ idempotent: {s['run']['unchanged']:,} unchanged, nothing written │"
                f" {'yes' if rate >= RATE_TARGET else 'NO'}"
            )
        log(
            "rows/s = source rows / wall time of harvest.run_now (fetch over HTTP, map, check, stage, write, retire, ANALYZE);"
            f" each row is an entity and {HISTORISED} history values"
        )
        log(
            "peak RSS = VmHWM of the harvest's own process, reset once the registry, pyproj and pint are loaded"
            " (RSS then: 'before the run' above); peak anon = its anonymous memory, sampled every 20 ms"
        )
        log(
            "baselines, same run, same file: csv.reader = httpx stream + csv.reader + dict per row, no mapping, no DB;"
            f" executemany = {'psycopg (pipelined)' if postgresql else 'stdlib sqlite3 with the server PRAGMAs'} into the same tables and"
            f" indexes, {HISTORISED} history rows per entity, rows prepared beforehand"
        )
        for e in done:
            share_parse = e["rows"] / e["parse_baseline"]["rows_per_s"] / e["first"]["seconds"]
            share_insert = e["rows"] / e["insert_baseline"]["rows_per_s"] / e["first"]["seconds"]
            log(
                f"  {e['rows']:,} rows: reading+parsing would take {100 * share_parse:.0f}% of the harvest's time,"
                f" the bare inserts {100 * share_insert:.0f}%; the rest ({100 * (1 - share_parse - share_insert):.0f}%)"
                " is mapping, checking, staging and SQLAlchemy"
            )
        if len(done) >= 2:
            small, large = done[0], done[-1]
            hwm_small, hwm_large = small["first"]["after"]["hwm_kib"], large["first"]["after"]["hwm_kib"]
            anon_small, anon_large = small["first"]["peak_anon_kib"], large["first"]["peak_anon_kib"]
            growth = (hwm_large - hwm_small) / 1024
            anon_growth = (anon_large - anon_small) / 1024
            python_growth = large["python_peak_mib"] - small["python_peak_mib"]
            met = python_growth <= MEMORY_GROWTH_TARGET_MIB
            results["memory"] = {
                "python_peak_mib": {str(small["rows"]): small["python_peak_mib"], str(large["rows"]): large["python_peak_mib"]},
                "python_peak_growth_mib": round(python_growth, 1),
                "peak_rss_growth_mib": round(growth, 1),
                "peak_rss_ratio": round(hwm_large / hwm_small, 3),
                "peak_anon_growth_mib": round(anon_growth, 1),
                "met": met,
            }
            file_small, file_large = small["first"]["peak_file_kib"], large["first"]["peak_file_kib"]
            results["memory"]["peak_file_growth_mib"] = round((file_large - file_small) / 1024, 1)
            log(
                f"peak memory {small['rows']:,} → {large['rows']:,} rows ({large['rows'] / small['rows']:.0f}× the rows):"
                f" RSS {mib(hwm_small)} → {mib(hwm_large)} ({growth:+.1f} MiB, ×{hwm_large / hwm_small:.2f}),"
                f" of which anonymous {mib(anon_small)} → {mib(anon_large)} ({anon_growth:+.1f} MiB)"
                f" and file-backed {mib(file_small)} → {mib(file_large)} ({(file_large - file_small) / 1024:+.1f} MiB)"
            )
            log(
                "  (SQLite's caches count here and grow with the database up to their settings: the page cache"
                " (PRAGMA cache_size, 64 MiB, anonymous) and memory-mapped reads (mmap_size, 256 MiB, file-backed);"
                " compare successive sizes with --sizes to see where the growth stops)"
            )
            log(
                f"peak of Python's own memory (tracemalloc) {small['rows']:,} → {large['rows']:,} rows:"
                f" {small['python_peak_mib']:.1f} → {large['python_peak_mib']:.1f} MiB ({python_growth:+.1f} MiB)"
            )
            log(
                f"target: the harvest's own memory grows by ≤ {MEMORY_GROWTH_TARGET_MIB:.0f} MiB from {small['rows']:,} to"
                f" {large['rows']:,} rows (Python's peak; SQLite's caches are bounded by their settings, above):"
                f" {'target met' if met else 'target NOT MET'}"
            )
        rate_met = all(e["rate_met"] for e in done)
        results["rate_met"] = rate_met
        log(f"target: ≥ {RATE_TARGET:,} rows/s at every size: {'target met' if rate_met else 'target NOT MET'}")
    out = BENCH / "out" / f"harvest-{results['database']}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    if args.profile and done and "profile" in done[-1]:
        log("")
        log(f"profiled run: {done[-1]['profiled_seconds']:.2f} s under cProfile ({done[-1]['profile']})")
        print_profile(done[-1]["profile"], args.profile_lines)
    log(f"results: {out.relative_to(ROOT)}; whole benchmark {results['seconds']:.0f} s")
    if failure:
        log(f"FAILED: {failure}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
