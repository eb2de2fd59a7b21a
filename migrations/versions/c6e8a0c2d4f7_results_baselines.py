"""Issue 34.4-34.5: the results report's baselines ("before the network"): the working days a catalog item took
to finish before the network, as the admin records it (nullable: an item without one is left out of the gain).

Revision ID: c6e8a0c2d4f7
Revises: b5d7f9b1c3e6
Create Date: 2026-12-07 06:05:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c6e8a0c2d4f7'
down_revision = 'b5d7f9b1c3e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('baseline_working_days', sa.Float(), nullable=True))


def downgrade():
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_column('baseline_working_days')
