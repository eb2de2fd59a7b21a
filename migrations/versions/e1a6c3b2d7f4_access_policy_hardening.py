"""Security: failed sign-ins counted per account, calendar-feed tokens kept as hashes, and no resident's
personal data left in clear in the audit log.

Revision ID: e1a6c3b2d7f4
Revises: 7a3d9e4b2c18
Create Date: 2026-12-01 10:00:00

"""
import hashlib
import re

import sqlalchemy as sa
from alembic import op

revision = 'e1a6c3b2d7f4'
down_revision = '7a3d9e4b2c18'
branch_labels = None
depends_on = None

# What people typed about a case was copied into these rows' reasons; the timeline keeps it instead.
CASE_TEXT_ACTIONS = ("claim", "start", "send_off_island", "record_office_answer", "resolve", "finish_on_spot",
                     "close", "no_answer", "return_case", "transfer", "assign", "merge", "reopen", "cancel", "note",
                     "extension_asked", "extension_approved", "extension_refused")
_ID = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def _mask_name(name):
    return name[0] + "*" * max(len(name) - 1, 1) if name else name


def _mask_address(address):
    return address[:2] + "*" * min(max(len(address) - 2, 1), 6) if address else address


PERSONAL = {
    "cases": {"requester_name": _mask_name, "address": _mask_address, "description": lambda t: f"({len(t)})"},
    "residents": {"name": _mask_name},
    "households": {"address": _mask_address, "notes": lambda t: f"({len(t)})"},
}


def _mask_text(text):
    text = _ID.sub(lambda m: m.group(0)[:6] + "*" * 8 + m.group(0)[-4:], text or "")
    return _PHONE.sub(lambda m: m.group(0)[:3] + "****" + m.group(0)[-4:], text)


def _guard(on: bool) -> None:
    """The audit log's append-only triggers, off for the one-time clean-up and on again after it."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE audit_log {'ENABLE' if on else 'DISABLE'} TRIGGER audit_log_no_change")
    elif on:
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
        op.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")


def _scrub_audit_log() -> None:
    log = sa.table("audit_log", sa.column("id", sa.Integer), sa.column("action", sa.String),
                   sa.column("object_type", sa.String), sa.column("changes", sa.JSON), sa.column("reason", sa.Text))
    bind = op.get_bind()
    updates = []
    for row in bind.execute(sa.select(log).where(sa.or_(log.c.reason != "", log.c.changes.is_not(None)))):
        reason = "" if row.object_type == "cases" and row.action in CASE_TEXT_ACTIONS else _mask_text(row.reason)
        changes = row.changes
        masks = PERSONAL.get(row.object_type, {})
        if changes and masks:
            changes = {field: [masks[field](v) if field in masks and isinstance(v, str) else v for v in pair]
                       for field, pair in changes.items()}
        if reason != row.reason or changes != row.changes:
            updates.append({"row_id": row.id, "reason": reason, "changes": changes})
    if updates:
        _guard(False)
        statement = log.update().where(log.c.id == sa.bindparam("row_id")).values(
            reason=sa.bindparam("reason"), changes=sa.bindparam("changes"))
        for start in range(0, len(updates), 1000):
            bind.execute(statement, updates[start:start + 1000])
        _guard(True)


def upgrade():
    with op.batch_alter_table('failed_logins', schema=None) as batch_op:
        batch_op.create_index('ix_failed_logins_username_at', ['username', 'at'], unique=False)

    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('calendar_token_hash', sa.String(length=64), nullable=True))
    teams = sa.table("teams", sa.column("id", sa.Integer), sa.column("calendar_token", sa.String),
                     sa.column("calendar_token_hash", sa.String))
    bind = op.get_bind()
    for team_id, token in bind.execute(sa.select(teams.c.id, teams.c.calendar_token)
                                       .where(teams.c.calendar_token.is_not(None))).all():
        bind.execute(teams.update().where(teams.c.id == team_id)
                     .values(calendar_token_hash=hashlib.sha256(token.encode()).hexdigest()))
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_constraint('uq_teams_calendar_token', type_='unique')
        batch_op.drop_column('calendar_token')
        batch_op.create_unique_constraint(batch_op.f('uq_teams_calendar_token_hash'), ['calendar_token_hash'])

    _scrub_audit_log()


def downgrade():
    # The tokens themselves were never kept: every team lead issues a new address after a downgrade.
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_teams_calendar_token_hash'), type_='unique')
        batch_op.drop_column('calendar_token_hash')
        batch_op.add_column(sa.Column('calendar_token', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_teams_calendar_token', ['calendar_token'])
    with op.batch_alter_table('failed_logins', schema=None) as batch_op:
        batch_op.drop_index('ix_failed_logins_username_at')
