"""Closure confirmed by the resident: how long a resolved case waits for the resident's own answer before the
clerk's callback falls due, and the boards' counts of answers given by residents themselves.

Revision ID: a3f5c8e2b914
Revises: 7c4e2a9b1d35
Create Date: 2026-12-02 16:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a3f5c8e2b914'
down_revision = '7c4e2a9b1d35'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('answer_until', sa.DateTime(), nullable=True))
    with op.batch_alter_table('case_counts') as batch:
        batch.add_column(sa.Column('rated_by_resident', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('satisfied_by_resident', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('case_counts') as batch:
        batch.drop_column('satisfied_by_resident')
        batch.drop_column('rated_by_resident')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('answer_until')
