"""twoperson: the two-person rule per rota, and the proposals waiting for approval

Revision ID: 0012_twoperson
Revises: 0011_dirversion
Create Date: 2026-12-02 05:30:00
"""

import sqlalchemy as sa
from alembic import op

import voiceline.db

revision = "0012_twoperson"
down_revision = "0011_dirversion"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy of the table on SQLite): the rotas table keeps the
    # directory_version triggers of 0011_dirversion.
    op.add_column("rotas", sa.Column("two_person", sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    op.create_table(
        "rota_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rota_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("edit", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("proposed_by", sa.String(length=200), nullable=False),
        sa.Column("proposed_at", voiceline.db.UTCDateTime(), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("base_digest", sa.String(length=64), nullable=False),
        sa.Column("base_state", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("decided_by", sa.String(length=200), nullable=True),
        sa.Column("decided_at", voiceline.db.UTCDateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["rota_id"], ["rotas.id"],
                                name=op.f("fk_rota_proposals_rota_id_rotas"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_proposals")),
    )
    with op.batch_alter_table("rota_proposals", schema=None) as batch_op:
        batch_op.create_index("ix_rota_proposals_rota_status", ["rota_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rota_proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_rota_proposals_rota_status")
    op.drop_table("rota_proposals")
    op.drop_column("rotas", "two_person")  # SQLite 3.35+ drops a column in place
