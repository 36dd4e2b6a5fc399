"""projects: public-interest projects, their member cities, partner infrastructure owners and attached apps

A project's readiness per city is computed from the catalogue when asked, so nothing of it is stored here.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 02:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('projects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('entity_types', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('slug', name=op.f('uq_projects_slug'))
    )
    op.create_table('project_members',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('city_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['city_id'], ['cities.id'], name=op.f('fk_project_members_city_id_cities'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_members_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_members')),
    sa.UniqueConstraint('project_id', 'city_id', name=op.f('uq_project_members_project_id'))
    )
    with op.batch_alter_table('project_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_members_city_id'), ['city_id'], unique=False)

    op.create_table('project_apps',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('attached_by', sa.Integer(), nullable=True),
    sa.Column('attached_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_project_apps_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['attached_by'], ['users.id'], name=op.f('fk_project_apps_attached_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_apps_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'app_id', name=op.f('pk_project_apps'))
    )
    with op.batch_alter_table('project_apps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_apps_app_id'), ['app_id'], unique=False)

    op.create_table('project_partners',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.String(length=64), nullable=False),
    sa.Column('joined_on', sa.Date(), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['infrastructure_owners.id'], name=op.f('fk_project_partners_owner_id_infrastructure_owners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_partners_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_partners')),
    sa.UniqueConstraint('project_id', 'owner_id', name=op.f('uq_project_partners_project_id'))
    )
    with op.batch_alter_table('project_partners', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_partners_owner_id'), ['owner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('project_partners', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_partners_owner_id'))

    op.drop_table('project_partners')
    with op.batch_alter_table('project_apps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_apps_app_id'))

    op.drop_table('project_apps')
    with op.batch_alter_table('project_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_members_city_id'))

    op.drop_table('project_members')
    op.drop_table('projects')
