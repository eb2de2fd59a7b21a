"""Messages that always arrive: the transactional outbox, addresses that opted out, and staff e-mail addresses.

Notifications lose ``sent_at``: what went out, and when, is the outbox's.

Revision ID: 7c4e2a9b1d35
Revises: 5d3a8f1e6b20
Create Date: 2026-12-02 15:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7c4e2a9b1d35'
down_revision = '5d3a8f1e6b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('channel', sa.Enum('sms', 'email', name='messagechannel', native_enum=False, length=24),
                  nullable=False),
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('subject', sa.String(length=120), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('to_resident', sa.Boolean(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'dead', name='messagestatus', native_enum=False,
                                    length=24), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', sa.DateTime(), nullable=False),
        sa.Column('claimed_until', sa.DateTime(), nullable=True),
        sa.Column('worker', sa.String(length=80), nullable=False),
        sa.Column('last_error', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_outbox_case_id_cases'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
        sa.UniqueConstraint('key', name=op.f('uq_outbox_key')),
    )
    op.create_index('ix_outbox_due', 'outbox', ['status', 'not_before'])
    op.create_index(op.f('ix_outbox_case_id'), 'outbox', ['case_id'])
    op.create_table(
        'message_opt_outs',
        sa.Column('address', sa.String(length=200), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('address', name=op.f('pk_message_opt_outs')),
    )
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('email', sa.String(length=200), nullable=True))
    with op.batch_alter_table('notifications') as batch:
        batch.drop_column('sent_at')


def downgrade():
    with op.batch_alter_table('notifications') as batch:
        batch.add_column(sa.Column('sent_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('users') as batch:
        batch.drop_column('email')
    op.drop_table('message_opt_outs')
    op.drop_index(op.f('ix_outbox_case_id'), table_name='outbox')
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.drop_table('outbox')
