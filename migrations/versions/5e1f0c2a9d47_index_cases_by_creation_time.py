"""Index cases by creation time, for the "all" list newest first at district scale

Revision ID: 5e1f0c2a9d47
Revises: 9325b6ed87f6
Create Date: 2026-11-28 10:20:00

"""
from alembic import op

revision = '5e1f0c2a9d47'
down_revision = '9325b6ed87f6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_created_at', ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_created_at')
