"""Two things, two names: ``board_marks`` marks every change that something a worker keeps depends on (a board's
scope, and, written by triggers, the directory and the catalog), so it becomes ``change_marks``. The triggers of
5d3a8f1e6b20 follow it: SQLite rewrites their bodies with the table's name, and PostgreSQL's function is written
again.

Revision ID: c3e7a9d1f5b8
Revises: b8d4f2a6c9e1
Create Date: 2026-12-07 04:25:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3e7a9d1f5b8'
down_revision = 'b8d4f2a6c9e1'
branch_labels = None
depends_on = None

FUNCTION = ("CREATE OR REPLACE FUNCTION mark_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "INSERT INTO {table} (key, changed_at) VALUES (TG_ARGV[0], now() AT TIME ZONE 'UTC'); "
            "RETURN NULL; END $$")


def _rename(old: str, new: str) -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index(f"ix_{old}_key", table_name=old)
    op.rename_table(old, new)
    op.create_index(f"ix_{new}_key", new, ["key", "id", "changed_at"])
    if postgresql:
        op.execute(f"ALTER TABLE {new} RENAME CONSTRAINT pk_{old} TO pk_{new}")
        op.execute(f"ALTER SEQUENCE {old}_id_seq RENAME TO {new}_id_seq")
        op.execute(FUNCTION.format(table=new))


def upgrade():
    _rename("board_marks", "change_marks")


def downgrade():
    _rename("change_marks", "board_marks")
