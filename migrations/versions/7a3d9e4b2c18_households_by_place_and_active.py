"""Index households by place and active flag, so that an estate's households are counted from the index
(campaign coverage on the boards) without reading 150,000 rows

Revision ID: 7a3d9e4b2c18
Revises: 5e1f0c2a9d47
Create Date: 2026-11-28 10:30:00

"""
from alembic import op

revision = '7a3d9e4b2c18'
down_revision = '5e1f0c2a9d47'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index('ix_households_place_id')
        batch_op.create_index('ix_households_place_active', ['place_id', 'active'], unique=False)


def downgrade():
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index('ix_households_place_active')
        batch_op.create_index('ix_households_place_id', ['place_id'], unique=False)
