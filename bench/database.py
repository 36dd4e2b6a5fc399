"""The database a benchmark runs on, and the server under test on it: shared by the benchmarks that
run on SQLite and on PostgreSQL alike (`--database-url`).

A benchmark never writes into a database it did not make: on SQLite it makes a file in its own output
folder; given a PostgreSQL URL it connects to that server (the URL's database is only where it
connects to create its own) and creates a database of its own, named icity_bench_<label>_<random>,
which `drop()` removes at the end, even when the run fails.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

from air_city import BenchFailure, unlink_database

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"  # this machine's (trust auth)


def engine_of(database_url: str | None) -> str:
    """`sqlite` or `postgres`: what `--database-url` asks for (none: the embedded SQLite)."""
    if not database_url or database_url.startswith("sqlite"):
        return "sqlite"
    if database_url.startswith("postgresql"):
        return "postgres"
    raise BenchFailure(f"--database-url must be a sqlite:// or postgresql+psycopg:// URL, not {database_url!r}")


class BenchDatabase:
    """A new, empty database for one benchmark: `url` for SQLAlchemy, `engine` sqlite or postgres."""

    def __init__(self, folder: Path, label: str, database_url: str | None = None, template: BenchDatabase | None = None):
        """`template`: a database of the same engine whose contents the new one starts with."""
        self.folder, self.label = folder, label
        self.engine = engine_of(database_url)
        self.server_url = database_url
        if template is not None:
            template.release()
        if self.engine == "sqlite":
            folder.mkdir(parents=True, exist_ok=True)
            self.path: Path | None = folder / f"{label}.sqlite"
            unlink_database(self.path)
            self.url = f"sqlite:///{self.path}"
            if template is not None:
                shutil.copyfile(template.path, self.path)
        else:
            from sqlalchemy.engine import make_url

            self.path = None
            self.name = f"icity_bench_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
            self.url = make_url(database_url).set(database=self.name).render_as_string(hide_password=False)
            self._admin(f'CREATE DATABASE "{self.name}"' + (f' TEMPLATE "{template.name}"' if template is not None else ""))

    @property
    def title(self) -> str:
        return "SQLite" if self.engine == "sqlite" else "PostgreSQL"

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.server_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def release(self) -> None:
        """Close this process's connections to it (before a copy, a drop, or a server of its own)."""
        from icity.db.engine import dispose

        dispose(self.url)
        if self.path is not None:
            with sqlite3.connect(self.path) as db:
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def copy(self, label: str) -> BenchDatabase:
        """A new database holding what this one holds (a file copy; PostgreSQL: CREATE DATABASE … TEMPLATE)."""
        return BenchDatabase(self.folder, label, self.server_url, template=self)

    def count(self, table: str) -> int:
        from sqlalchemy import text

        from icity.db.engine import new_session

        with new_session(self.url) as session:
            return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()

    def env(self, port: int, **settings: str) -> dict[str, str]:
        """The environment of an `icity` process on this database (`settings`: more ICITY_* values)."""
        return {
            **os.environ,
            "ICITY_DATABASE_URL": self.url,
            "ICITY_VAR_DIR": str(self.folder / "var"),
            "ICITY_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "ICITY_PORT": str(port),
            "PYTHONUNBUFFERED": "1",
            **settings,
        }

    def drop(self) -> None:
        from icity.db.engine import dispose

        dispose(self.url)
        if self.engine == "postgres":
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        else:
            unlink_database(self.path)


class Server:
    """`icity serve` (one worker unless told) on a benchmark's database, as a process of its own."""

    def __init__(self, database: BenchDatabase, port: int, log_path: Path, workers: int = 1, without: tuple[str, ...] = (), **settings: str):
        self.database, self.port, self.log_path, self.workers = database, port, log_path, workers
        self.env = database.env(port, **settings)
        for name in without:  # settings of the caller's environment the run must not inherit
            self.env.pop(name, None)
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        import httpx

        icity = str(Path(sys.executable).with_name("icity"))
        command = [icity, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchFailure(f"the server exited with code {self.process.returncode}; see {self.log_path}")
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise BenchFailure(f"the server did not answer /health within {timeout:.0f} s; see {self.log_path}")

    def stop(self, timeout: float = 60.0) -> float | None:
        """SIGTERM, and the seconds the server took to exit by itself (None: killed after `timeout`)."""
        if self.process is None:
            return None
        started = time.monotonic()
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)
            return time.monotonic() - started
        except subprocess.TimeoutExpired:
            self.process.kill()  # only the process this benchmark started
            self.process.wait(timeout=10)
            return None
        finally:
            self._log.close()
            self.process = None
