"""Reserved for issue 37.2-37.3, lists and the errand pool (filled in by the work that reserved it).

Revision ID: e8a0c2e4f6b9
Revises: d7f9b1d3e5a8
Create Date: 2026-12-07 09:20:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'e8a0c2e4f6b9'
down_revision = 'd7f9b1d3e5a8'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
