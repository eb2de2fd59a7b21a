"""Booked home visits (预约上门服务) by the six on-site teams, and the care register.

A visit takes one of a team's places in a half-day slot of a working day; each team has a capacity
per slot (default 4). Booking counts the slot's visits while holding the team's row (``FOR UPDATE``
on PostgreSQL; SQLite's write lock does the same), so two bookings can never fill a slot past its
capacity. A full slot is refused with the next free slots offered.

Households of the elderly living alone get a care visit every ``CARE_INTERVAL_DAYS`` days:
``schedule_care_visits`` books the missing ones for the coming two weeks and does nothing the second
time it runs (cron calls it daily).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import ClassVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import Conflict, DomainError, access, sailings
from portal.domain.boards import counters
from portal.domain.cases import intake, lifecycle, links, messages, timekeeping
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, replays, unit
from portal.domain.platform.directory import pinyin_index
from portal.domain.platform.text import stored, typed
from portal.extensions import db
from portal.models import (
    ACTIVE_VISITS,
    IN_THE_DAY,
    CalendarDay,
    Case,
    CaseStatus,
    Channel,
    DayKind,
    EventKind,
    FishingSeason,
    Household,
    Mode,
    Place,
    ServiceItem,
    Slot,
    Team,
    User,
    Visit,
    VisitKind,
    VisitStatus,
)

log = logging.getLogger("portal.visits")
CARE_LOCK = 5501  # the first key of the advisory lock that keeps two scheduler runs apart
CARE_ITEM = {"code": "CR01", "category_zh": "便民服务", "category_en": "Convenience services",
             "name_zh": "独居老人定期探访", "name_en": "Regular care visit for the elderly living alone",
             "keywords": "关爱探访 定期走访", "sla_hours": 72}


class SlotFull(DomainError):
    """The slot cannot take the visit; ``alternatives`` are the next free slots."""

    def __init__(self, message, alternatives: list[FreeSlot], field: str = "slot"):
        super().__init__(message, field=field)
        self.alternatives = alternatives


@dataclass(frozen=True)
class FreeSlot:
    day: date
    slot: Slot
    left: int
    after_due: bool = False  # the half-day begins after the case's due time: booking it needs an extension


def interval_days() -> int:
    return int(current_app.config.get("CARE_INTERVAL_DAYS", 30))


# --- slots -------------------------------------------------------------------------------------------

VISIT_WEEKDAYS = (0, 1, 2)  # Monday to Wednesday: the days home visits are offered (fishermen's hours)
EVENING = (time(18, 0), time(20, 30))  # an evening half-day, in the fishing season


def slot_times(team: Team, day: date, slot: Slot) -> tuple[datetime, datetime]:
    """When a slot begins and ends: the first and the last working period of the team's point; the evening's
    fixed hours (``EVENING``)."""
    if slot is Slot.EVENING:
        return (datetime.combine(day, EVENING[0], clock.LOCAL_TZ), datetime.combine(day, EVENING[1], clock.LOCAL_TZ))
    periods = timekeeping.parse_hours(team.service_point.hours if team.service_point else timekeeping.DEFAULT_HOURS)
    start, end = periods[0] if slot is Slot.AM else periods[-1]
    return (datetime.combine(day, start, clock.LOCAL_TZ), datetime.combine(day, end, clock.LOCAL_TZ))


def _booked(team_id: int, day: date, slot: Slot, excluding: int | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(Visit).where(
        Visit.team_id == team_id, Visit.day == day, Visit.slot == slot, Visit.status.in_(ACTIVE_VISITS))
    if excluding is not None:
        query = query.where(Visit.id != excluding)
    return db.session.scalar(query) or 0


def seasons() -> list[tuple[date, date]]:
    """The fishing seasons the administrator set (first and last day), for ``offered``."""
    return [(row.first, row.last) for row in db.session.execute(
        sa.select(FishingSeason.first, FishingSeason.last).where(FishingSeason.active))]


def in_season(day: date, known: list[tuple[date, date]] | None = None) -> bool:
    return any(first <= day <= last for first, last in (seasons() if known is None else known))


def offered(team: Team, day: date, slot: Slot, calendar=None, known: list[tuple[date, date]] | None = None) -> bool:
    """The one rule of which half-days a team visits, for what is offered and what is accepted: Monday to
    Wednesday, mornings and afternoons, on the island's working days (W of the team's calendar: not a holiday,
    not its point closed); in a fishing season (``FishingSeason``), also the evenings of a team that opens them
    (``season_evenings``) and the weekend half-days of a team that opens weekends (``season_weekends``). No
    half-day of a public holiday or of the point's closure is ever offered."""
    if slot is None or day is None:
        return False
    calendar = calendar or timekeeping.calendar_for(team.service_point)
    if calendar.overrides.get(day) is DayKind.HOLIDAY:
        return False
    weekend = day.weekday() >= 5
    if slot is Slot.EVENING:
        return bool(team.season_evenings and (not weekend or team.season_weekends) and in_season(day, known))
    if weekend:
        return bool(team.season_weekends and in_season(day, known))
    return day.weekday() in VISIT_WEEKDAYS and calendar.counts(day, Mode.HOME)


def not_offered(team: Team, day: date, slot: Slot):
    """Why ``offered`` refuses a half-day, in the words a clerk or a resident is told: a public holiday (a day of the
    whole district), the team's point closed (a day of its own: a typhoon), or the rule of the half-days."""
    closed = db.session.execute(sa.select(CalendarDay.service_point_id).where(
        CalendarDay.day == day, CalendarDay.kind == DayKind.HOLIDAY, CalendarDay.active,
        sa.or_(CalendarDay.service_point_id.is_(None), CalendarDay.service_point_id == team.service_point_id))).all()
    if any(row.service_point_id is None for row in closed):
        return _l("%(day)s is a public holiday: the teams do not visit.", day=day.isoformat())
    if closed or (day.weekday() in VISIT_WEEKDAYS and slot is not Slot.EVENING
                  and not timekeeping.calendar_for(team.service_point).counts(day, Mode.HOME)):
        return _l("%(team)s does not visit on %(day)s: its service point is closed that day.", team=team.name_zh,
                  day=day.isoformat())
    return _l("%(team)s does not visit on %(day)s %(slot)s: home visits are Monday to Wednesday, mornings and "
              "afternoons, on the island's working days; evenings and weekends only in the fishing season, for a team "
              "that opens them.", team=team.name_zh, day=day.isoformat(), slot=slot.label)


def _working(team: Team, day: date, calendar=None, known=None) -> bool:
    """Whether the team visits on ``day`` at all (any of its half-days is offered)."""
    calendar = calendar or timekeeping.calendar_for(team.service_point)
    known = seasons() if known is None else known
    return any(offered(team, day, slot, calendar, known) for slot in Slot)


def _household_busy(household_id: int | None, first: date, excluding: int | None = None) -> set[tuple[date, Slot]]:
    """The half-days from ``first`` on in which the household already has a visit (a second one is refused)."""
    if household_id is None:
        return set()
    return {(day, slot) for day, slot in db.session.execute(sa.select(Visit.day, Visit.slot).where(
        Visit.household_id == household_id, Visit.day >= first, Visit.status.in_(ACTIVE_VISITS),
        Visit.id != (excluding or 0)))}


def free_slots(team: Team, start: date, count: int = 6, excluding: int | None = None,
               due: datetime | None = None, household_id: int | None = None) -> list[FreeSlot]:
    """The next ``count`` slots of ``team`` with room, from ``start`` on (working days only), each saying
    whether it begins after ``due`` (the case's due time); with ``household_id``, none in which that household
    already has a visit. What this offers, ``_check_slot`` accepts: the intake form offers these before the
    first submit, and a refusal offers them again, never the half-day just refused."""
    calendar = timekeeping.calendar_for(team.service_point)
    known = seasons()
    found: list[FreeSlot] = []
    day = max(start, clock.today())
    busy = _household_busy(household_id, day, excluding)
    for _ in range(120):
        if _working(team, day, calendar, known):
            for slot in Slot:
                if not offered(team, day, slot, calendar, known):
                    continue
                if day == clock.today() and slot_times(team, day, slot)[1] <= clock.now():
                    continue
                if (day, slot) in busy:
                    continue
                left = team.capacity_per_slot - _booked(team.id, day, slot, excluding)
                if left > 0:
                    late = due is not None and slot_times(team, day, slot)[0] >= due
                    found.append(FreeSlot(day, slot, left, late))
                    if len(found) == count:
                        return found
        day += timedelta(days=1)
    return found


LATEST_DAYS = 366


def _check_slot(team: Team, day: date, slot: Slot, case: Case, excluding: int | None = None) -> None:
    """Refuse a slot in the past, too far ahead, off the team's working days, double-booked, or full.

    The team's row is held first, so that the checks and the booking that follows are one step for
    everyone booking with that team at the same moment.
    """
    if day is None or slot is None:
        raise DomainError(_l("Choose the day and the half-day."), field="day")
    if day > clock.today() + timedelta(days=LATEST_DAYS):
        raise DomainError(_l("Choose a day within the coming year."), field="day")
    db.session.execute(sa.select(Team.id).where(Team.id == team.id).with_for_update())
    if day < clock.today() or (day == clock.today() and slot_times(team, day, slot)[1] <= clock.now()):
        raise SlotFull(_l("That half-day has passed; choose one of the free ones."),
                       free_slots(team, day, excluding=excluding, due=case.due_at, household_id=case.household_id),
                       field="day")
    if not offered(team, day, slot):
        raise SlotFull(not_offered(team, day, slot),
                       free_slots(team, day, excluding=excluding, due=case.due_at, household_id=case.household_id),
                       field="day")
    if (day, slot) in _household_busy(case.household_id, day, excluding):
        raise SlotFull(_l("This household already has a visit in that half-day."),
                       free_slots(team, day, excluding=excluding, due=case.due_at, household_id=case.household_id))
    if _booked(team.id, day, slot, excluding) >= team.capacity_per_slot:
        raise SlotFull(_l("%(team)s is full on %(day)s %(slot)s (%(n)d visits).", team=team.name_zh,
                          day=day.isoformat(), slot=slot.label, n=team.capacity_per_slot),
                       free_slots(team, day, excluding=excluding, due=case.due_at, household_id=case.household_id))


def after_due(visit: Visit) -> bool:
    """Whether the visit's half-day begins after its case is due (the booking warns: ask for an extension)."""
    due = visit.case.due_at
    return due is not None and slot_times(visit.team, visit.day, visit.slot)[0] >= due


def active_visit(case: Case) -> Visit | None:
    return db.session.scalars(sa.select(Visit).where(Visit.case_id == case.id, Visit.status.in_(ACTIVE_VISITS))).first()


def book(case: Case, actor: User | None, day: date, slot: Slot, team: Team | None = None,
         kind: VisitKind = VisitKind.REQUEST, by_resident: bool = False) -> Visit:
    """Book a visit for a home case with the team covering its place (or ``team``); ``by_resident``: the resident
    chose the half-day by the link of their SMS (``book_by_resident``)."""
    if case.mode is not Mode.HOME:
        raise DomainError(_l("Only home-visit cases are booked with a team."))
    if not case.status.is_open:
        raise DomainError(_l("This case is %(status)s; it needs no visit.", status=case.status.label))
    if actor is not None:
        access.require(actor, "visit.book", case, _l("You may not book visits for this case."))
    team = team or case.team
    if team is None:
        raise DomainError(_l("No on-site team covers this place; choose a team."), field="team")
    db.session.execute(sa.select(Case.id).where(Case.id == case.id).with_for_update())  # one booking per case
    if active_visit(case) is not None:
        raise Conflict(_l("This case already has a booked visit; move it instead."))
    _check_slot(team, day, slot, case)
    visit = Visit(case=case, household_id=case.household_id, team=team, day=day, slot=slot, kind=kind,
                  booked_by=actor, booked_at=clock.now(), booked_by_resident=by_resident)
    db.session.add(visit)
    counters.touch(case, clock.now())  # the board of the team it leaves, if any
    case.team = team
    messages.visit_booked(case, day, slot, window=slot_times(team, day, slot))
    label = "resident" if by_resident else "system"  # shown as 居民 / 系统 by portal.cases.timeline
    record_event(case, actor, EventKind.VISIT_BOOKED, public=True, actor_label="" if actor else label,
                 data={"day": day.isoformat(), "slot": slot.value, "team": team.name_zh})
    case.updated_at = clock.now()
    audit.record("book_visit", actor=actor, obj=case, actor_name="" if actor else ("resident" if by_resident else "scheduler"),
                 changes={"visit": (None, f"{team.code} {day} {slot.value}")})
    _commit()
    return visit


def bookable_by_resident(case: Case) -> bool:
    """Whether the link of the case's SMS may still book its visit: an open home case of a team, due later,
    with no visit booked."""
    return (case.mode is Mode.HOME and case.status.is_open and case.team is not None
            and (case.due_at is None or clock.now() < case.due_at) and active_visit(case) is None)


def resident_slots(case: Case, count: int = 8) -> list[FreeSlot]:
    """The team's free half-days a resident may choose: from tomorrow, before the case is due."""
    return [free for free in free_slots(case.team, clock.today() + timedelta(days=1), count, due=case.due_at,
                                        household_id=case.household_id)
            if not free.after_due]


def book_by_resident(case: Case, day: date, slot: Slot) -> Visit:
    """The resident chose the half-day by the link of their SMS: one of the team's free ones before the due time."""
    if not bookable_by_resident(case):
        raise DomainError(_l("This visit can no longer be booked by this link; the service point will call you."))
    if (day, slot) not in {(free.day, free.slot) for free in resident_slots(case, 40)}:
        message = (not_offered(case.team, day, slot) if not offered(case.team, day, slot)
                   else _l("That half-day is not free any more; choose one of the free ones."))
        raise SlotFull(message, resident_slots(case), field="pick")
    return book(case, None, day, slot, by_resident=True)


def offered_at_intake(actor: User, item: ServiceItem | None, household: Household | None,
                      place: Place | None) -> tuple[Team | None, list[FreeSlot]]:
    """The team that would visit a home case being logged, and its free half-days, as the intake form offers them
    before the case exists: the half-days ``log_and_book`` would accept (``free_slots``, the household's own visits
    left out), each saying whether it begins after the case's provisional due time."""
    place = household.place if household is not None else place
    team = intake.team_for(place)
    if team is None:
        return None, []
    due = None
    if item is not None:
        point = intake.responsible_point(Mode.HOME, place, actor)
        due = timekeeping.due_time(item, clock.now(), point, Mode.HOME)
    return team, free_slots(team, clock.today(), due=due, household_id=household.id if household else None)


@unit.transactional
def log_and_book(actor: User, day: date, slot: Slot, *case, **details) -> Case:
    """Log a home case and book its visit at once (the intake form with a day chosen): both are saved, or
    neither. ``case`` and ``details`` are those of ``intake.log_case``."""
    logged = intake.log_case(actor, *case, **details)
    book(logged, actor, day, slot)
    return logged


@unit.transactional
def log_and_offer(actor: User | None, *case, **details) -> Case:
    """Log a case (``intake.log_case``); a home case then tells the resident how its visit will be booked
    (``offer_booking``), in the same transaction."""
    logged = intake.log_case(actor, *case, **details)
    offer_booking(logged)
    return logged


def offer_booking(case: Case) -> None:
    """A home case of a team, logged without its visit: the resident gets the link to choose the half-day only
    when one is free before the case is due and there is a public address to link to; otherwise they are told
    that the service point will call to agree it. Never a link that could not book."""
    if case.mode is not Mode.HOME or case.team is None or not case.status.is_open or active_visit(case) is not None:
        return
    link = links.url(case, "book") if resident_slots(case, 1) else None
    if link is not None:
        messages.book_yourself(case, link)
    else:
        messages.call_to_book(case)


def _commit() -> None:
    """Commit, turning a simultaneous change (a stale version, a second active visit) into a conflict."""
    try:
        unit.end_step()
    except sa.exc.IntegrityError:
        unit.abandon()
        raise Conflict(_l("Someone booked this case at the same moment; look at its visit.")) from None


def move(visit: Visit, actor: User, day: date, slot: Slot, team: Team | None = None,
         version: int | None = None) -> None:
    """A team lead or a lead moves a visit to another team or slot (within capacity)."""
    access.require(actor, "visit.plan", visit, _l("Only the team's lead or a lead moves its visits."))
    if team is not None and team.id != visit.team_id:
        access.require(actor, "team.plan", team, _l("Only the team's lead or a lead moves its visits."))
    if version is not None and visit.version != version:
        raise Conflict(_l("Someone changed this visit meanwhile; look at the calendar again."))
    if visit.status is not VisitStatus.BOOKED:
        raise DomainError(_l("Only a visit not yet started can be moved."))
    team = team or visit.team
    if (team.id, day, slot) == (visit.team_id, visit.day, visit.slot):
        return
    _check_slot(team, day, slot, visit.case, excluding=visit.id)
    old = f"{visit.team.code} {visit.day} {visit.slot.value}"
    counters.touch(visit.case, clock.now())
    visit.team, visit.day, visit.slot = team, day, slot
    visit.case.team, visit.case.updated_at = team, clock.now()  # what the resident is told changed (Open311 says when)
    if visit.kind is VisitKind.CARE and visit.case.status is CaseStatus.LOGGED:  # its limits are its half-day's
        visit.case.sign_due_at, visit.case.due_at = timekeeping.scheduled_limits(slot_times(team, day, slot)[1])
    record_event(visit.case, actor, EventKind.VISIT_MOVED, public=True,
                 data={"day": day.isoformat(), "slot": slot.value, "team": team.name_zh})
    messages.visit_booked(visit.case, day, slot, moved=True, window=slot_times(team, day, slot))
    audit.record("move_visit", actor=actor, obj=visit.case, changes={"visit": (old, f"{team.code} {day} {slot.value}")})
    _commit()


def _member(actor: User, visit: Visit) -> None:
    access.require(actor, "visit.work", visit, _l("Only the visit's team records it."))


def startable(visit: Visit, day: date | None = None) -> bool:
    """A booked visit is started on the day it is booked for (move it to start it on another): today, or, for a
    step sent from a phone's outbox, the day the team acted (``replays.acting_day``)."""
    return visit.status is VisitStatus.BOOKED and visit.day == (day or clock.today())


def startable_tomorrow(visit: Visit) -> bool:
    """A visit booked for tomorrow: its page, kept on a team's phone today, offers its forms from tomorrow on (the
    phone may have no link tomorrow; the step is checked then, against the day it was done on)."""
    return startable(visit, clock.today() + timedelta(days=1))


def start(visit: Visit, actor: User) -> None:
    """The team arrives: the visit is under way (and the case claimed and started for the member)."""
    _member(actor, visit)
    if visit.status is not VisitStatus.BOOKED:
        raise DomainError(_l("This visit is %(status)s.", status=visit.status.label))
    if not startable(visit, replays.acting_day()):
        raise DomainError(_l("This visit is booked for %(day)s; start it on that day, or move it first.",
                             day=visit.day.isoformat()))
    case = visit.case
    if case.status is CaseStatus.LOGGED:
        lifecycle.claim(case, actor)
        db.session.refresh(case)
    if case.status is CaseStatus.CLAIMED and access.can(actor, "case.work", case):
        lifecycle.start(case, actor)
    visit.status, visit.started_at, visit.done_by = VisitStatus.STARTED, clock.now(), actor
    record_event(case, actor, EventKind.VISIT_STARTED)
    audit.record("start_visit", actor=actor, obj=case)
    _commit()


@unit.transactional
def finish(visit: Visit, actor: User, work_done: str, resident_confirmed: str) -> None:
    """Record what was done and what the resident confirmed; the case is resolved. A visit of today finished
    without being started (the start was not pressed, or the phone had no link when it was) starts in the same
    step: the team was at the door."""
    _member(actor, visit)
    if startable(visit, replays.acting_day()):
        start(visit, actor)
    if visit.status is not VisitStatus.STARTED:
        raise DomainError(_l("Start the visit first."))
    work_done = typed(work_done, "work_done", required=_l("Say what was done; the resident sees it."))
    resident_confirmed = typed(resident_confirmed, "resident_confirmed",
                               required=_l("Write what the resident confirmed (or that they signed)."))
    case = visit.case
    visit.status, visit.finished_at, visit.done_by = VisitStatus.DONE, clock.now(), actor
    visit.work_done, visit.resident_confirmed = work_done, resident_confirmed
    confirmed = stored(_l("The resident confirmed: %(what)s", what=resident_confirmed))
    lifecycle.resolve(case, actor, f"{work_done}\n{confirmed}")


@unit.transactional
def hand_off(visit: Visit, actor: User, item: ServiceItem, description: str) -> Case:
    """A visit uncovered something a higher office must approve: log it as an errand for the
    hamlet's proxy, linked to the visit's case."""
    _member(actor, visit)
    if item is None or not item.active or item.mode is not Mode.ERRAND:
        raise DomainError(_l("Choose an errand item (one that a proxy carries off the island)."), field="item")
    case = visit.case
    errand = intake.log_case(
        actor, item, Channel.VISIT, description or stored(_l("Found on a home visit")), case.requester_name,
        case.requester_phone, household=case.household, resident=case.resident, place=case.place,
        point=intake.responsible_point(Mode.ERRAND, case.place, actor) or case.service_point, origin=case,
    )
    record_event(case, actor, EventKind.HANDED_OFF, data={"errand": errand.number})
    audit.record("hand_off", actor=actor, obj=case, changes={"errand": (None, errand.number)})
    _commit()
    return errand


# --- the team's phone and the lead's calendar ------------------------------------------------------------

def remind_tomorrow(today: date | None = None) -> int:
    """Tell each resident whose visit is tomorrow when the team comes (once a visit: safe to run again; the
    sweep runs it); not of a visit that cannot take place that day (``to_rebook``: it is moved, and the resident
    told the new day). Returns how many reminders were written."""
    tomorrow = (today or clock.today()) + timedelta(days=1)
    why_not = obstacles(tomorrow, tomorrow)
    written = 0
    for visit in db.session.scalars(sa.select(Visit).where(Visit.day == tomorrow, Visit.status == VisitStatus.BOOKED)
                                    .options(joinedload(Visit.case), joinedload(Visit.team)
                                             .joinedload(Team.service_point))):
        if why_not(visit) is None:
            written += messages.visit_tomorrow(visit.case, visit, tomorrow, visit.slot, visit_window(visit))
    unit.end_step()
    return written


def for_team(team_id: int, first: date, last: date) -> list[Visit]:
    """A team's visits between two days, by day, slot and place."""
    return list(db.session.scalars(
        sa.select(Visit).join(Visit.case).outerjoin(Place, Place.id == Case.place_id)
        .where(Visit.team_id == team_id, Visit.day >= first, Visit.day <= last,
               Visit.status != VisitStatus.CANCELLED)
        .options(joinedload(Visit.case).joinedload(Case.item), joinedload(Visit.case).joinedload(Case.place))
        .order_by(Visit.day, IN_THE_DAY, Place.code, Case.address)
    ))


def week(monday: date, team_id: int | None = None) -> tuple[list[Team], dict[tuple[int, date, Slot], list[Visit]]]:
    """The teams' visits of the week starting ``monday``, by (team, day, slot): all teams for a lead,
    one team for its team lead."""
    team_query = sa.select(Team).where(Team.active).order_by(Team.code)
    if team_id is not None:
        team_query = team_query.where(Team.id == team_id)
    teams = list(db.session.scalars(team_query))
    visits = db.session.scalars(
        sa.select(Visit).where(Visit.day >= monday, Visit.day < monday + timedelta(days=7),
                               Visit.status != VisitStatus.CANCELLED, Visit.team_id.in_([t.id for t in teams]))
        .options(joinedload(Visit.case).joinedload(Case.place), joinedload(Visit.case).joinedload(Case.item))
        .order_by(Visit.id)
    ).all()
    grid: dict[tuple[int, date, Slot], list[Visit]] = {}
    for visit in visits:
        grid.setdefault((visit.team_id, visit.day, visit.slot), []).append(visit)
    return teams, grid


def closed_days(teams: list[Team], days: list[date]) -> set[tuple[int, date]]:
    """The (team, day) pairs of ``days`` on which a team does not visit: off-island days, rest days,
    holidays, its point closed."""
    known = seasons()
    closed = set()
    for team in teams:
        calendar = timekeeping.calendar_for(team.service_point)
        closed |= {(team.id, day) for day in days if not _working(team, day, calendar, known)}
    return closed


def closed_half_days(teams: list[Team], days: list[date]) -> set[tuple[int, date, Slot]]:
    """The (team, day, half-day) triples of ``days`` that a team does not offer (``offered``)."""
    known = seasons()
    closed = set()
    for team in teams:
        calendar = timekeeping.calendar_for(team.service_point)
        closed |= {(team.id, day, slot) for day in days for slot in Slot
                   if not offered(team, day, slot, calendar, known)}
    return closed


@dataclass(frozen=True)
class Rebooking:
    """A booked visit that cannot take place on its day, and why: its team no longer visits that half-day
    (``TEAM_AWAY``: the day became a holiday, the point closed, the fishing season or the team's evenings ended), or
    the sailing of its day was cancelled and its team comes by boat (``NO_BOAT``, ``sailings.needs_boat``)."""

    TEAM_AWAY: ClassVar[str] = "team_away"
    NO_BOAT: ClassVar[str] = "no_boat"

    visit: Visit
    reason: str


def obstacles(first: date, last: date) -> Callable[[Visit], str | None]:
    """Why a booked visit between two days cannot take place on its day (a ``Rebooking`` reason), or None."""
    known = seasons()
    no_boat = set(sailings.lost_days(first, last))
    calendars: dict[int, timekeeping.WorkCalendar] = {}

    def why_not(visit: Visit) -> str | None:
        if visit.team_id not in calendars:
            calendars[visit.team_id] = timekeeping.calendar_for(visit.team.service_point)
        if not offered(visit.team, visit.day, visit.slot, calendars[visit.team_id], known):
            return Rebooking.TEAM_AWAY
        if visit.day in no_boat and sailings.needs_boat(visit):
            return Rebooking.NO_BOAT
        return None
    return why_not


def to_rebook(team_id: int | None = None) -> list[Rebooking]:
    """Visits booked from today on that must be moved (``Rebooking``), every one of them (of one team, when given),
    and their residents told when they are."""
    why_not = obstacles(clock.today(), clock.today() + timedelta(days=timekeeping.HORIZON_DAYS))
    query = sa.select(Visit).where(Visit.status == VisitStatus.BOOKED, Visit.day >= clock.today())
    if team_id is not None:
        query = query.where(Visit.team_id == team_id)
    found = []
    for visit in db.session.scalars(
            query
            .options(joinedload(Visit.case).joinedload(Case.service_point),
                     joinedload(Visit.team).joinedload(Team.service_point))
            .order_by(Visit.day, IN_THE_DAY, Visit.id)):
        if (reason := why_not(visit)) is not None:
            found.append(Rebooking(visit, reason))
    return found


def overdue(team_id: int | None = None, limit: int = 100) -> list[Visit]:
    """Visits whose day has passed and which were not done (of one team, when given)."""
    query = sa.select(Visit).where(Visit.status.in_(ACTIVE_VISITS), Visit.day < clock.today())
    if team_id is not None:
        query = query.where(Visit.team_id == team_id)
    return list(db.session.scalars(
        query.options(joinedload(Visit.case), joinedload(Visit.team)).order_by(Visit.day).limit(limit)))


# --- the care register and regular care visits ---------------------------------------------------------------

@dataclass
class RegisterRow:
    household: Household
    last_visit: date | None
    next_visit: Visit | None


def care_register(place_ids: list[int]) -> list[RegisterRow]:
    """Households that need service at home, in these places, with their last and next visit."""
    households = db.session.scalars(
        sa.select(Household).where(
            Household.active, Household.place_id.in_(place_ids),
            sa.or_(Household.elderly_alone, Household.disabled, Household.bedridden, Household.busy_in_season))
        .options(joinedload(Household.place), sa.orm.selectinload(Household.residents))
        .order_by(Household.place_id, Household.code)
    ).unique().all()
    ids = [h.id for h in households]
    last = dict(db.session.execute(
        sa.select(Visit.household_id, sa.func.max(Visit.day)).where(
            Visit.household_id.in_(ids), Visit.status == VisitStatus.DONE).group_by(Visit.household_id)
    ).all()) if ids else {}
    upcoming: dict[int, Visit] = {}
    if ids:
        for visit in db.session.scalars(
            sa.select(Visit).where(Visit.household_id.in_(ids), Visit.status.in_(ACTIVE_VISITS))
            .order_by(Visit.day.desc(), IN_THE_DAY.desc())
        ):
            upcoming[visit.household_id] = visit  # the earliest wins, written last
    return [RegisterRow(h, last.get(h.id), upcoming.get(h.id)) for h in households]


def care_item() -> ServiceItem:
    """The catalog item of regular care visits, added to the catalog the first time it is needed."""
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code=CARE_ITEM["code"])).first()
    if item is None:
        item = ServiceItem(mode=Mode.HOME, needs_approval=False,
                           pinyin=pinyin_index(CARE_ITEM["name_zh"], CARE_ITEM["keywords"]), **CARE_ITEM)
        db.session.add(item)
        db.session.flush()
        audit.record("create", obj=item, actor_name="scheduler", changes={"code": (None, item.code)})
    return item


def schedule_care_visits(today: date | None = None, horizon_days: int = 14) -> list[str]:
    """Book the care visits that households of the elderly living alone are due in the coming two
    weeks; a household with a visit booked, or visited within the interval, is left alone."""
    today = today or clock.today()
    every = interval_days()
    item = care_item()
    households = db.session.scalars(
        sa.select(Household).where(Household.active, Household.elderly_alone)
        .options(joinedload(Household.place), sa.orm.selectinload(Household.residents)).order_by(Household.id)
    ).unique().all()
    ids = [h.id for h in households]
    last_done = dict(db.session.execute(
        sa.select(Visit.household_id, sa.func.max(Visit.day)).where(
            Visit.household_id.in_(ids), Visit.status == VisitStatus.DONE).group_by(Visit.household_id)
    ).all()) if ids else {}
    booked = set(db.session.scalars(
        sa.select(Visit.household_id).where(Visit.household_id.in_(ids), Visit.status.in_(ACTIVE_VISITS))
    )) if ids else set()
    created = []
    for household in households:
        if household.id in booked:
            continue
        due = (last_done[household.id] + timedelta(days=every)) if household.id in last_done else today
        if due > today + timedelta(days=horizon_days):
            continue
        try:
            number = _care_visit(household, item, max(due, today), today + timedelta(days=horizon_days))
        except DomainError as error:  # one household that cannot be booked never stops the others
            log.warning("care visit for household %s not booked: %s", household.code, error.message)
            continue
        if number:
            created.append(number)
    return created


@unit.transactional
def _care_visit(household: Household, item: ServiceItem, start: date, last: date) -> str | None:
    """Book one household's care visit in a transaction of its own, unless a run alongside did."""
    if db.session.get_bind().dialect.name == "postgresql":  # SQLite's write lock already serialises runs
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(CARE_LOCK, household.id)))
    if db.session.scalar(sa.select(Visit.id).where(Visit.household_id == household.id,
                                                   Visit.status.in_(ACTIVE_VISITS))) is not None:
        return None
    team = intake.team_for(household.place)
    if team is None:
        return None
    slots = free_slots(team, start)
    if not slots or slots[0].day > last:
        return None
    resident = household.residents[0] if household.residents else None
    case = intake.log_case(
        None, item, Channel.VISIT, stored(_l("Regular care visit")), resident.name if resident else household.address,
        household.phone or (resident.phone if resident else "") or "", household=household, resident=resident,
        actor_label="care-schedule", point=intake.responsible_point(Mode.HOME, household.place, None),
        phone_optional=True, proactive=True, receipt=False,
    )
    # Logged now for a half-day up to two weeks ahead: its time runs to that half-day, not from today (the resident,
    # told only the day the team comes, is never told a due time before it); moving the visit moves them.
    case.sign_due_at, case.due_at = timekeeping.scheduled_limits(slot_times(team, slots[0].day, slots[0].slot)[1])
    book(case, None, slots[0].day, slots[0].slot, team, kind=VisitKind.CARE)
    _commit()
    return case.number


def renew_feed_token(team: Team, actor: User) -> str:
    """Give a team's calendar feed a new secret address and return its token (shown only now, only its hash
    is kept); the old address stops working."""
    access.require(actor, "team.plan", team)
    token = secrets.token_urlsafe(32)
    team.calendar_token_hash = _feed_hash(token)
    audit.record("calendar_token", actor=actor, obj=team, changes={"calendar_token": ("***", "***")})
    unit.end_step()
    return token


def _feed_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def team_of_feed(code: str, token: str) -> Team | None:
    """The team whose calendar feed address this is, unless the token is wrong or was renewed."""
    team = db.session.scalars(sa.select(Team).filter_by(code=code)).first()
    if team is None or not team.calendar_token_hash or not token or len(token) > 100:
        return None
    return team if hmac.compare_digest(_feed_hash(token), team.calendar_token_hash) else None


def visit_window(visit: Visit) -> tuple[datetime, datetime]:
    return slot_times(visit.team, visit.day, visit.slot)

