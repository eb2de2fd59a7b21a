"""Issue 35.1, 35.4, 35.5: offices and the 3+2 assessment, fishing season, calendar changes.

Offices (科室) of the administration and each user's office; a lead's correction of an attendance day (who and
why); the fishing season and the teams that open evenings and weekends in it.

Revision ID: f3b5d7f9a1c4
Revises: e2a4c6e8f0b3
Create Date: 2026-12-07 06:05:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'f3b5d7f9a1c4'
down_revision = 'e2a4c6e8f0b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'offices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=20), nullable=False),
        sa.Column('name_zh', sa.String(length=60), nullable=False),
        sa.Column('name_en', sa.String(length=80), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_offices')),
        sa.UniqueConstraint('code', name=op.f('uq_offices_code')),
    )
    op.create_table(
        'fishing_seasons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('first', sa.Date(), nullable=False),
        sa.Column('last', sa.Date(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fishing_seasons')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('office_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_office_id'), ['office_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_users_office_id_offices'), 'offices', ['office_id'], ['id'])
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrected_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=200), server_default='', nullable=False))
        batch_op.create_foreign_key(batch_op.f('fk_attendance_corrected_by_id_users'), 'users', ['corrected_by_id'],
                                    ['id'])
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('season_evenings', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('season_weekends', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_column('season_weekends')
        batch_op.drop_column('season_evenings')
    with op.batch_alter_table('attendance', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attendance_corrected_by_id_users'), type_='foreignkey')
        batch_op.drop_column('reason')
        batch_op.drop_column('corrected_by_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_office_id_offices'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_office_id'))
        batch_op.drop_column('office_id')
    op.drop_table('fishing_seasons')
    op.drop_table('offices')
