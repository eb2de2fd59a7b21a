"""The month's topic of a board (每月一题): a hotspot a lead chose to work on proactively.

Revision ID: d2a7b9c4e6f1
Revises: c8e3f1a5d7b9
Create Date: 2026-12-02 19:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2a7b9c4e6f1'
down_revision = 'c8e3f1a5d7b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'monthly_topics',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope_key', sa.String(length=24), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('place_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('chosen_by_id', sa.Integer(), nullable=False),
        sa.Column('chosen_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['chosen_by_id'], ['users.id'], name=op.f('fk_monthly_topics_chosen_by_id_users')),
        sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_monthly_topics_place_id_places')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monthly_topics')),
        sa.UniqueConstraint('scope_key', 'month', name='uq_monthly_topics_scope_key'),
    )


def downgrade():
    op.drop_table('monthly_topics')
