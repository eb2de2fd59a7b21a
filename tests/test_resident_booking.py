"""Residents book their own home-visit half-day (visits.book_by_resident) from the link of the SMS sent
when a home-visit case is logged: among the team's free half-days before the case is due, once."""
import re
from datetime import date

import sqlalchemy as sa

from portal.domain import visits
from portal.domain.cases import lifecycle
from portal.extensions import db
from portal.models import AuditEntry, CalendarDay, DayKind, OutboxMessage, Slot, Visit
from tests import stories


def the_link(case) -> str:
    [message] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "book",
                                                                  OutboxMessage.case_id == case.id)).all()
    return re.search(r"(/lookup/v/\S+)", message.text).group(1)


def test_a_home_case_sends_the_resident_a_link_to_choose_the_half_day(home, client):
    case = stories.log_home(home)
    link = the_link(case)
    assert case.number not in link and "1391234" not in link
    page = client.get(link).get_data(as_text=True)
    assert case.number in page and "选择上门时间" in page
    assert "2026-11-28" not in page  # a Saturday: the team does not visit
    assert 'value="2026-11-30|am"' in page  # Monday morning, free


def test_the_resident_books_a_free_half_day_once_and_staff_see_who_booked(home, client, auth):
    case = stories.log_home(home)
    link = the_link(case)
    answer = client.post(link, data={"pick": "2026-11-30|pm"})
    assert answer.status_code == 200 and "服务队将于 2026-11-30 下午 上门" in answer.get_data(as_text=True)
    visit = db.session.scalars(sa.select(Visit).where(Visit.case_id == case.id)).one()
    assert (visit.day, visit.slot, visit.booked_by_resident, visit.booked_by_id) == (date(2026, 11, 30), Slot.PM,
                                                                                    True, None)
    assert db.session.scalar(sa.select(AuditEntry.actor_name).where(AuditEntry.action == "book_visit")) == "resident"
    again = client.post(link, data={"pick": "2026-12-01|am"}).get_data(as_text=True)
    assert "服务队将于 2026-11-30 下午 上门" in again
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 1
    auth.login("team1-a")
    assert "居民自约" in client.get("/visits/").get_data(as_text=True)


def test_a_full_or_made_up_half_day_is_refused_with_the_free_ones(home, client, make):
    case = stories.log_home(home)
    for address in ("东岙10号", "东岙11号"):  # two other households fill Monday morning (two a half-day)
        other = stories.log_home(home, household=make.household(home.h01, address=address, phone="13600000000"))
        visits.book(other, home.staff, date(2026, 11, 30), Slot.AM)
    answer = client.post(the_link(case), data={"pick": "2026-11-30|am"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "该时段已约满" in page and 'value="2026-11-30|pm"' in page
    assert client.post(the_link(case), data={"pick": "someday"}).status_code == 422
    assert client.post(the_link(case), data={"pick": "2027-06-01|am"}).status_code == 422  # after the due time
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit).where(Visit.case_id == case.id)) == 0


def test_a_case_booked_at_the_counter_sends_no_link_and_a_made_up_link_opens_nothing(home, client):
    case = visits.log_and_book(home.staff, date(2026, 11, 30), Slot.AM, home.home_item, stories.Channel.COUNTER,
                               "上门", "王大爷", "13912345678", household=home.household)
    assert db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind.in_(["book", "book_call"]))).all() == []
    assert client.get(f"/lookup/v/{case.id:x}-AAAAAAAAAAAAAAAA").status_code == 404
    other = stories.log_home(home)
    booking = the_link(other)
    assert client.get(booking).status_code == 200
    assert client.get(booking.replace("/lookup/v/", "/lookup/r/")).status_code == 404  # a link opens its own page only


def test_a_holiday_picked_by_the_link_is_refused_as_a_holiday_not_as_full(home, client):
    case = stories.log_home(home)
    link = the_link(case)
    db.session.add(CalendarDay(day=date(2026, 11, 30), kind=DayKind.HOLIDAY, name="临时休假"))
    db.session.commit()
    answer = client.post(link, data={"pick": "2026-11-30|am"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "2026-11-30 是法定节假日，服务队不上门。" in page and "约满" not in page
    assert 'value="2026-11-30|am"' not in page and visits.active_visit(case) is None


def test_the_link_of_a_case_that_ended_says_so_instead_of_promising_a_call(home, client):
    case = stories.log_home(home)
    link = the_link(case)
    lifecycle.cancel(case, home.staff, "居民已自行解决")
    page = client.get(link).get_data(as_text=True)
    assert "该工单状态为“已撤销”，无需再预约上门。" in page and "服务点将致电" not in page
