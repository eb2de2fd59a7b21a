"""Issue 35.2: cancelled sailings (停航).

One row per off-island day on which the boat did not sail: the day, why (fog, wind, other with a note), which lead
marked it and when; an undo keeps the row (``active`` off) with who undid it, when and why. A day is cancelled at
most once at a time: a unique index on the active rows' day (partial, on SQLite and PostgreSQL alike). The working
calendar reads these rows (``timekeeping.calendar_for``); no other table changes.

Revision ID: d7f9b1d3e5a8
Revises: c6e8a0c2d4f7
Create Date: 2026-12-07 09:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd7f9b1d3e5a8'
down_revision = 'c6e8a0c2d4f7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'cancelled_sailings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('reason', sa.Enum('fog', 'wind', 'other', name='sailingreason', native_enum=False, length=24),
                  nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
        sa.Column('cancelled_at', sa.DateTime(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('undone_by_id', sa.Integer(), nullable=True),
        sa.Column('undone_at', sa.DateTime(), nullable=True),
        sa.Column('undo_reason', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'],
                                name=op.f('fk_cancelled_sailings_cancelled_by_id_users')),
        sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_cancelled_sailings_undone_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cancelled_sailings')),
    )
    op.create_index('uq_cancelled_sailings_day', 'cancelled_sailings', ['day'], unique=True,
                    sqlite_where=sa.text('active'), postgresql_where=sa.text('active'))


def downgrade():
    op.drop_index('uq_cancelled_sailings_day', table_name='cancelled_sailings')
    op.drop_table('cancelled_sailings')
