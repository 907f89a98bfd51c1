"""rotafeat: coverage rules on rotas and policy steps; swaps offered to one person, approved by a manager

Revision ID: 0007_rotafeat
Revises: 0006_sessions
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

import voiceline.db

revision = "0007_rotafeat"
down_revision = "0006_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rotas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("swap_approval", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    with op.batch_alter_table("policy_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.JSON(), nullable=True))
    with op.batch_alter_table("swaps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offered_to", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("decided_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("decided_at", voiceline.db.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_swaps_offered_to_people"), "people",
                                    ["offered_to"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("swaps", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_swaps_offered_to_people"), type_="foreignkey")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("decided_by")
        batch_op.drop_column("offered_to")
    with op.batch_alter_table("policy_steps", schema=None) as batch_op:
        batch_op.drop_column("coverage")
    with op.batch_alter_table("rotas", schema=None) as batch_op:
        batch_op.drop_column("swap_approval")
        batch_op.drop_column("coverage")
