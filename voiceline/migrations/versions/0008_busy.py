"""calls: an index on a person's legs and their end, for who is on a live call now

Revision ID: 0010_busy
Revises: 0006_sessions
"""

from alembic import op

revision = "0010_busy"
down_revision = "0006_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_call_legs_person_ended", "call_legs", ["person_id", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_call_legs_person_ended", table_name="call_legs")
