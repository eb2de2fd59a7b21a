"""No hot rows: board counters and marks are inserted, never updated, so concurrent writers never meet on a row.

``case_counts`` loses its unique key and gains ``delta`` (rows a transaction wrote, folded by the sweep);
``board_marks`` becomes a row per change (the sweep keeps the newest of each key). The marks are only the
boards' ETags, so the table is created afresh: every board answers its next poll in full once.

Revision ID: 3b7e1f0c9d42
Revises: 8d1c5e2b7a90
Create Date: 2026-12-02 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3b7e1f0c9d42'
down_revision = '8d1c5e2b7a90'
branch_labels = None
depends_on = None

KEY = ['day', 'place_id', 'service_point_id', 'team_id', 'category']


def upgrade():
    with op.batch_alter_table('case_counts') as batch:
        batch.drop_constraint('uq_case_counts_key', type_='unique')
        batch.add_column(sa.Column('delta', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_case_counts_key', 'case_counts', KEY)
    op.create_index('ix_case_counts_delta', 'case_counts', ['id'], sqlite_where=sa.text('delta'),
                    postgresql_where=sa.text('delta'))

    op.drop_table('board_marks')
    op.create_table(
        'board_marks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=24), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_board_marks')),
        sqlite_autoincrement=True,  # ids never reused: the boards' ETags are built on them
    )
    op.create_index('ix_board_marks_key', 'board_marks', ['key', 'id', 'changed_at'])


def downgrade():
    op.drop_index('ix_board_marks_key', table_name='board_marks')
    op.drop_table('board_marks')
    op.create_table(
        'board_marks',
        sa.Column('key', sa.String(length=24), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_board_marks')),
    )
    op.drop_index('ix_case_counts_delta', table_name='case_counts')
    op.drop_index('ix_case_counts_key', table_name='case_counts')
    # Fold the deltas first, so that the unique key holds again.
    columns = [c for c in sa.inspect(op.get_bind()).get_columns('case_counts')
               if c['name'] not in ('id', 'delta', *KEY)]
    sums = ", ".join(f"SUM({c['name']})" for c in columns)
    names = ", ".join(c['name'] for c in columns)
    op.execute(f"CREATE TEMPORARY TABLE folded AS SELECT {', '.join(KEY)}, {sums} "
               f"FROM case_counts GROUP BY {', '.join(KEY)}")
    op.execute("DELETE FROM case_counts")
    op.execute(f"INSERT INTO case_counts ({', '.join(KEY)}, {names}) SELECT * FROM folded")
    op.execute("DROP TABLE folded")
    with op.batch_alter_table('case_counts') as batch:
        batch.drop_column('delta')
        batch.create_unique_constraint('uq_case_counts_key', KEY)
