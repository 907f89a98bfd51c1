"""jobs: on-duty history, reachability checks, line tests, scheduler state

Revision ID: 0003_jobs
Revises: 0002_calls
"""

import sqlalchemy as sa
from alembic import op

import voiceline.db

revision = "0003_jobs"
down_revision = "0002_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('job_state',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_state'))
    )
    op.create_table('duty_history',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rota_id', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('start', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('end', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('announced', sa.Boolean(), nullable=False),
    sa.Column('seen_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('ended_seen_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['rota_id'], ['rotas.id'], name=op.f('fk_duty_history_rota_id_rotas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_history')),
    sa.UniqueConstraint('rota_id', 'person_id', 'start', name=op.f('uq_duty_history_rota_id_person_id_start'))
    )
    with op.batch_alter_table('duty_history', schema=None) as batch_op:
        batch_op.create_index('ix_duty_history_rota_end', ['rota_id', 'end'], unique=False)

    op.create_table('reachability_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rota_id', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('shift_start', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('outbox_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('placed_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('alerted_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['rota_id'], ['rotas.id'], name=op.f('fk_reachability_checks_rota_id_rotas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reachability_checks')),
    sa.UniqueConstraint('rota_id', 'person_id', 'shift_start', name=op.f('uq_reachability_checks_rota_id_person_id_shift_start'))
    )
    op.create_table('line_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hotline_id', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('scheduled_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('queued_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.Column('placed_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('arrived_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('outbox_key', sa.String(length=200), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('alerted_at', voiceline.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['hotline_id'], ['hotlines.id'], name=op.f('fk_line_tests_hotline_id_hotlines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_line_tests')),
    sa.UniqueConstraint('hotline_id', 'scheduled_at', name=op.f('uq_line_tests_hotline_id_scheduled_at'))
    )


    op.create_table('coverage_gaps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('rota_id', sa.String(length=64), nullable=True),
    sa.Column('policy_id', sa.String(length=64), nullable=True),
    sa.Column('step', sa.Integer(), nullable=True),
    sa.Column('start', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('end', voiceline.db.UTCDateTime(), nullable=True),
    sa.Column('first_seen_at', voiceline.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coverage_gaps')),
    sa.UniqueConstraint('key', name=op.f('uq_coverage_gaps_key'))
    )


def downgrade() -> None:
    op.drop_table('coverage_gaps')
    op.drop_table('line_tests')
    op.drop_table('reachability_checks')
    with op.batch_alter_table('duty_history', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_history_rota_end')
    op.drop_table('duty_history')
    op.drop_table('job_state')
