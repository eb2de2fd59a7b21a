"""Who keeps the working calendar, and who is told when it runs out.

Administrators import a year's holidays and make-up days, fill a provisional year and confirm it (they keep
the directory, whose holidays these are). Leads and administrators are warned on their home page and boards
while this year's or next year's calendar is missing or provisional. The leads of the island (of an island point,
or of the whole district) and administrators mark an off-island day whose boat did not sail (停航), and undo it.
"""
from __future__ import annotations

from portal.domain.access.people import point_of, sees_everything
from portal.domain.access.policy import rule
from portal.models import Role, User


@rule("calendar.manage")
def may_manage(user: User) -> bool:
    return user.role is Role.ADMIN


@rule("calendar.warned")
def is_warned(user: User) -> bool:
    return user.role in (Role.LEAD, Role.ADMIN)


@rule("sailing.cancel")
def may_cancel_sailing(user: User) -> bool:
    """Mark a sailing cancelled, or undo it: an administrator, a lead of the whole district, or a lead of an island
    service point (the island's scope)."""
    if sees_everything(user):
        return True
    point = point_of(user)
    return user.role is Role.LEAD and point is not None and point.on_island
