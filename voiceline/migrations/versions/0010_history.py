"""history: layer versions carry their priority and zone; a rota's states over time

Revision ID: 0010_history
Revises: 0009_conference
Create Date: 2026-12-02 02:30:00
"""

import sqlalchemy as sa
from alembic import op

import voiceline.db

revision = "0010_history"
down_revision = "0009_conference"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("layer_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    # What the past was decided by, written down: each version keeps the layer's priority and
    # the rota's zone as they are now (a later change of either starts a new version).
    op.execute("UPDATE layer_versions SET priority = (SELECT layers.priority FROM layers "
               "WHERE layers.id = layer_versions.layer_id)")
    op.execute("UPDATE layer_versions SET timezone = (SELECT rotas.timezone FROM layers "
               "JOIN rotas ON rotas.id = layers.rota_id WHERE layers.id = layer_versions.layer_id)")
    op.create_table(
        "rota_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rota_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", voiceline.db.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rota_states")),
    )
    with op.batch_alter_table("rota_states", schema=None) as batch_op:
        batch_op.create_index("ix_rota_states_rota_recorded", ["rota_id", "recorded_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rota_states", schema=None) as batch_op:
        batch_op.drop_index("ix_rota_states_rota_recorded")
    op.drop_table("rota_states")
    with op.batch_alter_table("layer_versions", schema=None) as batch_op:
        batch_op.drop_column("timezone")
        batch_op.drop_column("priority")
