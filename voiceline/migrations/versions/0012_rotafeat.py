"""rotafeat: coverage rules on rotas and policy steps

Revision ID: 0012_rotafeat
Revises: 0006_sessions
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_rotafeat"
down_revision = "0006_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rotas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.JSON(), nullable=True))
    with op.batch_alter_table("policy_steps", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coverage", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("policy_steps", schema=None) as batch_op:
        batch_op.drop_column("coverage")
    with op.batch_alter_table("rotas", schema=None) as batch_op:
        batch_op.drop_column("coverage")
