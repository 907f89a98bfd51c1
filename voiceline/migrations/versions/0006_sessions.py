"""sessions: a per-account session generation; the audit chain's signed anchor

Revision ID: 0006_sessions
Revises: 0005_stir
Create Date: 2026-12-01 23:45:00
"""

import sqlalchemy as sa
from alembic import op

import voiceline.db

revision = "0006_sessions"
down_revision = "0005_stir"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="0",
                                      nullable=False))
    # Filled by the next audited action (it needs the secret key to sign the head).
    op.create_table(
        "audit_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("updated_at", voiceline.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchor")),
    )


def downgrade() -> None:
    op.drop_table("audit_anchor")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
