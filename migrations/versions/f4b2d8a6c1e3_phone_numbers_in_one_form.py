"""Phone numbers in one form: every phone column rewritten to what ``privacy.normalise_phone`` gives, so that a
number typed as "+86 139 3524 9848", "8613935249848" or "139 3524 9848" is the same number everywhere (issue 31,
item 7: a TD reply from such a number stopped nothing).

The form is the one most rows already hold (a number in China: its digits as dialled in China, a landline with its
trunk 0; a number abroad: E.164), so only rows whose value changes are written: the distinct values are read, the
changed ones put in a temporary table, and each column is updated in one statement joined to it. Addresses that
opted out of messages and now name one number are merged into one row, keeping the earliest time.

The downgrade does nothing: the old values were the same numbers written differently (which way each was typed
is not worth keeping), and the earlier code reads the new values as it read its own: a number in China is still
its digits; the few numbers abroad, now with their +, were never valid to that code anyway.

Revision ID: f4b2d8a6c1e3
Revises: e5b8c1d4f2a6
Create Date: 2026-12-03 10:00:00

"""
import sqlalchemy as sa
from alembic import op

from portal.domain.platform.privacy import normalise_phone

# revision identifiers, used by Alembic.
revision = 'f4b2d8a6c1e3'
down_revision = 'e5b8c1d4f2a6'
branch_labels = None
depends_on = None

# (table, column, which of its rows hold a phone): an outbox message's address is a phone for SMS only.
PHONE_COLUMNS = (
    ("cases", "requester_phone", None),
    ("households", "phone", None),
    ("households", "phone2", None),
    ("residents", "phone", None),
    ("users", "phone", None),
    ("service_points", "phone", None),
    ("outbox", "address", "channel = 'sms'"),
    ("message_opt_outs", "address", None),
)
BATCH = 1000


def _where(column: str, only: str | None) -> str:
    return f"{column} IS NOT NULL AND {column} <> ''" + (f" AND {only}" if only else "")


def rewrite(bind) -> dict[str, int]:
    """Rewrite every phone column to the one form; return how many rows of each changed (those only are
    written). Runs on SQLite and PostgreSQL, inside the caller's transaction."""
    forms: dict[str, str] = {}
    for table, column, only in PHONE_COLUMNS:
        for (value,) in bind.execute(sa.text(f"SELECT DISTINCT {column} FROM {table} WHERE {_where(column, only)}")):
            if value not in forms:
                forms[value] = normalise_phone(value)
    changed = {old: new for old, new in forms.items() if new != old}
    if not changed:
        return {}
    # Dropped at the end; a failure rolls its creation back (PostgreSQL) or ends the connection holding it (SQLite).
    bind.execute(sa.text("CREATE TEMPORARY TABLE phone_forms (old VARCHAR(200) PRIMARY KEY, new VARCHAR(200) NOT NULL)"))
    pairs = [{"old": old, "new": new} for old, new in changed.items()]
    for start in range(0, len(pairs), BATCH):
        bind.execute(sa.text("INSERT INTO phone_forms (old, new) VALUES (:old, :new)"), pairs[start:start + BATCH])
    counts = {"message_opt_outs.address": _merge_opt_outs(bind)}
    for table, column, only in PHONE_COLUMNS:
        if table == "message_opt_outs":
            continue
        result = bind.execute(sa.text(
            f"UPDATE {table} SET {column} = (SELECT new FROM phone_forms WHERE phone_forms.old = {table}.{column}) "
            f"WHERE {_where(column, only)} AND {column} IN (SELECT old FROM phone_forms)"))
        counts[f"{table}.{column}"] = result.rowcount
    bind.execute(sa.text("DROP TABLE phone_forms"))
    return {name: count for name, count in counts.items() if count}


def _in_batches(bind, statement: str, values: list) -> list:
    """``statement`` with ``:values`` an IN list, run over ``values`` a batch at a time; the rows it returns."""
    query = sa.text(statement).bindparams(sa.bindparam("values", expanding=True))
    rows = []
    for start in range(0, len(values), BATCH):
        result = bind.execute(query, {"values": values[start:start + BATCH]})
        rows.extend(result.all() if result.returns_rows else ())
    return rows


def _merge_opt_outs(bind) -> int:
    """The address is the table's key: the rows that now name one number become one, from the earliest time."""
    rows = bind.execute(sa.text(
        "SELECT message_opt_outs.address, phone_forms.new, message_opt_outs.at FROM message_opt_outs "
        "JOIN phone_forms ON phone_forms.old = message_opt_outs.address")).all()
    if not rows:
        return 0
    earliest: dict[str, object] = {}
    for _old, new, at in rows:
        earliest[new] = min(at, earliest.get(new, at))
    kept = dict(_in_batches(bind, "SELECT address, at FROM message_opt_outs WHERE address IN :values", list(earliest)))
    _in_batches(bind, "DELETE FROM message_opt_outs WHERE address IN :values", [old for old, _new, _at in rows])
    for address, at in earliest.items():
        if address in kept:
            if at < kept[address]:
                bind.execute(sa.text("UPDATE message_opt_outs SET at = :at WHERE address = :address"),
                             {"at": at, "address": address})
        else:
            bind.execute(sa.text("INSERT INTO message_opt_outs (address, at) VALUES (:address, :at)"),
                         {"address": address, "at": at})
    return len(rows)


def upgrade():
    rewrite(op.get_bind())


def downgrade():
    pass
