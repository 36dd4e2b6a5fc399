"""app certification: each app's certification status and its reviews

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('certification', sa.String(length=16), server_default='draft', nullable=False))
        batch_op.create_index(batch_op.f('ix_apps_certification'), ['certification'], unique=False)

    op.create_table('app_reviews',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('trigger', sa.String(length=32), nullable=False),
    sa.Column('submitted_by', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reviewer_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decision', sa.String(length=16), nullable=True),
    sa.Column('checklist', sa.JSON(), nullable=False),
    sa.Column('comments', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_app_reviews_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_app_reviews_reviewer_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submitted_by'], ['users.id'], name=op.f('fk_app_reviews_submitted_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_reviews'))
    )
    with op.batch_alter_table('app_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_app_reviews_app_submitted', ['app_id', 'submitted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('app_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_app_reviews_app_submitted')

    op.drop_table('app_reviews')
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_certification'))
        batch_op.drop_column('certification')
