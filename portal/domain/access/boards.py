"""Who may see which board, report and wall screen.

A district lead and the administrator see every board. Everyone else sees the boards of the places they
cover, of their own service point (staff, butlers, leads) and of their own team; the district board and
a wall screen shows a board its lead sees. A monthly report is of the district (for those who
see everything) or of one's own point.
"""
from __future__ import annotations

from portal.domain.access.people import place_by_code, place_ids, sees_everything
from portal.domain.access.policy import rule
from portal.models import Place, Role, ServicePoint, User, WallScreen


@rule("place.view", Place, reads=True)
def may_see_place(user: User, place: Place) -> bool:
    """A place's board and figures: the places one covers (and all, for those who see everything)."""
    return sees_everything(user) or place.id in place_ids(user)


@rule("board.view")
def may_see_board(user: User, scope) -> bool:
    """``scope`` is a ``portal.domain.boards.scopes.Scope``."""
    if sees_everything(user):
        return True
    if scope.kind == "place":
        return scope.place_id in place_ids(user)  # may_see_place, without loading the place
    if scope.kind == "point":
        return user.role in (Role.STAFF, Role.BUTLER, Role.LEAD) and user.service_point_id == scope.point.id
    if scope.kind == "team":
        return user.team_id == scope.team.id
    return False


@rule("topic.choose")
def may_choose_topic(user: User, scope) -> bool:
    """Make a hotspot the month's topic (每月一题) of a place's board or the district's: its leads."""
    return user.role is Role.LEAD and scope.kind in ("place", "district") and may_see_board(user, scope)


@rule("board.district")
def may_see_district(user: User) -> bool:
    return sees_everything(user)


@rule("report.view")
def may_see_report(user: User, point: ServicePoint | None = None) -> bool:
    """The district's report (``point`` None) or one point's."""
    if sees_everything(user):
        return True
    return point is not None and user.role in (Role.STAFF, Role.BUTLER, Role.LEAD) \
        and user.service_point_id == point.id


@rule("report.any")
def has_report(user: User) -> bool:
    return sees_everything(user) or (user.role in (Role.STAFF, Role.BUTLER, Role.LEAD)
                                     and user.service_point_id is not None)


@rule("screen.manage")
def may_manage_screens(user: User) -> bool:
    """Give wall screens their addresses (for the boards one sees), and revoke them."""
    return user.role in (Role.LEAD, Role.ADMIN)


@rule("screen.revoke", WallScreen, reads=True)
def may_revoke_screen(user: User, screen: WallScreen) -> bool:
    """A screen of a board the user sees."""
    if not may_manage_screens(user):
        return False
    if sees_everything(user):
        return True
    return screen.scope_kind == "place" and place_by_code().get(screen.scope_code) in place_ids(user)
