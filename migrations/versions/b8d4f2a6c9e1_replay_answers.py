"""Replays keep their first answer: a key sent again (its first answer lost on the way back) is answered with what
the first answer said, the version that moves the user's later steps on, the cases changed and the message.

Revision ID: b8d4f2a6c9e1
Revises: a7c3e9f1b5d2
Create Date: 2026-12-07 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8d4f2a6c9e1'
down_revision = 'a7c3e9f1b5d2'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('replays', sa.Column('answer', sa.JSON(), nullable=True))  # no rewrite of the table


def downgrade():
    with op.batch_alter_table('replays') as batch_op:
        batch_op.drop_column('answer')
