from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from icity.db.engine import get_engine
from icity.db.migrate import current_revision, upgrade
from icity.db.models import Base
from icity.db.partitions import include_in_comparison


def test_migrations_build_exactly_the_models(db_url):
    with get_engine(db_url).connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_in_comparison}), Base.metadata)
    assert differences == []


def test_upgrade_is_idempotent(db_url):
    head = current_revision(db_url)
    upgrade(db_url)
    assert current_revision(db_url) == head is not None
    assert {"cities", "entities", "observations", "information_systems"} <= set(inspect(get_engine(db_url)).get_table_names())


def test_sqlite_runs_in_wal_mode(db_url):
    if not db_url.startswith("sqlite"):
        return
    with get_engine(db_url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
