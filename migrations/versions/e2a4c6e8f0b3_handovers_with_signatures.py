"""Issue 35.3 and 35.2: documents handed over with a signature; cancelled sailings.

Placeholder in the chain: filled in by the work it names, or left as a step that changes nothing.

Revision ID: e2a4c6e8f0b3
Revises: d1f3a5c7e9b2
Create Date: 2026-12-07 06:05:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'e2a4c6e8f0b3'
down_revision = 'd1f3a5c7e9b2'
branch_labels = None
depends_on = None


def upgrade():
    # A handover's signature: a file of the case (drawn on the screen, or a photo of the signed slip).
    with op.batch_alter_table('material_handovers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('signature_kind', sa.Enum('drawn', 'photo', name='signaturekind',
                                                                native_enum=False, length=24), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_material_handovers_signature_id_attachments'), 'attachments',
                                    ['signature_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('material_handovers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_material_handovers_signature_id_attachments'), type_='foreignkey')
        batch_op.drop_column('signature_kind')
        batch_op.drop_column('signature_id')
