"""harvesting: connector mapping and schedule, harvest runs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('information_systems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mapping', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('schedule', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('retire_missing', sa.Boolean(), nullable=False, server_default=sa.true()))

    op.create_table('harvest_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('retired', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('rejections', sa.JSON(), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['information_system_id'], ['information_systems.id'], name=op.f('fk_harvest_runs_information_system_id_information_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_harvest_runs'))
    )
    with op.batch_alter_table('harvest_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_harvest_runs_information_system_id'), ['information_system_id'], unique=False)
        batch_op.create_index('ix_harvest_runs_system_started', ['information_system_id', 'started_at'], unique=False)


def downgrade() -> None:
    op.drop_table('harvest_runs')
    with op.batch_alter_table('information_systems', schema=None) as batch_op:
        batch_op.drop_column('retire_missing')
        batch_op.drop_column('schedule')
        batch_op.drop_column('mapping')
