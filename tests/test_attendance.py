"""The "3+2" week as lived: the island's staff record each day, the post's board counts their days on the
island against its working days, and the staff carry errands on off-island days as proxies do."""
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.domain import Conflict, DomainError, Forbidden, attendance
from portal.extensions import db
from portal.models import Attendance, AttendanceKind, AuditEntry, Office, Role, ServicePoint
from tests.stories import at, log


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def test_a_clerk_records_the_day_and_the_posts_board_counts_it(app, world, monkeypatch):
    at(monkeypatch, 2026, 11, 30, 9)  # a Monday: a working day on the island
    clerk = _client(app, "staff-p01")
    home = clerk.get("/").get_data(as_text=True)
    assert "今天" in home and "尚未登记" in home and 'value="on_island"' in home
    assert clerk.post("/attendance", data={"kind": "on_island"}).status_code == 303
    at(monkeypatch, 2026, 12, 3, 9)  # Thursday, off the island carrying errands (signed in again)
    clerk = _client(app, "staff-p01")
    thursday = clerk.get("/").get_data(as_text=True)
    assert 'value="off_island"' in thursday and 'value="on_island"' not in thursday  # not offered off the island
    clerk.post("/attendance", data={"kind": "off_island"})
    assert 'value="leave"' not in clerk.get("/").get_data(as_text=True)  # recorded once: no buttons now
    assert clerk.post("/attendance", data={"kind": "leave"}).status_code == 303  # refused: recorded once (below)
    clerk.post("/attendance", data={"kind": "off_island"})  # a double press: the same record
    rows = db.session.execute(sa.select(Attendance.day, Attendance.kind)).all()
    assert len(rows) == 2, rows
    [line] = attendance.of_point(world.staff.service_point, date(2026, 11, 30), date(2026, 12, 6))
    # Mon to Wed are the island's working days (Thursday and Friday off the island, then the weekend).
    assert (line.on_island, line.off_island, line.leave, line.working_days, line.unrecorded) == (1, 1, 0, 3, 2)
    board = clerk.get("/boards/point/LS-P01?period=custom&first=2026-11-30&last=2026-12-03").get_data(as_text=True)
    assert "在岛出勤" in board and world.staff.display_name in board


def test_only_the_islands_staff_record_days(world):
    for outsider in (world.proxy, world.member, world.lead, world.admin):
        with pytest.raises(Forbidden):
            attendance.record(outsider, AttendanceKind.ON_ISLAND)


def test_the_islands_staff_carry_errands_from_the_pool_too(app, world):
    case = log(world, world.errand_item)
    clerk = _client(app, "staff-p01")
    pool = clerk.get("/errands/")
    assert pool.status_code == 200 and case.number in pool.get_data(as_text=True)
    assert 'href="/errands/"' in clerk.get("/").get_data(as_text=True)  # in the clerk's menu
    assert _client(app, "staff-p02").get("/errands/").get_data(as_text=True).count(case.number) == 0  # not theirs
    assert _client(app, "butler-e01").get("/errands/").status_code == 403


# --- issue 35.1: the 3+2 rule assessed ----------------------------------------------------------------------

ON, OFF, LEAVE = AttendanceKind.ON_ISLAND, AttendanceKind.OFF_ISLAND, AttendanceKind.LEAVE
MONDAY = date(2026, 12, 7)


def test_a_day_on_the_island_is_only_a_working_day_of_the_island(world, monkeypatch):
    at(monkeypatch, 2026, 12, 5, 10)  # a Saturday
    with pytest.raises(DomainError) as saturday:
        attendance.record(world.staff, ON)
    assert "休息日" in str(saturday.value.message)
    at(monkeypatch, 2026, 12, 3, 10)  # a Thursday, off the island
    with pytest.raises(DomainError) as thursday:
        attendance.record(world.staff, ON)
    assert "出岛日" in str(thursday.value.message)
    assert attendance.record(world.staff, OFF).kind is OFF
    # Days recorded before these rules (Monday to Wednesday, and Thursday and Saturday "on the island") count as
    # the island's working days only: 3 of 3, not 5 of 3.
    db.session.execute(sa.delete(Attendance))
    db.session.add_all(Attendance(user_id=world.staff.id, day=date(2026, 11, 30) + timedelta(days=n), kind=ON)
                       for n in (0, 1, 2, 3, 5))
    db.session.commit()
    at(monkeypatch, 2026, 12, 7, 10)
    [line] = attendance.of_point(world.staff.service_point, date(2026, 11, 30), date(2026, 12, 6))
    assert (line.on_island, line.working_days) == (3, 3)


def test_a_day_is_recorded_once_and_a_lead_corrects_it_with_a_reason(world, monkeypatch):
    at(monkeypatch, 2026, 12, 7, 9)
    attendance.record(world.staff, ON)
    assert attendance.record(world.staff, ON).kind is ON  # a double press: one record
    assert len(db.session.scalars(sa.select(AuditEntry).filter_by(action="attendance")).all()) == 1
    with pytest.raises(Conflict) as twice:
        attendance.record(world.staff, LEAVE)
    assert "已登记" in str(twice.value.message)
    with pytest.raises(Forbidden):
        attendance.correct(world.staff_p02, world.staff, MONDAY, LEAVE, "看错了")
    with pytest.raises(DomainError) as no_reason:
        attendance.correct(world.lead, world.staff, MONDAY, LEAVE, " ")
    assert no_reason.value.field == "reason"
    corrected = attendance.correct(world.lead, world.staff, MONDAY, LEAVE, "上午已批病假")
    assert (corrected.kind, corrected.corrected_by_id, corrected.reason) == (LEAVE, world.lead.id, "上午已批病假")
    entry = db.session.scalars(sa.select(AuditEntry).filter_by(action="attendance_corrected")).one()
    assert entry.actor_id == world.lead.id and "上午已批病假" in entry.reason and "2026-12-07" in entry.reason


def test_a_missed_day_is_filled_in_within_a_week_and_older_ones_by_a_lead(world, monkeypatch):
    at(monkeypatch, 2026, 12, 10, 9)  # Thursday
    assert attendance.record(world.staff, ON, MONDAY).day == MONDAY  # missed on Monday, filled in
    with pytest.raises(DomainError) as old:
        attendance.record(world.staff, ON, date(2026, 12, 1))
    assert "一周以前" in str(old.value.message)
    with pytest.raises(DomainError):
        attendance.record(world.staff, ON, date(2026, 12, 14))  # not before the day
    assert attendance.correct(world.lead, world.staff, date(2026, 12, 1), ON, "当天系统故障，漏登").kind is ON


def _offices(world, make, monkeypatch):
    """Two offices: 民政办 with 甲 (three days) and 乙 (one day and a day of leave), 社保所 with 丙 (two days)."""
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-C")).one()
    civil = Office(code="MZ", name_zh="民政办")
    social = Office(code="SB", name_zh="社保所")
    db.session.add_all([civil, social])
    db.session.commit()
    a = make.user(Role.STAFF, username="mz-a", display_name="甲", service_point=point, office=civil)
    b = make.user(Role.STAFF, username="mz-b", display_name="乙", service_point=point, office=civil)
    c = make.user(Role.STAFF, username="sb-c", display_name="丙", service_point=point, office=social)
    at(monkeypatch, 2026, 12, 11, 9)  # Friday: the week's days are filled in
    for user, days in ((a, {0: ON, 1: ON, 2: ON, 3: OFF}), (b, {0: ON, 1: LEAVE}), (c, {0: ON, 2: ON})):
        for offset, kind in days.items():
            attendance.record(user, kind, MONDAY + timedelta(days=offset))
    return a, b, c


def test_each_week_shows_who_fell_short_and_each_office(world, make, monkeypatch):
    a, b, c = _offices(world, make, monkeypatch)
    assert not attendance.week(MONDAY).ended  # judged once it has ended
    at(monkeypatch, 2026, 12, 14, 9)
    week = attendance.week(MONDAY)
    civil, social = [o for o in week.offices if o.office is not None]
    assert (civil.office.code, civil.stationed, civil.required, civil.short) == ("MZ", 3, 3, False)
    assert [(p.user.display_name, p.on_island, p.required) for p in civil.fell_short] == [("乙", 1, 2)]
    assert (social.stationed, social.required, social.short) == (2, 3, True)
    assert [p.user.display_name for p in social.fell_short] == ["丙"]
    page = _client_of(world, "leader").get("/attendance/weeks?week=2026-12-07").get_data(as_text=True)
    assert "未达标：" in page and "乙 (1/2)" in page and "在岛 2 / 3 天：未达标" in page


def _client_of(world, username):
    from flask import current_app

    client = current_app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def test_the_monthly_assessment_is_printed_and_downloaded_by_those_who_assess(world, make, monkeypatch):
    import io

    from openpyxl import load_workbook

    _offices(world, make, monkeypatch)
    at(monkeypatch, 2026, 12, 14, 9)
    result = attendance.assessment(date(2026, 12, 1))
    assert result.mondays == [MONDAY]  # the weeks of December that have ended
    rows = {p.user.display_name: p for o in result.offices for p in o.people}
    assert (rows["甲"].weeks_met, rows["乙"].short_weeks, rows["乙"].leave) == (1, [MONDAY], 1)
    leader = _client_of(world, "leader")
    page = leader.get("/attendance/assessment?month=2026-12")
    assert page.status_code == 200 and "民政办" in page.get_data(as_text=True) and "data-print" in page.get_data(as_text=True)
    sheet = leader.get("/attendance/assessment?month=2026-12&format=xlsx")
    book = load_workbook(io.BytesIO(sheet.data))
    rows = {row[1]: list(row) for row in book.active.iter_rows(values_only=True)}
    assert rows["乙"] == ["民政办", "乙", 0, 1, 1, 2, 3, 0, 1, 1, "12-07"]  # 1 of 2 asked for: Tuesday on leave
    assert _client_of(world, "staff-p01").get("/attendance/assessment").status_code == 403


def test_a_lead_corrects_a_day_on_the_weeks_page_and_is_told_what_is_missing(world, make, monkeypatch):
    a, b, c = _offices(world, make, monkeypatch)
    at(monkeypatch, 2026, 12, 14, 9)
    leader = _client_of(world, "leader")
    form = {"member": str(b.id), "day": "2026-12-09", "kind": "on_island", "reason": ""}
    refused = leader.post("/attendance/corrections", data=form)
    assert refused.status_code == 422 and "请说明更正的原因" in refused.get_data(as_text=True)
    done = leader.post("/attendance/corrections", data=dict(form, reason="当天在岛值班，未登记"))
    assert done.status_code == 303
    told = leader.get(done.headers["Location"]).get_data(as_text=True)
    assert f"{b.display_name}，2026-12-09：{ON.label}（已更正）。" in told  # whose day, which, as now recorded
    assert attendance.day_of(b, date(2026, 12, 9)).kind is ON
    assert not [p for o in attendance.week(MONDAY).offices for p in o.fell_short if p.user.id == b.id]


def test_a_clerk_fills_in_a_missed_day_on_their_own_page(app, world, monkeypatch):
    at(monkeypatch, 2026, 12, 10, 9)  # Thursday
    clerk = _client(app, "staff-p01")
    page = clerk.get("/attendance/").get_data(as_text=True)
    assert "补登漏登的日子" in page and page.count("未登记") >= 3  # Monday to Wednesday, nothing recorded
    saturday = clerk.post("/attendance/", data={"day": "2026-12-05", "kind": "on_island"})
    assert saturday.status_code == 422 and "休息日" in saturday.get_data(as_text=True)
    filled = clerk.post("/attendance/", data={"day": "2026-12-07", "kind": "on_island"})
    assert filled.status_code == 303
    assert f"2026-12-07：{ON.label}。" in clerk.get(filled.headers["Location"]).get_data(as_text=True)
    assert attendance.day_of(world.staff, MONDAY).kind is ON
    again = clerk.post("/attendance/", data={"day": "2026-12-07", "kind": "leave"})
    assert again.status_code == 409 and attendance.day_of(world.staff, MONDAY).kind is ON
