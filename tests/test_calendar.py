"""The working calendar as data: importing a year (CSV, iCalendar) after a preview, a provisional year from
the holidays library, the warning when next year is not kept, and every clock reading the one calendar
across New Year and the Spring Festival of 2027 (due times, the heating hotline, a station's closure)."""
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import DomainError
from portal.domain.cases import calendar, timekeeping
from portal.domain.features import heating
from portal.extensions import db
from portal.models import AuditEntry, CalendarDay, DayKind, DutyShift, Mode, ServiceItem, YearStatus
from tests.stories import at

NOTICE_2027 = """日期,类型,名称
2027-01-01,休,元旦
2027-01-02,休,元旦
2027-01-03,休,元旦
2027-02-05,休,春节
2027-02-06,休,春节
2027-02-07,休,春节
2027-02-08,休,春节
2027-02-09,休,春节
2027-02-10,休,春节
2027-02-11,休,春节
2027-02-20,班,春节调休上班
"""
ICS_2027 = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//cn holidays//
BEGIN:VEVENT
UID:a@test
DTSTART;VALUE=DATE:20270101
DTEND;VALUE=DATE:20270104
SUMMARY:元旦 休
END:VEVENT
BEGIN:VEVENT
UID:b@test
DTSTART;VALUE=DATE:20270220
DTEND;VALUE=DATE:20270221
SUMMARY:春节 补班
END:VEVENT
END:VCALENDAR
"""


def _district_days(year):
    return {d.day: d.kind for d in db.session.scalars(sa.select(CalendarDay).where(
        CalendarDay.service_point_id.is_(None), CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))}


# --- reading files ------------------------------------------------------------------------------------------

def test_a_csv_of_the_notice_is_read_with_its_make_up_days():
    parsed = calendar.parse("2027.csv", NOTICE_2027.encode("gb18030"))  # as the notice is often saved
    assert parsed.errors == [] and parsed.years == [2027]
    assert (parsed.holidays, parsed.workdays) == (10, 1)
    assert parsed.entries[-1] == calendar.Entry(date(2027, 2, 20), DayKind.WORKDAY, "春节调休上班")


def test_an_icalendar_file_is_read_day_by_day():
    parsed = calendar.parse("holidays.ics", ICS_2027.encode())
    assert parsed.errors == []
    assert [(e.day.day, e.kind) for e in parsed.entries] == [
        (1, DayKind.HOLIDAY), (2, DayKind.HOLIDAY), (3, DayKind.HOLIDAY), (20, DayKind.WORKDAY)]


def test_an_icalendar_event_over_many_years_or_with_an_unreadable_date_is_refused_not_expanded(app):
    endless = ICS_2027.replace("DTEND;VALUE=DATE:20270104", "DTEND;VALUE=DATE:99991231")
    with app.test_request_context():
        parsed = calendar.parse("x.ics", endless.encode())
    assert parsed.errors and "同一年" in parsed.errors[0] and len(parsed.entries) < 10


@pytest.mark.parametrize(("text", "message"), [
    ("2027-13-01,休,元旦\n", "第 1 行"),
    ("日期,类型\n2027-01-01,出游,元旦\n", "第 2 行"),
    ("2027-01-01,休,元旦\n2028-01-01,休,元旦\n", "一次导入一年"),
    ("2027-01-01,休,元旦\n2027-01-01,班,元旦\n", "既是节假日又是工作日"),
    ("2027-01-02,班,调休\n", "没有节假日"),
    ("", "没有日期"),
])
def test_a_wrong_file_says_what_is_wrong_where(text, message, app):
    with app.test_request_context():
        parsed = calendar.parse("x.csv", text.encode())
        assert parsed.errors and message in parsed.errors[0], parsed.errors


# --- keeping the years --------------------------------------------------------------------------------------

def test_importing_a_year_replaces_the_districts_days_and_keeps_a_posts_closure(world):
    closure = CalendarDay(day=date(2027, 3, 3), kind=DayKind.HOLIDAY, name="台风停航",
                          service_point_id=world.staff.service_point_id)
    db.session.add_all([closure, CalendarDay(day=date(2027, 6, 1), kind=DayKind.HOLIDAY, name="旧的")])
    db.session.commit()
    count = calendar.import_year(calendar.parse("2027.csv", NOTICE_2027.encode()), world.admin, "国办发明电〔2026〕")
    assert count == 11 and calendar.status(2027) is YearStatus.CONFIRMED
    days = _district_days(2027)
    assert date(2027, 6, 1) not in days and days[date(2027, 2, 20)] is DayKind.WORKDAY
    assert db.session.get(CalendarDay, closure.id) is not None  # a post's own closure stays
    assert db.session.scalars(sa.select(AuditEntry).filter_by(action="calendar", object_id="2027")).one()


def test_a_provisional_year_comes_from_the_library_until_it_is_confirmed(world):
    calendar.fill_provisional(2027, world.admin)
    days = _district_days(2027)
    assert calendar.status(2027) is YearStatus.PROVISIONAL
    assert {date(2027, 1, 1), date(2027, 2, 6), date(2027, 2, 10), date(2027, 10, 1)} <= set(days)
    with pytest.raises(DomainError):
        calendar.fill_provisional(2027, world.admin)  # kept already: never overwritten by the library
    calendar.confirm(2027, world.admin)
    assert calendar.status(2027) is YearStatus.CONFIRMED


def test_leads_are_warned_from_november_while_next_year_is_not_kept(world):
    assert calendar.warning(date(2026, 10, 31)) is None  # 2026 is kept; 2027 not asked for yet
    assert "2027" in calendar.warning(date(2026, 11, 1)) and "缺失" in calendar.warning(date(2026, 11, 1))
    calendar.fill_provisional(2027, world.admin)
    assert "暂定" in calendar.warning(date(2026, 12, 1))
    calendar.confirm(2027, world.admin)
    assert calendar.warning(date(2026, 12, 1)) is None


def test_the_status_command_fails_for_cron_until_the_year_is_kept(world, runner, tmp_path, monkeypatch):
    at(monkeypatch, 2026, 12, 1, 9, 0)
    failed = runner.invoke(args=["calendar", "status"])
    assert failed.exit_code == 1 and "2027: missing" in failed.output
    notice = tmp_path / "2027.csv"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    imported = runner.invoke(args=["calendar", "import", str(notice)])
    assert imported.exit_code == 0, imported.output
    passed = runner.invoke(args=["calendar", "status"])
    assert passed.exit_code == 0 and "2027: confirmed" in passed.output


def test_the_admin_imports_a_year_after_a_preview_and_leads_see_the_warning_go(app, world, monkeypatch):
    import io

    at(monkeypatch, 2026, 12, 1, 9, 0)
    lead = app.test_client()
    lead.post("/auth/login", data={"username": "leader", "password": "correct-horse-7"})
    assert "2027 年工作日历缺失" in lead.get("/").get_data(as_text=True)
    admin = app.test_client()
    admin.post("/auth/login", data={"username": "root", "password": "correct-horse-7"})
    preview = admin.post("/directory/working-calendar/check",
                         data={"file": (io.BytesIO(NOTICE_2027.encode()), "2027.csv")},
                         content_type="multipart/form-data").get_data(as_text=True)
    assert "10 个节假日和 1 个调休工作日" in preview and calendar.status(2027) is None  # nothing saved yet
    days = preview.split('name="days" value="')[1].split('"')[0]
    done = admin.post("/directory/working-calendar/import", data={"days": days.replace("&#10;", "\n"),
                                                                  "source": "2027.csv"})
    assert done.status_code == 303 and calendar.status(2027) is YearStatus.CONFIRMED
    assert "工作日历" not in lead.get("/").get_data(as_text=True).split("<main", 1)[1].split("</h1>", 1)[1][:400]
    staff = app.test_client()
    staff.post("/auth/login", data={"username": "staff-p01", "password": "correct-horse-7"})
    assert staff.post("/directory/working-calendar/2028/provisional").status_code == 403


# --- the one calendar, across New Year and the Spring Festival ------------------------------------------------

def _due(world, start, hours):
    item = ServiceItem(code="T", name_zh="测试", category_zh="测试", sla_hours=hours, mode=Mode.ERRAND)
    return timekeeping.due_time(item, start, world.staff.service_point)


def test_an_errand_claimed_in_december_skips_new_years_day_once_2027_is_kept(world):
    claimed = datetime(2026, 12, 1, 9, 0, tzinfo=clock.LOCAL_TZ)
    assert clock.local(_due(world, claimed, 720)).date() == date(2027, 1, 12)  # 2027 missing: 1 January counted
    calendar.import_year(calendar.parse("2027.csv", NOTICE_2027.encode()), world.admin, "notice")
    assert clock.local(_due(world, claimed, 720)) == datetime(2027, 1, 13, 9, 0, tzinfo=clock.LOCAL_TZ)


def test_an_errand_claimed_in_january_stops_for_the_spring_festival(world):
    claimed = datetime(2027, 1, 25, 9, 0, tzinfo=clock.LOCAL_TZ)
    assert clock.local(_due(world, claimed, 240)).date() == date(2027, 2, 8)
    calendar.fill_provisional(2027, world.admin)  # 5 and 8 to 10 February are holidays on weekdays
    assert clock.local(_due(world, claimed, 240)) == datetime(2027, 2, 12, 9, 0, tzinfo=clock.LOCAL_TZ)


@pytest.fixture
def kept_2027(district):
    calendar.import_year(calendar.parse("2027.csv", NOTICE_2027.encode()), None, "notice")
    return district


def _call(district):
    return heating.take_call(district.desk, district.item("HT01"), "13700000001", "", household=district.flat)


def _on_duty(district, day):
    db.session.add(DutyShift(service_point=district.station, day=day, user=district.butler2))
    db.session.commit()


def test_the_hotline_keeps_new_years_day_and_works_the_make_up_saturday(kept_2027, monkeypatch):
    _on_duty(kept_2027, date(2027, 1, 1))
    at(monkeypatch, 2027, 1, 1, 10, 0)  # a Friday, and New Year's Day: the person on duty
    assert _call(kept_2027).owner_id == kept_2027.butler2.id
    post = timekeeping.calendar_for(kept_2027.staff.service_point, datetime(2027, 2, 1, tzinfo=clock.LOCAL_TZ))
    saturday = datetime(2027, 2, 20, 10, 0, tzinfo=clock.LOCAL_TZ)  # worked instead of a festival day
    assert post.is_open(saturday) and not post.is_open(saturday + timedelta(days=7))


def test_a_station_closed_for_a_day_sends_its_calls_to_the_person_on_duty(district, monkeypatch):
    db.session.add(CalendarDay(day=date(2026, 12, 3), kind=DayKind.HOLIDAY, name="停电检修",
                               service_point_id=district.station.id))
    _on_duty(district, date(2026, 12, 3))
    at(monkeypatch, 2026, 12, 3, 10, 0)
    assert not heating.in_office_hours(district.station, clock.now())
    assert _call(district).owner_id == district.butler2.id


def test_butlers_on_call_answer_their_estates_at_night_with_the_duty_as_fallback(district, make, monkeypatch):
    district.station.butlers_on_call = True
    _on_duty(district, date(2026, 12, 1))
    at(monkeypatch, 2026, 12, 1, 23, 30)
    assert _call(district).owner_id == district.butler.id  # the estate's own butler, at night
    orphan = make.household(district.e02, address="海之韵9号楼", phone="13700000009")
    district.butler2.places = []  # E02 has no butler now
    db.session.commit()
    case = heating.take_call(district.desk, district.item("HT01"), "13700000009", "", household=orphan)
    assert case.owner_id == district.butler2.id  # the person on duty
