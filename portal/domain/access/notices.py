"""Who may publish a notice, and where.

Leads and administrators publish for any place and for the whole district (leads who answer for some
places only: for those places). Staff and butlers publish for the places they cover and the places their
service point serves. A notice is edited and withdrawn by those who may publish for its place.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.domain.access.people import below, place_ids, sees_everything
from portal.domain.access.policy import rule
from portal.extensions import db
from portal.models import Notice, Place, Role, User

PUBLISHERS = frozenset({Role.STAFF, Role.BUTLER, Role.LEAD, Role.ADMIN})


def publishable_ids(user: User) -> frozenset[int] | None:
    """The places ``user`` may publish for; None means any place and the whole district."""
    if user.role not in PUBLISHERS:
        return frozenset()
    if sees_everything(user):
        return None
    ids = set(place_ids(user))
    if user.service_point_id:
        ids |= below(db.session.scalars(sa.select(Place.id).where(Place.service_point_id == user.service_point_id)))
    return frozenset(ids)


@rule("notice.publish")
def may_publish(user: User, place: Place | None = None) -> bool:
    """Publish for ``place`` (None: the whole district)."""
    allowed = publishable_ids(user)
    if allowed is None:
        return True
    return place is not None and place.id in allowed


def notice_scope(user: User) -> sa.ColumnElement[bool]:
    allowed = publishable_ids(user)
    if allowed is None:
        return sa.true()
    return Notice.place_id.in_(allowed) if allowed else sa.false()


@rule("notice.edit", Notice, sql=notice_scope, reads=True)
def may_edit(user: User, notice: Notice) -> bool:
    allowed = publishable_ids(user)
    return allowed is None or (notice.place_id is not None and notice.place_id in allowed)
