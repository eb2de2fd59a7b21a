"""The rules of document custody and of visits at their edges: documents never stranded, visits that end with their
case, races that explain themselves, the scheduler that does not stop, scopes and bounds."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import DomainError, access, errands, visits
from portal.domain.cases import attachments, intake, lifecycle, timekeeping
from portal.extensions import db
from portal.models import (
    Attachment,
    CalendarDay,
    Case,
    CaseMaterial,
    Channel,
    DayKind,
    Holder,
    Household,
    Role,
    ServiceItem,
    ServicePoint,
    Slot,
    Team,
    User,
    Visit,
    VisitStatus,
)
from tests.stories import claimed, log, signed
from tests.test_visits import MONDAY


def login(app, username):
    client = app.test_client()
    client.post("/auth/login", data={"username": username, "password": "correct-horse-7"})
    return client


def collected(world):
    case = claimed(world)
    errands.collect(case, world.proxy, [m.id for m in case.materials], "王大爷", signature=signed())
    return case


def test_an_errand_is_handed_back_only_after_the_office_answered(app, world):
    case = collected(world)
    with pytest.raises(DomainError):
        errands.deliver(case, world.proxy, "好", "王大爷", signature=signed())
    errands.submit(case, world.proxy, "窗口", signature=signed())
    errands.record_answer(case, world.proxy, "more_materials", note="缺", more=["村委会证明"], signature=signed())
    with pytest.raises(DomainError):
        errands.deliver(case, world.proxy, "好", "王大爷", signature=signed())
    answered = [e for e in case.events if e.kind.value == "office_answered"][-1]
    assert answered.data["more"] == ["村委会证明"]


def test_a_case_does_not_end_while_the_documents_are_away(world):
    case = collected(world)
    with pytest.raises(DomainError) as raised:
        lifecycle.cancel(case, world.staff, "不需要了")
    assert "交还居民" in str(raised.value.message)
    errands.hand_over(case, world.proxy, list(case.materials), Holder.RESIDENT, "王大爷", signature=signed())
    lifecycle.cancel(case, world.staff, "不需要了")


def test_after_reassignment_the_new_proxy_takes_the_documents_over(world, make):
    other = make.user(Role.PROXY, username="proxy-b", places=[world.h01])
    case = collected(world)
    lifecycle.assign(case, world.lead, other)
    lifecycle.claim(case, other)
    db.session.refresh(case)
    assert not errands.readiness(case).ready  # still with the first proxy
    with pytest.raises(DomainError):
        errands.submit(case, other, "窗口", signature=signed())
    errands.collect(case, other, [m.id for m in case.materials], world.proxy.display_name, signature=signed())
    assert {m.holder_user_id for m in case.materials} == {other.id} and errands.readiness(case).ready


def test_the_next_off_island_day_is_the_errand_points(world, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: date(2026, 11, 30))
    p01 = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    db.session.add(CalendarDay(day=date(2026, 12, 3), kind=DayKind.HOLIDAY, name="停航", service_point_id=p01.id))
    db.session.commit()
    assert timekeeping.next_off_island_day(p01) == date(2026, 12, 4)
    assert errands.next_day_for(world.proxy) == date(2026, 12, 4)
    case = collected(world)
    assert errands.manifest(world.proxy, date(2026, 12, 3)).count == 0  # P01 does not travel that day
    assert [c.number for c in errands.manifest(world.proxy, date(2026, 12, 4)).ready_by_office.popitem()[1]] == [
        case.number]


def test_butlers_work_their_heating_errands(app, world, make):
    household = make.household(world.e01, phone="13700001111")
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code="HT06")).one()
    case = intake.log_case(world.lead, item, Channel.PHONE, "报停", "李四", "13700001111", household=household)
    lifecycle.claim(case, world.butler)
    assert login(app, "butler-e01").get(f"/errands/{case.number}").status_code == 200


def test_a_renamed_file_keeps_the_name_of_what_it_is(world):
    case = claimed(world)
    kept = attachments.attach(case, world.proxy, "scan.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 10)
    assert kept.filename == "scan.png" and kept.content_type == "image/png"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1


def test_cancelling_a_home_case_frees_its_visit(home):
    case = log(home, home.home_item)
    visit = visits.book(case, home.staff, MONDAY, Slot.AM)
    lifecycle.cancel(case, home.staff, "住院了")
    db.session.refresh(visit)
    assert visit.status is VisitStatus.CANCELLED
    assert case.events[-1].kind.value == "visit_cancelled" or any(e.kind.value == "visit_cancelled" for e in case.events)
    again = log(home, home.home_item)
    visits.book(again, home.staff, MONDAY, Slot.AM)  # the slot is free again


def test_the_scheduler_goes_on_past_a_household_it_cannot_reach(home):
    db.session.add_all([
        Household(code="N1", place_id=home.h01.id, address="东岙201号", phone=None, elderly_alone=True),
        Household(code="N2", place_id=home.h01.id, address="东岙202号", phone="13500000001", elderly_alone=True),
    ])
    db.session.commit()
    assert len(visits.schedule_care_visits()) == 2


@pytest.mark.parametrize("url", ["/visits/calendar?week=0001-01-01", "/visits/calendar?week=9999-12-31"])
def test_extreme_weeks_show_this_week(app, home, url):
    assert login(app, "leader").get(url).status_code == 200


def test_a_day_too_far_ahead_is_refused_clearly(app, home):
    number = log(home, home.home_item).number
    staff = login(app, "staff-p01")
    assert staff.get(f"/visits/cases/{number}/free?day=9999-12-31").status_code == 200
    refused = staff.post(f"/visits/cases/{number}/book", data={"day": "9999-12-31", "slot": "am"})
    assert refused.status_code == 422 and "请选择一年以内的日期。" in refused.get_data(as_text=True)


def test_a_team_lead_plans_only_their_own_team(app, home, make):
    other = log(home, home.home_item, household=make.household(home.h02, phone="13912345678"))  # a walk-in from 沙嘴
    visits.book(other, home.lead, MONDAY, Slot.AM, team=make.get(Team, code="T2"))
    page = login(app, "team1-lead").get(f"/visits/calendar?week={MONDAY}").get_data(as_text=True)
    assert other.number not in page and "第二上门服务队" not in page


def test_staff_are_not_offered_the_teams_buttons(app, home):
    visit = visits.book(log(home, home.home_item), home.staff, MONDAY, Slot.AM)
    html = login(app, "staff-p01").get(f"/visits/{visit.id}").get_data(as_text=True)
    assert "开始上门" not in html


# --- at the same moment (PostgreSQL has no global write lock; SQLite serialises these anyway) ---------

def race(app, *preparations):
    db.session.commit()  # the test's own session holds no transaction (nor SQLite's lock) meanwhile
    barrier = threading.Barrier(len(preparations))

    def work(prepare):
        with app.app_context():
            try:
                act = prepare()
                barrier.wait()
                act()
                return "ok"
            except DomainError as error:
                return f"refused: {error.message}"
            except Exception as error:  # noqa: BLE001 - a crash is what the tests look for
                return f"CRASH {type(error).__name__}"
            finally:
                db.session.rollback()
                db.session.remove()

    with ThreadPoolExecutor(len(preparations)) as pool:
        return list(pool.map(work, preparations))


def test_the_errand_limit_holds_for_two_claims_at_once(app, world):
    app.config["ERRAND_LIMIT"] = 2
    claimed(world)
    numbers, proxy_id = [log(world).number for _ in range(2)], world.proxy.id

    def claim(number):
        def prepare():
            case = db.session.scalars(sa.select(Case).filter_by(number=number)).one()
            user = db.session.get(User, proxy_id)
            db.session.commit()
            return lambda: lifecycle.claim(case, user)
        return prepare

    results = race(app, *map(claim, numbers))
    assert access.errands.open_errands(db.session.get(User, proxy_id)) == 2, results
    assert sum(r.startswith("refused") for r in results) == 1


def test_two_handovers_at_once_never_crash(app, world):
    case = claimed(world)
    lifecycle.start(case, world.proxy)
    case_id, proxy_id = case.id, world.proxy.id

    def hand(material_id):
        def prepare():
            row, user = db.session.get(Case, case_id), db.session.get(User, proxy_id)
            material = db.session.get(CaseMaterial, material_id)
            db.session.commit()
            return lambda: errands.hand_over(row, user, [material], Holder.PROXY, "王大爷", signature=signed())
        return prepare

    results = race(app, *(hand(m.id) for m in case.materials[:2]))
    assert not any(r.startswith("CRASH") for r in results), results


def test_one_case_booked_twice_at_once_keeps_one_visit(app, home):
    number, staff_id = log(home, home.home_item).number, home.staff.id

    def book(slot):
        def prepare():
            case, user = db.session.scalars(sa.select(Case).filter_by(number=number)).one(), db.session.get(User, staff_id)
            db.session.commit()
            return lambda: visits.book(case, user, MONDAY, slot)
        return prepare

    results = race(app, book(Slot.AM), book(Slot.PM))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 1, results
    assert not any(r.startswith("CRASH") for r in results), results


def test_two_schedulers_at_once_book_each_household_once(app, home):
    db.session.add_all([Household(code=f"R{n}", place_id=home.h01.id, address=f"东岙{300 + n}号",
                                  phone="13500000000", elderly_alone=True) for n in range(2)])
    db.session.commit()
    visits.care_item()
    db.session.commit()
    results = race(app, lambda: visits.schedule_care_visits, lambda: visits.schedule_care_visits)
    assert results == ["ok", "ok"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 2
