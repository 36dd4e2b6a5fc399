"""observations partitioned by month of observed_at on PostgreSQL; an observation retention per IS

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:00:00

On PostgreSQL the table is rebuilt as a declaratively partitioned one (RANGE on observed_at):
one partition per month that holds rows, the current month and the next two, and a DEFAULT
partition; the rows move over and the tables swap, in one transaction. The primary key
(entity_id, attribute, observed_at) already holds the partition key, so the upserts
(ON CONFLICT on it) stay as they are. On SQLite the table is left as it is.
"""
from datetime import datetime, timedelta, timezone

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

MONTHS_AHEAD = 2
COLUMNS = "entity_id, attribute, observed_at, value_number, value, recorded_at"


def _next_month(month: datetime) -> datetime:
    return (month + timedelta(days=32)).replace(day=1)


def upgrade() -> None:
    with op.batch_alter_table('information_systems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('observation_retention_days', sa.Integer(), nullable=True))
    if op.get_bind().dialect.name != 'postgresql':
        return
    bind = op.get_bind()
    op.execute("ALTER TABLE observations RENAME TO observations_unpartitioned")
    op.execute("ALTER TABLE observations_unpartitioned RENAME CONSTRAINT pk_observations TO pk_observations_unpartitioned")
    op.execute(
        "ALTER TABLE observations_unpartitioned RENAME CONSTRAINT fk_observations_entity_id_entities "
        "TO fk_observations_unpartitioned_entity_id_entities"
    )
    op.execute(
        "CREATE TABLE observations ("
        " entity_id VARCHAR(300) NOT NULL,"
        " attribute VARCHAR(100) NOT NULL,"
        " observed_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,"
        " value_number FLOAT,"
        " value JSON,"
        " recorded_at TIMESTAMP WITHOUT TIME ZONE,"
        " CONSTRAINT pk_observations PRIMARY KEY (entity_id, attribute, observed_at),"
        " CONSTRAINT fk_observations_entity_id_entities FOREIGN KEY (entity_id) REFERENCES entities (id) ON DELETE CASCADE"
        ") PARTITION BY RANGE (observed_at)"
    )
    months = {row[0] for row in bind.execute(sa.text(
        "SELECT DISTINCT date_trunc('month', observed_at) FROM observations_unpartitioned"
    ))}
    month = datetime.now(timezone.utc).replace(tzinfo=None, day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(MONTHS_AHEAD + 1):
        months.add(month)
        month = _next_month(month)
    for month in sorted(months):
        op.execute(
            f"CREATE TABLE observations_p{month:%Y%m} PARTITION OF observations "
            f"FOR VALUES FROM ('{month:%Y-%m-%d}') TO ('{_next_month(month):%Y-%m-%d}')"
        )
    op.execute("CREATE TABLE observations_default PARTITION OF observations DEFAULT")
    op.execute(f"INSERT INTO observations ({COLUMNS}) SELECT {COLUMNS} FROM observations_unpartitioned")
    op.execute("DROP TABLE observations_unpartitioned")
    op.execute("ANALYZE observations")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE observations RENAME TO observations_partitioned")
        op.execute("ALTER TABLE observations_partitioned RENAME CONSTRAINT pk_observations TO pk_observations_partitioned")
        op.execute(
            "ALTER TABLE observations_partitioned RENAME CONSTRAINT fk_observations_entity_id_entities "
            "TO fk_observations_partitioned_entity_id_entities"
        )
        op.execute(
            "CREATE TABLE observations ("
            " entity_id VARCHAR(300) NOT NULL,"
            " attribute VARCHAR(100) NOT NULL,"
            " observed_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,"
            " value_number FLOAT,"
            " value JSON,"
            " recorded_at TIMESTAMP WITHOUT TIME ZONE,"
            " CONSTRAINT pk_observations PRIMARY KEY (entity_id, attribute, observed_at),"
            " CONSTRAINT fk_observations_entity_id_entities FOREIGN KEY (entity_id) REFERENCES entities (id) ON DELETE CASCADE"
            ")"
        )
        op.execute(f"INSERT INTO observations ({COLUMNS}) SELECT {COLUMNS} FROM observations_partitioned")
        op.execute("DROP TABLE observations_partitioned")  # drops its partitions with it
    # a plain DROP COLUMN (SQLite >= 3.35): a batch rebuild would drop the table, and with it,
    # through ON DELETE CASCADE, every entity and observation
    op.execute("ALTER TABLE information_systems DROP COLUMN observation_retention_days")
