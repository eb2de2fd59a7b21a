"""One resident per ID number: the index on residents.id_number becomes unique.

Imports already match residents by ID number and queue one at a time; the unique index makes the rule the
database's too. A database that holds the same ID number twice is not changed: the upgrade stops and names
the numbers, to be merged by hand first (two entries of one person), and then run again.

Revision ID: 6c2d8e4f1a57
Revises: 3b7e1f0c9d42
Create Date: 2026-12-02 09:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '6c2d8e4f1a57'
down_revision = '3b7e1f0c9d42'
branch_labels = None
depends_on = None


def upgrade():
    twice = op.get_bind().execute(sa.text(
        "SELECT id_number, COUNT(*) FROM residents WHERE id_number IS NOT NULL GROUP BY id_number "
        "HAVING COUNT(*) > 1 ORDER BY id_number LIMIT 20")).all()
    if twice:
        masked = ", ".join(f"{number[:6]}********{number[-4:]} ({count} residents)" for number, count in twice)
        raise RuntimeError(f"residents share an ID number: {masked}. Merge each person's entries (Households) "
                           "and run the upgrade again. (Demo data from before 2026-12-02 may hold such numbers: "
                           "delete instance/portal.sqlite3 and run `make run` again.)")
    with op.batch_alter_table('residents') as batch:
        batch.drop_index('ix_residents_id_number')
        batch.create_index('ix_residents_id_number', ['id_number'], unique=True)


def downgrade():
    with op.batch_alter_table('residents') as batch:
        batch.drop_index('ix_residents_id_number')
        batch.create_index('ix_residents_id_number', ['id_number'], unique=False)
