"""Stock phrases (常用语) a worker drops into a note: those of the case's item or of every item, of its status or
of every status, and of the action whose text field it is (a resolution's words under 办结, a return's under 退回)
or of every action."""
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


def action_of(field: str) -> str:
    """The action a case page's text field belongs to: "resolve" for "resolve-note", "note" for the note form's."""
    return field.rsplit("-", 1)[0] if "-" in field else "note"


def offered(reply: CannedReply, field: str) -> bool:
    """Whether ``reply`` is offered under the text field ``field`` of the case page."""
    return reply.action in (None, action_of(field))


def fits(reply: CannedReply | None, case: Case, field: str = "note") -> bool:
    """Whether ``reply`` may be used on ``case`` in ``field`` (an unknown reply, another item's, or another action's
    may not)."""
    return reply is not None and reply.item_id in (None, case.item_id) and offered(reply, field)
