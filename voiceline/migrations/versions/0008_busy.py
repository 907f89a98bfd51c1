"""calls: an index on a person's legs and their end, for who is on a live call now

Revision ID: 0008_busy
Revises: 0007_rotafeat
"""

from alembic import op

revision = "0008_busy"
down_revision = "0007_rotafeat"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_call_legs_person_ended", "call_legs", ["person_id", "ended_at"])


def downgrade() -> None:
    op.drop_index("ix_call_legs_person_ended", table_name="call_legs")
