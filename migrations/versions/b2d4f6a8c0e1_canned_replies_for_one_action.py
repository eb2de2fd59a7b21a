"""A stock phrase is offered for one action of the case page (a resolution's words under 办结, a return's under 退回)
or for every one: ``canned_replies.action``, a transition's name (``lifecycle.TRANSITIONS``) or "note"; empty, as
every phrase kept before, is offered everywhere.

Revision ID: b2d4f6a8c0e1
Revises: a0c2e4f6b8d1
Create Date: 2026-12-07 16:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b2d4f6a8c0e1'
down_revision = 'a0c2e4f6b8d1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('canned_replies', sa.Column('action', sa.String(length=30), nullable=True))  # no rebuild


def downgrade():
    with op.batch_alter_table('canned_replies') as batch_op:
        batch_op.drop_column('action')
