"""Download benchmark: an IS's entities streamed as CSV and GeoJSON through the real server.

    .venv/bin/python bench/download.py                      (what `make bench` runs, on SQLite)
    .venv/bin/python bench/download.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/download.py --sizes 1000,2000    (a smoke test)

1. builds a fresh, migrated database (SQLite by default; with --database-url, a database of its own on
   that PostgreSQL server, dropped at the end — see bench/database.py) with one open, public air-quality IS per size
   (10,000 and 100,000 AirQualityObserved entities: a point, a name, five pollutants, a level);
2. starts the real server (`icity serve`, one worker) on a free port and warms it up with one
   download of the smallest IS;
3. for each size and each format: GET …/download.csv and …/download.geojson, read as it streams
   by a client in this process (httpx), the body checked (one row or Feature per entity);
   measures rows/s and the server's memory growth while it streams: its peak resident memory
   (VmHWM, reset through /proc/<pid>/clear_refs before each download) above its resident memory
   just before (VmRSS), and the peaks of its anonymous part (RssAnon, sampled every 2 ms: what the
   server holds) and of its mapped files (RssFile: the database file SQLite maps in) — streaming in chunks, the growth at
   100k ≈ the growth at 10k;
4. in the same run, on the same database, the baseline: the same rows read with plain SQL (stdlib
   sqlite3, one cursor; on PostgreSQL psycopg, one server-side cursor) and written with csv.writer
   into /dev/null, in a child process whose memory growth is measured the same way;
5. prints the figures side by side, writes bench/out/download-<sqlite|postgres>.json.

Exits 0 when a figure is poor (the benchmark reports), non-zero when a download fails or is wrong.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out" / "download"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(BENCH))

from air_city import CITY, ENTITY_TYPE, BenchFailure, create_air_city, free_port, log  # noqa: E402
from database import BenchDatabase, Server  # noqa: E402

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
WRITE_BATCH = 5000
# streamed in chunks, the server's memory must not grow with the download: 10× the rows may cost
# at most this much more peak memory
MEMORY_GROWTH_TARGET_MIB = 16.0


def slug_of(rows: int) -> str:
    return f"aire-{rows}"


def build(database: BenchDatabase, sizes: list[int]) -> None:
    """A city at pilot level with one open, public air-quality IS of `rows` entities per size."""
    from icity.db.engine import transaction
    from icity.services import audit, catalogue, cities, entity_store

    url = database.url
    create_air_city(url)
    with transaction(url) as session:
        cities.change_level(
            session, audit.actor_named("bench"), CITY, to_level="pilot", effective_on=date(2014, 4, 1),
            evidence_kind="technical_trial", evidence="benchmark",
        )  # fmt: skip
        for rows in sizes:
            catalogue.create_information_system(
                session, city_id=CITY, slug=slug_of(rows), name=f"Aire {rows}", category="environment", entity_types=[ENTITY_TYPE]
            )
            catalogue.set_status(session, f"{CITY}/{slug_of(rows)}", "open")
    for rows in sizes:
        for first in range(0, rows, WRITE_BATCH):
            batch = [entity(rows, i) for i in range(first, min(rows, first + WRITE_BATCH))]
            with transaction(url) as session:
                entity_store.upsert_entities(session, f"{CITY}/{slug_of(rows)}", batch)
    database.release()  # the server gets the database to itself


def entity(size: int, i: int) -> dict:
    no2 = float(i % 120)
    return {
        "id": f"urn:ngsi-ld:{ENTITY_TYPE}:{CITY}:s{size}-{i:06d}",
        "type": ENTITY_TYPE,
        "location": {"type": "Point", "coordinates": [round(2.05 + (i % 997) * 0.0001, 6), round(41.32 + (i % 991) * 0.0001, 6)]},
        "observedAt": (T0 + timedelta(seconds=i)).isoformat(),
        "name": f"Estació {i}",
        "no2": no2,
        "pm10": float(i % 50),
        "pm25": float(i % 30),
        "o3": float(i % 90),
        "co": float(i % 7) / 10,
        "airQualityLevel": "good" if no2 <= 30 else "moderate" if no2 <= 60 else "unhealthy",
    }


# ---- memory of a process, from /proc --------------------------------------------------------------


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise BenchFailure(f"/proc/{pid}/status has no {field}")


def reset_peak(pid: int) -> None:
    """Reset the process's VmHWM to its current resident memory (Linux ≥ 4.0, our own process)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# ---- the measured downloads ---------------------------------------------------------------------


class Peak:
    """The peak of one of a process's memory figures in /proc/<pid>/status (RssAnon: Python's heap,
    SQLite's page cache; RssFile: the database file SQLite maps in, shared with the OS page cache),
    sampled every 2 ms while it runs."""

    def __init__(self, pid: int, field: str):
        self.pid, self.field = pid, field
        self.start = self.peak = status_kib(pid, field)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, status_kib(self.pid, self.field))

    def stop(self) -> float:
        """The peak's growth above the figure at the start, in MiB."""
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, status_kib(self.pid, self.field))
        return (self.peak - self.start) / 1024


def download(port: int, pid: int, rows: int, extension: str) -> dict:
    import httpx

    url = f"http://127.0.0.1:{port}/api/v1/information-systems/{CITY}/{slug_of(rows)}/download.{extension}"
    reset_peak(pid)
    before = status_kib(pid, "VmRSS")
    anonymous, mapped = Peak(pid, "RssAnon"), Peak(pid, "RssFile")
    body = bytearray()
    started = time.perf_counter()
    with httpx.stream("GET", url, timeout=600) as response:
        if response.status_code != 200:
            raise BenchFailure(f"GET {url} gave {response.status_code}: {response.read()[:500]!r}")
        for chunk in response.iter_bytes():
            body += chunk
    seconds = time.perf_counter() - started
    anonymous_growth, mapped_growth = anonymous.stop(), mapped.stop()
    growth = (status_kib(pid, "VmHWM") - before) / 1024
    if extension == "csv":
        received = sum(1 for _ in csv.reader(body.decode().splitlines())) - 1
    else:
        received = len(json.loads(body)["features"])
    if received != rows:
        raise BenchFailure(f"GET {url} gave {received} rows, expected {rows}")
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds, "bytes": len(body),
            "memory_growth_mib": growth, "anonymous_growth_mib": anonymous_growth, "file_growth_mib": mapped_growth}  # fmt: skip


def baseline(url: str, rows: int) -> dict:
    """The same rows with plain SQL and csv.writer into /dev/null, in a child process of its own."""
    command = [sys.executable, __file__, "--baseline-child", url, "--child-rows", str(rows)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise BenchFailure(f"the baseline failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout)


BASELINE_SQL = (
    "SELECT id, type, observed_at, lat, lon, attributes FROM entities WHERE information_system_id = {0} "
    "AND retired_at IS NULL ORDER BY id"
)


def baseline_child(url: str, rows: int) -> None:
    system = f"{CITY}/{slug_of(rows)}"
    # the libraries are loaded before memory and time are measured, as the server's are
    if url.startswith("sqlite"):
        import sqlite3

        def open_rows():
            return sqlite3.connect(url.removeprefix("sqlite:///")).execute(BASELINE_SQL.format("?"), (system,))

        decode = json.loads
    else:
        import psycopg
        from sqlalchemy.engine import make_url

        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

        def open_rows():
            cursor = psycopg.connect(conninfo).cursor(name="download")  # server-side: rows arrive as they are read
            cursor.itersize = 1000
            return cursor.execute(BASELINE_SQL.format("%s"), (system,))

        decode = _decoded  # psycopg decodes json columns itself
    anonymous, mapped = Peak(os.getpid(), "RssAnon"), Peak(os.getpid(), "RssFile")
    before = status_kib_self("VmRSS")
    started = time.perf_counter()
    cursor = open_rows()
    names = ["airQualityLevel", "co", "name", "no2", "o3", "pm10", "pm25"]
    count = 0
    with open("/dev/null", "w", newline="") as sink:
        writer = csv.writer(sink)
        writer.writerow(["id", "type", "observedAt", "latitude", "longitude", *names])
        for row_id, row_type, observed_at, lat, lon, attributes in cursor:
            values = decode(attributes)
            writer.writerow([row_id, row_type, observed_at, lat, lon, *(values.get(n) for n in names)])
            count += 1
    seconds = time.perf_counter() - started
    growth = status_kib_self("VmHWM") - before
    print(json.dumps({"rows": count, "seconds": seconds, "rows_per_s": count / seconds, "memory_growth_mib": growth / 1024,
                      "anonymous_growth_mib": anonymous.stop(), "file_growth_mib": mapped.stop()}))  # fmt: skip


def _decoded(value):
    return json.loads(value) if isinstance(value, str) else value


def status_kib_self(field: str) -> int:
    return status_kib(os.getpid(), field)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="entities per IS, comma-separated (default 10000,100000)")
    parser.add_argument(
        "--database-url", help="a PostgreSQL server to run on (a database of its own is created there, then dropped); default SQLite"
    )
    parser.add_argument("--baseline-child", help=argparse.SUPPRESS)
    parser.add_argument("--child-rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:
        baseline_child(args.baseline_child, args.child_rows)
        return 0
    sizes = sorted(int(s) for s in args.sizes.split(","))
    OUT.mkdir(parents=True, exist_ok=True)
    database = BenchDatabase(OUT, "download", args.database_url)
    try:
        results = measure(database, sizes)
    finally:
        database.drop()
    report(results)
    (BENCH / "out" / f"download-{database.engine}.json").write_text(json.dumps(results, indent=2))
    return 0


def measure(database: BenchDatabase, sizes: list[int]) -> dict:
    log(f"building {', '.join(f'{s:,}' for s in sizes)} entities on {database.title} …")
    started = time.perf_counter()
    build(database, sizes)
    log(f"  built in {time.perf_counter() - started:.1f} s")
    server = Server(database, free_port(), OUT / "server.log", ICITY_BACKGROUND_IN_SERVER="false")
    results: dict = {
        "machine": platform.platform(), "python": platform.python_version(), "database": database.engine, "sizes": sizes, "runs": []
    }  # fmt: skip
    try:
        server.start()
        pid = server.process.pid
        # warm-up: modules, the first connections, and the database read once (into SQLite's page cache
        # and the mapped file), so that what is measured is what a stream itself costs
        for rows in sizes:
            download(server.port, pid, rows, "csv")
        for extension in ("csv", "geojson"):
            for rows in sizes:
                results["runs"].append({"format": extension, **download(server.port, pid, rows, extension)})
    finally:
        server.stop()
    results["baseline"] = [baseline(database.url, rows) for rows in sizes]
    return results


def report(results: dict) -> None:
    log()
    title = "PostgreSQL" if results["database"] == "postgres" else "SQLite"
    log(f"Downloads through the real server (one worker, {title}), beside plain SQL + csv.writer into /dev/null;")
    log("memory: the server's peaks above where they stood (all resident memory; its anonymous part; mapped files)")
    log(f"{'':24} {'rows':>9} {'rows/s':>10} {'MB':>8} {'peak RSS':>12} {'peak anon':>12} {'peak file':>12}")
    lines = [("GET download." + r["format"], r) for r in results["runs"]] + [("baseline (SQL + csv)", r) for r in results["baseline"]]
    for label, run in lines:
        size = f"{run['bytes'] / 1e6:>8.1f}" if "bytes" in run else f"{'':>8}"
        log(f"{label:24} {run['rows']:>9,} {run['rows_per_s']:>10,.0f} {size} {run['memory_growth_mib']:>+8.1f} MiB "
            f"{run['anonymous_growth_mib']:>+8.1f} MiB {run['file_growth_mib']:>+8.1f} MiB")  # fmt: skip
    sizes = results["sizes"]
    if len(sizes) > 1:
        log()
        if results["database"] == "sqlite":
            log("(peak RSS also counts pages of the database file SQLite maps in — mmap_size, up to 256 MiB, shared with")
            log(" the OS page cache and reclaimable; the anonymous part is what the server itself holds: the verdict's)")
        for extension in ("csv", "geojson"):
            growth = {r["rows"]: r["anonymous_growth_mib"] for r in results["runs"] if r["format"] == extension}
            extra = growth[sizes[-1]] - growth[sizes[0]]
            verdict = "flat" if extra <= MEMORY_GROWTH_TARGET_MIB else "GROWS"
            log(f"{extension}: peak anonymous growth at {sizes[-1]:,} − at {sizes[0]:,} = {extra:+.1f} MiB "
                f"(target ≤ {MEMORY_GROWTH_TARGET_MIB:.0f} MiB): {verdict}")  # fmt: skip
        rates = {r["rows"]: r["rows_per_s"] for r in results["baseline"]}
        for run in results["runs"]:
            if run["rows"] == sizes[-1]:
                log(f"{run['format']} at {run['rows']:,}: {run['rows_per_s'] / rates[run['rows']]:.2f} × the baseline's rows/s")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchFailure as failure:
        log(f"FAILED: {failure}")
        sys.exit(1)
