"""Who keeps the working calendar, and who is told when it runs out.

Administrators import a year's holidays and make-up days, fill a provisional year and confirm it (they keep
the directory, whose holidays these are). Leads and administrators are warned on their home page and boards
while this year's or next year's calendar is missing or provisional.
"""
from __future__ import annotations

from portal.domain.access.policy import rule
from portal.models import Role, User


@rule("calendar.manage")
def may_manage(user: User) -> bool:
    return user.role is Role.ADMIN


@rule("calendar.warned")
def is_warned(user: User) -> bool:
    return user.role in (Role.LEAD, Role.ADMIN)
