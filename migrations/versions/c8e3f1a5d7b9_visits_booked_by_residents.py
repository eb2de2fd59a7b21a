"""Residents book their own home-visit half-day: a visit says whether the resident chose it.

Revision ID: c8e3f1a5d7b9
Revises: b6d1e4f7a2c3
Create Date: 2026-12-02 18:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c8e3f1a5d7b9'
down_revision = 'b6d1e4f7a2c3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visits') as batch:
        batch.add_column(sa.Column('booked_by_resident', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('visits') as batch:
        batch.drop_column('booked_by_resident')
