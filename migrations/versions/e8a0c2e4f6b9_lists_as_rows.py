"""Issue 37.3: the errand pool as two index look-ups. The index on cases (place_id, status) takes owner_id as well,
so that the pool's half "unassigned in my places" (place_id IN (...) AND status = 'logged' AND owner_id IS NULL)
reads the places' unassigned waiting cases alone; with (place_id, status) PostgreSQL walked every unassigned
waiting case of the district through (owner_id, status) instead. Its other look-ups (a place's cases by status)
it serves as before. The index keeps its name; on SQLite, dropping and creating an index rebuilds no table (the
change marks' triggers stay).

Revision ID: e8a0c2e4f6b9
Revises: d7f9b1d3e5a8
Create Date: 2026-12-07 09:20:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e8a0c2e4f6b9'
down_revision = 'd7f9b1d3e5a8'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_cases_place_status', table_name='cases')
    op.create_index('ix_cases_place_status', 'cases', ['place_id', 'status', 'owner_id'])


def downgrade():
    op.drop_index('ix_cases_place_status', table_name='cases')
    op.create_index('ix_cases_place_status', 'cases', ['place_id', 'status'])
