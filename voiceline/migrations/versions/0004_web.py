"""web area tables (filled in by that area; a no-op until then)

Revision ID: 0004_web
Revises: 0003_jobs
"""

from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import voiceline.db  # noqa: F401

revision = "0004_web"
down_revision = "0003_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
