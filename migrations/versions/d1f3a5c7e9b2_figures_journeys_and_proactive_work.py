"""Issue 34.1 and 34.3: what the figures mean. A catalog item says how many journeys off the island it saves
(``journeys``, replacing the yes/no ``saves_trip``); a case says whether it is proactive work (``proactive``: a care
visit, a campaign's finding, what one of them uncovered), and the daily counters keep proactive work apart (a key
column) and count the counter requests logged (the on-the-spot rate's denominator). Run
``flask --app portal rebuild-stats`` after upgrading: rows counted before count everything as requests.

Revision ID: d1f3a5c7e9b2
Revises: c3e7a9d1f5b8
Create Date: 2026-12-07 06:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd1f3a5c7e9b2'
down_revision = 'c3e7a9d1f5b8'
branch_labels = None
depends_on = None


def upgrade():
    # 34.1: how many journeys off the island an item saves (0, 1, 2: an approval item is handed in, then collected);
    # it replaces the yes/no "saves_trip" (kept as a read-only property of the model: journeys > 0).
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('journeys', sa.Integer(), nullable=False, server_default='0'))
    items = sa.table('service_items', sa.column('journeys', sa.Integer), sa.column('saves_trip', sa.Boolean),
                     sa.column('needs_approval', sa.Boolean))
    op.execute(items.update().where(items.c.saves_trip == sa.true())
               .values(journeys=sa.case((items.c.needs_approval == sa.true(), 2), else_=1)))
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_column('saves_trip')

    # 34.3: proactive work (主动服务: a scheduled care visit, a campaign's finding, an errand one of them uncovered)
    # apart from residents' requests (受理).
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proactive', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE cases SET proactive = true WHERE id IN (SELECT case_id FROM visits WHERE kind = 'care') "
               "OR id IN (SELECT case_id FROM campaign_visits WHERE case_id IS NOT NULL)")
    op.execute("UPDATE cases SET proactive = true WHERE origin_id IN (SELECT id FROM cases WHERE proactive)")

    # The counters keep requests and proactive work apart (a key column), and the counter items logged (the
    # on-the-spot rate's denominator). Existing rows count everything as requests until
    # `flask --app portal rebuild-stats` recomputes them.
    with op.batch_alter_table('case_counts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proactive', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('counter_logged', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('case_counts', schema=None) as batch_op:
        batch_op.drop_column('counter_logged')
        batch_op.drop_column('proactive')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('proactive')
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('saves_trip', sa.Boolean(), nullable=False, server_default=sa.false()))
    items = sa.table('service_items', sa.column('journeys', sa.Integer), sa.column('saves_trip', sa.Boolean))
    op.execute(items.update().where(items.c.journeys > 0).values(saves_trip=True))
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_column('journeys')
