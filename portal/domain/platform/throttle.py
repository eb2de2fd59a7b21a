"""Throttles kept in the database, so that they hold across every worker and server: API keys per
minute, anonymous Open311 reads per address, and guesses on the public lookup.

Each counter is one ``RateHit`` row per key and window, bumped with an upsert in a short transaction
of its own (also from a GET, whose own transaction only reads). ``flask sweep`` deletes old windows.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import RateHit


def _window(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, UTC)


def hit(key: str, limit: int, seconds: int, amount: int = 1) -> bool:
    """Count ``amount`` more for ``key`` in the current window of ``seconds`` (atomically, so that
    parallel requests cannot all slip under the limit); True while within ``limit``."""
    window = _window(clock.now(), seconds)
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(RateHit).values(key=key[:120], window_start=window, count=amount)
    statement = statement.on_conflict_do_update(index_elements=["key", "window_start"],
                                                set_={"count": RateHit.count + amount}).returning(RateHit.count)
    count = unit.alone(lambda: db.session.execute(statement).scalar_one())  # counted on its own, whatever follows
    return count <= limit


def purge(older_than: timedelta = timedelta(days=1)) -> int:
    """Delete windows that ended long ago (the sweep calls this)."""
    result = db.session.execute(sa.delete(RateHit).where(RateHit.window_start < clock.now() - older_than))
    unit.end_step()
    return result.rowcount or 0
