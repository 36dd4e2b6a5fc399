"""harvest run lease: a running run is renewed by its worker; one whose lease ended was abandoned

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 09:40:00
"""
from alembic import op
import sqlalchemy as sa

import icity.db.types


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('harvest_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_until', icity.db.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('harvest_runs', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
