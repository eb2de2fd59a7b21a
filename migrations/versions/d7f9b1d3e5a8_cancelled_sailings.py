"""Reserved for issue 35.2, cancelled sailings (filled in by the work that reserved it).

Revision ID: d7f9b1d3e5a8
Revises: c6e8a0c2d4f7
Create Date: 2026-12-07 09:20:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'd7f9b1d3e5a8'
down_revision = 'c6e8a0c2d4f7'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
