"""The working calendar as data: importing a year (CSV, iCalendar) after a preview, a provisional year from
the holidays library, the warning when next year is not kept, and every clock reading the one calendar
across New Year and the Spring Festival of 2027 (due times, the heating hotline, a station's closure)."""
import html
import io
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import DomainError, heating
from portal.domain.cases import calendar_years, timekeeping
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
# The statutory holidays NOTICE_2027 leaves out (it is an excerpt): an import names them to be accepted.
WITHOUT_2027 = "清明节、劳动节、端午节、中秋节、国庆节"
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
    parsed = calendar_years.parse("2027.csv", NOTICE_2027.encode("gb18030"))  # as the notice is often saved
    assert parsed.errors == [] and parsed.years == [2027]
    assert (parsed.holidays, parsed.workdays) == (10, 1)
    assert parsed.entries[-1] == calendar_years.Entry(date(2027, 2, 20), DayKind.WORKDAY, "春节调休上班")


def test_an_icalendar_file_is_read_day_by_day():
    parsed = calendar_years.parse("holidays.ics", ICS_2027.encode())
    assert parsed.errors == []
    assert [(e.day.day, e.kind) for e in parsed.entries] == [
        (1, DayKind.HOLIDAY), (2, DayKind.HOLIDAY), (3, DayKind.HOLIDAY), (20, DayKind.WORKDAY)]


def test_an_icalendar_event_over_many_years_or_with_an_unreadable_date_is_refused_not_expanded(app):
    endless = ICS_2027.replace("DTEND;VALUE=DATE:20270104", "DTEND;VALUE=DATE:99991231")
    with app.test_request_context():
        parsed = calendar_years.parse("x.ics", endless.encode())
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
        parsed = calendar_years.parse("x.csv", text.encode())
        assert parsed.errors and message in parsed.errors[0], parsed.errors


def _year_long_events(count: int) -> bytes:
    """An iCalendar file of ``count`` events, each the whole of 2027."""
    event = ("BEGIN:VEVENT\nUID:{n:06d}@test\nDTSTART;VALUE=DATE:20270101\nDTEND;VALUE=DATE:20280101\n"
             "SUMMARY:全年放假\nEND:VEVENT\n")
    return ("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//\n" + "".join(event.format(n=n) for n in range(count))
            + "END:VCALENDAR\n").encode()


def _as_the_browser_posts(page: str, name: str) -> str:
    """A hidden field of the preview as a browser sends it back: unescaped, its line breaks as CR LF."""
    value = page.split(f'name="{name}" value="')[1].split('"')[0]
    return html.unescape(value).replace("\r\n", "\n").replace("\n", "\r\n")


def test_names_with_commas_and_quotes_are_read_whole_and_read_back_the_same(app):
    text = '日期,类型,名称\n2027-10-01,休,"国庆节,中秋节"\n2027-10-02,休,"""双节"" 假期, 第二天"\n2027-10-09,班,调休上班\n'
    with app.test_request_context():
        parsed = calendar_years.parse("x.csv", text.encode())
        assert parsed.errors == []
        assert [e.name for e in parsed.entries] == ["国庆节,中秋节", '"双节" 假期, 第二天', "调休上班"]
        again = calendar_years.parse("checked.csv", parsed.as_csv().replace("\n", "\r\n").encode())  # as posted back
    assert again.errors == [] and again.entries == parsed.entries and again.digest() == parsed.digest()


def test_a_line_break_inside_a_quoted_name_is_refused_and_never_makes_a_day(app):
    text = '2098-01-01,休,"元旦\n2098-01-03,班,补班"\n2098-01-02,休,元旦\n'
    with app.test_request_context():
        parsed = calendar_years.parse("x.csv", text.encode())
        assert parsed.errors == ["第 1 行：引号内的内容跨越多行；请每天写在一行内。"]
        assert date(2098, 1, 3) not in {e.day for e in parsed.entries}
        with pytest.raises(DomainError):
            calendar_years.import_year(parsed, None, "x.csv")
    with app.app_context():
        assert calendar_years.status(2098) is None and _district_days(2098) == {}


def test_every_bad_line_of_a_csv_is_told_and_nothing_is_imported(app):
    text = ("日期,类型,名称\n2027-01-01,休,元旦\n2027-02-30,休,春节\n2027-02-06,出游,春节\n2027-13-01,玩,春节\n"
            "2027-02-08,休,春节,中秋\n2027-02-09,休,春节\n2027-02-09,班,春节\n")
    with app.test_request_context():
        parsed = calendar_years.parse("x.csv", text.encode())
        assert parsed.errors == [
            "第 3 行：“2027-02-30”不是形如 2027-01-01 的日期。",
            "第 4 行：请填写“休”（节假日）或“班”（调休工作日），而不是“出游”。",
            "第 5 行：“2027-13-01”不是形如 2027-01-01 的日期。",
            "第 5 行：请填写“休”（节假日）或“班”（调休工作日），而不是“玩”。",
            "第 6 行：超过三列；名称中含逗号时请用英文双引号括起。",
            "2027-02-09 既是节假日又是工作日。",
        ]
        with pytest.raises(DomainError) as refused:
            calendar_years.import_year(parsed, None, "x.csv")
        assert "6 处问题" in str(refused.value.message)
    with app.app_context():
        assert calendar_years.status(2027) is None


def test_the_command_tells_every_bad_line_and_imports_nothing(app, runner, tmp_path):
    notice = tmp_path / "2027.csv"
    notice.write_text("2027-01-01,休,元旦\n2027-02-30,休,春节\n2027-02-06,出游,春节\n", encoding="utf-8")
    result = runner.invoke(args=["calendar", "import", str(notice)])
    assert result.exit_code == 1 and "第 2 行" in result.output and "第 3 行" in result.output
    with app.app_context():
        assert calendar_years.status(2027) is None


@pytest.mark.parametrize(("text", "message"), [
    ('2027-01-01,休,"元旦' + "长" * 200_000 + '"\n', "第 1 行无法读取"),
    ("\n".join(f"2027-01-01,休,元旦{n}" for n in range(367)), "超过 366 天"),
])
def test_a_csv_that_cannot_be_a_year_is_refused_with_a_reason(text, message, app):
    with app.test_request_context():
        parsed = calendar_years.parse("x.csv", text.encode())
    assert any(message in error for error in parsed.errors), parsed.errors


def test_icalendar_events_never_add_up_to_more_than_the_days_of_a_year(app):
    with app.test_request_context():
        one = calendar_years.parse("x.ics", _year_long_events(1))
        two = calendar_years.parse("x.ics", _year_long_events(2))
    assert one.errors == [] and len(one.entries) == 365
    assert two.errors == ["事件合计超过 366 天；一年最多 366 天。"] and len(two.entries) <= 366


def _a_megabyte_of_year_long_events() -> bytes:
    event = len(_year_long_events(2)) - len(_year_long_events(1))
    data = _year_long_events((calendar_years.MAX_BYTES - 100) // event)
    assert 990_000 < len(data) <= calendar_years.MAX_BYTES
    return data


def test_a_megabyte_of_year_long_events_is_refused_without_expanding_them(app):
    with app.test_request_context():
        parsed = calendar_years.parse("holidays.ics", _a_megabyte_of_year_long_events())
    assert parsed.errors == ["事件合计超过 366 天；一年最多 366 天。"] and len(parsed.entries) <= 366


@pytest.mark.parametrize(("event", "message"), [
    ("DTSTART:garbage", "日期无法识别"),
    ("DTSTART;VALUE=DATE:20270101\nRRULE:FREQ=YEARLY", "重复事件"),
    ("DTSTART;VALUE=DATE:20270101\nDTEND;VALUE=DATE:20290101", "不在同一年内"),
])
def test_an_icalendar_event_that_cannot_be_read_as_days_of_a_year_is_refused(event, message, app):
    data = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:a\n{event}\nSUMMARY:元旦\nEND:VEVENT\nEND:VCALENDAR\n"
    with app.test_request_context():
        parsed = calendar_years.parse("x.ics", data.encode())
    assert any(message in error for error in parsed.errors), parsed.errors


# --- keeping the years --------------------------------------------------------------------------------------

def test_importing_a_year_replaces_the_districts_days_and_keeps_a_posts_closure(world):
    closure = CalendarDay(day=date(2027, 3, 3), kind=DayKind.HOLIDAY, name="台风停航",
                          service_point_id=world.staff.service_point_id)
    db.session.add_all([closure, CalendarDay(day=date(2027, 6, 1), kind=DayKind.HOLIDAY, name="旧的")])
    db.session.commit()
    count = calendar_years.import_year(calendar_years.parse("2027.csv", NOTICE_2027.encode()), world.admin, "国办发明电〔2026〕",
                                         without=WITHOUT_2027)
    assert count == 11 and calendar_years.status(2027) is YearStatus.CONFIRMED
    days = _district_days(2027)
    assert date(2027, 6, 1) not in days and days[date(2027, 2, 20)] is DayKind.WORKDAY
    assert db.session.get(CalendarDay, closure.id) is not None  # a post's own closure stays
    assert db.session.scalars(sa.select(AuditEntry).filter_by(action="calendar", object_id="2027")).one()


def test_a_provisional_year_comes_from_the_library_until_it_is_confirmed(world):
    calendar_years.fill_provisional(2027, world.admin)
    days = _district_days(2027)
    assert calendar_years.status(2027) is YearStatus.PROVISIONAL
    assert {date(2027, 1, 1), date(2027, 2, 6), date(2027, 2, 10), date(2027, 10, 1)} <= set(days)
    with pytest.raises(DomainError):
        calendar_years.fill_provisional(2027, world.admin)  # kept already: never overwritten by the library
    calendar_years.confirm(2027, world.admin)
    assert calendar_years.status(2027) is YearStatus.CONFIRMED


def test_leads_are_warned_from_november_while_next_year_is_not_kept(world):
    assert calendar_years.warning(date(2026, 10, 31)) is None  # 2026 is kept; 2027 not asked for yet
    assert "2027" in calendar_years.warning(date(2026, 11, 1)) and "缺失" in calendar_years.warning(date(2026, 11, 1))
    calendar_years.fill_provisional(2027, world.admin)
    assert "暂定" in calendar_years.warning(date(2026, 12, 1))
    calendar_years.confirm(2027, world.admin)
    assert calendar_years.warning(date(2026, 12, 1)) is None


def test_the_status_command_fails_for_cron_until_the_year_is_kept(world, runner, tmp_path, monkeypatch):
    at(monkeypatch, 2026, 12, 1, 9, 0)
    failed = runner.invoke(args=["calendar", "status"])
    assert failed.exit_code == 1 and "2027: missing" in failed.output
    notice = tmp_path / "2027.csv"
    notice.write_text(NOTICE_2027, encoding="utf-8")
    imported = runner.invoke(args=["calendar", "import", str(notice), "--without", WITHOUT_2027])
    assert imported.exit_code == 0, imported.output
    passed = runner.invoke(args=["calendar", "status"])
    assert passed.exit_code == 0 and "2027: confirmed" in passed.output


def test_the_admin_imports_a_year_after_a_preview_and_leads_see_the_warning_go(app, world, monkeypatch):
    import io

    at(monkeypatch, 2026, 12, 1, 9, 0)
    lead = app.test_client()
    lead.post("/auth/login", data={"username": "leader", "password": "correct-horse-7"})
    told = lead.get("/").get_data(as_text=True)
    # A lead cannot open the directory's working calendar: they are told whom to ask, not to import it themselves.
    assert "2027 年工作日历缺失" in told and "请联系系统管理员导入国务院通知。" in told and "目录管理 › 工作日历" not in told
    admin = app.test_client()
    admin.post("/auth/login", data={"username": "root", "password": "correct-horse-7"})
    assert "请导入或确认国务院通知（目录管理 › 工作日历）。" in admin.get("/").get_data(as_text=True)
    preview = admin.post("/directory/working-calendar/check",
                         data={"file": (io.BytesIO(NOTICE_2027.encode()), "2027.csv")},
                         content_type="multipart/form-data").get_data(as_text=True)
    assert "10 个节假日和 1 个调休工作日" in preview and calendar_years.status(2027) is None  # nothing saved yet
    done = admin.post("/directory/working-calendar/import", data={
        "days": _as_the_browser_posts(preview, "days"), "digest": _as_the_browser_posts(preview, "digest"),
        "source": "2027.csv", "without": _as_the_browser_posts(preview, "without")})
    assert done.status_code == 303 and calendar_years.status(2027) is YearStatus.CONFIRMED
    assert "工作日历" not in lead.get("/").get_data(as_text=True).split("<main", 1)[1].split("</h1>", 1)[1][:400]
    staff = app.test_client()
    staff.post("/auth/login", data={"username": "staff-p01", "password": "correct-horse-7"})
    assert staff.post("/directory/working-calendar/2028/provisional").status_code == 403
    # The same notice again says it changes nothing; one with a day more says which.
    again = _check(admin, NOTICE_2027).get_data(as_text=True)
    assert "与当前保存的 2027 年日历完全相同：导入不改变任何一天，只确认该年。" in again
    more = _check(admin, NOTICE_2027 + "2027-12-31,休,年末调休\n").get_data(as_text=True)
    assert "与当前保存的 2027 年日历相比：新增 1 天，删除 0 天，改变类别 0 天。" in more and "+ 2027-12-31" in more


def _admin(app):
    admin = app.test_client()
    admin.post("/auth/login", data={"username": "root", "password": "correct-horse-7"})
    return admin


def _check(admin, text: bytes | str, filename: str = "2027.csv"):
    data = text.encode() if isinstance(text, str) else text
    answer = admin.post("/directory/working-calendar/check", data={"file": (io.BytesIO(data), filename)},
                        content_type="multipart/form-data")
    answer.request.environ["wsgi.input"].close()  # the test client spools a big body to a file it leaves open
    return answer


def test_what_is_imported_is_exactly_what_was_previewed(app, world):
    admin = _admin(app)
    notice = NOTICE_2027 + '2027-10-01,休,"国庆节,中秋节"\n2027-10-02,休,"""双节"" 第二天"\n'
    preview = _check(admin, notice).get_data(as_text=True)
    assert "国庆节,中秋节" in preview and "12 个节假日和 1 个调休工作日" in preview
    form = {"days": _as_the_browser_posts(preview, "days"), "digest": _as_the_browser_posts(preview, "digest"),
            "source": "2027.csv", "without": _as_the_browser_posts(preview, "without")}
    tampered = dict(form, days=form["days"].replace("2027-02-20,班", "2027-02-21,班"))
    refused = admin.post("/directory/working-calendar/import", data=tampered)
    assert refused.status_code == 422 and "与预览不一致" in refused.get_data(as_text=True)
    assert calendar_years.status(2027) is None
    done = admin.post("/directory/working-calendar/import", data=form)
    assert done.status_code == 303 and calendar_years.status(2027) is YearStatus.CONFIRMED
    previewed = calendar_years.parse("2027.csv", notice.encode()).entries
    imported = db.session.scalars(sa.select(CalendarDay).where(CalendarDay.service_point_id.is_(None),
                                                               CalendarDay.day >= date(2027, 1, 1))
                                  .order_by(CalendarDay.day)).all()
    assert [(d.day, d.kind, d.name) for d in imported] == [(e.day, e.kind, e.name) for e in previewed]
    assert imported[-1].name == '"双节" 第二天' and imported[-2].name == "国庆节,中秋节"


def test_the_preview_tells_every_bad_line_and_offers_no_import(app, world):
    admin = _admin(app)
    answer = _check(admin, '2027-01-01,休,元旦\n2027-02-30,休,春节\n2027-02-06,出游,春节\n2027-02-07,休,"春节\n2027-02-08,班"\n')
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'name="days"' not in page
    assert "第 2 行：“2027-02-30”不是" in page and "第 3 行：请填写" in page and "第 4 行：引号内的内容跨越多行" in page


def test_a_megabyte_of_year_long_events_is_refused_in_the_preview(app, world):
    answer = _check(_admin(app), _a_megabyte_of_year_long_events(), "holidays.ics")
    assert answer.status_code == 422 and "事件合计超过 366 天" in answer.get_data(as_text=True)
    assert calendar_years.status(2027) is None


# --- the one calendar, across New Year and the Spring Festival ------------------------------------------------

def _due(world, start, hours):
    item = ServiceItem(code="T", name_zh="测试", category_zh="测试", sla_hours=hours, mode=Mode.ERRAND)
    return timekeeping.due_time(item, start, world.staff.service_point)


def test_an_errand_claimed_in_december_skips_new_years_day_once_2027_is_kept(world):
    claimed = datetime(2026, 12, 1, 9, 0, tzinfo=clock.LOCAL_TZ)
    assert clock.local(_due(world, claimed, 720)).date() == date(2027, 1, 12)  # 2027 missing: 1 January counted
    calendar_years.import_year(calendar_years.parse("2027.csv", NOTICE_2027.encode()), world.admin, "notice",
                               without=WITHOUT_2027)
    assert clock.local(_due(world, claimed, 720)) == datetime(2027, 1, 13, 9, 0, tzinfo=clock.LOCAL_TZ)


def test_an_errand_claimed_in_january_stops_for_the_spring_festival(world):
    claimed = datetime(2027, 1, 25, 9, 0, tzinfo=clock.LOCAL_TZ)
    assert clock.local(_due(world, claimed, 240)).date() == date(2027, 2, 8)
    calendar_years.fill_provisional(2027, world.admin)  # 5 and 8 to 10 February are holidays on weekdays
    assert clock.local(_due(world, claimed, 240)) == datetime(2027, 2, 12, 9, 0, tzinfo=clock.LOCAL_TZ)


@pytest.fixture
def kept_2027(district):
    calendar_years.import_year(calendar_years.parse("2027.csv", NOTICE_2027.encode()), None, "notice",
                               without=WITHOUT_2027)
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
    post = timekeeping.calendar_for(kept_2027.staff.service_point)
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


# --- issue 35.5: a calendar that changes ----------------------------------------------------------------------

def test_a_one_line_csv_is_not_taken_for_the_whole_year_without_naming_what_is_missing(world):
    calendar_years.fill_provisional(2027, world.admin)
    one_line = calendar_years.parse("2027.csv", "2027-10-01,休,国庆节\n".encode())
    missing = calendar_years.missing_statutory(one_line)
    assert calendar_years.missing_names(missing) == "元旦、农历除夕、春节、清明节、劳动节、端午节、中秋节"
    assert "春节（02-06–02-08）" in [str(m) for m in missing]
    with pytest.raises(DomainError) as refused:
        calendar_years.import_year(one_line, world.admin, "guoqing.csv")
    assert "春节" in str(refused.value.message) and refused.value.field == "without"
    assert calendar_years.status(2027) is YearStatus.PROVISIONAL
    assert _district_days(2027)[date(2027, 2, 8)] is DayKind.HOLIDAY  # the Spring Festival is still there
    with pytest.raises(DomainError):
        calendar_years.import_year(one_line, world.admin, "guoqing.csv", without="春节")  # not all of them
    calendar_years.import_year(one_line, world.admin, "guoqing.csv", without=calendar_years.missing_names(missing))
    assert calendar_years.status(2027) is YearStatus.CONFIRMED and set(_district_days(2027)) == {date(2027, 10, 1)}


def test_the_preview_names_the_missing_holidays_and_the_import_asks_to_confirm_them(app, world):
    admin = _admin(app)
    preview = _check(admin, "2027-10-01,休,国庆节\n").get_data(as_text=True)
    assert "春节（02-06–02-08）" in preview and 'name="without"' in preview
    form = {"days": _as_the_browser_posts(preview, "days"), "digest": _as_the_browser_posts(preview, "digest"),
            "source": "guoqing.csv"}
    refused = admin.post("/directory/working-calendar/import", data=form)
    assert refused.status_code == 422 and "春节" in refused.get_data(as_text=True)
    assert calendar_years.status(2027) is None
    done = admin.post("/directory/working-calendar/import",
                      data=dict(form, without=_as_the_browser_posts(preview, "without")))
    assert done.status_code == 303 and calendar_years.status(2027) is YearStatus.CONFIRMED


def test_open_cases_across_a_changed_day_have_their_limit_counted_again_on_their_timeline(world, monkeypatch):
    from flask import current_app

    from portal.cases.timeline import describe
    from portal.domain.cases.timeline import record_event
    from portal.models import Case, CaseEvent, EventKind
    from tests.stories import claimed, log

    at(monkeypatch, 2027, 1, 25, 9, 0)  # 2027 is not kept yet: the Spring Festival counts as working days
    errand = ServiceItem(code="T10", name_zh="十日件", category_zh="测试", sla_hours=240, mode=Mode.ERRAND)
    db.session.add(errand)
    db.session.commit()
    crossing = claimed(world, item=errand)
    before = crossing.due_at
    assert clock.local(before).date() == date(2027, 2, 8)
    waiting = log(world, errand)  # not signed for: its provisional due time from logging moves too
    leak = log(world, world.leak)  # counted in calendar hours: never moves
    leak_due = leak.due_at
    extended = claimed(world, item=errand)
    extended.due_at = datetime(2027, 2, 26, 17, 0, tzinfo=clock.LOCAL_TZ)
    record_event(extended, world.lead, EventKind.EXTENDED, data={"due": extended.due_at.isoformat()})
    db.session.commit()
    named = extended.due_at
    calendar_years.fill_provisional(2027, world.admin)  # 5 and 8 to 10 February become holidays
    db.session.expire_all()
    crossing = db.session.get(Case, crossing.id)
    assert clock.local(crossing.due_at) == datetime(2027, 2, 12, 9, 0, tzinfo=clock.LOCAL_TZ)
    assert crossing.due_at > before and db.session.get(Case, waiting.id).due_at == crossing.due_at
    assert db.session.get(Case, leak.id).due_at == leak_due and db.session.get(Case, extended.id).due_at == named
    event = db.session.scalars(sa.select(CaseEvent).filter_by(case_id=crossing.id, kind=EventKind.DUE_RECOMPUTED)).one()
    with current_app.test_request_context():
        said = describe(event, public=True)
    assert event.public and "2027 年工作日历变更" in said and "2027-02-12 09:00" in said and "2027-02-08" in said
    audited = db.session.scalars(sa.select(AuditEntry).filter_by(action="recompute_due", object_id=str(crossing.id)))
    assert audited.one()
    assert not db.session.scalars(sa.select(CaseEvent).filter_by(case_id=leak.id, kind=EventKind.DUE_RECOMPUTED)).all()
    from portal.models import OutboxMessage

    told = {m.case_id: m.text for m in db.session.scalars(sa.select(OutboxMessage).filter_by(kind="due_moved"))}
    assert set(told) == {crossing.id, waiting.id}  # the cases whose due time moved, each told the new one
    assert f"因节假日安排调整，工单{crossing.number}的办理时限调整为02-12 09:00" in told[crossing.id]


def test_visits_booked_on_days_that_became_holidays_are_listed_for_rebooking(app, home):
    from portal.domain import visits
    from portal.models import Slot
    from tests.stories import log

    festival = date(2027, 2, 8)  # a Monday: a working day until 2027 is kept
    visit = visits.book(log(home, home.home_item), home.staff, festival, Slot.AM)
    kept = visits.book(log(home, home.home_item, household=None, place=home.h01), home.staff, date(2027, 2, 15),
                       Slot.AM)
    assert visits.to_rebook() == []
    calendar_years.fill_provisional(2027, home.admin)
    assert [(r.visit.id, r.reason) for r in visits.to_rebook()] == [(visit.id, "team_away")] and kept.id != visit.id
    page = _admin(app).get("/directory/working-calendar/").get_data(as_text=True)
    assert "需改约的上门服务" in page and visit.case.number in page and kept.case.number not in page
