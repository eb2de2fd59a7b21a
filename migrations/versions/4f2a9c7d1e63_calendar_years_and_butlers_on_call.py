"""The working calendar as maintained data: each year's status (confirmed or provisional; missing when
absent); heating stations whose butlers answer out of hours; service items that save a trip off the island;
the island staff's attendance ("3+2": on the island, off it on errands, on leave); campaigns repeated monthly.

The 2026 holidays and make-up days the first calendar migration wrote are those of the State Council's
notice: the year is marked confirmed. Later years are imported by an administrator (CSV or iCalendar), or
filled provisionally from the ``holidays`` library until the notice is out.

Revision ID: 4f2a9c7d1e63
Revises: e1a6c3b2d7f4
Create Date: 2026-12-02 02:00:00

"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '4f2a9c7d1e63'
down_revision = 'e1a6c3b2d7f4'
branch_labels = None
depends_on = None


def upgrade():
    years = op.create_table(
        'calendar_years',
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('status', sa.Enum('provisional', 'confirmed', name='yearstatus', native_enum=False, length=24),
                  nullable=False),
        sa.Column('source', sa.String(length=120), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_calendar_years_changed_by_id_users')),
        sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_years')),
    )
    op.bulk_insert(years, [{"year": 2026, "status": "confirmed", "source": "国务院办公厅关于2026年部分节假日安排的通知",
                            "changed_at": datetime(2026, 12, 2, tzinfo=timezone.utc).replace(tzinfo=None)}])
    with op.batch_alter_table('service_points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('butlers_on_call', sa.Boolean(), nullable=False, server_default=sa.false()))
    # Items whose resolution on the island saves a trip off it: at first those a higher office approves
    # (the administrator ticks the others in the catalog).
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('saves_trip', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE service_items SET saves_trip = needs_approval")
    op.create_table(
        'attendance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.Enum('on_island', 'off_island', 'leave', name='attendancekind', native_enum=False,
                                  length=24), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_attendance_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
        sa.UniqueConstraint('user_id', 'day', name='uq_attendance_user_day'),
    )
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_user_id'), ['user_id'], unique=False)
    # Campaigns that repeat monthly; each door is recorded once per round (the start, or the month).
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('monthly', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('campaign_visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round', sa.Date(), nullable=True))
    op.execute("UPDATE campaign_visits SET round = (SELECT starts_on FROM campaigns WHERE campaigns.id = campaign_id)")
    with op.batch_alter_table('campaign_visits', schema=None) as batch_op:
        batch_op.alter_column('round', existing_type=sa.Date(), nullable=False)
        batch_op.drop_constraint('uq_campaign_visits_household', type_='unique')
        batch_op.create_unique_constraint('uq_campaign_visits_round', ['campaign_id', 'household_id', 'round'])


def downgrade():
    with op.batch_alter_table('campaign_visits', schema=None) as batch_op:
        batch_op.drop_constraint('uq_campaign_visits_round', type_='unique')
        batch_op.create_unique_constraint('uq_campaign_visits_household', ['campaign_id', 'household_id'])
        batch_op.drop_column('round')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('monthly')
    op.drop_table('attendance')
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_column('saves_trip')
    with op.batch_alter_table('service_points', schema=None) as batch_op:
        batch_op.drop_column('butlers_on_call')
    op.drop_table('calendar_years')
