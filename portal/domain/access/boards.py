"""Who may see which board, report and wall screen.

A district lead and the administrator see every board. Everyone else sees the boards of the places they
cover, of their own service point (staff, butlers, leads) and of their own team: one rule per kind of board,
named by the kind's description (``ScopeKind.seen_by`` in ``portal.domain.boards.scopes``). A wall screen
shows a board its lead sees. A monthly report is of the district (for those who see everything) or of one's
own point.
"""
from __future__ import annotations

from portal.domain.access.people import place_by_code, place_ids, sees_everything
from portal.domain.access.policy import can, rule
from portal.models import Place, Role, ServicePoint, User, WallScreen


@rule("place.view", Place, reads=True)
def may_see_place(user: User, place: Place) -> bool:
    """A place's board and figures: the places one covers (and all, for those who see everything)."""
    return sees_everything(user) or place.id in place_ids(user)


@rule("board.view")
def may_see_board(user: User, scope) -> bool:
    """``scope`` is a ``portal.domain.boards.scopes.Scope``: the rule its kind names (``seen_by``) decides."""
    return can(user, scope.kind.seen_by, scope)


@rule("board.district")
def may_see_district(user: User, scope=None) -> bool:
    """The district's board (asked alone, or with its scope as the rule of its kind)."""
    return sees_everything(user)


@rule("board.place")
def may_see_place_board(user: User, scope) -> bool:
    return sees_everything(user) or scope.place_id in place_ids(user)  # may_see_place, without loading the place


@rule("board.point")
def may_see_point_board(user: User, scope) -> bool:
    return sees_everything(user) or (user.role in (Role.STAFF, Role.BUTLER, Role.LEAD)
                                     and user.service_point_id == scope.point.id)


@rule("board.team")
def may_see_team_board(user: User, scope) -> bool:
    return sees_everything(user) or user.team_id == scope.team.id


@rule("topic.choose")
def may_choose_topic(user: User, scope) -> bool:
    """Make a hotspot the month's topic (每月一题) of a board that has hotspots (a place's, the district's): its
    leads."""
    return user.role is Role.LEAD and scope.kind.hotspots and may_see_board(user, scope)


@rule("results.view")
def may_see_results(user: User, scope) -> bool:
    """The results report and everyone's share of a board's scope (``portal.domain.boards.scopes.Scope``): the leads
    who see that board, and the administrator (who sees every board)."""
    return user.role in (Role.LEAD, Role.ADMIN) and may_see_board(user, scope)


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
    # A screen shows a board with a wall view: the district's, whose code ("all") is no place's (place codes are
    # capitals, digits and hyphens), or a place's.
    return sees_everything(user) or place_by_code().get(screen.scope_code) in place_ids(user)
