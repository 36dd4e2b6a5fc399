"""alarm acknowledgements: an operator acknowledges an alarm with a note

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 05:20:00
"""
from alembic import op
import sqlalchemy as sa

import icity.db.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acknowledged_at', icity.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_by_email', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('acknowledgement_note', sa.Text(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_alarms_acknowledged_by_users'), 'users', ['acknowledged_by'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('alarms', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_alarms_acknowledged_by_users'), type_='foreignkey')
        batch_op.drop_column('acknowledgement_note')
        batch_op.drop_column('acknowledged_by_email')
        batch_op.drop_column('acknowledged_by')
        batch_op.drop_column('acknowledged_at')
