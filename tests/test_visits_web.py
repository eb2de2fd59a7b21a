"""Visits through the pages: booking from the case page, the team's phone, the calendar, the register."""
import re
from datetime import timedelta

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Slot, Visit, VisitStatus
from tests.stories import log
from tests.test_visits import MONDAY


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def test_booking_from_the_case_page_offers_free_slots_when_full(app, home, make):
    from portal.domain import visits

    for n in range(2):
        other = make.household(home.h01, address=f"东岙{60 + n}号", phone="13600000001")
        visits.book(log(home, home.home_item, household=other), home.staff, MONDAY, Slot.AM)
    case = log(home, home.home_item)
    staff = _client(app, "staff-p01")
    refused = staff.post(f"/visits/cases/{case.number}/book", data={"day": MONDAY.isoformat(), "slot": "am"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'name="pick"' in html and f"{MONDAY.isoformat()}|pm" in html
    picked = staff.post(f"/visits/cases/{case.number}/book", data={"day": "", "slot": "am",
                                                                   "pick": f"{MONDAY.isoformat()}|pm"})
    assert picked.status_code == 303
    visit = db.session.scalars(sa.select(Visit).where(Visit.case_id == case.id)).one()
    assert (visit.day, visit.slot) == (MONDAY, Slot.PM)


def test_the_team_sees_its_visits_and_finishes_one(app, home):
    case = log(home, home.home_item)
    today = clock.today()
    db.session.add(Visit(case=case, household_id=case.household_id, team_id=home.t1.id, day=today, slot=Slot.AM))
    db.session.commit()
    visit_id = db.session.scalar(sa.select(Visit.id))
    member = _client(app, "team1-a")
    page = member.get("/visits/").get_data(as_text=True)
    assert "东岙8号" in page and "开始上门" in page
    assert member.post(f"/visits/{visit_id}/start").status_code == 303
    refused = member.post(f"/visits/{visit_id}/finish", data={"work_done": "", "resident_confirmed": ""})
    assert refused.status_code == 422
    done = member.post(f"/visits/{visit_id}/finish", data={"work_done": "完成认证", "resident_confirmed": "本人签字"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Visit, visit_id).status is VisitStatus.DONE


def test_the_calendar_is_for_leads_and_team_leads(app, home):
    from portal.domain import visits

    visits.book(log(home, home.home_item), home.staff, MONDAY, Slot.AM)
    assert _client(app, "team1-a").get("/visits/calendar").status_code == 403
    page = _client(app, "team1-lead").get(f"/visits/calendar?week={MONDAY.isoformat()}").get_data(as_text=True)
    assert "第一上门服务队" in page and "1/2" in page
    # Thursday and Friday are off the island, then the weekend: no visits, not "0/2" free places.
    assert page.count('class="cell closed"') == 8 and page.count("0/2") == 5
    assert _client(app, "leader").get("/visits/calendar").status_code == 200


def test_slots_after_the_due_time_are_marked_and_booking_one_warns(app, home):
    from portal.domain import visits

    case = log(home, home.home_item)
    case.due_at = clock.local_midnight(MONDAY) + timedelta(hours=12)  # due at noon on Monday
    db.session.commit()
    offered = visits.free_slots(home.t1, MONDAY, count=3, due=case.due_at)
    assert [(f.slot, f.after_due) for f in offered] == [(Slot.AM, False), (Slot.PM, True), (Slot.AM, True)]
    staff = _client(app, "staff-p01")
    page = staff.get(f"/visits/cases/{case.number}/free?day={MONDAY.isoformat()}").get_data(as_text=True)
    assert page.count("晚于办理时限") == 5  # of six offered, only Monday morning is in time
    booked = staff.post(f"/visits/cases/{case.number}/book", data={"day": MONDAY.isoformat(), "slot": "pm"},
                        follow_redirects=True)
    assert booked.status_code == 200 and "上门时间晚于本工单的办理时限" in booked.get_data(as_text=True)


def test_the_intake_offers_free_half_days_as_buttons_that_book_one(app, home, make):
    from portal.domain import visits

    for n in range(2):
        other = make.household(home.h01, address=f"东岙{70 + n}号", phone="13600000001")
        visits.book(log(home, home.home_item, household=other), home.staff, MONDAY, Slot.AM)
    staff = _client(app, "staff-p01")
    data = {"requester_phone": "13912345678", "household_id": home.household.id, "requester_name": "王大爷",
            "item_query": home.home_item.code, "channel": "phone", "description": "上门认证", "mode": "home",
            "visit_day": MONDAY.isoformat(), "visit_slot": "am"}
    full = staff.post("/intake/", data=data)
    assert full.status_code == 422 and f'name="pick" value="{MONDAY.isoformat()}|pm"' in full.get_data(as_text=True)
    picked = staff.post("/intake/", data={**data, "pick": f"{MONDAY.isoformat()}|pm"})
    assert picked.status_code == 303
    visit = db.session.scalars(sa.select(Visit).where(Visit.household_id == home.household.id)).one()
    assert (visit.day, visit.slot) == (MONDAY, Slot.PM)


def test_the_care_register_lists_flagged_households_with_their_visits(app, home, make):
    make.household(home.h01, address="东岙77号", phone="13600000002", residents=("李奶奶",), elderly_alone=True,
                   season_months=None)
    page = _client(app, "staff-p01").get("/visits/register").get_data(as_text=True)
    assert "东岙77号" in page and "独居老人" in page and "李**" in page and "李奶奶" not in page


def test_intake_books_the_visit_the_resident_proposed_or_saves_nothing(app, home, make):
    from portal.models import Case

    staff = _client(app, "staff-p01")
    data = {"requester_phone": "13912345678", "household_id": home.household.id, "requester_name": "王大爷",
            "item_query": "SS04", "channel": "phone", "description": "养老金认证，请上门",
            "visit_day": (MONDAY + timedelta(days=3)).isoformat(), "visit_slot": "am"}  # a Thursday: off the island
    refused = staff.post("/intake/", data=data)
    assert refused.status_code == 422 and "服务队空闲时段" in refused.get_data(as_text=True)
    assert f'value="{MONDAY.isoformat()}|am"' in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    booked = staff.post("/intake/", data={**data, "visit_day": MONDAY.isoformat()})
    assert booked.status_code == 303
    assert db.session.scalar(sa.select(Visit.day)) == MONDAY


def test_a_team_lead_issues_a_new_feed_address(app, home):
    lead = _client(app, "team1-lead")
    issued = lead.post("/visits/teams/T1/feed")
    assert issued.status_code == 200
    token = re.search(r"T1\.ics\?token=([\w-]+)", issued.get_data(as_text=True)).group(1)
    db.session.expire_all()
    assert home.t1.calendar_token_hash and token not in home.t1.calendar_token_hash  # only its hash is kept
    assert app.test_client().get(f"/visits/teams/T1.ics?token={token}").status_code == 200
    assert _client(app, "team1-a").post("/visits/teams/T1/feed").status_code == 403
    assert lead.post("/visits/teams/T1/feed").status_code == 200  # renewed: the old address stops working
    assert app.test_client().get(f"/visits/teams/T1.ics?token={token}").status_code == 404



def test_visits_to_rebook_reach_those_who_move_them_and_the_team_that_would_go(app, home):
    from portal.domain import visits
    from portal.models import CalendarDay, DayKind

    case = log(home, item=home.home_item)
    visit = visits.book(case, home.staff, MONDAY, Slot.AM)
    db.session.add(CalendarDay(day=MONDAY, kind=DayKind.HOLIDAY, name="临时休假"))
    db.session.commit()
    move = f"/visits/{visit.id}/move"
    # The administrator who changed the days sees the list, but cannot move a visit: no link to a page that says 403.
    admin = _client(app, "root").get("/directory/working-calendar/").get_data(as_text=True)
    assert case.number in admin and f'href="{move}"' not in admin
    assert "这些上门服务由服务队队长或站长在上门日历中改约" in admin
    # The lead (and the team's lead) find it on the visit calendar, each visit a link to move it.
    for who in ("leader", "team1-lead"):
        page = _client(app, who).get(f"/visits/calendar?week={MONDAY.isoformat()}").get_data(as_text=True)
        assert 'id="rebook"' in page and f'href="{move}"' in page and "待改约" in page, who
    # The team's phone no longer says to start it that day.
    phone = _client(app, "team1-a").get("/visits/").get_data(as_text=True)
    assert "当天无法上门：服务队该半天不再上门" in phone and f"请于 {MONDAY.isoformat()} 当天开始上门" not in phone
