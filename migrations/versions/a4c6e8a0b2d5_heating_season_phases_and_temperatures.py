"""Issue 35.6-35.9: heating phases, temperatures, findings in bulk, card jobs.

Placeholder in the chain: filled in by the work it names, or left as a step that changes nothing.

Revision ID: a4c6e8a0b2d5
Revises: f3b5d7f9a1c4
Create Date: 2026-12-07 06:05:00

"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

# revision identifiers, used by Alembic.
revision = 'a4c6e8a0b2d5'
down_revision = 'f3b5d7f9a1c4'
branch_labels = None
depends_on = None


# The heating company's own fault words (暖气不热, 冷热不均, 气堵, 跑冒滴漏, 温度不达标, 运行不安全, 服务不到位): a
# catalog that has the heating faults (HT01) gets the three it lacked, and 气堵排气 is called 气堵.
NEW_ITEMS = [
    {"code": "HT07", "name_zh": "温度不达标", "name_en": "Room temperature below standard", "sla_hours": 24,
     "urgent": False, "keywords": "室温低 温度低 不达标",
     "pinyin": "wdbdb wendubudabiao swd shiwendi wdd wendudi bdb budabiao"},
    {"code": "HT08", "name_zh": "运行不安全", "name_en": "Unsafe running", "sla_hours": 4, "urgent": True,
     "keywords": "安全隐患 不安全", "pinyin": "yxbaq yunxingbuanquan aqyh anquanyinhuan baq buanquan"},
    {"code": "HT09", "name_zh": "服务不到位", "name_en": "Poor service", "sla_hours": 48, "urgent": False,
     "keywords": "服务差 投诉 服务不到位", "pinyin": "fwbdw fuwubudaowei fwc fuwucha ts tousu"},
]


def upgrade():
    op.create_table(
        'heating_seasons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('trial_from', sa.Date(), nullable=False),
        sa.Column('season_from', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('set_by_id', sa.Integer(), nullable=True),
        sa.Column('set_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_heating_seasons_set_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_heating_seasons')),
        sa.UniqueConstraint('trial_from', name=op.f('uq_heating_seasons_trial_from')),
    )
    op.create_table(
        'temperature_readings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('place_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=False),
        sa.Column('celsius', sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column('standard', sa.Numeric(precision=4, scale=1), nullable=False),
        sa.Column('source', sa.Enum('door', 'fault', name='readingsource', native_enum=False, length=24),
                  nullable=False),
        sa.Column('phase', sa.Enum('not_set', 'trial', 'season', 'ended', name='seasonphase', native_enum=False,
                                   length=24), nullable=False),
        sa.Column('campaign_id', sa.Integer(), nullable=True),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_temperature_readings_by_id_users')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_temperature_readings_campaign_id_campaigns'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_temperature_readings_case_id_cases')),
        sa.ForeignKeyConstraint(['household_id'], ['households.id'],
                                name=op.f('fk_temperature_readings_household_id_households')),
        sa.ForeignKeyConstraint(['place_id'], ['places.id'], name=op.f('fk_temperature_readings_place_id_places')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_temperature_readings')),
    )
    with op.batch_alter_table('temperature_readings', schema=None) as batch_op:
        for column in ('household_id', 'place_id', 'at', 'case_id'):
            batch_op.create_index(batch_op.f(f'ix_temperature_readings_{column}'), [column], unique=False)

    connection = op.get_bind()
    # Only the catalog's columns as they are at this step of the chain (the others keep their server defaults).
    present = {column['name'] for column in sa.inspect(connection).get_columns('service_items')}
    items = sa.table('service_items', *(sa.column(name) for name in (
        'code', 'name_zh', 'category_zh', 'category_en', 'name_en', 'keywords', 'pinyin', 'mode', 'needs_approval',
        'sla_hours', 'urgent', 'materials', 'approving_office', 'active') if name in present))
    op.execute(items.update().where(items.c.code == 'HT04', items.c.name_zh == '气堵排气')
               .values(name_zh='气堵', keywords='气堵 排气', pinyin='qd qidu pq paiqi'))
    if connection.scalar(sa.select(sa.func.count()).select_from(items).where(items.c.code == 'HT01')):
        have = set(connection.scalars(sa.select(items.c.code).where(items.c.code.in_([i["code"] for i in NEW_ITEMS]))))
        rows = [{**item, "category_zh": "供热", "category_en": "Heating", "mode": "home", "needs_approval": False,
                 "materials": "", "approving_office": "", "active": True}
                for item in NEW_ITEMS if item["code"] not in have]
        if rows:
            connection.execute(items.insert(), [{k: v for k, v in row.items() if k in present} for row in rows])


def downgrade():
    with op.batch_alter_table('temperature_readings', schema=None) as batch_op:
        for column in ('household_id', 'place_id', 'at', 'case_id'):
            batch_op.drop_index(batch_op.f(f'ix_temperature_readings_{column}'))
    op.drop_table('temperature_readings')
    op.drop_table('heating_seasons')
