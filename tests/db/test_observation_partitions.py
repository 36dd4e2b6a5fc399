"""The observation history's monthly partitions on PostgreSQL (migration 0016, icity.db.partitions)
and the retention per IS (icity.services.observation_retention), on SQLite and PostgreSQL."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from icity.db import partitions
from icity.db.engine import dispose, get_engine, transaction
from icity.db.migrate import upgrade
from icity.db.models import Observation
from icity.errors import ICityError
from icity.services import audit, catalogue, cities, entity_store, history
from icity.services.access import CLI
from icity.services.observation_retention import MONTHS_AHEAD, apply_retention, set_retention, upkeep
from tests.databases import POSTGRES_URL

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)
on_postgresql = pytest.mark.skipif(not POSTGRES_URL, reason="partitions are PostgreSQL's")


def _setup(url: str) -> dict[str, str]:
    """Two IS of one city, each with one sensor entity; their entity ids by IS."""
    with transaction(url) as session:
        catalogue.ensure_categories(session)
        cities.create_city(session, audit.actor_named("test"), id="parts", name="Parts", country="ES", lon=2.17, lat=41.39,
                           bbox=[2.05, 41.32, 2.23, 41.47])  # fmt: skip
        ids = {}
        for slug in ("short", "forever"):
            system = catalogue.create_information_system(session, city_id="parts", slug=slug, name=slug, category="environment",
                                                         entity_types=["AirQualityObserved"])  # fmt: skip
            entity_id = entity_store.entity_urn("AirQualityObserved", "parts", slug)
            entity_store.upsert_entities(session, system.id, [{"id": entity_id, "type": "AirQualityObserved",
                                                               "location": {"type": "Point", "coordinates": [2.1, 41.4]}}])  # fmt: skip
            ids[system.id] = entity_id
    return ids


def _add(url: str, entity_id: str, times: list[datetime]) -> None:
    with transaction(url) as session:
        entity_store.add_observations(session, [entity_store.observation_row(entity_id, "no2", at, 10.0 + i) for i, at in enumerate(times)])


def _times(url: str, entity_id: str) -> list[datetime]:
    with transaction(url) as session:
        return list(session.scalars(select(Observation.observed_at).where(Observation.entity_id == entity_id).order_by(Observation.observed_at)))


def _partition_of(url: str, entity_id: str, at: datetime) -> str:
    with get_engine(url).connect() as connection:
        return connection.execute(
            text("SELECT tableoid::regclass::text FROM observations WHERE entity_id = :id AND observed_at = :at"),
            {"id": entity_id, "at": at.replace(tzinfo=None)},
        ).scalar_one()


@on_postgresql
def test_the_worker_creates_the_months_ahead_and_a_write_of_any_time_lands(db_url):
    ids = _setup(db_url)
    with transaction(db_url) as session:
        done = upkeep(session, NOW)
        names = {p.name for p in partitions.month_partitions(session.connection())}
    assert {"observations_p202612", "observations_p202701", "observations_p202702"} <= names
    assert set(done["createdPartitions"]) <= names and MONTHS_AHEAD == 2
    entity = ids["parts/forever"]
    far = [datetime(1990, 1, 2, tzinfo=timezone.utc), datetime(2099, 5, 6, 7, 8, tzinfo=timezone.utc)]
    _add(db_url, entity, far + [NOW])
    assert _times(db_url, entity) == sorted(far + [NOW])
    assert _partition_of(db_url, entity, far[1]) == "observations_default"
    assert _partition_of(db_url, entity, NOW) == "observations_p202612"
    # the month gets its partition later: the row moves there out of the default one
    with transaction(db_url) as session:
        upkeep(session, datetime(2099, 5, 1, tzinfo=timezone.utc))
    assert _partition_of(db_url, entity, far[1]) == "observations_p209905"
    assert _times(db_url, entity) == sorted(far + [NOW])
    # a correction of the moved row still finds it (the upsert's ON CONFLICT on the primary key)
    with transaction(db_url) as session:
        entity_store.add_observations(session, [entity_store.observation_row(entity, "no2", far[1], 99.0)])
        assert session.scalar(select(Observation.value_number).where(Observation.observed_at == far[1])) == 99.0


def test_retention_deletes_exactly_the_expired_rows_of_its_is(db_url):
    ids = _setup(db_url)
    times = [NOW - timedelta(days=d) for d in (400, 200, 31, 29, 1)] + [NOW]
    for entity in ids.values():
        _add(db_url, entity, times)
    with transaction(db_url) as session:
        set_retention(session, CLI, "parts/short", 30)
        apply_retention(session, NOW)
    assert _times(db_url, ids["parts/short"]) == [t for t in times if t >= NOW - timedelta(days=30)]
    assert _times(db_url, ids["parts/forever"]) == times  # no retention: everything kept


@on_postgresql
def test_a_month_is_dropped_whole_only_when_no_is_needs_it(db_url):
    ids = _setup(db_url)
    with transaction(db_url) as session:
        for month in (datetime(2025, 1, 1), datetime(2025, 2, 1), datetime(2025, 3, 1)):
            partitions.create_month(session.connection(), month)
    short, forever = ids["parts/short"], ids["parts/forever"]
    _add(db_url, short, [datetime(2025, 1, 10, tzinfo=timezone.utc), datetime(2025, 2, 10, tzinfo=timezone.utc), NOW])
    _add(db_url, forever, [datetime(2025, 2, 11, tzinfo=timezone.utc), NOW])
    with transaction(db_url) as session:
        set_retention(session, CLI, "parts/short", 30)
        done = apply_retention(session, NOW)
        names = {p.name for p in partitions.month_partitions(session.connection())}
    # January held only expired rows (and March none): dropped; February holds a row kept forever
    assert done["droppedPartitions"] == ["observations_p202501", "observations_p202503"]
    assert "observations_p202502" in names and "observations_p202501" not in names
    assert done["deleted"] == {"parts/short": 1}  # its February row
    assert _times(db_url, short) == [NOW]
    assert _times(db_url, forever) == [datetime(2025, 2, 11, tzinfo=timezone.utc), NOW]


@pytest.mark.parametrize("days", [0, -3, 1.5, "30", True, 36_501])
def test_a_retention_is_a_positive_whole_number_of_days(db_url, days):
    _setup(db_url)
    with transaction(db_url) as session:
        with pytest.raises(ICityError) as refused:
            set_retention(session, CLI, "parts/short", days)
    assert refused.value.errors[0].path == "observationRetentionDays"
    with transaction(db_url) as session:
        assert catalogue.get_system(session, CLI, "parts/short") is not None
        assert session.scalar(text("SELECT observation_retention_days FROM information_systems WHERE id = 'parts/short'")) is None


def test_the_migration_keeps_every_row_and_query(databases):
    """Rows written before 0016 read the same after it (on SQLite the table is left as it is)."""
    url = databases.new()
    ids = _setup(url)
    entity = ids["parts/forever"]
    times = [NOW - timedelta(days=d, minutes=7 * d) for d in range(0, 120, 3)]
    _add(url, entity, times)
    window = history.TimeWindow(start=NOW - timedelta(days=90), end=NOW, attributes=("no2",))

    def read() -> tuple:
        with transaction(url) as session:
            series = history.observations(session, [entity], window, last=None, cap=1000)
            count = session.scalar(select(func.count()).select_from(Observation))
        return series.values, count

    before = read()
    from alembic import command

    from icity.db.migrate import alembic_config

    command.downgrade(alembic_config(url), "0015")
    dispose(url)
    if url.startswith("postgresql"):
        with get_engine(url).connect() as connection:
            assert not partitions.is_partitioned(connection)
    upgrade(url)
    dispose(url)
    with get_engine(url).connect() as connection:
        assert partitions.is_partitioned(connection) == url.startswith("postgresql")
    assert read() == before
