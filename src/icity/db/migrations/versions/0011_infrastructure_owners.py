"""infrastructure owners: publishers of IS located in cities, their memberships, admins and opening notices

An IS gets the owner that publishes it (none: its city does); audit events the owner they concern.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 02:00:00
"""
from alembic import op
import sqlalchemy as sa

import icity.db.types


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('infrastructure_owners',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('website', sa.String(length=500), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('membership', sa.String(length=16), nullable=False),
    sa.Column('created_at', icity.db.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_infrastructure_owners')),
    sa.UniqueConstraint('name', name=op.f('uq_infrastructure_owners_name'))
    )
    with op.batch_alter_table('infrastructure_owners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_infrastructure_owners_membership'), ['membership'], unique=False)

    op.create_table('owner_membership_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('from_membership', sa.String(length=16), nullable=False),
    sa.Column('to_membership', sa.String(length=16), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=False),
    sa.Column('evidence_kind', sa.String(length=32), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=200), nullable=False),
    sa.Column('recorded_at', icity.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['infrastructure_owners.id'], name=op.f('fk_owner_membership_changes_owner_id_infrastructure_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_owner_membership_changes'))
    )
    with op.batch_alter_table('owner_membership_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owner_membership_changes_owner_id'), ['owner_id'], unique=False)

    op.create_table('opening_notices',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('requested_status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('requested_at', icity.db.types.UTCDateTime(), nullable=False),
    sa.Column('objection_deadline', icity.db.types.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('objected_by', sa.Integer(), nullable=True),
    sa.Column('objection', sa.Text(), nullable=True),
    sa.Column('settled_at', icity.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['information_system_id'], ['information_systems.id'], name=op.f('fk_opening_notices_information_system_id_information_systems'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['objected_by'], ['users.id'], name=op.f('fk_opening_notices_objected_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_opening_notices_requested_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_notices'))
    )
    with op.batch_alter_table('opening_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opening_notices_status'), ['status'], unique=False)
        batch_op.create_index('ix_opening_notices_system_status', ['information_system_id', 'status'], unique=False)

    op.create_table('owner_admins',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['infrastructure_owners.id'], name=op.f('fk_owner_admins_owner_id_infrastructure_owners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_owner_admins_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'owner_id', name=op.f('pk_owner_admins'))
    )
    with op.batch_alter_table('owner_admins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_owner_admins_owner_id'), ['owner_id'], unique=False)

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_log_owner_id'), ['owner_id'], unique=False)

    with op.batch_alter_table('information_systems', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_information_systems_owner_id'), ['owner_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_information_systems_owner_id_infrastructure_owners'), 'infrastructure_owners', ['owner_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('information_systems', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_information_systems_owner_id_infrastructure_owners'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_information_systems_owner_id'))
        batch_op.drop_column('owner_id')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_owner_id'))
        batch_op.drop_column('owner_id')

    with op.batch_alter_table('owner_admins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_owner_admins_owner_id'))

    op.drop_table('owner_admins')
    with op.batch_alter_table('opening_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_opening_notices_system_status')
        batch_op.drop_index(batch_op.f('ix_opening_notices_status'))

    op.drop_table('opening_notices')
    with op.batch_alter_table('owner_membership_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_owner_membership_changes_owner_id'))

    op.drop_table('owner_membership_changes')
    with op.batch_alter_table('infrastructure_owners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_infrastructure_owners_membership'))

    op.drop_table('infrastructure_owners')
