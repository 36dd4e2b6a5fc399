"""real time: change log, subscriptions, deliveries, alarms, commands

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 04:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('change_cursors',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_change_cursors'))
    )
    op.create_table('changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.String(length=300), nullable=False),
    sa.Column('entity_type', sa.String(length=100), nullable=False),
    sa.Column('city_id', sa.String(length=64), nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('entity', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_changes'))
    )
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_changes_at'), ['at'], unique=False)

    op.create_table('alarm_rules',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('entity_type', sa.String(length=100), nullable=True),
    sa.Column('attribute', sa.String(length=100), nullable=True),
    sa.Column('operator', sa.String(length=8), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('duration_s', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_alarm_rules_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['information_system_id'], ['information_systems.id'], name=op.f('fk_alarm_rules_information_system_id_information_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_rules'))
    )
    with op.batch_alter_table('alarm_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_rules_information_system_id'), ['information_system_id'], unique=False)

    op.create_table('alarms',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=False),
    sa.Column('entity_id', sa.String(length=300), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('since', sa.DateTime(), nullable=False),
    sa.Column('raised_at', sa.DateTime(), nullable=True),
    sa.Column('cleared_at', sa.DateTime(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['alarm_rules.id'], name=op.f('fk_alarms_rule_id_alarm_rules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarms')),
    sa.UniqueConstraint('rule_id', 'entity_id', name=op.f('uq_alarms_rule_id'))
    )
    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('entity_types', sa.JSON(), nullable=False),
    sa.Column('city_id', sa.String(length=64), nullable=True),
    sa.Column('information_system_id', sa.String(length=140), nullable=True),
    sa.Column('q', sa.Text(), nullable=True),
    sa.Column('area', sa.JSON(), nullable=True),
    sa.Column('attributes', sa.JSON(), nullable=False),
    sa.Column('throttling_s', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('endpoint', sa.String(length=1000), nullable=True),
    sa.Column('secret', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('last_notified_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_subscriptions_app_id_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_subscriptions_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscriptions_app_id'), ['app_id'], unique=False)

    op.create_table('commands',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('app_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_commands_app_id_apps'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_commands_device_id_devices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['information_system_id'], ['information_systems.id'], name=op.f('fk_commands_information_system_id_information_systems'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commands'))
    )
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commands_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commands_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commands_information_system_id'), ['information_system_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_commands_status'), ['status'], unique=False)
        batch_op.create_index('ix_commands_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.Integer(), nullable=False),
    sa.Column('change_id', sa.BigInteger(), nullable=False),
    sa.Column('entity_id', sa.String(length=300), nullable=False),
    sa.Column('information_system_id', sa.String(length=140), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscriptions.id'], name=op.f('fk_deliveries_subscription_id_subscriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_status_next', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_deliveries_subscription_id', ['subscription_id', 'id'], unique=False)

    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('command_url', sa.String(length=1000), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('command_url')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_subscription_id')
        batch_op.drop_index('ix_deliveries_status_next')

    op.drop_table('deliveries')
    with op.batch_alter_table('commands', schema=None) as batch_op:
        batch_op.drop_index('ix_commands_status_next')
        batch_op.drop_index(batch_op.f('ix_commands_status'))
        batch_op.drop_index(batch_op.f('ix_commands_information_system_id'))
        batch_op.drop_index(batch_op.f('ix_commands_device_id'))
        batch_op.drop_index(batch_op.f('ix_commands_app_id'))

    op.drop_table('commands')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscriptions_app_id'))

    op.drop_table('subscriptions')
    op.drop_table('alarms')
    with op.batch_alter_table('alarm_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_rules_information_system_id'))

    op.drop_table('alarm_rules')
    with op.batch_alter_table('changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_changes_at'))

    op.drop_table('changes')
    op.drop_table('change_cursors')
