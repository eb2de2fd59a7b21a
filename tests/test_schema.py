"""The schema: built by the migrations alone, in step with the models, with a guarded audit log."""
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from portal.extensions import db
from portal.models import AuditEntry


def test_migrations_build_every_table_of_the_models(app):
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(app):
    """A model change without its migration fails here (autogenerate would find a difference)."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET reason = 'rewritten'",
    "DELETE FROM audit_log",
])
def test_the_database_refuses_to_change_or_remove_audit_rows(app, statement):
    with app.app_context():
        db.session.add(AuditEntry(action="login", actor_name="wang"))
        db.session.commit()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text(statement))
            db.session.commit()
        db.session.rollback()
        assert db.session.scalar(sa.select(AuditEntry.reason)) == ""
