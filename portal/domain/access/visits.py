"""Who may book, plan and carry out home visits.

A visit belongs to the team it is booked with: its members start it, record it and hand off what it
uncovers; leads who answer for the case may step in. Staff and leads book visits for the home cases they
see, and so does the lead of the case's team. A team lead plans (moves visits of, renews the calendar
feed of) their own team; leads plan every team. The care register lists the households of the places one
covers, or of one's team's places.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.domain.access.cases import can_view
from portal.domain.access.people import place_ids, sees_everything
from portal.domain.access.policy import rule
from portal.domain.platform import snapshot
from portal.extensions import db
from portal.models import Case, Mode, Place, PlaceKind, Role, Team, User, Visit, team_places


@rule("visit.view", Visit, reads=True)
def may_see_visit(user: User, visit: Visit) -> bool:
    return can_view(user, visit.case)


@rule("visit.book", Case)
def may_book(user: User, case: Case) -> bool:
    """Book a home visit for an open home case."""
    if case.mode is not Mode.HOME or not case.status.is_open or not can_view(user, case):
        return False
    return user.role in (Role.STAFF, Role.LEAD) or (user.is_team_lead and user.team_id == case.team_id)


@rule("visit.work", Visit)
def may_work_visit(user: User, visit: Visit) -> bool:
    """Start, record and hand off a visit: its team's members (the case is the team's: ``case.claim``); leads
    plan visits and may work the case, not the door."""
    return user.role is Role.TEAM and user.team_id == visit.team_id


@rule("team.view", Team, reads=True)
def may_see_team(user: User, team: Team) -> bool:
    """A team's own pages (its feed address): its members, and leads."""
    return user.role is Role.LEAD or user.team_id == team.id


@rule("team.plan", Team)
def may_plan(user: User, team: Team) -> bool:
    """Move a team's visits and renew its calendar feed: its team lead, and leads."""
    if user.role is Role.LEAD:
        return True
    return user.role is Role.TEAM and user.is_team_lead and user.team_id == team.id


@rule("visit.plan", Visit)
def may_move(user: User, visit: Visit) -> bool:
    return may_plan(user, visit.team) and (user.role is not Role.LEAD or can_view(user, visit.case))


@rule("visits.calendar")
def sees_calendar(user: User) -> bool:
    """The week's calendar of the teams: leads, and team leads (their own team)."""
    return user.role is Role.LEAD or (user.role is Role.TEAM and user.is_team_lead)


@rule("visits.mine")
def has_visits(user: User) -> bool:
    """A team member's own list of visits."""
    return user.role is Role.TEAM


def planned_team(user: User) -> int | None:
    """The one team a team lead plans (None: every team, for a lead)."""
    return user.team_id if user.role is Role.TEAM else None


@rule("visits.care_register")
def keeps_care_register(user: User) -> bool:
    """The care register in one's menu: team members, those who see everything, and those who cover a hamlet (a
    heating station's people cover estates, whose households get no care visits)."""
    if user.role is Role.TEAM or sees_everything(user):
        return True
    rows = snapshot.directory().places
    return user.role in (Role.STAFF, Role.LEAD) and any(
        i in rows and rows[i].kind is PlaceKind.HAMLET for i in place_ids(user))


def care_places(user: User) -> list[int]:
    """The hamlets whose care register the user sees."""
    hamlets = sa.select(Place.id).where(Place.kind == PlaceKind.HAMLET)
    if sees_everything(user):
        return list(db.session.scalars(hamlets))
    if user.role is Role.TEAM and user.team_id is not None:
        return list(db.session.scalars(hamlets.where(Place.id.in_(
            sa.select(team_places.c.place_id).where(team_places.c.team_id == user.team_id)))))
    return list(db.session.scalars(hamlets.where(Place.id.in_(place_ids(user)))))
