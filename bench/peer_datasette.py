"""datasette beside iCity: the same rows in a plain SQLite file, the same SQL through its SQL API.

`make bench` installs datasette (pinned) in a virtual environment of its own, `.venv-datasette`
(see the Makefile), so that its dependencies never meet iCity's. Here:

- `plain_copy` writes the benchmark's entities and observations into a file holding only those
  two tables, with the same indexes as the application's schema (a fair plain table: the same
  access paths the direct SQL and iCity use);
- `DatasetteServer` serves it read-only (`datasette serve -i`: immutable, datasette's fastest mode);
- `paths` turns each query into `/<db>.json?sql=…&_shape=array&p0=…`: the direct baseline's SQL with
  its `?` placeholders named (datasette takes named parameters only, as text: numbers are cast back,
  `CAST(:p1 AS REAL)`, else `x <= '250000.0'` compares a number with a text) and its arguments as
  query parameters;
- `verify` checks datasette answers what the direct SQL answers.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path
from urllib.parse import urlencode

import workload

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv-datasette"
PIN = "datasette==0.65.5"
DB_NAME = "plain"
TABLES = ("entities", "observations")


def executable() -> Path | None:
    path = VENV / "bin" / "datasette"
    return path if path.exists() else None


def version() -> str | None:
    path = executable()
    if path is None:
        return None
    completed = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60)
    return completed.stdout.strip() or None


def plain_copy(db_path: Path, out: Path) -> Path:
    """`out/plain.db`: the two tables of `db_path`, their rows and their indexes, nothing else (rebuilt
    when the data set file is newer)."""
    target = out / f"{DB_NAME}.db"
    if target.exists() and target.stat().st_mtime >= db_path.stat().st_mtime:
        return target
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    db = sqlite3.connect(partial)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("ATTACH DATABASE ? AS source", (f"file:{db_path}?mode=ro",))
        for table in TABLES:
            (ddl,) = db.execute("SELECT sql FROM source.sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
            db.execute(ddl)  # foreign keys to absent tables are fine: nothing writes here
            db.execute(f"INSERT INTO main.{table} SELECT * FROM source.{table}")
            for (index,) in db.execute(
                "SELECT sql FROM source.sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (table,)
            ).fetchall():
                db.execute(index)
        db.commit()
        db.execute("DETACH DATABASE source")
        db.execute("ANALYZE")
        db.commit()
    finally:
        db.close()
    os.replace(partial, target)
    return target


def named(query: workload.Query) -> str:
    """The query's SQL with its `?` placeholders named :p0, :p1, … (datasette's SQL API binds named
    parameters only, and always as text: a number is cast back to its type, as sqlite3 binds it)."""
    parts = query.sql.split("?")
    out = [parts[0]]
    for i, (value, part) in enumerate(zip(query.args, parts[1:])):
        if isinstance(value, float):
            out.append(f"CAST(:p{i} AS REAL)")
        elif isinstance(value, int):
            out.append(f"CAST(:p{i} AS INTEGER)")
        else:
            out.append(f":p{i}")
        out.append(part)
    return "".join(out)


def path_for(query: workload.Query) -> str:
    params = {"sql": named(query), "_shape": "array", **{f"p{i}": _text(v) for i, v in enumerate(query.args)}}
    return f"/{DB_NAME}.json?" + urlencode(params)


def _text(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def paths(queries: list[workload.Query]) -> list[str]:
    return [path_for(q) for q in queries]


class DatasetteServer:
    """One `datasette serve` process (datasette has no worker option: one process, its thread pool)."""

    label = "datasette"

    def __init__(self, plain_db: Path, port: int, log_path: Path):
        self.plain_db = plain_db
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None
        self.pids: list[int] = []
        self.workers = 1

    def start(self, get, timeout: float = 60.0) -> float:
        command = [
            str(executable()), "serve", "-i", str(self.plain_db), "--host", "127.0.0.1", "--port", str(self.port),
            "--setting", "sql_time_limit_ms", "5000", "--setting", "max_returned_rows", "1000",
        ]  # fmt: skip
        started = time.perf_counter()
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"datasette exited with code {self.process.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                status, _ = get(self.port, "/-/versions.json", timeout=2)
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError(f"datasette did not answer within {timeout:.0f} s")
        self.pids = [self.process.pid]
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self._log.close()
        self.process = None


def verify(get, port: int, db_path: Path, queries: dict[str, list[workload.Query]], per_kind: int = 25) -> dict[str, int]:
    """datasette's rows are the direct SQL's rows (ids for (a) and (b), buckets for (c))."""
    db = workload.connect(db_path)
    checked = {}
    try:
        for kind, kind_queries in queries.items():
            for query in kind_queries[:per_kind]:
                path = path_for(query)
                status, body = get(port, path)
                if status != 200:
                    raise RuntimeError(f"datasette {path[:200]}: HTTP {status}: {body[:300]!r}")
                rows = json.loads(body)
                expected = workload.RUNNERS[kind](db, query)
                if kind in ("a", "b"):
                    if [r["id"] for r in rows] != [e["id"] for e in expected]:
                        raise RuntimeError(f"datasette answered {len(rows)} rows for {query.path}, the SQL {len(expected)}")
                else:
                    got = [tuple(r.values()) for r in rows]
                    if len(got) != len(expected) or any(g[0] != e[0] or g[2] != e[2] for g, e in zip(got, expected)):
                        raise RuntimeError(f"datasette's buckets differ from the SQL's for {query.path}")
            checked[kind] = min(per_kind, len(kind_queries))
    finally:
        db.close()
    return checked
