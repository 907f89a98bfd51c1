"""foundation: directory, rotas, policies, audit log, outbox

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-27 14:05:01.908911
"""

import sqlalchemy as sa
from alembic import op

import voiceline.db

revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_log_hash'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('callers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('org', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('pin_hash', sa.String(length=200), nullable=True),
    sa.Column('duress_pin_hash', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callers'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=20), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('sent_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('key', name=op.f('uq_outbox_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('reminder_minutes', sa.Integer(), nullable=True),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people'))
    )
    op.create_table('policies',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('repeat', sa.Integer(), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policies'))
    )
    op.create_table('rotas',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('reachability_minutes', sa.Integer(), nullable=True),
    sa.Column('notify_outgoing', sa.Boolean(), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotas'))
    )
    op.create_table('caller_phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('caller_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['caller_id'], ['callers.id'], name=op.f('fk_caller_phones_caller_id_callers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caller_phones')),
    sa.UniqueConstraint('number', name=op.f('uq_caller_phones_number'))
    )
    with op.batch_alter_table('caller_phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_caller_phones_caller_id'), ['caller_id'], unique=False)

    op.create_table('hotlines',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('policy_id', sa.String(length=64), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('caller_policy', sa.String(length=16), nullable=False),
    sa.Column('ask_priority', sa.Boolean(), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('updated_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name=op.f('fk_hotlines_policy_id_policies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hotlines')),
    sa.UniqueConstraint('number', name=op.f('uq_hotlines_number'))
    )
    op.create_table('layers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rota_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['rota_id'], ['rotas.id'], name=op.f('fk_layers_rota_id_rotas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_layers'))
    )
    with op.batch_alter_table('layers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_layers_rota_id'), ['rota_id'], unique=False)

    op.create_table('overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rota_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('replaces_id', sa.String(length=64), nullable=True),
    sa.Column('start', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('end', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_overrides_person_id_people')),
    sa.ForeignKeyConstraint(['replaces_id'], ['people.id'], name=op.f('fk_overrides_replaces_id_people')),
    sa.ForeignKeyConstraint(['rota_id'], ['rotas.id'], name=op.f('fk_overrides_rota_id_rotas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_overrides'))
    )
    with op.batch_alter_table('overrides', schema=None) as batch_op:
        batch_op.create_index('ix_overrides_rota_range', ['rota_id', 'start', 'end'], unique=False)

    op.create_table('policy_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('policy_id', sa.String(length=64), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('rotas', sa.JSON(), nullable=False),
    sa.Column('people', sa.JSON(), nullable=False),
    sa.Column('ring_seconds', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['policies.id'], name=op.f('fk_policy_steps_policy_id_policies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_steps'))
    )
    with op.batch_alter_table('policy_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_steps_policy_id'), ['policy_id'], unique=False)

    op.create_table('layer_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('layer_id', sa.Integer(), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('anchor', sa.String(length=19), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('windows', sa.JSON(), nullable=False),
    sa.Column('valid_from', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('valid_until', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['layer_id'], ['layers.id'], name=op.f('fk_layer_versions_layer_id_layers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_layer_versions'))
    )
    with op.batch_alter_table('layer_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_layer_versions_layer_id'), ['layer_id'], unique=False)

    op.create_table('swaps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rota_id', sa.String(length=64), nullable=False),
    sa.Column('offered_by', sa.String(length=64), nullable=False),
    sa.Column('taken_by', sa.String(length=64), nullable=True),
    sa.Column('start', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('end', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('override_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['offered_by'], ['people.id'], name=op.f('fk_swaps_offered_by_people')),
    sa.ForeignKeyConstraint(['override_id'], ['overrides.id'], name=op.f('fk_swaps_override_id_overrides'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rota_id'], ['rotas.id'], name=op.f('fk_swaps_rota_id_rotas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['taken_by'], ['people.id'], name=op.f('fk_swaps_taken_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_swaps'))
    )
    with op.batch_alter_table('swaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_swaps_rota_id'), ['rota_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('swaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_swaps_rota_id'))

    op.drop_table('swaps')
    with op.batch_alter_table('layer_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_layer_versions_layer_id'))

    op.drop_table('layer_versions')
    with op.batch_alter_table('policy_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_steps_policy_id'))

    op.drop_table('policy_steps')
    with op.batch_alter_table('overrides', schema=None) as batch_op:
        batch_op.drop_index('ix_overrides_rota_range')

    op.drop_table('overrides')
    with op.batch_alter_table('layers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_layers_rota_id'))

    op.drop_table('layers')
    op.drop_table('hotlines')
    with op.batch_alter_table('caller_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_caller_phones_caller_id'))

    op.drop_table('caller_phones')
    op.drop_table('rotas')
    op.drop_table('policies')
    op.drop_table('people')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_due')

    op.drop_table('outbox')
    op.drop_table('callers')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
