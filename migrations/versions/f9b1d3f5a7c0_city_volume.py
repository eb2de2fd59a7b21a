"""A city's volume (issue 37.6): indexes whose look-ups stay flat as the history grows.

A caller's latest cases read by an index on (requester_phone, created_at), newest first: the caller history
lists the latest few cases of a phone and, through the phone's index alone, read every case the phone ever had
(a few hundred for an island household's landline at 1,000,000 cases, five times as many at 5,000,000). The
new index replaces the one on requester_phone alone, whose look-ups it serves as well.

The covering index of the live cases also holds item_id: a board built afresh counts its open cases by
category from the index alone (it read each open case's row for its item, 1,621 buffers for a village at
1,000,000 cases).

Both steps may run on a database that has either already (a benchmark's data built while this was written).

Revision ID: f9b1d3f5a7c0
Revises: e8a0c2e4f6b9
Create Date: 2026-12-07 09:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f9b1d3f5a7c0'
down_revision = 'e8a0c2e4f6b9'
branch_labels = None
depends_on = None


LIVE = ["status", "service_point_id", "place_id", "owner_id", "created_by_id", "mode", "team_id", "incident_id",
        "due_at", "overdue_flagged_at"]


def upgrade():
    op.create_index('ix_cases_requester_phone_created_at', 'cases', ['requester_phone', 'created_at'],
                    if_not_exists=True)
    op.drop_index('ix_cases_requester_phone', table_name='cases', if_exists=True)
    op.drop_index('ix_cases_live', table_name='cases')
    op.create_index('ix_cases_live', 'cases', [*LIVE, 'item_id'])


def downgrade():
    op.drop_index('ix_cases_live', table_name='cases')
    op.create_index('ix_cases_live', 'cases', LIVE)
    op.create_index('ix_cases_requester_phone', 'cases', ['requester_phone'])
    op.drop_index('ix_cases_requester_phone_created_at', table_name='cases')
