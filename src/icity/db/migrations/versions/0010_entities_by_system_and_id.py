"""entities: indexed by (information_system_id, id) instead of information_system_id alone

An IS's entities read in id order a page at a time (whole downloads, GET /entities?informationSystem=)
walk this index from the last id on: without it each page sorted every entity of the IS again.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 23:10:00
"""
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('entities', schema=None) as batch_op:
        batch_op.create_index('ix_entities_system_id', ['information_system_id', 'id'], unique=False)
        batch_op.drop_index('ix_entities_information_system_id')


def downgrade() -> None:
    with op.batch_alter_table('entities', schema=None) as batch_op:
        batch_op.create_index('ix_entities_information_system_id', ['information_system_id'], unique=False)
        batch_op.drop_index('ix_entities_system_id')
