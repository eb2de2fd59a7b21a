"""Replays: a user's action sent with a key made in the browser is done once per key; timeline events keep
when the user acted, beside when the step arrived.

Revision ID: e5b8c1d4f2a6
Revises: d2a7b9c4e6f1
Create Date: 2026-12-02 17:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5b8c1d4f2a6'
down_revision = 'd2a7b9c4e6f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'replays',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('acted_at', sa.DateTime(), nullable=True),
        sa.Column('arrived_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_replays_case_id_cases'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_replays_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_replays')),
        sa.UniqueConstraint('user_id', 'key', name='uq_replays_user_id_key'),
    )
    op.create_index(op.f('ix_replays_arrived_at'), 'replays', ['arrived_at'], unique=False)
    op.add_column('case_events', sa.Column('acted_at', sa.DateTime(), nullable=True))  # no rewrite of the table


def downgrade():
    with op.batch_alter_table('case_events') as batch_op:
        batch_op.drop_column('acted_at')
    op.drop_index(op.f('ix_replays_arrived_at'), table_name='replays')
    op.drop_table('replays')
