"""sessions: a per-account session generation, bumped to end every session

Revision ID: 0006_sessions
Revises: 0004_web
Create Date: 2026-12-01 23:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_sessions"
down_revision = "0004_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0",
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
