"""jobs area tables (filled in by that area; a no-op until then)

Revision ID: 0003_jobs
Revises: 0002_calls
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import voiceline.db  # noqa: F401

revision = "0003_jobs"
down_revision = "0002_calls"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
