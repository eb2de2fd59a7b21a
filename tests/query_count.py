"""Counting the SQL statements a request runs, for query budgets (no page may query per row)."""
from contextlib import contextmanager

import sqlalchemy as sa

from portal.extensions import db


@contextmanager
def counting_queries(app):
    """Count the statements sent to the database inside the block: ``with counting_queries(app) as n``."""
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
