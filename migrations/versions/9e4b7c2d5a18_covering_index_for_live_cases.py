"""A covering index for the live cases: the queues' tab counts and the boards' live figures read it alone.

Revision ID: 9e4b7c2d5a18
Revises: 6c2d8e4f1a57
Create Date: 2026-12-02 09:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '9e4b7c2d5a18'
down_revision = '6c2d8e4f1a57'
branch_labels = None
depends_on = None

COLUMNS = ["status", "service_point_id", "place_id", "owner_id", "created_by_id", "mode", "team_id", "incident_id",
           "due_at", "overdue_flagged_at"]


def upgrade():
    op.create_index('ix_cases_live', 'cases', COLUMNS)


def downgrade():
    op.drop_index('ix_cases_live', table_name='cases')
