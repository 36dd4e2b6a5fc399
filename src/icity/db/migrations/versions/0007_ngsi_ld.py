"""NGSI-LD: each entity's creation time and attribute details, each IS's validation

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 19:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('entities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('extent', sa.Float(), nullable=True))
        batch_op.create_index('ix_entities_extent', ['extent'], unique=False)
    # an entity stored before this revision was created at the latest when it was last modified
    op.execute("UPDATE entities SET created_at = modified_at")
    _measure_extents()
    with op.batch_alter_table('information_systems', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('validation', sa.String(length=24), server_default='smart-data-models', nullable=False)
        )


def _measure_extents() -> None:
    """Each stored location's extent, as the write path now keeps it."""
    from icity.services.entity_store import half_extent  # the one rule, not a copy of it

    connection = op.get_bind()
    entities = sa.table('entities', sa.column('id', sa.String), sa.column('location', sa.JSON), sa.column('extent', sa.Float))
    rows = connection.execute(sa.select(entities.c.id, entities.c.location).where(entities.c.location.is_not(None)))
    extents = [{"entity_id": row.id, "extent": half_extent(row.location)} for row in rows if row.location]
    if extents:
        connection.execute(
            entities.update().where(entities.c.id == sa.bindparam("entity_id")).values(extent=sa.bindparam("extent")),
            extents,
        )


def downgrade() -> None:
    with op.batch_alter_table('information_systems', schema=None) as batch_op:
        batch_op.drop_column('validation')
    with op.batch_alter_table('entities', schema=None) as batch_op:
        batch_op.drop_index('ix_entities_extent')
        batch_op.drop_column('extent')
        batch_op.drop_column('details')
        batch_op.drop_column('created_at')
