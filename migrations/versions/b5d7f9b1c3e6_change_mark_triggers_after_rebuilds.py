"""SQLite: the change marks' triggers, written again where a table was rebuilt.

SQLite cannot drop a column or change one in place, so Alembic's batch mode rebuilds the table (a copy, then a
rename), and the copy has none of the old table's triggers. The migrations before this one rebuilt ``teams``,
``service_items`` and ``users``; without their triggers a change of the directory or the catalog would leave no
mark and kept copies would not be refreshed (``platform.snapshot``). Every trigger of 5d3a8f1e6b20 (renamed by
c3e7a9d1f5b8) is written again where it is missing. PostgreSQL alters tables in place and keeps them.

Revision ID: b5d7f9b1c3e6
Revises: a4c6e8a0b2d5
Create Date: 2026-12-07 07:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b5d7f9b1c3e6'
down_revision = 'a4c6e8a0b2d5'
branch_labels = None
depends_on = None

MARKED = {"places": "directory", "service_points": "directory", "teams": "directory", "user_places": "directory",
          "team_places": "directory", "service_items": "catalog"}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        return
    for table, key in MARKED.items():
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER IF NOT EXISTS {table}_mark_{event.lower()} AFTER {event} ON {table} BEGIN "
                       f"INSERT INTO change_marks (key, changed_at) VALUES ('{key}', datetime('now')); END")


def downgrade():
    pass  # the triggers belong to 5d3a8f1e6b20; taking this step back leaves them as they are
