"""Subscriptions a standard's door made (NGSI-LD): their own id, triggers, watched attributes,
periodic interval, what they select and send, counters; changes carry what they altered

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uri', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('standard', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('description', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('selection', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('watched_attributes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('triggers', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('rendering', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('interval_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_periodic_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('times_sent', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('times_failed', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_success_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_failure_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_subscriptions_uri', ['uri'], unique=True)
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('altered', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_column('altered')
        batch_op.drop_column('details')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_uri')
        for column in ('last_failure_at', 'last_success_at', 'times_failed', 'times_sent', 'next_periodic_at', 'interval_s',
                       'rendering', 'triggers', 'watched_attributes', 'selection', 'description', 'standard', 'uri'):
            batch_op.drop_column(column)
