"""Working calendars and due times: weekends, holidays, make-up days and the 3+2 week."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain.cases import timekeeping
from portal.domain.cases.timekeeping import WorkCalendar, parse_hours
from portal.extensions import db
from portal.models import DayKind, Mode, ServiceItem, ServicePoint

TZ = clock.LOCAL_TZ
HOURS = parse_hours("08:30-12:00,13:30-17:30")


def local(*args):
    return datetime(*args, tzinfo=TZ)


def item(hours, mode=Mode.COUNTER, urgent=False):
    return ServiceItem(code="X", name_zh="x", category_zh="x", sla_hours=hours, mode=mode, urgent=urgent)


def island(overrides=None):
    return WorkCalendar(HOURS, "WWWOORR", overrides or {})


def test_a_day_of_limit_is_one_working_day():
    due = timekeeping.due_time(item(24), local(2026, 11, 23, 9, 0), calendar=island())  # a Monday
    assert due == local(2026, 11, 24, 9, 0)


def test_hours_beyond_whole_days_are_working_hours_that_skip_lunch():
    due = timekeeping.due_time(item(4), local(2026, 11, 23, 10, 0), calendar=island())
    assert due == local(2026, 11, 23, 15, 30)  # 2 h before lunch, 2 h after


def test_counter_work_stops_on_the_off_island_days_and_the_weekend():
    # Wednesday 10:00 + two working days: the rest of Wednesday, then Thursday and Friday are off the
    # island, the weekend is rest, so Monday and Tuesday morning finish it.
    due = timekeeping.due_time(item(48), local(2026, 11, 25, 10, 0), calendar=island())
    assert due == local(2026, 12, 1, 10, 0)


def test_errands_travel_on_the_off_island_days():
    due = timekeeping.due_time(item(48, Mode.ERRAND), local(2026, 11, 25, 10, 0), calendar=island())
    assert due == local(2026, 11, 27, 10, 0)


def test_a_limit_over_a_holiday_and_a_make_up_working_day():
    # National Day 2026: 1-7 October off, Saturday 10 October worked instead.
    overrides = {date(2026, 10, d): DayKind.HOLIDAY for d in range(1, 8)}
    overrides[date(2026, 10, 10)] = DayKind.WORKDAY
    due = timekeeping.due_time(item(24), local(2026, 9, 30, 16, 30), calendar=island(overrides))
    # 60 minutes on 30 September; 8 and 9 October are off-island days; the make-up Saturday finishes it.
    assert due == local(2026, 10, 10, 16, 30)


def test_a_case_logged_out_of_hours_starts_counting_next_morning():
    due = timekeeping.due_time(item(4), local(2026, 11, 23, 20, 0), calendar=island())
    assert due == local(2026, 11, 24, 14, 0)  # 3.5 h before lunch, half an hour after


def test_urgent_items_count_calendar_hours_day_and_night():
    due = timekeeping.due_time(item(4, Mode.HOME, urgent=True), local(2026, 11, 28, 23, 0), calendar=island())
    assert due == local(2026, 11, 29, 3, 0)


def test_reminder_falls_at_three_quarters_of_the_working_time():
    calendar = island()
    start = local(2026, 11, 23, 8, 30)
    due = timekeeping.due_time(item(24), start, calendar=calendar)
    remind = timekeeping.reminder_time(item(24), start, due, calendar=calendar)
    assert calendar.working_minutes_between(start, remind, Mode.COUNTER) == pytest.approx(0.75 * 450)


def test_callbacks_are_due_by_the_end_of_the_next_working_day():
    due = timekeeping.callback_due(local(2026, 11, 25, 16, 0), calendar=island())  # Wednesday
    assert due == local(2026, 11, 30, 17, 30)  # Thursday and Friday off the island, then the weekend


def test_sign_for_is_due_within_two_working_hours():
    due = timekeeping.sign_for_due(item(24), local(2026, 11, 23, 11, 0), calendar=island())
    assert due == local(2026, 11, 23, 14, 30)


@pytest.mark.parametrize("text", ["", "8:30-12:00", "12:00-08:30", "08:30-12:00,11:00-13:00", "25:00-26:00"])
def test_malformed_working_hours_are_refused(text):
    with pytest.raises(ValueError):
        parse_hours(text)


def test_the_migration_seeds_this_years_holidays_and_island_weeks(app, make):
    make.directory()
    with app.app_context():
        point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
        assert point.week == "WWWOORR"
        calendar = timekeeping.calendar_for(point)
        assert calendar.kind_of(date(2026, 10, 1)) == "R" and calendar.kind_of(date(2026, 10, 10)) == "W"
        heating = db.session.scalars(sa.select(ServicePoint).filter_by(code="HT-SQT")).one()
        assert heating.week == "WWWWWWW"


def test_a_points_own_closure_applies_only_to_it(app, make):
    from portal.models import CalendarDay

    make.directory()
    with app.app_context():
        post = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
        other = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P02")).one()
        typhoon = date(2026, 11, 30)
        db.session.add(CalendarDay(day=typhoon, kind=DayKind.HOLIDAY, name="台风停航", service_point_id=post.id))
        db.session.commit()
        assert timekeeping.calendar_for(post).kind_of(typhoon) == "R"
        assert timekeeping.calendar_for(other).kind_of(typhoon) == "W"
        assert timekeeping.due_time(item(24), local(2026, 11, 30, 9, 0), post) == local(2026, 12, 1, 17, 30)
        assert timekeeping.due_time(item(24), local(2026, 11, 30, 9, 0), other) == local(2026, 12, 1, 9, 0)


def test_an_urgent_limit_runs_from_logging_and_any_other_from_the_signature():
    logged, signed = local(2026, 11, 23, 10, 0), local(2026, 11, 23, 10, 30)
    assert timekeeping.limit_start(item(4, Mode.HOME, urgent=True), logged, signed) == logged
    assert timekeeping.limit_start(item(4), logged, signed) == signed
