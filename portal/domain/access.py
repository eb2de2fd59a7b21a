"""Who may see and do what: every rule about people and cases, in one place.

Staff see their service point's cases and their places' cases; proxies the errands of their places;
team members their team's visits; butlers their estates; leads and admins everything. Everyone also
sees the cases they own. Each rule exists twice, as an SQL condition (for lists, searches, exports
and counts) and as a test on one loaded case (for pages and actions); ``tests/test_access.py``
checks that the two agree.

A read refused here answers 404 (the case might as well not exist) and is audited.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.domain import NotFound, audit
from portal.extensions import db
from portal.models import Case, CaseStatus, Mode, Place, Role, User

SEE_ALL = frozenset({Role.ADMIN, Role.LEAD})
WORKERS = frozenset({Role.STAFF, Role.PROXY, Role.TEAM, Role.BUTLER, Role.LEAD})


def place_ids(user: User) -> frozenset[int]:
    """The places a user covers, with every place below them (a village brings its hamlets)."""
    cached = getattr(user, "_place_ids", None)
    if cached is not None:
        return cached
    direct = {place.id for place in user.places}
    if direct:
        children: dict[int | None, list[int]] = {}
        for place_id, parent_id in db.session.execute(sa.select(Place.id, Place.parent_id)):
            children.setdefault(parent_id, []).append(place_id)
        stack = list(direct)
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in direct:
                    direct.add(child)
                    stack.append(child)
    user._place_ids = frozenset(direct)
    return user._place_ids


# --- seeing cases ------------------------------------------------------------------------------

def case_scope(user: User) -> sa.ColumnElement[bool]:
    """The SQL condition for the cases ``user`` may see."""
    if user.role in SEE_ALL:
        return sa.true()
    mine = Case.owner_id == user.id
    places = place_ids(user)
    in_places = Case.place_id.in_(places) if places else sa.false()
    if user.role is Role.STAFF:
        point = Case.service_point_id == user.service_point_id if user.service_point_id else sa.false()
        return sa.or_(point, in_places, mine, Case.created_by_id == user.id)
    if user.role is Role.PROXY:
        return sa.or_(sa.and_(Case.mode == Mode.ERRAND, in_places), mine)
    if user.role is Role.TEAM:
        team = Case.team_id == user.team_id if user.team_id else sa.false()
        return sa.or_(team, mine)
    if user.role is Role.BUTLER:  # butlers also log cases (the heating hotline), and see what they logged
        return sa.or_(in_places, mine, Case.created_by_id == user.id)
    return sa.false()


def can_view(user: User, case: Case) -> bool:
    """Whether ``user`` may see ``case`` (the same rule as ``case_scope``)."""
    if user.role in SEE_ALL or case.owner_id == user.id:
        return True
    in_places = case.place_id in place_ids(user)
    if user.role is Role.STAFF:
        return (user.service_point_id is not None and case.service_point_id == user.service_point_id) \
            or in_places or case.created_by_id == user.id
    if user.role is Role.PROXY:
        return case.mode is Mode.ERRAND and in_places
    if user.role is Role.TEAM:
        return user.team_id is not None and case.team_id == user.team_id
    if user.role is Role.BUTLER:
        return in_places or case.created_by_id == user.id
    return False


def load_case(number: str, user: User, options=()) -> Case:
    """Return the case with this number if ``user`` may see it; otherwise audit and raise NotFound."""
    case = db.session.scalars(sa.select(Case).where(Case.number == number).options(*options)).first()
    if case is None:
        raise NotFound(_l("There is no case %(number)s.", number=number))
    if not can_view(user, case):
        audit.record_alone("denied", actor=user, object_type="cases", object_id=case.id, reason="read")
        raise NotFound(_l("There is no case %(number)s.", number=number))
    return case


# --- claiming and acting -----------------------------------------------------------------------

def claim_scope(user: User) -> sa.ColumnElement[bool]:
    """The SQL condition for the cases ``user`` could sign for (签收) if they were waiting."""
    if user.role is Role.LEAD:
        return sa.true()
    places = place_ids(user)
    in_places = Case.place_id.in_(places) if places else sa.false()
    if user.role is Role.STAFF:
        return Case.service_point_id == user.service_point_id if user.service_point_id else sa.false()
    if user.role is Role.PROXY:
        return sa.and_(Case.mode == Mode.ERRAND, in_places)
    if user.role is Role.TEAM:
        return Case.team_id == user.team_id if user.team_id else sa.false()
    if user.role is Role.BUTLER:
        return in_places
    return sa.false()


def claimable(user: User) -> sa.ColumnElement[bool]:
    """Cases waiting to be signed for that ``user`` may sign for now: assigned to them, or unassigned
    and in their claim scope."""
    return sa.and_(
        Case.status == CaseStatus.LOGGED,
        Case.incident_id.is_(None),  # calls linked to an estate incident are resolved with it
        sa.or_(Case.owner_id == user.id, sa.and_(Case.owner_id.is_(None), claim_scope(user))),
    )


def _could_claim(user: User, case: Case) -> bool:
    if user.role is Role.LEAD:
        return True
    if user.role is Role.STAFF:
        return user.service_point_id is not None and case.service_point_id == user.service_point_id
    if user.role is Role.PROXY:
        return case.mode is Mode.ERRAND and case.place_id in place_ids(user)
    if user.role is Role.TEAM:
        return user.team_id is not None and case.team_id == user.team_id
    if user.role is Role.BUTLER:
        return case.place_id in place_ids(user)
    return False


def _dispatches(user: User, case: Case) -> bool:
    """Station staff of the case's point, and leads, route and follow up cases."""
    return user.role is Role.LEAD or (
        user.role is Role.STAFF and user.service_point_id is not None
        and case.service_point_id == user.service_point_id
    )


def may(user: User, permission: str, case: Case) -> bool:
    """Whether ``user`` holds ``permission`` on ``case``; the transitions table names the permission.

    claim     sign for a waiting case that is theirs to take (or was assigned to them)
    work      work a case they own: start, send off, record the office's answer, resolve
    dispatch  assign, transfer, merge, cancel, reopen, call back: staff of the case's point, leads
    return    give back a case that is not theirs to handle: its owner, or one who could claim it
    counter   finish a counter item on the spot: staff of the case's point, leads
    note      add a note: anyone who works cases and may see this one
    """
    if not can_view(user, case):
        return False
    if permission == "claim":  # a case assigned to someone is theirs to sign for, whatever their scope
        if case.incident_id is not None:
            return False
        return case.owner_id == user.id or (case.owner_id is None and _could_claim(user, case))
    if permission == "work":
        return case.owner_id == user.id or user.role is Role.LEAD
    if permission == "dispatch":
        return _dispatches(user, case)
    if permission == "return":
        return case.owner_id == user.id or (case.owner_id is None and _could_claim(user, case))
    if permission == "counter":
        return case.mode is Mode.COUNTER and _dispatches(user, case)
    if permission == "note":
        return user.role in WORKERS
    raise ValueError(f"unknown permission {permission!r}")


def may_log_cases(user: User) -> bool:
    """Station staff, butlers and leads take calls and visits (intake)."""
    return user.role in {Role.STAFF, Role.BUTLER, Role.LEAD}
