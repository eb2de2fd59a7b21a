"""Who else has a case open right now.

A case page reports itself every 20 seconds while it is open; anyone seen within the last minute
counts as viewing. Kept in the database, so it holds across workers and servers.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import Case, CaseViewer, User

FRESH = timedelta(seconds=60)


def touch(case: Case, user: User) -> None:
    """Note that ``user`` has ``case`` open now (and commit)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = clock.now()
    db.session.execute(
        insert(CaseViewer)
        .values(case_id=case.id, user_id=user.id, seen_at=now)
        .on_conflict_do_update(index_elements=["case_id", "user_id"], set_={"seen_at": now})
    )
    unit.end_step()


def others(case: Case, user: User) -> list[User]:
    """The other people who have ``case`` open now."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(CaseViewer, CaseViewer.user_id == User.id)
            .where(CaseViewer.case_id == case.id, CaseViewer.user_id != user.id,
                   CaseViewer.seen_at >= clock.now() - FRESH)
            .order_by(User.display_name)
        )
    )
