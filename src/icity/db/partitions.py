"""The observation history's partitions on PostgreSQL: one per calendar month of observed_at
(declarative RANGE partitioning, migration 0016), plus a DEFAULT partition that takes any row
whose month has no partition yet, so that no write ever fails for a missing partition.

Monthly: a query over the last 30 days reads one or two partitions, a city's year is twelve
(the planner's cost grows with the number of partitions), and a retention counted in days
drops whole months and deletes the rest. SQLite has no partitions: everything here is a no-op
there except `delete_expired`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, text

PARENT = "observations"
DEFAULT_PARTITION = "observations_default"
COLUMNS = "entity_id, attribute, observed_at, value_number, value, recorded_at"
LOCK_KEY = 0x1C17_0B5E  # pg_advisory_xact_lock: one maintainer at a time across workers


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime  # naive UTC, inclusive
    end: datetime  # naive UTC, exclusive


def is_partition_name(name: str | None) -> bool:
    """A partition's table: not in the models (Alembic's comparison leaves them out)."""
    return bool(name) and (name == DEFAULT_PARTITION or name.startswith(f"{PARENT}_p"))


def include_in_comparison(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's `include_name`: every table but the partitions, every index but theirs."""
    return not (type_ == "table" and is_partition_name(name))


def naive_utc(moment: datetime) -> datetime:
    """As stored: naive UTC."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo is not None else moment


def month_of(moment: datetime) -> datetime:
    """The first instant of the moment's UTC month, naive (as stored)."""
    return naive_utc(moment).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(month: datetime) -> datetime:
    return (month + timedelta(days=32)).replace(day=1)


def month_partition(month: datetime) -> Partition:
    return Partition(f"{PARENT}_p{month:%Y%m}", month, next_month(month))


def is_partitioned(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    found = connection.execute(
        text("SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(:name)"), {"name": PARENT}
    ).first()
    return found is not None


def lock(connection: Connection) -> bool:
    """Take the maintenance lock for this transaction; False if another worker holds it."""
    return bool(connection.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": LOCK_KEY}).scalar())


def month_partitions(connection: Connection) -> list[Partition]:
    """The monthly partitions attached now, oldest first (the default partition is not one)."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:parent) AND c.relname LIKE :pattern"
        ),
        {"parent": PARENT, "pattern": f"{PARENT}\\_p%"},
    ).scalars()
    found = []
    for name in names:
        try:
            found.append(month_partition(datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m")))
        except ValueError:  # not one of ours
            continue
    return sorted(found, key=lambda partition: partition.start)


def _literal(moment: datetime) -> str:
    return f"'{moment:%Y-%m-%d %H:%M:%S}'"


def create_month(connection: Connection, month: datetime) -> Partition | None:
    """Attach the month's partition unless it is there; rows of that month that went to the
    default partition meanwhile move into it (PostgreSQL refuses a partition whose range the
    default partition holds rows of). None when it existed."""
    partition = month_partition(month_of(month))
    if connection.execute(text("SELECT to_regclass(:name)"), {"name": partition.name}).scalar() is not None:
        return None
    bounds = {"start": partition.start, "end": partition.end}
    connection.execute(text(f"CREATE TABLE {partition.name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
    connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE observed_at >= :start AND observed_at < :end "
            f"RETURNING {COLUMNS}) INSERT INTO {partition.name} ({COLUMNS}) SELECT {COLUMNS} FROM moved"
        ),
        bounds,
    )
    # ATTACH clones the parent's primary key and foreign key onto the new table
    connection.execute(
        text(
            f"ALTER TABLE {PARENT} ATTACH PARTITION {partition.name} "
            f"FOR VALUES FROM ({_literal(partition.start)}) TO ({_literal(partition.end)})"
        )
    )
    return partition


def create_ahead(connection: Connection, now: datetime, months_ahead: int) -> list[Partition]:
    """The current month's partition and the next `months_ahead` ones; those created."""
    created = []
    month = month_of(now)
    for _ in range(months_ahead + 1):
        partition = create_month(connection, month)
        if partition is not None:
            created.append(partition)
        month = next_month(month)
    return created


def holds_rows_of_other_systems(connection: Connection, partition: Partition, systems: list[str]) -> bool:
    """Whether the partition holds observations of entities of an IS not in `systems`."""
    return bool(
        connection.execute(
            text(
                f"SELECT EXISTS (SELECT 1 FROM {partition.name} o JOIN entities e ON e.id = o.entity_id "
                "WHERE e.information_system_id <> ALL(:systems))"
            ),
            {"systems": systems},
        ).scalar()
    )


def drop(connection: Connection, partition: Partition) -> None:
    connection.execute(text(f"DROP TABLE {partition.name}"))


def delete_expired(connection: Connection, system_id: str, before: datetime) -> int:
    """Delete the IS's observations older than `before` (aware UTC); how many went."""
    bound: datetime | str = naive_utc(before)
    if connection.dialect.name == "sqlite":  # stored as text, as UTCDateTime writes it
        bound = bound.isoformat(sep=" ", timespec="microseconds")
    return connection.execute(
        text(
            f"DELETE FROM {PARENT} WHERE observed_at < :before "
            "AND entity_id IN (SELECT id FROM entities WHERE information_system_id = :system)"
        ),
        {"before": bound, "system": system_id},
    ).rowcount
