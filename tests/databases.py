"""Test databases: SQLite files by default, PostgreSQL databases when
ICITY_TEST_POSTGRES_URL names a server. Each is created migrated from a
template, so a test that writes gets a database of its own in milliseconds."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from icity.db.engine import dispose
from icity.db.migrate import upgrade

POSTGRES_URL = os.environ.get("ICITY_TEST_POSTGRES_URL")


class DatabaseFactory:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.created: list[str] = []
        self.template = self._new_name()
        self.template_url = self._url(self.template)
        if POSTGRES_URL:
            self._admin(f'CREATE DATABASE "{self.template}"')
        upgrade(self.template_url)
        dispose(self.template_url)

    @property
    def dialect(self) -> str:
        return "postgresql" if POSTGRES_URL else "sqlite"

    def _new_name(self) -> str:
        return f"icity_test_{uuid.uuid4().hex[:12]}"

    def _url(self, name: str) -> str:
        if POSTGRES_URL:
            return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.workdir / name}.db"

    def _admin(self, statement: str) -> None:
        engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def new(self) -> str:
        """URL of a new, migrated, empty database."""
        name = self._new_name()
        if POSTGRES_URL:
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        else:
            shutil.copy(self.workdir / f"{self.template}.db", self.workdir / f"{name}.db")
        self.created.append(name)
        return self._url(name)

    def copy(self, url: str) -> str:
        """URL of a new database holding what the database at `url` holds."""
        source = make_url(url).database
        name = self._new_name()
        dispose(url)  # PostgreSQL copies only a template nobody is connected to
        if POSTGRES_URL:
            self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        else:
            shutil.copy(source, self.workdir / f"{name}.db")
        self.created.append(name)
        return self._url(name)

    def drop_all(self) -> None:
        for name in [*self.created, self.template]:
            dispose(self._url(name))
            if POSTGRES_URL:
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
