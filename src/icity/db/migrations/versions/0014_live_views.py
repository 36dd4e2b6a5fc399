"""live views: portal pages following changes live, so that the change log is written for them

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 05:20:00
"""
from alembic import op
import sqlalchemy as sa

import icity.db.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('live_views',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=True),
    sa.Column('expires_at', icity.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_live_views'))
    )
    op.create_index(op.f('ix_live_views_expires_at'), 'live_views', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_live_views_expires_at'), table_name='live_views')
    op.drop_table('live_views')
