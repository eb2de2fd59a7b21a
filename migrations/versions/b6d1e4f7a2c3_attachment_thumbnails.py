"""Photos and files on any case: a photo's thumbnail, kept beside it.

Revision ID: b6d1e4f7a2c3
Revises: a3f5c8e2b914
Create Date: 2026-12-02 17:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b6d1e4f7a2c3'
down_revision = 'a3f5c8e2b914'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('attachments') as batch:
        batch.add_column(sa.Column('thumb_sha256', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('attachments') as batch:
        batch.drop_column('thumb_sha256')
