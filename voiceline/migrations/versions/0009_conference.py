"""policies: ring mode (dial | conference); call legs: purpose (ring | colleague | listen);
the calls-per-second pacing row shared by every worker

Revision ID: 0009_conference
Revises: 0008_busy
"""

import sqlalchemy as sa
from alembic import op

import voiceline.db

revision = "0009_conference"
# main holds two heads (0012_rotafeat and 0010_busy, both after 0006_sessions): this one merges them
down_revision = "0008_busy"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("ring", sa.String(length=12), nullable=False, server_default="dial"))
    with op.batch_alter_table("call_legs") as batch:
        batch.add_column(sa.Column("purpose", sa.String(length=12), nullable=False,
                                   server_default="ring"))
    op.create_table(
        "call_pacing",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("next_at", voiceline.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_call_pacing")),
    )


def downgrade() -> None:
    op.drop_table("call_pacing")
    with op.batch_alter_table("call_legs") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("policies") as batch:
        batch.drop_column("ring")
