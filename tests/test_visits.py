"""Home visits: slot capacity, double-booking, moving, the care schedule, the calendar feed."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from icalendar import Calendar

from portal.domain import Conflict, DomainError, Forbidden, NotFound, access, visits
from portal.domain.cases import lifecycle
from portal.extensions import db
from portal.models import (
    Case,
    CaseEvent,
    CaseStatus,
    EventKind,
    FishingSeason,
    Household,
    Slot,
    Visit,
    VisitKind,
    VisitStatus,
)
from tests.stories import log

MONDAY = date(2026, 11, 30)


def _home_case(w, address=None, make=None):
    household = w.household
    if address:
        household = make.household(w.h01, address=address, phone="13600000000")
    return log(w, w.home_item, household=household)


def test_a_visit_goes_to_the_team_covering_the_place(home):
    case = _home_case(home)
    visit = visits.book(case, home.staff, MONDAY, Slot.AM)
    assert visit.team_id == home.t1.id and visit.status is VisitStatus.BOOKED
    assert db.session.scalars(sa.select(Case.team_id).where(Case.id == case.id)).one() == home.t1.id


def test_a_full_slot_is_refused_with_the_next_free_slots(home, make):
    for n in range(2):
        visits.book(_home_case(home, f"东岙{n + 20}号", make), home.staff, MONDAY, Slot.AM)
    third = _home_case(home, "东岙30号", make)
    with pytest.raises(visits.SlotFull) as full:
        visits.book(third, home.staff, MONDAY, Slot.AM)
    assert str(full.value.message) == "第一上门服务队 2026-11-30 上午已约满（2 户）。"
    assert (full.value.alternatives[0].day, full.value.alternatives[0].slot) == (MONDAY, Slot.PM)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 2


def test_off_island_days_weekends_and_the_past_are_refused(home):
    case = _home_case(home)
    offered = {date(2026, 12, 3): date(2026, 12, 7),  # a Thursday off the island: the Monday after
               date(2026, 11, 28): MONDAY,            # a Saturday
               date(2026, 11, 26): MONDAY}            # yesterday: the first working day from today
    for day, first_free in offered.items():
        with pytest.raises(visits.SlotFull) as refused:
            visits.book(case, home.staff, day, Slot.AM)
        assert refused.value.alternatives[0].day == first_free


def test_a_household_is_not_booked_twice_in_one_half_day(home):
    first = _home_case(home)
    visits.book(first, home.staff, MONDAY, Slot.AM)
    second = log(home, home.home_item)  # the same household, another request
    with pytest.raises(visits.SlotFull):
        visits.book(second, home.staff, MONDAY, Slot.AM)
    with pytest.raises(Conflict):
        visits.book(first, home.staff, MONDAY, Slot.PM)  # a case has one visit at a time
    visits.book(second, home.staff, MONDAY, Slot.PM)


def test_moving_a_visit_checks_capacity_and_who_moves(home, make):
    a = visits.book(_home_case(home, "东岙40号", make), home.staff, MONDAY, Slot.AM)
    b = visits.book(_home_case(home, "东岙41号", make), home.staff, MONDAY, Slot.PM)
    visits.book(_home_case(home, "东岙42号", make), home.staff, MONDAY, Slot.PM)
    with pytest.raises(Forbidden):
        visits.move(a, home.member, MONDAY, Slot.PM)
    with pytest.raises(visits.SlotFull):
        visits.move(a, home.lead_member, MONDAY, Slot.PM)
    visits.move(b, home.lead_member, MONDAY, Slot.AM)  # two in the morning now: full, but b fits (a and b)
    assert (b.day, b.slot) == (MONDAY, Slot.AM)
    with pytest.raises(Conflict):
        visits.move(a, home.lead_member, MONDAY + timedelta(days=1), Slot.AM, version=a.version - 1)


def _arrive(monkeypatch, day):
    """Move the clock to ten in the morning of ``day``, when the team knocks."""
    from portal import clock

    monkeypatch.setattr(clock, "today", lambda: day)
    monkeypatch.setattr(clock, "now", lambda: clock.local_midnight(day) + timedelta(hours=10))


def test_the_team_starts_and_finishes_a_visit_and_the_case_is_resolved(home, monkeypatch):
    case = _home_case(home)
    visit = visits.book(case, home.staff, MONDAY, Slot.AM)
    _arrive(monkeypatch, MONDAY)
    with pytest.raises(NotFound):  # not theirs to see at all
        visits.start(visit, home.proxy)
    visits.start(visit, home.member)
    assert visit.status is VisitStatus.STARTED and case.owner_id == home.member.id
    with pytest.raises(DomainError) as raised:
        visits.finish(visit, home.member, "已完成资格认证", "")
    assert raised.value.field == "resident_confirmed"
    with force_locale("en"):  # a member who works in English: the resident still reads the timeline in Chinese
        visits.finish(visit, home.member, "已完成资格认证", "老人本人确认并签字")
    assert visit.status is VisitStatus.DONE and case.status is CaseStatus.RESOLVED and case.trip_saved
    resolved = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                             CaseEvent.kind == EventKind.RESOLVED)).one()
    assert resolved.note == "已完成资格认证\n居民确认：老人本人确认并签字" and resolved.public


def test_a_visit_hands_off_a_linked_errand_in_one_action(home, monkeypatch):
    case = _home_case(home)
    visit = visits.book(case, home.staff, MONDAY, Slot.AM)
    _arrive(monkeypatch, MONDAY)
    visits.start(visit, home.member)
    errand = visits.hand_off(visit, home.member, home.errand_item, "老人需申请低保，材料在家")
    assert errand.origin_id == case.id and errand.mode.value == "errand" and errand.place_id == home.h01.id
    assert errand.service_point.code == "LS-P01" and errand.status is CaseStatus.LOGGED
    assert [m.name for m in errand.materials] == home.errand_item.material_list


def test_a_home_case_booked_with_a_team_is_signed_for_by_the_team_only(home):
    case = _home_case(home)
    visits.book(case, home.staff, MONDAY, Slot.AM)
    assert case.team_id == home.t1.id
    for outsider in (home.staff, home.lead):  # the clerk who logged it and a lead see it, but do not sign for it
        assert access.can(outsider, "case.view", case) and not access.can(outsider, "case.claim", case)
        assert case.id not in db.session.scalars(sa.select(Case.id).where(access.scope(outsider, "case.claim")))
        with pytest.raises(Forbidden):
            lifecycle.claim(case, outsider)
    assert access.can(home.member, "case.claim", case)


def test_a_teammate_finishes_the_visit_a_teammate_started(home, monkeypatch):
    case = _home_case(home)
    visit = visits.book(case, home.staff, MONDAY, Slot.AM)
    _arrive(monkeypatch, MONDAY)
    visits.start(visit, home.lead_member)
    assert case.owner_id == home.lead_member.id and case.status is CaseStatus.IN_PROGRESS
    visits.finish(visit, home.member, "已修好水管", "户主确认")
    assert case.status is CaseStatus.RESOLVED and visit.done_by_id == home.member.id


def test_a_visit_is_started_on_the_day_it_is_booked(home, monkeypatch):
    case = _home_case(home)
    visit = visits.book(case, home.staff, MONDAY, Slot.AM)
    for day in (MONDAY - timedelta(days=3), MONDAY + timedelta(days=1)):
        _arrive(monkeypatch, day)
        with pytest.raises(DomainError, match="2026-11-30"):
            visits.start(visit, home.member)
        assert visit.status is VisitStatus.BOOKED and case.status is CaseStatus.LOGGED
    _arrive(monkeypatch, MONDAY)
    visits.start(visit, home.member)
    assert visit.status is VisitStatus.STARTED


def test_the_care_schedule_books_the_missing_visits_once(home):
    lonely = [Household(code=f"CARE{n}", place_id=home.h01.id, address=f"东岙{100 + n}号", phone="13500000000",
                        elderly_alone=True) for n in range(3)]
    db.session.add_all(lonely)
    db.session.commit()
    first = visits.schedule_care_visits()
    second = visits.schedule_care_visits()
    assert len(first) == 3 and second == []
    booked = db.session.scalars(sa.select(Visit).where(Visit.kind == VisitKind.CARE)).all()
    assert {v.household_id for v in booked} == {h.id for h in lonely}
    assert all(v.day <= date(2026, 11, 27) + timedelta(days=14) for v in booked)


def test_a_household_visited_recently_is_not_due(home):
    household = Household(code="CARE9", place_id=home.h01.id, address="东岙109号", elderly_alone=True)
    db.session.add(household)
    db.session.commit()
    case = log(home, home.home_item, household=household)
    db.session.add(Visit(case=case, household_id=household.id, team_id=home.t1.id, day=date(2026, 11, 20),
                         slot=Slot.AM, status=VisitStatus.DONE))
    db.session.commit()
    assert visits.schedule_care_visits() == []  # next due 20 December, beyond the two weeks


def test_the_calendar_feed_parses_and_holds_no_phone_number(home, app):
    case = _home_case(home)
    visits.book(case, home.staff, MONDAY, Slot.AM)
    token = visits.renew_feed_token(home.t1, home.lead_member)
    client = app.test_client()
    response = client.get(f"/visits/teams/T1.ics?token={token}")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.data)
    events = [c for c in calendar.walk("VEVENT")]
    assert len(events) == 1 and "东岙8号" in str(events[0]["location"])
    assert events[0].decoded("dtstart").hour == 8
    body = response.get_data(as_text=True)
    assert "13912345678" not in body and "5678" not in body
    assert client.get("/visits/teams/T1.ics?token=wrong").status_code == 404
    assert client.get("/visits/teams/T1.ics").status_code == 404


def test_a_teams_visits_come_in_the_order_of_the_day(home, make):
    home.t1.season_evenings = True
    db.session.add(FishingSeason(name="渔汛", first=MONDAY - timedelta(days=7), last=MONDAY + timedelta(days=7)))
    db.session.commit()
    for slot in (Slot.EVENING, Slot.PM, Slot.AM):  # booked evening first: "evening" sorts before "pm" as text
        household = make.household(home.h01, address=f"东岙{slot.value}号")
        visits.book(log(home, item=home.home_item, household=household), home.staff, MONDAY, slot)
    listed = visits.for_team(home.t1.id, MONDAY, MONDAY)
    assert [v.slot for v in listed] == [Slot.AM, Slot.PM, Slot.EVENING]


def test_a_day_the_teams_point_is_closed_is_refused_as_a_closure_not_a_public_holiday(home):
    from portal.models import CalendarDay, DayKind

    db.session.add(CalendarDay(day=MONDAY, kind=DayKind.HOLIDAY, name="台风", service_point_id=home.t1.service_point_id))
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        visits.book(log(home, item=home.home_item), home.staff, MONDAY, Slot.AM)
    said = str(refused.value.message)
    assert f"{MONDAY.isoformat()} 不上门：所属服务点当天不办公。" in said and "法定节假日" not in said
