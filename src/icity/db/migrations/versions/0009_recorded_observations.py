"""observations: when the platform stored each one

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 20:35:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # observations stored before this revision have none: NULL (not a guess), so they match no
    # query by the time they were stored
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recorded_at', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_column('recorded_at')
