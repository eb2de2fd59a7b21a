"""Who may see and act on a case.

Staff see their service point's cases and their places' cases; proxies the errands of their places; team
members their team's cases; butlers their estates; a lead the cases of their places and point (a district
lead, and the administrator, every case). Everyone also sees the cases they own or logged. Each rule is
written twice, as an SQL condition (lists, searches, exports, counts) and as a test on one loaded case
(pages, actions); tests/test_access.py checks that the two agree.

A read refused here answers 404 (the case might as well not exist) and is audited.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal.domain import NotFound
from portal.domain.access.people import WORKERS, above, place_ids, sees_everything
from portal.domain.access.policy import refuse_read, require, rule
from portal.domain.platform import audit
from portal.extensions import db
from portal.models import Attachment, Case, CaseStatus, Mode, Place, PointKind, Role, User, user_places

LOGGERS = frozenset({Role.STAFF, Role.BUTLER, Role.LEAD})


def _in_places(user: User):
    ids = place_ids(user)
    return Case.place_id.in_(ids) if ids else sa.false()


def _at_point(user: User):
    return Case.service_point_id == user.service_point_id if user.service_point_id else sa.false()


def _team(user: User):
    return Case.team_id == user.team_id if user.team_id else sa.false()


# A home case booked with a team belongs to the team: only its members sign for it and work it (leads may
# still step in to work it, as on any case they see).
_TEAMS_CASE = sa.and_(Case.mode == Mode.HOME, Case.team_id.is_not(None))


def _teams_case(case: Case) -> bool:
    return case.mode is Mode.HOME and case.team_id is not None


def _team_member(user: User, case: Case) -> bool:
    return user.role is Role.TEAM and user.team_id is not None and case.team_id == user.team_id


# --- seeing cases ------------------------------------------------------------------------------------

def case_scope(user: User) -> sa.ColumnElement[bool]:
    """The SQL condition for the cases ``user`` may see."""
    if sees_everything(user):
        return sa.true()
    mine = Case.owner_id == user.id
    logged = Case.created_by_id == user.id
    if user.role in (Role.STAFF, Role.LEAD):
        return sa.or_(_at_point(user), _in_places(user), mine, logged)
    if user.role is Role.PROXY:
        return sa.or_(sa.and_(Case.mode == Mode.ERRAND, _in_places(user)), mine)
    if user.role is Role.TEAM:
        return sa.or_(_team(user), mine)
    if user.role is Role.BUTLER:  # butlers also log cases (the heating hotline), and see what they logged
        return sa.or_(_in_places(user), mine, logged)
    return sa.false()


@rule("case.view", Case, sql=case_scope, reads=True)
def can_view(user: User, case: Case) -> bool:
    """Whether ``user`` may see ``case`` (the same rule as ``case_scope``)."""
    if case.owner_id == user.id or _in_scope(user, case):
        return True
    # Those who log cases also see what they logged (a butler's hotline call routed to the duty person).
    return user.role in (Role.STAFF, Role.LEAD, Role.BUTLER) and case.created_by_id == user.id


def load_case(number: str, user: User, options=()) -> Case:
    """Return the case with this number if ``user`` may see it; otherwise audit and raise NotFound."""
    case = db.session.scalars(sa.select(Case).where(Case.number == number).options(*options)).first()
    if case is None:
        raise NotFound(_l("There is no case %(number)s.", number=number))
    if not can_view(user, case):
        refuse_read(user, case)
    return case


# --- claiming and acting -----------------------------------------------------------------------------

def claim_scope(user: User) -> sa.ColumnElement[bool]:
    """The SQL condition for the cases ``user`` could sign for (签收) if they were waiting."""
    if user.role is Role.PROXY:
        return sa.and_(Case.mode == Mode.ERRAND, _in_places(user))
    if user.role is Role.TEAM:
        return _team(user)
    if user.role is Role.LEAD:
        scope = sa.true() if sees_everything(user) else sa.or_(_at_point(user), _in_places(user))
    elif user.role is Role.STAFF:
        scope = _at_point(user)
    elif user.role is Role.BUTLER:
        scope = _in_places(user)
    else:
        return sa.false()
    return sa.and_(scope, sa.not_(_TEAMS_CASE))


def claimable_halves(user: User) -> tuple[sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """``claimable`` in its two halves, which no case is in both of: the waiting cases assigned to ``user``
    (one look-up of the owner's index), and the unassigned ones of their claim scope (one look-up of the
    places' or the point's index). A list reads them as a UNION ALL of the two; as one OR, the planners walk
    every waiting case of the district instead."""
    waiting = (Case.status == CaseStatus.LOGGED,
               Case.incident_id.is_(None))  # calls linked to an estate incident are resolved with it
    return (sa.and_(Case.owner_id == user.id, *waiting),
            sa.and_(Case.owner_id.is_(None), claim_scope(user), *waiting))


def claimable(user: User) -> sa.ColumnElement[bool]:
    """Cases waiting to be signed for that ``user`` may sign for now: assigned to them, or unassigned
    and in their claim scope (the OR of ``claimable_halves``, for counts and single cases)."""
    return sa.or_(*claimable_halves(user))


def _could_claim(user: User, case: Case) -> bool:
    if user.role is Role.TEAM:
        return _team_member(user, case)
    if _teams_case(case):
        return False
    if user.role is Role.LEAD:
        return can_view(user, case)
    if user.role is Role.STAFF:
        return user.service_point_id is not None and case.service_point_id == user.service_point_id
    if user.role is Role.PROXY:
        return case.mode is Mode.ERRAND and case.place_id in place_ids(user)
    if user.role is Role.BUTLER:
        return case.place_id in place_ids(user)
    return False


@rule("case.claim", Case, sql=claimable)
def may_claim(user: User, case: Case) -> bool:
    """Sign for a waiting case that is theirs to take (or was assigned to them, whatever their scope)."""
    if case.status is not CaseStatus.LOGGED or case.incident_id is not None or not can_view(user, case):
        return False
    return case.owner_id == user.id or (case.owner_id is None and _could_claim(user, case))


def _dispatches(user: User, case: Case) -> bool:
    """Station staff of the case's point, and leads, route and follow up cases."""
    return user.role is Role.LEAD or (
        user.role is Role.STAFF and user.service_point_id is not None
        and case.service_point_id == user.service_point_id
    )


def work_scope(user: User) -> sa.ColumnElement[bool]:
    """``may_work`` as an SQL condition: the cases ``user`` works now."""
    if user.role is Role.LEAD:
        return case_scope(user)
    mine = Case.owner_id == user.id
    if user.role is Role.TEAM:
        return sa.or_(mine, sa.and_(_TEAMS_CASE, _team(user)))
    return sa.and_(mine, case_scope(user))


@rule("case.work", Case, sql=work_scope)
def may_work(user: User, case: Case) -> bool:
    """Work a case they own (start, send off, record the office's answer, resolve); leads may step in; a
    team's home case is worked by any member of the team (one starts the visit, another may finish it)."""
    return can_view(user, case) and (
        case.owner_id == user.id or user.role is Role.LEAD or (_teams_case(case) and _team_member(user, case)))


def _at_hall(user: User) -> bool:
    """Staff of the off-island service hall: they receive the errands a proxy hands in for the offices on the
    mainland and chase the offices' answers, for the places they cover (the island)."""
    return user.role is Role.STAFF and user.service_point is not None and \
        user.service_point.kind is PointKind.OFFSHORE_HALL


def office_scope(user: User) -> sa.ColumnElement[bool]:
    """``may_record_office_answer`` as an SQL condition (the hall's queue)."""
    if not _at_hall(user):
        return work_scope(user)
    return sa.or_(work_scope(user), sa.and_(Case.mode == Mode.ERRAND, Case.status == CaseStatus.AWAITING_OFFICE,
                                            _in_places(user)))


@rule("case.office_answer", Case, sql=office_scope)
def may_record_office_answer(user: User, case: Case) -> bool:
    """Record what the office on the mainland answered (and take back the documents it held): whoever works
    the errand, and the off-island hall's staff for the errands of their places that wait for an answer."""
    return may_work(user, case) or (
        _at_hall(user) and case.mode is Mode.ERRAND and case.status is CaseStatus.AWAITING_OFFICE
        and case.place_id in place_ids(user))


def dispatch_scope(user: User) -> sa.ColumnElement[bool]:
    """``may_dispatch`` as an SQL condition: the cases ``user`` routes and follows up (calls back)."""
    if user.role is Role.LEAD:
        return case_scope(user)
    return _at_point(user) if user.role is Role.STAFF else sa.false()


@rule("case.dispatch", Case, sql=dispatch_scope)
def may_dispatch(user: User, case: Case) -> bool:
    """Assign, transfer, merge, cancel, reopen, call back: staff of the case's point, leads."""
    return can_view(user, case) and _dispatches(user, case)


@rule("case.return", Case)
def may_return(user: User, case: Case) -> bool:
    """Give back a case that is not theirs to handle: its owner, or one who could claim it."""
    return can_view(user, case) and (
        case.owner_id == user.id or (case.owner_id is None and _could_claim(user, case)))


@rule("case.counter", Case)
def may_finish_at_counter(user: User, case: Case) -> bool:
    """Finish a counter item on the spot: staff of the case's point, leads."""
    return case.mode is Mode.COUNTER and may_dispatch(user, case)


@rule("case.note", Case)
def may_note(user: User, case: Case) -> bool:
    """Add a note: anyone who works cases and may see this one."""
    return user.role in WORKERS and can_view(user, case)


@rule("case.edit", Case)
def may_edit(user: User, case: Case) -> bool:
    """Correct the details of an open case: its worker or its dispatcher."""
    return case.status.is_open and (may_work(user, case) or may_dispatch(user, case))


@rule("case.reveal_id", Case)
def may_reveal_id(user: User, case: Case) -> bool:
    """See the requester's full ID number (on a click that is audited): those who work the case's kind."""
    return user.role in WORKERS and can_view(user, case)


def reveal_id_number(user: User, case: Case) -> str:
    """The requester's full ID number, for a click that asks for it; who saw it is written down."""
    require(user, "case.reveal_id", case)
    audit.record_alone("reveal", actor=user, object_type="residents", object_id=case.resident_id,
                       reason=f"id_number on {case.number}")
    db.session.expire_all()
    return case.resident.id_number


@rule("case.log")
def may_log_cases(user: User) -> bool:
    """Station staff, butlers and leads take calls and visits (intake)."""
    return user.role in LOGGERS


@rule("case.finish_at_intake")
def may_finish_at_intake(user: User) -> bool:
    """Log a counter item and finish it while the resident waits: the counter's staff, leads."""
    return user.role in (Role.STAFF, Role.LEAD)


@rule("case.todo")
def has_todo(user: User) -> bool:
    """Has cases to sign for and work (a badge in the header)."""
    return user.role in WORKERS


# --- who a case may be given to --------------------------------------------------------------------------

def _in_scope(user: User, case: Case) -> bool:
    """Whether the case lies in the user's own scope (their point, places or team), owned by them or not."""
    if sees_everything(user):
        return True
    in_places = case.place_id in place_ids(user)
    if user.role in (Role.STAFF, Role.LEAD):
        return (user.service_point_id is not None and case.service_point_id == user.service_point_id) or in_places
    if user.role is Role.PROXY:
        return case.mode is Mode.ERRAND and in_places
    if user.role is Role.TEAM:
        return user.team_id is not None and case.team_id == user.team_id
    if user.role is Role.BUTLER:
        return in_places
    return False


def may_be_given(person: User, case: Case) -> bool:
    """Whether a case may be assigned, transferred or entrusted (督办) to ``person``: an active worker whose
    own scope holds it."""
    return person.active and person.role in WORKERS and _in_scope(person, case)


def takers(case: Case) -> sa.ColumnElement[bool]:
    """``may_be_given`` as an SQL condition on users, for the lists of people to choose from."""
    in_place = (User.id.in_(sa.select(user_places.c.user_id).where(user_places.c.place_id.in_(above([case.place_id]))))
                if case.place_id is not None else sa.false())
    district_lead = sa.and_(User.role == Role.LEAD, User.id.not_in(sa.select(user_places.c.user_id)))
    return sa.and_(User.active, User.role.in_(WORKERS), sa.or_(
        district_lead,
        sa.and_(User.role.in_([Role.STAFF, Role.LEAD]), sa.or_(User.service_point_id == case.service_point_id,
                                                               in_place)),
        sa.and_(User.role == Role.PROXY, in_place) if case.mode is Mode.ERRAND else sa.false(),
        sa.and_(User.role == Role.TEAM, User.team_id == case.team_id) if case.team_id else sa.false(),
        sa.and_(User.role == Role.BUTLER, in_place),
    ))


def who_may_take(case: Case) -> list[User]:
    """The people a case could be assigned or transferred to (``takers``), by role and name."""
    return list(db.session.scalars(sa.select(User).where(takers(case)).order_by(User.role, User.display_name)))


def place_choices(user: User) -> sa.ColumnElement[bool]:
    """The places a queue may be filtered by: those the user covers (every place below the top, for those
    who see everything)."""
    if sees_everything(user):
        return Place.parent_id.is_not(None)
    ids = place_ids(user)
    return Place.id.in_(ids) if ids else sa.false()


# --- photos and files ---------------------------------------------------------------------------------

@rule("attachment.view", Attachment, reads=True)
def may_see_file(user: User, attachment: Attachment) -> bool:
    """A case's photo or file: whoever may see the case."""
    return can_view(user, attachment.case)


@rule("case.attach", Case)
def may_attach(user: User, case: Case) -> bool:
    """Add a photo or file to a case: whoever works or dispatches it."""
    return may_work(user, case) or may_dispatch(user, case)
