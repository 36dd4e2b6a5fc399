"""insert_many stores exactly what SQLAlchemy's own insert stores (on SQLite it bypasses
SQLAlchemy's per-row work through the columns' bind processors, a private API)."""

from datetime import datetime, timezone

import pytest
from sqlalchemy import insert, select

from icity.db.bulk import insert_many
from icity.db.engine import transaction
from icity.db.models import Entity, Observation

pytestmark = pytest.mark.postgres_ok

T = datetime(2026, 11, 24, 9, 0, 0, 123456, tzinfo=timezone.utc)


def rows(entity_id: str, attribute: str) -> list[dict]:
    return [
        {"entity_id": entity_id, "attribute": attribute, "observed_at": T, "value_number": 12.5, "value": None},
        {"entity_id": entity_id, "attribute": attribute + "-text", "observed_at": T, "value_number": None, "value": "moderate"},
        {"entity_id": entity_id, "attribute": attribute + "-list", "observed_at": T, "value_number": None, "value": ["a", "b"]},
    ]


def raw(url: str, attribute_prefix: str) -> list[tuple]:
    """The rows as the database holds them (no type conversion on the way back)."""
    with transaction(url) as session:
        result = session.connection().exec_driver_sql(
            "SELECT attribute, observed_at, value_number, value FROM observations ORDER BY attribute"
        )
        return [
            (attribute.removeprefix(attribute_prefix), *rest)
            for attribute, *rest in result
            if attribute.startswith(attribute_prefix)
        ]


def test_insert_many_stores_what_sqlalchemy_stores(network_copy: str):
    with transaction(network_copy) as session:
        entity_id = session.scalars(select(Entity.id).limit(1)).one()
        insert_many(session, Observation.__table__, rows(entity_id, "fast"))
        session.execute(insert(Observation.__table__), rows(entity_id, "orm"))
    assert raw(network_copy, "fast") == raw(network_copy, "orm")
    assert len(raw(network_copy, "fast")) == 3


def test_duplicates_are_skipped_only_when_asked(network_copy: str):
    with transaction(network_copy) as session:
        entity_id = session.scalars(select(Entity.id).limit(1)).one()
        insert_many(session, Observation.__table__, rows(entity_id, "dup"))
        insert_many(session, Observation.__table__, rows(entity_id, "dup"), ignore_duplicates=True)
    assert len(raw(network_copy, "dup")) == 3
    with pytest.raises(Exception, match="(?i)unique|duplicate"), transaction(network_copy) as session:
        insert_many(session, Observation.__table__, rows(entity_id, "dup"))


def test_update_many_stores_what_the_orm_update_stores(network_copy: str):
    from sqlalchemy import update

    from icity.db.bulk import update_many

    with transaction(network_copy) as session:
        first, second = session.scalars(select(Entity.id).order_by(Entity.id).limit(2)).all()
    changes = {"attributes": {"no2": 41.5, "name": "Sants – Estació"}, "observed_at": T, "modified_at": T, "retired_at": None}
    with transaction(network_copy) as session:
        update_many(session, Entity, [{"id": first, **changes}])
        session.execute(update(Entity), [{"id": second, **changes}])
    with transaction(network_copy) as session:
        rows = session.connection().exec_driver_sql(
            "SELECT id, attributes, observed_at, modified_at, retired_at FROM entities ORDER BY id"
        ).all()
    stored = {row[0]: tuple(row[1:]) for row in rows}
    assert stored[first] == stored[second]


def test_upsert_many_replaces_stored_rows_in_batches(network_copy: str, monkeypatch):
    """A row whose primary key is stored replaces the stored values; batches split across statements."""
    from icity.db import bulk

    monkeypatch.setattr(bulk, "_POSTGRESQL_ROWS", 2)  # two rows a statement on PostgreSQL
    with transaction(network_copy) as session:
        entity_id = session.scalars(select(Entity.id).limit(1)).one()
        bulk.upsert_many(session, Observation.__table__, rows(entity_id, "up"))
    corrected = [{**row, "value_number": 99.0, "value": None} for row in rows(entity_id, "up")]
    with transaction(network_copy) as session:
        bulk.upsert_many(session, Observation.__table__, corrected + rows(entity_id, "new"))
    stored = raw(network_copy, "up")
    assert [row[2] for row in stored] == [99.0, 99.0, 99.0]
    assert len(raw(network_copy, "new")) == 3


def test_update_many_updates_each_row_by_its_key_in_batches(network_copy: str, monkeypatch):
    from icity.db import bulk

    monkeypatch.setattr(bulk, "_POSTGRESQL_ROWS", 1)  # one row a statement on PostgreSQL
    with transaction(network_copy) as session:
        ids = session.scalars(select(Entity.id).order_by(Entity.id).limit(3)).all()
    updates = [{"id": entity_id, "attributes": {"no2": float(i)}, "modified_at": T} for i, entity_id in enumerate(ids)]
    with transaction(network_copy) as session:
        bulk.update_many(session, Entity, updates)
    with transaction(network_copy) as session:
        stored = {entity.id: entity for entity in session.scalars(select(Entity).where(Entity.id.in_(ids)))}
    assert [stored[entity_id].attributes for entity_id in ids] == [{"no2": 0.0}, {"no2": 1.0}, {"no2": 2.0}]
    assert all(stored[entity_id].modified_at == T for entity_id in ids)


def test_numbers_of_a_float_column_may_mix_integers_and_floats(network_copy: str):
    with transaction(network_copy) as session:
        entity_id = session.scalars(select(Entity.id).limit(1)).one()
        mixed = [{**row, "value_number": number, "value": None} for row, number in zip(rows(entity_id, "mix"), (12, 12.5, None))]
        insert_many(session, Observation.__table__, mixed)
    assert [row[2] for row in raw(network_copy, "mix")] == [12.0, None, 12.5]  # ordered by attribute
