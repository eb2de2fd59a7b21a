"""The "3+2" week as lived: the island's staff record each day, the post's board counts their days on the
island against its working days, and the staff carry errands on off-island days as proxies do."""
from datetime import date

import pytest
import sqlalchemy as sa

from portal.domain import Forbidden, attendance
from portal.extensions import db
from portal.models import Attendance, AttendanceKind
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
    clerk.post("/attendance", data={"kind": "off_island"})
    clerk.post("/attendance", data={"kind": "leave"})  # changed the same day: one record
    clerk.post("/attendance", data={"kind": "off_island"})
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
