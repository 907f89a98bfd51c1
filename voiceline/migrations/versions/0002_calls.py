"""calls: call log, legs, events, PIN lock-outs

Revision ID: 0002_calls
Revises: 0001_foundation
Create Date: 2026-11-27 14:06:24.495369
"""

import sqlalchemy as sa
from alembic import op

import voiceline.db

revision = '0002_calls'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pin_lockouts',
    sa.Column('number', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked_until', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('updated_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('number', name=op.f('pk_pin_lockouts'))
    )
    op.create_table('calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('hotline_id', sa.String(length=64), nullable=True),
    sa.Column('to_number', sa.String(length=32), nullable=False),
    sa.Column('from_number', sa.String(length=64), nullable=False),
    sa.Column('caller_id', sa.String(length=64), nullable=True),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=True),
    sa.Column('duress', sa.Boolean(), nullable=False),
    sa.Column('is_test', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('pin_attempts', sa.Integer(), nullable=False),
    sa.Column('dial_group', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('last_sequence', sa.Integer(), nullable=False, server_default='-1'),
    sa.Column('started_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('answered_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('ended_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('recording_sid', sa.String(length=64), nullable=True),
    sa.Column('recording_url', sa.Text(), nullable=True),
    sa.Column('recording_seconds', sa.Integer(), nullable=True),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['answered_by'], ['people.id'], name=op.f('fk_calls_answered_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['caller_id'], ['callers.id'], name=op.f('fk_calls_caller_id_callers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['hotline_id'], ['hotlines.id'], name=op.f('fk_calls_hotline_id_hotlines'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('sid', name=op.f('uq_calls_sid'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_answered_by_started', ['answered_by', 'started_at'], unique=False)
        batch_op.create_index('ix_calls_caller_started', ['caller_id', 'started_at'], unique=False)
        batch_op.create_index('ix_calls_duress_started', ['duress', 'started_at'], unique=False)
        batch_op.create_index('ix_calls_hotline_started', ['hotline_id', 'started_at'], unique=False)
        batch_op.create_index('ix_calls_outcome_started', ['outcome', 'started_at'], unique=False)
        batch_op.create_index('ix_calls_started_id', ['started_at', 'id'], unique=False)

    op.create_table('call_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('person_id', sa.String(length=64), nullable=True),
    sa.Column('leg_sid', sa.String(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_events_call_id_calls'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_events')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_call_events_dedupe_key'))
    )
    with op.batch_alter_table('call_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_events_call_id'), ['call_id'], unique=False)

    op.create_table('call_legs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('call_id', sa.Integer(), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=True),
    sa.Column('person_id', sa.String(length=64), nullable=True),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('dial_group', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('screen', sa.String(length=12), nullable=True),
    sa.Column('last_sequence', sa.Integer(), nullable=False),
    sa.Column('started_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('answered_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('ended_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['call_id'], ['calls.id'], name=op.f('fk_call_legs_call_id_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_call_legs_person_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_legs')),
    sa.UniqueConstraint('sid', name=op.f('uq_call_legs_sid'))
    )
    with op.batch_alter_table('call_legs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_call_legs_call_id'), ['call_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('call_legs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_legs_call_id'))

    op.drop_table('call_legs')
    with op.batch_alter_table('call_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_call_events_call_id'))

    op.drop_table('call_events')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_started_id')
        batch_op.drop_index('ix_calls_outcome_started')
        batch_op.drop_index('ix_calls_hotline_started')
        batch_op.drop_index('ix_calls_caller_started')
        batch_op.drop_index('ix_calls_duress_started')
        batch_op.drop_index('ix_calls_answered_by_started')

    op.drop_table('calls')
    op.drop_table('pin_lockouts')
