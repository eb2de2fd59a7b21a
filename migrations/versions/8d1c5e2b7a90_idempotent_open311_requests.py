"""Idempotent Open311 requests: a kiosk's retry with the same key answers the case it already logged.

Revision ID: 8d1c5e2b7a90
Revises: 4f2a9c7d1e63
Create Date: 2026-12-02 03:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '8d1c5e2b7a90'
down_revision = '4f2a9c7d1e63'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'idempotent_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('api_key_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['api_key_id'], ['api_keys.id'], name=op.f('fk_idempotent_requests_api_key_id_api_keys')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_idempotent_requests_case_id_cases'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotent_requests')),
        sa.UniqueConstraint('api_key_id', 'key', name='uq_idempotent_requests_key'),
    )


def downgrade():
    op.drop_table('idempotent_requests')
