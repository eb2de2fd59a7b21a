"""Who records their "3+2" days, and who sees them.

The staff of the island's service centre and posts record where they are each day (the off-island hall and
the heating stations keep an office week). A point's attendance is seen on its board: by those who see the
point's board (its own people, and those who see everything).
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
