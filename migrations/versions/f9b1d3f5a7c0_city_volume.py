"""Reserved for issue 37.6, a city's volume (filled in by the work that reserved it).

Revision ID: f9b1d3f5a7c0
Revises: e8a0c2e4f6b9
Create Date: 2026-12-07 09:20:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'f9b1d3f5a7c0'
down_revision = 'e8a0c2e4f6b9'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
