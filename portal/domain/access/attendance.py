"""Who records their "3+2" days, who corrects them, and who sees them.

The staff of the island's service centre and posts record where they are each day (the off-island hall and
the heating stations keep an office week). A point's attendance is seen on its board: by those who see the
point's board (its own people, and those who see everything). The weeks of every office (科室) and the monthly
assessment are seen by the leads of the island's points and by those who see everything; the same leads
correct a member's day (or fill one in), with a reason.
"""
from __future__ import annotations

from portal.domain.access.people import point_of, sees_everything
from portal.domain.access.policy import rule
from portal.models import PointKind, Role, ServicePoint, User

ISLAND_POINTS = (PointKind.SERVICE_CENTER, PointKind.POST)


@rule("attendance.record")
def may_record(user: User) -> bool:
    point = point_of(user)
    return user.role is Role.STAFF and point is not None and point.on_island and point.kind in ISLAND_POINTS


@rule("attendance.view", ServicePoint)
def may_view(user: User, point: ServicePoint) -> bool:
    if point.kind not in ISLAND_POINTS:
        return False
    return sees_everything(user) or (user.role in (Role.STAFF, Role.LEAD) and user.service_point_id == point.id)


@rule("attendance.assess")
def may_assess(user: User) -> bool:
    """The offices' weeks and the monthly assessment: a lead of an island point, or someone who sees everything."""
    if sees_everything(user):
        return True
    point = point_of(user)
    return user.role is Role.LEAD and point is not None and point.on_island


@rule("attendance.correct", User)
def may_correct(user: User, member: User) -> bool:
    """A lead who assesses corrects another person's day, when that person records days at all."""
    return user.role is Role.LEAD and may_assess(user) and user.id != member.id and may_record(member)
