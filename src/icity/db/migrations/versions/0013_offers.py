"""offers: versions of information systems' commercial offers, and apps' acceptances

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 02:00:00
"""
from alembic import op
import sqlalchemy as sa

import icity.db.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('offer_versions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('monthly_fee', icity.db.types.DecimalText(), nullable=False),
    sa.Column('price_per_1000', icity.db.types.DecimalText(), nullable=False),
    sa.Column('free_calls', sa.Integer(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('terms_url', sa.String(length=500), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', icity.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_offer_versions_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['information_system_id'], ['information_systems.id'], name=op.f('fk_offer_versions_information_system_id_information_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_versions')),
    sa.UniqueConstraint('information_system_id', 'version', name=op.f('uq_offer_versions_information_system_id'))
    )
    with op.batch_alter_table('offer_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_versions_information_system_id'), ['information_system_id'], unique=False)

    op.create_table('offer_acceptances',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('accepted_by', sa.Integer(), nullable=True),
    sa.Column('accepted_at', icity.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by'], ['users.id'], name=op.f('fk_offer_acceptances_accepted_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_offer_acceptances_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['information_system_id'], ['information_systems.id'], name=op.f('fk_offer_acceptances_information_system_id_information_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer_acceptances')),
    sa.UniqueConstraint('app_id', 'information_system_id', 'version', name=op.f('uq_offer_acceptances_app_id'))
    )
    with op.batch_alter_table('offer_acceptances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_acceptances_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_acceptances_information_system_id'), ['information_system_id'], unique=False)


def downgrade() -> None:
    op.drop_table('offer_acceptances')
    op.drop_table('offer_versions')
