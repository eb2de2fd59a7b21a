"""Stock phrases (常用语) a worker drops into a note: those of the case's item or of every item, and of its
status or of every status."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import CannedReply, Case


def for_case(case: Case) -> list[CannedReply]:
    return list(db.session.scalars(
        sa.select(CannedReply).where(
            CannedReply.active,
            sa.or_(CannedReply.item_id.is_(None), CannedReply.item_id == case.item_id),
            sa.or_(CannedReply.status.is_(None), CannedReply.status == case.status),
        ).order_by(CannedReply.item_id.is_(None), CannedReply.id)
    ))


def fits(reply: CannedReply | None, case: Case) -> bool:
    """Whether ``reply`` may be used on ``case`` (an unknown reply, or another item's, may not)."""
    return reply is not None and reply.item_id in (None, case.item_id)
