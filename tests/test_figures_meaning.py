"""What the figures mean (issue 34.1-34.3): journeys saved counted once per case and as many as the catalog says,
the cost of a journey printed in its parts beside the sums it multiplies into, and residents' requests (受理)
counted apart from proactive work (主动服务: care visits, campaign findings)."""
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import heating, visits
from portal.domain.boards import counters, hotspots, metrics, scopes
from portal.domain.boards.board import build, cases_behind
from portal.domain.boards.periods import period_for
from portal.domain.boards.report import monthly_report
from portal.domain.cases import lifecycle
from portal.extensions import db
from portal.models import (
    Case,
    CaseCount,
    Finding,
    Household,
    Mode,
    MonthlyTopic,
    Outcome,
    Satisfaction,
    ServiceItem,
    ServicePoint,
    VisitResult,
)
from tests.stories import at, log

MONDAY = date(2026, 11, 23)


def week(code="H01"):
    return build(scopes.scope_for("place", code), period_for("week"), None)


def trips(code, viewer):
    rows = cases_behind(scopes.scope_for("place", code), "trips", period_for("week"), viewer)
    return [case.number for case in db.session.scalars(rows)]


def rebuilt_equals_kept():
    kept = counters.as_rows()
    counters.rebuild()
    return counters.as_rows() == kept


# --- 34.1: journeys ------------------------------------------------------------------------------------

def test_a_redo_resolved_again_saves_its_journeys_once(world, monkeypatch):
    at(monkeypatch, 2026, 11, 23, 9)
    case = log(world, world.plain_errand)  # 药品代购: one journey to the mainland before the network
    lifecycle.claim(case, world.proxy)
    lifecycle.start(case, world.proxy)
    at(monkeypatch, 2026, 11, 24, 10)
    lifecycle.resolve(case, world.proxy, "药已送到家")
    lifecycle.close(case, world.staff, Outcome.UNSOLVED, Satisfaction.DISSATISFIED)  # a redo: the case reopens
    at(monkeypatch, 2026, 11, 25, 10)
    lifecycle.resolve(case, world.proxy, "重办完成")
    board = week()
    assert case.redo_count == 1 and board.figures.resolved == 2    # two resolutions
    assert board.figures.trips_saved == 1                          # one journey: the resident would go once
    assert board.cost_saved == board.trip.yuan and board.hours_saved == board.trip.hours
    assert trips("H01", world.lead) == [case.number]              # its export lists the first resolution only
    assert rebuilt_equals_kept()
    assert week().figures.trips_saved == 1


def test_a_two_journey_item_saves_two(world, make, monkeypatch):
    at(monkeypatch, 2026, 11, 23, 9)
    approval = make.item(code="AP01", mode=Mode.COUNTER, journeys=2)  # hand in, then collect
    assert world.errand_item.journeys == 2 and world.counter_item.journeys == 0  # the demo catalog: CA01, CV01
    case = log(world, db.session.merge(approval))
    lifecycle.finish_on_spot(case, world.staff)
    other = log(world, world.counter_item)  # 证明材料开具 never needed the mainland
    lifecycle.finish_on_spot(other, world.staff)
    assert case.trip_saved and not other.trip_saved
    assert week().figures.trips_saved == 2
    assert rebuilt_equals_kept()
    assert week().figures.trips_saved == 2


def test_journeys_recorded_before_issue_34_are_counted_on_the_first_resolution(world, monkeypatch):
    """Events from before journeys were recorded (their data says "trip" on every resolution) count the item's
    journeys once, on the case's first resolution."""
    at(monkeypatch, 2026, 11, 23, 9)
    case = log(world, world.errand_item)  # CA01: two journeys
    lifecycle.claim(case, world.proxy)
    lifecycle.start(case, world.proxy)
    lifecycle.resolve(case, world.proxy, "已办结")
    lifecycle.close(case, world.staff, Outcome.UNSOLVED, Satisfaction.DISSATISFIED)
    lifecycle.resolve(case, world.proxy, "重办完成")
    for event in case.events:
        if event.data and "journeys" in event.data:
            event.data = {k: v for k, v in event.data.items() if k != "journeys"} | {"trip": True}
    db.session.commit()
    counters.rebuild()
    assert week().figures.trips_saved == 2
    assert trips("H01", world.lead) == [case.number]


# --- 34.2: the cost of a journey -------------------------------------------------------------------------

def test_the_cost_of_a_journey_is_its_configured_parts(app):
    app.config.update(TRIP_BOAT_FARE_YUAN=70, TRIP_MAINLAND_TRANSPORT_YUAN=20, TRIP_MEALS_YUAN=10,
                      TRIP_LOST_INCOME_YUAN=200, TRIP_HOURS=5)
    with app.app_context():
        trip = metrics.TripCost.configured()
    assert trip.yuan == 300 and trip.cost(3) == 900 and trip.time(3) == 15


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def test_the_board_and_report_print_assumptions_that_multiply_to_their_sums(world, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 23, 9)
    for item in (world.errand_item, world.plain_errand, world.plain_errand):  # 2 + 1 + 1 journeys
        case = log(world, item)
        lifecycle.claim(case, world.proxy)
        lifecycle.start(case, world.proxy)
        lifecycle.resolve(case, world.proxy, "已办结")
    auth.login("leader")
    for url in ("/boards/place/H01?period=week", "/boards/report?month=2026-11"):
        page = client.get(url).get_data(as_text=True)
        parts = re.search(r"船票 ¥([\d,]+) \+ 岛外交通 ¥([\d,]+) \+ 餐费 ¥([\d,]+) \+ 误工一天 ¥([\d,]+) = ¥([\d,]+)，"
                          r"耗时 ([\d.]+) 小时。\s*([\d,]+) 次往返 × ¥([\d,]+) = ¥([\d,]+)；× ([\d.]+) 小时 = ([\d,]+) 小时", page)
        assert parts, url
        boat, land, meals, income, each, hours, journeys, each_again, total, hours_again, total_hours = map(
            _number, parts.groups())
        assert (boat, land, meals, income, hours) == (60, 40, 30, 300, 6)  # the defaults of portal/config.py
        assert boat + land + meals + income == each == each_again and hours == hours_again
        assert journeys == 4 and total == journeys * each == 1720 and total_hours == journeys * hours
        assert page.count("¥1,720") >= 2  # the sum in its row (the report: and its point's), and in the multiplication


# --- 34.3: requests apart from proactive work --------------------------------------------------------------

@pytest.fixture
def care(home, make):
    """Friday 27 November 2026, 10:00: three households of the elderly living alone in 东岙 get their care
    visits booked by the scheduler; a resident phones for an errand, and a clerk finishes a counter item."""
    for n in range(3):
        db.session.add(Household(code=f"EA{n}", place_id=home.h01.id, address=f"东岙30{n}号",
                                 phone=f"1350000000{n}", elderly_alone=True))
    db.session.commit()
    booked = visits.schedule_care_visits()
    home.care_cases = db.session.scalars(sa.select(Case).where(Case.number.in_(booked))).all()
    home.errand = log(home, home.plain_errand)
    home.counter = log(home, home.counter_item)
    lifecycle.finish_on_spot(home.counter, home.staff)
    return home


def test_a_care_visit_is_proactive_work_not_a_request(care):
    assert len(care.care_cases) == 3 and all(case.proactive for case in care.care_cases)
    assert not care.errand.proactive and not care.counter.proactive
    board = week()
    assert (board.logged_today, board.proactive_today) == (2, 3)    # 今日受理 2, and 3 proactive
    assert (board.figures.logged, board.figures.proactive) == (2, 3)
    assert board.figures.on_the_spot == metrics.Rate(1, 1)          # of the counter request; no care visit in it
    assert [c.name_zh for c in board.categories] == ["便民服务"] and board.categories[0].logged == 2
    logged = db.session.scalars(cases_behind(scopes.scope_for("place", "H01"), "logged", period_for("week"),
                                             care.lead)).all()
    assert {case.number for case in logged} == {care.errand.number, care.counter.number}
    proactive = db.session.scalars(cases_behind(scopes.scope_for("place", "H01"), "proactive", period_for("week"),
                                                care.lead)).all()
    assert {case.number for case in proactive} == {case.number for case in care.care_cases}
    assert rebuilt_equals_kept()
    assert (week().figures.logged, week().figures.proactive) == (2, 3)


def test_a_care_visit_done_counts_as_proactive_work_done_not_a_resolution(care):
    case = care.care_cases[0]
    visit = visits.active_visit(case)
    visit.day = clock.today()
    db.session.commit()
    visits.start(visit, care.member)
    visits.finish(visit, care.member, "探访，身体健康", "已签字")
    figures = week().figures
    assert (figures.resolved, figures.proactive_resolved) == (1, 1)  # the counter item; the care visit apart
    assert rebuilt_equals_kept()


def test_care_visits_are_not_in_hotspots_nor_the_topics_count(care, monkeypatch):
    # 东岙 × 便民服务 had 5 cases in these 30 days (2 requests, 3 care visits): the hotspot counts the 2 requests
    [spot] = hotspots.hotspots(scopes.scope_for("place", "V1").counts, clock.today())
    assert (spot.place_id, spot.category, spot.total, spot.recent) == (care.h01.id, "便民服务", 2, 2)
    topic = MonthlyTopic(scope_key="place:0", month=date(2026, 11, 1), place_id=care.h01.id, category="便民服务")
    assert hotspots.progress(topic).this_month == 2


def test_an_errand_a_care_visit_uncovered_is_proactive_and_saves_its_journey(care):
    case = care.care_cases[0]
    visit = visits.active_visit(case)
    visit.day = clock.today()
    db.session.commit()
    visits.start(visit, care.member)
    errand = visits.hand_off(visit, care.member, care.plain_errand, "代购降压药")
    assert errand.proactive and errand.origin_id == case.id
    lifecycle.claim(errand, care.proxy)
    lifecycle.start(errand, care.proxy)
    lifecycle.resolve(errand, care.proxy, "药已送到家")
    figures = week().figures
    assert figures.logged == 2 and figures.proactive == 4
    assert figures.trips_saved == 1  # the journey is the resident's, whoever began the case


def test_a_campaign_finding_is_proactive_work(district, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10)
    campaign = heating.create_campaign(district.desk, "入户走访", [district.e01], clock.today(),
                                       clock.today() + timedelta(days=30))
    found = heating.record_visit(campaign, district.flat, district.butler, VisitResult.FINDING, Finding.AIR_LOCK)
    case = heating.finding_to_case(found, district.butler)
    call = heating.take_call(district.desk, district.item("HT01"), "13700000001", "", household=district.flat)
    assert case.proactive and not call.proactive
    board = week("E01")
    assert (board.logged_today, board.proactive_today) == (1, 1)
    assert rebuilt_equals_kept()


def test_the_monthly_report_counts_requests_and_proactive_work_apart(care):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    total = monthly_report(date(2026, 11, 1), point).total
    assert (total.figures.logged, total.figures.proactive) == (2, 3)
    district = monthly_report(date(2026, 11, 1)).total
    assert (district.figures.logged, district.figures.proactive) == (2, 3)


def test_the_counters_keep_requests_and_proactive_work_in_rows_of_their_own(care):
    rows = db.session.execute(sa.select(CaseCount.proactive, sa.func.sum(CaseCount.logged),
                                        sa.func.sum(CaseCount.counter_logged))
                              .group_by(CaseCount.proactive).order_by(CaseCount.proactive)).all()
    assert [tuple(row) for row in rows] == [(False, 2, 1), (True, 3, 0)]


def test_the_catalog_says_journeys_and_the_directory_edits_them(world, client, auth):
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CV05")).one()
    auth.login("root")
    form = client.get(f"/directory/items/{item.id}").get_data(as_text=True)
    assert 'name="journeys"' in form and "节省出岛往返次数" in form
    data = {"code": "CV05", "category_zh": item.category_zh, "name_zh": item.name_zh, "mode": "errand",
            "sla_hours": "48", "journeys": "-1"}
    refused = client.post(f"/directory/items/{item.id}", data=data)
    assert refused.status_code == 422 and 'id="journeys-error">请填写 0 到 9 次之间的数。' in refused.get_data(as_text=True)
    db.session.refresh(item)
    assert item.journeys == 1
    assert client.post(f"/directory/items/{item.id}", data={**data, "journeys": "2"}).status_code == 303
    db.session.refresh(item)
    assert item.journeys == 2 and item.saves_trip


# --- 34 (demo): the island's year --------------------------------------------------------------------------

def test_the_demos_year_reads_like_the_islands_account(demo_app):
    """The demo's island requests go back a year at the pace of the 90 days shown (at the default 2,000 cases,
    some 1,600 a year), mostly approval items: about ¥650 saved per request, as the island reports; its care visits
    are proactive work, apart from the requests, and the money follows from the printed assumptions."""
    from portal.models import Place, PlaceKind

    with demo_app.app_context():
        today = clock.today()
        island = CaseCount.place_id.in_(sa.select(Place.id).where(Place.kind == PlaceKind.HAMLET))
        year = metrics.figures(island, today - timedelta(days=364), today)
        recent = metrics.figures(island, today - timedelta(days=89), today)
        assert 365 / 90 * 0.8 < year.logged / recent.logged < 365 / 90 * 1.2
        trip = metrics.TripCost.configured()
        assert 500 < trip.cost(year.trips_saved) / year.logged < 800  # the island: ¥1,000,000 / 1,500 ≈ ¥650
        assert year.proactive > year.logged / 4  # care visits every 30 days for the elderly living alone
        cases = db.session.scalar(sa.select(sa.func.count()).select_from(Case).join(Case.place).where(
            Place.kind == PlaceKind.HAMLET, Case.proactive, Case.created_at >= clock.local_midnight(
                today - timedelta(days=364))))
        assert cases == year.proactive
