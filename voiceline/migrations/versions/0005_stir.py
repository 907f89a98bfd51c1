"""calls: the STIR/SHAKEN verification status Twilio reported

Revision ID: 0005_stir
Revises: 0004_web
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_stir"
down_revision = "0004_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("stir_verstat", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("stir_verstat")
