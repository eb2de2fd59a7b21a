"""Fishermen's hours (issue 35.4): home visits are offered Monday to Wednesday, mornings and afternoons; in the
fishing season an administrator sets, a team that opens them also visits in the evening and on weekends. One rule
(``visits.offered``) decides what is offered and what is accepted."""
from datetime import date

import pytest

from portal.domain import visits
from portal.extensions import db
from portal.models import CalendarDay, DayKind, FishingSeason, Slot
from tests.stories import log

WEDNESDAY, THURSDAY, SATURDAY = date(2026, 12, 2), date(2026, 12, 3), date(2026, 12, 5)


def _season(home, evenings=True, weekends=True):
    db.session.add(FishingSeason(name="冬汛", first=date(2026, 11, 1), last=date(2026, 12, 31)))
    home.t1.season_evenings, home.t1.season_weekends = evenings, weekends
    db.session.commit()


def _offered(home, first):
    return [(free.day, free.slot) for free in visits.free_slots(home.t1, first, 12)]


def test_outside_the_season_only_monday_to_wednesday_daytime_is_offered_and_accepted(home):
    home.t1.season_evenings = home.t1.season_weekends = True  # the team would, but it is not the season
    db.session.commit()
    offered = _offered(home, date(2026, 11, 30))
    assert {day.weekday() for day, _ in offered} == {0, 1, 2}
    assert {slot for _, slot in offered} == {Slot.AM, Slot.PM}
    case = log(home, home.home_item)
    for day, slot in ((WEDNESDAY, Slot.EVENING), (SATURDAY, Slot.AM), (THURSDAY, Slot.AM)):
        with pytest.raises(visits.SlotFull) as refused:
            visits.book(case, home.staff, day, slot)
        assert "周一至周三" in str(refused.value.message)
        assert all(visits.offered(home.t1, free.day, free.slot) for free in refused.value.alternatives)


def test_in_the_season_a_team_that_opens_them_visits_in_the_evening_and_at_weekends(home):
    _season(home)
    offered = _offered(home, WEDNESDAY)
    assert (WEDNESDAY, Slot.EVENING) in offered and (THURSDAY, Slot.EVENING) in offered
    assert (SATURDAY, Slot.AM) in offered and (SATURDAY, Slot.EVENING) in offered
    assert (THURSDAY, Slot.AM) not in offered  # off the island by day, season or not
    visit = visits.book(log(home, home.home_item), home.staff, WEDNESDAY, Slot.EVENING)
    start, end = visits.slot_times(home.t1, WEDNESDAY, Slot.EVENING)
    assert (visit.slot, start.hour, end.hour) == (Slot.EVENING, 18, 20)


def test_a_team_that_opens_only_evenings_gets_no_weekend(home):
    _season(home, evenings=True, weekends=False)
    case = log(home, home.home_item)
    with pytest.raises(visits.SlotFull):
        visits.book(case, home.staff, SATURDAY, Slot.PM)
    with pytest.raises(visits.SlotFull):
        visits.book(case, home.staff, SATURDAY, Slot.EVENING)
    assert visits.book(case, home.staff, THURSDAY, Slot.EVENING).slot is Slot.EVENING


def test_a_holiday_is_never_offered_even_in_the_season(home):
    _season(home)
    db.session.add(CalendarDay(day=WEDNESDAY, kind=DayKind.HOLIDAY, name="台风停航"))
    db.session.commit()
    assert not any(visits.offered(home.t1, WEDNESDAY, slot) for slot in Slot)
    assert all(day != WEDNESDAY for day, _ in _offered(home, WEDNESDAY))


def test_the_admin_sets_the_season_and_the_teams_hours_in_the_directory(app, home):
    admin = app.test_client()
    admin.post("/auth/login", data={"username": "root", "password": "correct-horse-7"})
    refused = admin.post("/directory/seasons/new", data={"name": "秋汛", "first": "2027-09-01", "last": "2027-08-01"})
    assert refused.status_code == 422 and "结束日期" in refused.get_data(as_text=True)
    assert admin.post("/directory/seasons/new", data={"name": "秋汛", "first": "2027-09-01",
                                                       "last": "2027-11-30"}).status_code == 303
    assert visits.in_season(date(2027, 10, 12)) and not visits.in_season(date(2027, 12, 1))


def test_the_week_calendar_shows_the_evenings_only_in_the_season(app, home):
    lead = app.test_client()
    lead.post("/auth/login", data={"username": "team1-lead", "password": "correct-horse-7"})
    assert "晚间" not in lead.get("/visits/calendar?week=2026-11-30").get_data(as_text=True)
    _season(home, weekends=False)
    visits.book(log(home, home.home_item), home.staff, WEDNESDAY, Slot.EVENING)
    page = lead.get("/visits/calendar?week=2026-11-30").get_data(as_text=True)
    assert "晚间" in page and "1/2" in page
