"""The directory and the catalog mark their own changes, so that workers keep them per process.

A trigger on each table of the place tree, the service points, the teams and who covers which places adds a
``board_marks`` row keyed "directory"; one on the service items adds "catalog". Written by the database, they
catch every writer: the directory pages, imports, the demo and the generator, a hand-written UPDATE.
``portal.domain.platform.snapshot`` reads the two newest marks once a request and rebuilds what it keeps only
when they moved.

Revision ID: 5d3a8f1e6b20
Revises: 9e4b7c2d5a18
Create Date: 2026-12-02 14:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '5d3a8f1e6b20'
down_revision = '9e4b7c2d5a18'
branch_labels = None
depends_on = None

MARKED = {"places": "directory", "service_points": "directory", "teams": "directory", "user_places": "directory",
          "team_places": "directory", "service_items": "catalog"}


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION mark_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   "INSERT INTO board_marks (key, changed_at) VALUES (TG_ARGV[0], now() AT TIME ZONE 'UTC'); "
                   "RETURN NULL; END $$")
        for table, key in MARKED.items():
            op.execute(f"CREATE TRIGGER {table}_mark AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION mark_change('{key}')")
    else:
        for table, key in MARKED.items():
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_mark_{event.lower()} AFTER {event} ON {table} BEGIN "
                           f"INSERT INTO board_marks (key, changed_at) VALUES ('{key}', datetime('now')); END")
    op.execute("INSERT INTO board_marks (key, changed_at) VALUES ('directory', CURRENT_TIMESTAMP), "
               "('catalog', CURRENT_TIMESTAMP)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in MARKED:
            op.execute(f"DROP TRIGGER {table}_mark ON {table}")
        op.execute("DROP FUNCTION mark_change()")
    else:
        for table in MARKED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_mark_{event}")
    op.execute("DELETE FROM board_marks WHERE key IN ('directory', 'catalog')")
