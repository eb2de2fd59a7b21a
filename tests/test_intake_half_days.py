"""The intake form's home-visit half-days (issue 36.3): offered as soon as the item and the household are chosen,
never one the booking would refuse; a refused submit says what is wrong at the top, with links to the fields."""
import re
from datetime import timedelta

import sqlalchemy as sa

from portal import clock
from portal.domain import visits
from portal.extensions import db
from portal.models import Case, Slot, Visit
from tests.stories import log
from tests.test_visits import MONDAY
from tests.test_visits_web import _client

TUESDAY = MONDAY + timedelta(days=1)


def _intake(home, **more):
    return {"requester_phone": "13912345678", "household_id": home.household.id, "requester_name": "王大爷",
            "item_id": home.home_item.id, "channel": "phone", "description": "上门认证", **more}


def _offered(html: str) -> list[str]:
    return re.findall(r'name="pick" value="([^"]*)"', html)


def test_what_is_offered_is_what_is_accepted_for_a_household_with_a_visit(home):
    """The household's own visit on Monday morning: its half-day is neither offered nor accepted, and the refusal
    offers the same half-days as the form did."""
    visits.book(log(home, home.home_item), home.staff, MONDAY, Slot.AM)
    team, offered = visits.offered_at_intake(home.staff, home.home_item, home.household, None)
    assert team.id == home.t1.id
    assert (MONDAY, Slot.AM) not in [(f.day, f.slot) for f in offered] and (offered[0].day, offered[0].slot) == (MONDAY, Slot.PM)
    second = log(home, home.home_item)
    try:
        visits.book(second, home.staff, MONDAY, Slot.AM)
        raise AssertionError("a second visit of the household in one half-day was accepted")
    except visits.SlotFull as refusal:
        assert [(f.day, f.slot) for f in refusal.alternatives] == [(f.day, f.slot) for f in offered]
    for free in offered:  # every half-day offered is accepted
        assert visits.free_slots(home.t1, free.day, 1, household_id=home.household.id)[0].day == free.day


def test_the_free_half_days_appear_as_soon_as_item_and_household_are_chosen(app, home, make):
    for n in range(2):  # Monday afternoon full (capacity 2); the household's own visit on Tuesday morning
        other = make.household(home.h01, address=f"东岙{80 + n}号", phone="13600000001")
        visits.book(log(home, home.home_item, household=other), home.staff, MONDAY, Slot.PM)
    visits.book(log(home, home.home_item), home.staff, TUESDAY, Slot.AM)
    staff = _client(app, "staff-p01")
    form = staff.get("/intake/").get_data(as_text=True)
    assert 'id="free-slots"' in form and 'hx-get="/intake/free"' in form  # loaded as the form is filled in

    page = staff.get("/intake/free", query_string={**_intake(home), "mode": ""}).get_data(as_text=True)
    offered = _offered(page)
    assert "第一上门服务队" in page and offered[0] == ""  # "not now" first, then the half-days
    assert f"{MONDAY.isoformat()}|am" in offered
    assert f"{MONDAY.isoformat()}|pm" not in offered and f"{TUESDAY.isoformat()}|am" not in offered
    assert f"{TUESDAY.isoformat()}|pm" in offered

    counter = staff.get("/intake/free", query_string={**_intake(home), "item_id": home.counter_item.id})
    assert _offered(counter.get_data(as_text=True)) == []  # a counter item: no visit
    asked = staff.get("/intake/free", query_string={**_intake(home), "item_id": home.counter_item.id, "mode": "home"})
    assert f"{MONDAY.isoformat()}|am" in _offered(asked.get_data(as_text=True))  # unless handled at home
    nobody = staff.get("/intake/free", query_string={**_intake(home), "household_id": ""}).get_data(as_text=True)
    assert _offered(nobody) == [] and "选择来电住户或地点后" in nobody
    by_place = staff.get("/intake/free", query_string={**_intake(home), "household_id": "", "place_id": home.h01.id})
    assert f"{MONDAY.isoformat()}|pm" not in _offered(by_place.get_data(as_text=True))  # full for anyone
    assert f"{TUESDAY.isoformat()}|am" in _offered(by_place.get_data(as_text=True))  # busy only for that household


def test_a_refused_intake_never_offers_the_half_day_refused_and_sums_up_its_errors(app, home):
    visits.book(log(home, home.home_item), home.staff, MONDAY, Slot.AM)
    staff = _client(app, "staff-p01")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
    refused = staff.post("/intake/", data=_intake(home, description="", pick=f"{MONDAY.isoformat()}|am"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"{MONDAY.isoformat()}|am" not in _offered(html) and f"{MONDAY.isoformat()}|pm" in _offered(html)
    summary = html[html.index('id="error-summary"'):html.index('class="grid-2"')]  # above every field
    assert 'href="#description"' in summary and "autofocus" in html[html.index('<div class="form-errors error-summary"'):][:200]
    assert len(re.findall(r"\bautofocus\b", html)) == 1  # the summary takes the focus, not 电话
    clash = staff.post("/intake/", data=_intake(home, pick=f"{MONDAY.isoformat()}|am")).get_data(as_text=True)
    assert "该住户在此时段已有上门安排" in clash and 'href="#visit_day"' in clash
    assert f"{MONDAY.isoformat()}|am" not in _offered(clash)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == before  # nothing saved
    booked = staff.post("/intake/", data=_intake(home, pick=f"{MONDAY.isoformat()}|pm"))
    assert booked.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit).where(
        Visit.household_id == home.household.id, Visit.day == MONDAY)) == 2


def test_the_form_s_actions_are_one_sticky_bar_and_starting_a_visit_says_so(app, home):
    staff = _client(app, "staff-p01")
    form = staff.get("/intake/").get_data(as_text=True)
    start = form.index('class="actions sticky-actions"')
    bar = form[start:form.index("</form>", start)]
    assert "登记并当场办结" in bar and ">登记<" in bar
    case = log(home, home.home_item)
    db.session.add(Visit(case=case, household_id=case.household_id, team_id=home.t1.id, day=clock.today(), slot=Slot.AM))
    db.session.commit()
    visit_id = db.session.scalar(sa.select(Visit.id).where(Visit.case_id == case.id))
    started = _client(app, "team1-a").post(f"/visits/{visit_id}/start", follow_redirects=True)
    assert "上门已开始，状态为进行中" in started.get_data(as_text=True)
