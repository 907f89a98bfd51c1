"""calls area tables (filled in by that area; a no-op until then)

Revision ID: 0002_calls
Revises: 0001_foundation
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import voiceline.db  # noqa: F401

revision = "0002_calls"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
