"""Every figure of docs/METRICS.md on a hand-built set of cases, with the expected numbers written out,
and the kept counters checked against a rebuild from the timeline."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import heating
from portal.domain.boards import counters, metrics
from portal.domain.cases import lifecycle, supervision
from portal.extensions import db
from portal.models import (
    CallbackRecord,
    Case,
    CaseCount,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    Mode,
    Outcome,
    Place,
    Role,
    Satisfaction,
    ServiceItem,
    ServicePoint,
)
from tests.stories import claimed, in_progress, log, resolved

S = CaseStatus
TZ = clock.LOCAL_TZ
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def t(month, day, hour=9, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def november(ctx, make):
    """Nine cases of the hamlet H01 (A to I), their resolutions, callbacks and one return, counted."""
    make.directory()
    place = db.session.scalars(sa.select(Place).filter_by(code="H01")).one()
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CV05")).one()
    cases = {}

    def case(name, created, status, sign_due, claimed=None, due=None, resolved=None, **fields):
        cases[name] = Case(number=f"LS-TEST-{name}", item=item, place=place, service_point=point, requester_name="居民",
                           requester_phone="13900000000", channel=Channel.COUNTER, description=name,
                           mode=fields.pop("mode", Mode.ERRAND),
                           status=status, created_at=created, updated_at=created, sign_due_at=sign_due,
                           claimed_at=claimed, due_at=due, resolved_at=resolved, redo_count=0, transfer_count=0,
                           **fields)

    case("A", t(11, 2), S.CLOSED, t(11, 2, 11), t(11, 2, 10), t(11, 5), t(11, 4))
    case("B", t(11, 3), S.CLOSED, t(11, 3, 11), t(11, 3, 15), t(11, 6), t(11, 10))
    case("C", t(11, 4), S.IN_PROGRESS, t(11, 4, 11), t(11, 4, 9, 10), t(11, 20), None, on_spot=True, mode=Mode.COUNTER)
    case("D", t(11, 10), S.LOGGED, t(11, 10, 11), None, t(11, 12), sign_missed_at=t(11, 10, 11, 5))
    case("E", t(11, 28, 11, 30), S.LOGGED, t(11, 28, 13, 30), None, t(11, 30), mode=Mode.COUNTER)
    case("F", t(11, 5), S.CANCELLED, t(11, 5, 11), None, t(11, 7))
    case("G", t(10, 20), S.RESOLVED, t(10, 20, 11), t(10, 20, 10), t(11, 5), t(11, 2), trip_saved=True)
    case("H", t(11, 6), S.RETURNED, t(11, 6, 11), t(11, 6, 9, 30), t(11, 8))
    case("I", t(11, 15), S.CLOSED, t(11, 15, 11), t(11, 15, 9, 10), t(11, 18), t(11, 16))
    db.session.add_all(cases.values())

    def event(name, at, kind, **data):
        db.session.add(CaseEvent(case=cases[name], at=at, kind=kind, data=data or None))

    for name, row in cases.items():  # logged; signed for (in time or not), or missed by the sweep
        event(name, row.created_at, EventKind.LOGGED)
        if row.claimed_at and name != "C":
            event(name, row.claimed_at, EventKind.CLAIMED, in_time=row.claimed_at <= row.sign_due_at)
    event("D", t(11, 10, 11, 5), EventKind.SIGN_MISSED)
    event("A", t(11, 4), EventKind.RESOLVED)
    event("B", t(11, 10), EventKind.RESOLVED)
    event("C", t(11, 4, 9, 10), EventKind.FINISHED_ON_SPOT, in_time=True)
    event("G", t(11, 2), EventKind.RESOLVED)
    event("I", t(11, 16), EventKind.RESOLVED)
    event("H", t(11, 6, 10), EventKind.RETURNED)
    db.session.add_all([
        CallbackRecord(case=cases["A"], at=t(11, 5), outcome=Outcome.SOLVED, satisfaction=Satisfaction.SATISFIED),
        CallbackRecord(case=cases["B"], at=t(11, 11), outcome=Outcome.PARTLY, satisfaction=Satisfaction.BASICALLY),
        CallbackRecord(case=cases["C"], at=t(11, 5), outcome=Outcome.SOLVED, satisfaction=Satisfaction.DISSATISFIED,
                       redo=True),
        CallbackRecord(case=cases["I"], at=t(11, 17), outcome=None, satisfaction=Satisfaction.UNRATED),
    ])
    db.session.commit()
    counters.rebuild()
    return CaseCount.place_id == place.id


def test_every_figure_of_november(november):
    f = metrics.figures(november, *NOVEMBER)
    assert (f.logged, f.resolved, f.trips_saved) == (8, 5, 1)
    assert f.timely_sign_for == metrics.Rate(4, 6)      # A, C, H, I of A, B, C, D (missed), H, I; E not due, F gone
    assert f.on_time_resolution == metrics.Rate(4, 5)   # A, C, G, I of resolutions A, B, C, G, I
    assert f.resolution == metrics.Rate(2, 3)           # solved A, C of A, B, C (I was not reached)
    assert f.satisfaction == metrics.Rate(2, 3)         # 满意 A, 基本满意 B of rated A, B, C
    assert f.callback == metrics.Rate(4, 5)             # callbacks A, B, C, I of five resolutions
    assert f.redo == metrics.Rate(1, 3)                 # C redone
    assert f.returned == metrics.Rate(1, 8)             # H of eight logged
    assert f.on_the_spot == metrics.Rate(1, 2)          # C of the counter requests C, E (the others are errands)
    assert f.median_hours == 48 and f.p90_hours == 336  # 0.2, 24, 48, 168, 312 hours, by histogram bucket
    assert [str(rate) for rate in f.three_rates] == ["66.7%", "66.7%", "66.7%"]


def test_october_holds_what_happened_in_october(november):
    f = metrics.figures(november, date(2026, 10, 1), date(2026, 10, 31))
    assert (f.logged, f.resolved) == (1, 0) and f.timely_sign_for == metrics.Rate(1, 1)


def test_a_period_with_nothing_shows_dashes_not_zero(november):
    f = metrics.figures(november, date(2025, 1, 1), date(2025, 1, 31))
    assert f.logged == 0 and f.resolved == 0
    for name in metrics.RATES:
        rate = getattr(f, name)
        assert rate.value is None and str(rate) == "—"
    assert f.median_hours is None and f.p90_hours is None


def test_a_callback_counts_with_the_resolution_it_follows_so_no_rate_passes_100(world, monkeypatch):
    """A case resolved on 30 November and called back on 1 December: November's callback, December's none."""
    monkeypatch.setattr(clock, "now", lambda: t(11, 30, 16))
    case = resolved(world)
    monkeypatch.setattr(clock, "now", lambda: t(12, 1, 9))
    lifecycle.close(case, world.staff, Outcome.SOLVED, Satisfaction.SATISFIED)
    november = metrics.figures(sa.true(), *NOVEMBER)
    december = metrics.figures(sa.true(), date(2026, 12, 1), date(2026, 12, 1))
    assert november.callback == metrics.Rate(1, 1) and november.satisfaction == metrics.Rate(1, 1)
    assert december.callback == metrics.Rate(0, 0) and str(december.callback) == "—"  # not 1 of 0
    kept = counters.as_rows()
    counters.rebuild()
    assert counters.as_rows() == kept


def test_the_return_rate_is_of_the_cases_logged_each_once_so_it_cannot_pass_100(world, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: t(10, 30, 9))
    october = claimed(world)  # logged on 30 October
    monkeypatch.setattr(clock, "now", lambda: t(11, 2, 9))
    lifecycle.return_case(october, world.proxy, "不属于本站")
    lifecycle.assign(october, world.staff, world.proxy)
    lifecycle.claim(october, world.proxy)
    lifecycle.return_case(october, world.proxy, "仍不属于本站")  # returned twice
    november = log(world)
    assert metrics.figures(sa.true(), *NOVEMBER).returned == metrics.Rate(0, 1)  # not 2 returns of 1 case logged
    assert metrics.figures(sa.true(), date(2026, 10, 1), date(2026, 10, 31)).returned == metrics.Rate(1, 1)
    assert november.status is CaseStatus.LOGGED
    kept = counters.as_rows()
    counters.rebuild()
    assert counters.as_rows() == kept


def test_finishing_on_the_spot_days_after_logging_is_not_on_the_spot(world, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: t(11, 23, 9))
    waited, quick = log(world, world.counter_item), log(world, world.counter_item)
    monkeypatch.setattr(clock, "now", lambda: t(11, 23, 9, 20))
    lifecycle.finish_on_spot(quick, world.staff)  # twenty minutes: the same visit
    monkeypatch.setattr(clock, "now", lambda: t(11, 25, 10))
    lifecycle.finish_on_spot(waited, world.staff)  # two days later: resolved, but not on the spot
    assert (quick.on_spot, waited.on_spot) == (True, False)
    week = metrics.figures(sa.true(), date(2026, 11, 23), date(2026, 11, 29))
    assert week.on_the_spot == metrics.Rate(1, 2) and week.resolved == 2
    kept = counters.as_rows()
    counters.rebuild()
    assert counters.as_rows() == kept


def test_percentile_reads_the_histogram():
    assert metrics.percentile([0] * 12, 50) is None
    assert metrics.percentile([1, 0, 0, 0, 1] + [0] * 7, 50) == 1
    assert metrics.percentile([0] * 11 + [3], 90) == 720  # the open bucket reports the bound before it


def test_the_kept_counters_equal_a_rebuild_from_the_timeline(world, make, monkeypatch):
    """Counters written event by event, in the same transaction, are exactly what a rebuild finds."""
    monkeypatch.setattr(clock, "now", lambda: t(11, 23, 10))
    case = resolved(world)
    lifecycle.close(case, world.staff, Outcome.SOLVED, Satisfaction.SATISFIED)
    redo = resolved(world)
    lifecycle.close(redo, world.staff, Outcome.UNSOLVED, Satisfaction.BASICALLY)
    lifecycle.resolve(redo, world.proxy, "重办完成")
    returned = claimed(world)
    lifecycle.return_case(returned, world.proxy, "不属于本站")
    counter = log(world, world.counter_item)
    lifecycle.finish_on_spot(counter, world.staff)
    in_progress(world)
    log(world)  # waits: its sign-for time passes below
    monkeypatch.setattr(clock, "now", lambda: t(11, 24, 10))
    supervision.sweep()
    station = db.session.scalars(sa.select(ServicePoint).filter_by(code="HT-SQT")).one()
    desk = make.user(Role.STAFF, username="desk", service_point=station)
    flat = make.household(world.e01, address="金色环海1号", phone="13700000001")
    heating.declare_incident(desk, station, "抢修", "", [world.e01], None)
    radiator = db.session.scalars(sa.select(ServiceItem).filter_by(code="HT01")).one()
    call = heating.take_call(desk, radiator, "13700000001", "", household=flat)
    heating.close_incident(call.incident, desk, "已恢复")
    kept = counters.as_rows()
    assert kept
    counters.rebuild()
    assert counters.as_rows() == kept
    week = metrics.figures(sa.true(), date(2026, 11, 23), date(2026, 11, 29))
    assert week.logged == 7 and week.returned == metrics.Rate(1, 7)
    assert week.on_the_spot == metrics.Rate(1, 1)  # of the one counter request; errands and the call are not in it
    assert week.redo == metrics.Rate(1, 2) and week.resolved == 5  # two, a redo, on the spot, the incident call
    assert week.timely_sign_for == metrics.Rate(5, 6)  # five signed in time, one missed; the call is never signed


def test_cases_that_move_are_counted_where_each_moment_happened(home, make, monkeypatch):
    """A transfer, a return to another point, a visit moved to another team, a counter item finished
    after the sweep found it unsigned, a redo that saves a trip: the kept counters still equal a rebuild."""
    from portal.domain import visits
    from portal.models import Slot, Team

    w = home
    p02 = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P02")).one()
    moved = claimed(w)
    lifecycle.transfer(moved, w.staff, "应由沙嘴办理", point=p02)
    lifecycle.claim(moved, w.staff_p02)  # signed for again: the first signature alone counts
    returned = claimed(w)
    lifecycle.return_case(returned, w.proxy, "不属于本站")
    late_counter = log(w, w.counter_item)  # to be signed for by Monday 10:30 (the post's working hours)
    monkeypatch.setattr(clock, "now", lambda: t(11, 30, 11))
    supervision.sweep()
    lifecycle.finish_on_spot(late_counter, w.staff)
    visit_case = log(w, w.home_item)
    visit = visits.book(visit_case, w.staff, date(2026, 12, 1), Slot.AM)
    team2 = db.session.scalars(sa.select(Team).filter_by(code="T2")).one()
    visits.move(visit, w.lead, date(2026, 12, 2), Slot.PM, team=team2)
    redo = resolved(w)
    lifecycle.close(redo, w.staff, Outcome.UNSOLVED, Satisfaction.DISSATISFIED)
    redo.trip_saved = True
    lifecycle.resolve(redo, w.proxy, "重办完成")
    kept = counters.as_rows()
    counters.rebuild()
    assert counters.as_rows() == kept
    late = metrics.figures(CaseCount.place_id == w.h01.id, date(2026, 11, 30), date(2026, 11, 30))
    # On the 30th: the counter item found unsigned by the sweep (finishing it later does not count it
    # again), and the redo case signed for at once.
    assert late.timely_sign_for == metrics.Rate(1, 2)
