"""The working calendar marks its own changes, so that workers keep it per process.

The holidays and make-up days (``calendar_days``) and the cancelled sailings (``cancelled_sailings``) decide every
time limit, and were read from the database by each creation, each signature and many pages. A trigger on each
adds a ``change_marks`` row keyed "calendar" (as 5d3a8f1e6b20 did for the directory and the catalog), whoever
writes; ``portal.domain.platform.snapshot`` keeps the calendar under its newest mark.

Revision ID: a0c2e4f6b8d1
Revises: f9b1d3f5a7c0
Create Date: 2026-12-07 12:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a0c2e4f6b8d1'
down_revision = 'f9b1d3f5a7c0'
branch_labels = None
depends_on = None

MARKED = ("calendar_days", "cancelled_sailings")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in MARKED:  # mark_change(): 5d3a8f1e6b20, written again for change_marks by c3e7a9d1f5b8
            op.execute(f"CREATE TRIGGER {table}_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION mark_change('calendar')")
    else:
        for table in MARKED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_mark_{event.lower()} AFTER {event} ON {table} BEGIN "
                           f"INSERT INTO change_marks (key, changed_at) VALUES ('calendar', datetime('now')); END")
    op.execute("INSERT INTO change_marks (key, changed_at) VALUES ('calendar', CURRENT_TIMESTAMP)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in MARKED:
            op.execute(f"DROP TRIGGER {table}_mark ON {table}")
    else:
        for table in MARKED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_mark_{event}")
    op.execute("DELETE FROM change_marks WHERE key = 'calendar'")
