"""The island's programme in the demo (issue 35.1, 35.4): the administration's offices (科室) with the island's
staff in them, four weeks of their "3+2" days with a week where someone fell short (and an office too), a
fishing season in which team 1 visits a fisherman's household in the evening, and (issue 35.2) the next off-island
day's sailing cancelled for fog by the centre's head: the errands across it move, the manifest goes with the next
sailing."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from portal import clock
from portal.domain import attendance, sailings, visits
from portal.domain.cases import intake, timekeeping
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import (
    Attendance,
    AttendanceKind,
    Channel,
    FishingSeason,
    Household,
    Office,
    SailingReason,
    ServiceItem,
    Slot,
    Team,
    User,
)

OFFICES = [("MZ", "民政办", "Civil affairs office"), ("SB", "社保所", "Social security office"),
           ("WT", "文体站", "Culture and sports station"), ("TY", "退役军人服务站", "Veterans' service station"),
           ("GJ", "规划建设办", "Planning and construction office"), ("DQ", "党群服务中心", "Party-building service centre")]
WEEKS = 4  # weeks of days recorded, the last one the week before this


def load_island_programme() -> None:
    """Offices, the staff's days of the last four weeks, the fishing season and an evening visit."""
    offices = [Office(code=code, name_zh=zh, name_en=en) for code, zh, en in OFFICES]
    db.session.add_all(offices)
    db.session.flush()
    people = attendance.staff()
    for index, user in enumerate(sorted(people, key=lambda u: u.username)):
        user.office = offices[index % len(offices)]
    db.session.flush()
    _days(sorted(people, key=lambda u: u.username))
    _evening_visit()
    unit.end_step()
    _cancelled_sailing()


def _days(people: list[User]) -> None:
    """Mondays to Wednesdays on the island, Thursdays and Fridays off it, over the last four weeks; in the week
    before this one, 文体站 is on the island two days only (both its people missed Tuesday) and one of 社保所's
    people was on the island on Monday alone (Wednesday on leave, Tuesday not recorded)."""
    this_monday = attendance.monday_of(clock.today())
    last_monday = this_monday - timedelta(days=7)
    sports = {u.id for u in people if u.office and u.office.code == "WT"}
    social = [u for u in people if u.office and u.office.code == "SB"][:1]
    rows = []
    for user in people:
        for week in range(WEEKS, 0, -1):
            monday = this_monday - timedelta(days=7 * week)
            for day in (monday + timedelta(days=n) for n in range(5)):
                letter = attendance.kind_of_day(user, day)
                if letter == "R":
                    continue
                kind = AttendanceKind.ON_ISLAND if letter == "W" else AttendanceKind.OFF_ISLAND
                if monday == last_monday and user.id in sports and day == monday + timedelta(days=1):
                    continue
                if monday == last_monday and user in social and day in (monday + timedelta(days=1),
                                                                       monday + timedelta(days=2)):
                    if day == monday + timedelta(days=1):
                        continue
                    kind = AttendanceKind.LEAVE
                rows.append(Attendance(user_id=user.id, day=day, kind=kind,
                                       recorded_at=clock.local_midnight(day) + timedelta(hours=8, minutes=40)))
    db.session.add_all(rows)
    db.session.flush()


def _evening_visit() -> None:
    """A fishing season around today; team 1 opens its evenings and weekends, and visits a fisherman's
    household (busy in the season) in the evening of the next day it offers one."""
    today = clock.today()
    db.session.add(FishingSeason(name="秋冬渔汛", first=date(today.year, 9, 1) if today.month >= 9 else
                                 today - timedelta(days=60), last=today + timedelta(days=60)))
    team = db.session.scalars(sa.select(Team).filter_by(code="T1")).one()
    team.season_evenings = team.season_weekends = True
    db.session.flush()
    household = db.session.scalars(sa.select(Household).where(
        Household.busy_in_season, Household.place_id.in_([p.id for p in team.places])).order_by(Household.id)).first()
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code="SS04")).first()
    clerk = db.session.scalars(sa.select(User).filter_by(username="staff-ls-c")).first()
    if household is None or item is None or clerk is None:
        return
    evening = next((free for free in visits.free_slots(team, today + timedelta(days=1), 12)
                    if free.slot is Slot.EVENING), None)
    if evening is None:
        return
    resident = household.residents[0] if household.residents else None
    case = intake.log_case(clerk, item, Channel.PHONE, "渔民白天出海，约渔季晚上上门办理",
                           resident.name if resident else household.address, household.phone or "13800000000",
                           household=household, resident=resident,
                           point=intake.responsible_point(item.mode, household.place, clerk))
    visits.book(case, clerk, evening.day, Slot.EVENING, team)


def _cancelled_sailing() -> None:
    """The centre's head marks the next off-island day 停航 for fog, as the service does (sailings.cancel): the open
    errands whose time limit runs across it move by the day lost, each saying so on its timeline."""
    head = db.session.scalars(sa.select(User).filter_by(username="head-ls-c")).first()
    point = head.service_point if head else None
    day = timekeeping.next_off_island_day(point) if point else None
    if day is None or day > clock.today() + timedelta(days=sailings.AHEAD_DAYS):
        return
    sailings.cancel(head, day, SailingReason.FOG, "")
