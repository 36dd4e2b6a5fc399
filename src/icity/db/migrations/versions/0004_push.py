"""push: provider tokens, devices' last observation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 03:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('provider_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('secret_digest', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_provider_tokens_provider_id_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['information_system_id'], ['information_systems.id'], name=op.f('fk_provider_tokens_information_system_id_information_systems'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_provider_tokens_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_provider_tokens')),
    sa.UniqueConstraint('prefix', name=op.f('uq_provider_tokens_prefix'))
    )
    with op.batch_alter_table('provider_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_provider_tokens_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_provider_tokens_information_system_id'), ['information_system_id'], unique=False)

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_seen_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('silent_after', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('rejected_messages', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('last_rejection', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('last_rejection_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_devices_silent_after'), ['silent_after'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_silent_after'))
        batch_op.drop_column('last_rejection_at')
        batch_op.drop_column('last_rejection')
        batch_op.drop_column('rejected_messages')
        batch_op.drop_column('silent_after')
        batch_op.drop_column('last_seen_at')
    op.drop_table('provider_tokens')
