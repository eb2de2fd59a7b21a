"""Every figure of docs/METRICS.md on a hand-built set of cases, with the expected numbers written out."""
from datetime import datetime

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import metrics
from portal.extensions import db
from portal.models import (
    CallbackRecord,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    Mode,
    Outcome,
    Place,
    Satisfaction,
    ServiceItem,
    ServicePoint,
)

S = CaseStatus
TZ = clock.LOCAL_TZ
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=TZ)
NOVEMBER = (datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ))


def t(month, day, hour=9, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def november(ctx, make):
    """Nine cases of the hamlet H01 (A to I), their callbacks and one return."""
    make.directory()
    place = db.session.scalars(sa.select(Place).filter_by(code="H01")).one()
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CV05")).one()
    cases = {}

    def case(name, created, status, sign_due, claimed=None, due=None, resolved=None, callback_due=None, on_spot=False):
        cases[name] = Case(number=f"LS-TEST-{name}", item=item, place=place, service_point=point, requester_name="居民",
                           requester_phone="13900000000", channel=Channel.COUNTER, description=name, mode=Mode.ERRAND,
                           status=status, created_at=created, updated_at=created, sign_due_at=sign_due,
                           claimed_at=claimed, due_at=due, resolved_at=resolved, callback_due_at=callback_due,
                           on_spot=on_spot, redo_count=0, transfer_count=0)

    case("A", t(11, 2), S.CLOSED, t(11, 2, 11), t(11, 2, 10), t(11, 5), t(11, 4), t(11, 5, 17))
    case("B", t(11, 3), S.CLOSED, t(11, 3, 11), t(11, 3, 15), t(11, 6), t(11, 10), t(11, 11, 17))
    case("C", t(11, 4), S.IN_PROGRESS, t(11, 4, 11), t(11, 4), t(11, 20), None, None, on_spot=True)
    case("D", t(11, 10), S.LOGGED, t(11, 10, 11), None, t(11, 12))
    case("E", t(11, 28, 11, 30), S.LOGGED, t(11, 28, 13, 30), None, t(11, 30))
    case("F", t(11, 5), S.CANCELLED, t(11, 5, 11), None, t(11, 7))
    case("G", t(10, 20), S.RESOLVED, t(10, 20, 11), t(10, 20, 10), t(11, 5), t(11, 2), t(11, 3, 17))
    case("H", t(11, 6), S.RETURNED, t(11, 6, 11), t(11, 6, 9, 30), t(11, 8))
    case("I", t(11, 15), S.CLOSED, t(11, 15, 11), t(11, 15, 9, 10), t(11, 18), t(11, 16), t(11, 17, 17))
    db.session.add_all(cases.values())
    db.session.add_all([
        CallbackRecord(case=cases["A"], at=t(11, 5), outcome=Outcome.SOLVED, satisfaction=Satisfaction.SATISFIED),
        CallbackRecord(case=cases["B"], at=t(11, 11), outcome=Outcome.PARTLY, satisfaction=Satisfaction.BASICALLY),
        CallbackRecord(case=cases["C"], at=t(11, 5), outcome=Outcome.SOLVED, satisfaction=Satisfaction.DISSATISFIED,
                       redo=True),
        CallbackRecord(case=cases["I"], at=t(11, 17), outcome=None, satisfaction=Satisfaction.UNRATED),
        CaseEvent(case=cases["H"], at=t(11, 6, 10), kind=EventKind.RETURNED, from_status=S.CLAIMED,
                  to_status=S.RETURNED),
    ])
    db.session.commit()
    return Case.place_id == place.id


def test_every_figure_of_november(november):
    f = metrics.figures(november, *NOVEMBER, now=NOW)
    assert (f.logged, f.resolved) == (8, 4)
    assert f.timely_sign_for == metrics.Rate(4, 6)      # A, C, H, I of A, B, C, D, H, I (E not yet due, F cancelled)
    assert f.on_time_resolution == metrics.Rate(3, 7)   # A, G, I of resolved A, B, G, I and overdue open C, D, H
    assert f.resolution == metrics.Rate(2, 3)           # solved A, C of A, B, C (I was not reached)
    assert f.satisfaction == metrics.Rate(2, 3)         # 满意 A, 基本满意 B of rated A, B, C
    assert f.callback == metrics.Rate(3, 4)             # A, B, I called back of resolved A, B, G, I
    assert f.redo == metrics.Rate(1, 3)                 # C redone
    assert f.returned == metrics.Rate(1, 8)             # H of eight logged
    assert f.on_the_spot == metrics.Rate(1, 8)          # C
    assert f.median_hours == pytest.approx(108)         # 24, 48, 168, 312 hours
    assert f.p90_hours == pytest.approx(268.8)
    assert [str(rate) for rate in f.three_rates] == ["66.7%", "66.7%", "66.7%"]


def test_a_period_with_nothing_shows_dashes_not_zero(november):
    f = metrics.figures(november, datetime(2025, 1, 1, tzinfo=TZ), datetime(2025, 2, 1, tzinfo=TZ), now=NOW)
    assert f.logged == 0 and f.resolved == 0
    for rate in (f.timely_sign_for, f.on_time_resolution, f.resolution, f.satisfaction, f.callback, f.redo,
                 f.returned, f.on_the_spot):
        assert rate.value is None and str(rate) == "—"
    assert f.median_hours is None and f.p90_hours is None


def test_no_rated_callbacks_shows_a_dash_for_satisfaction(november):
    only_i = Case.number == "LS-TEST-I"
    f = metrics.figures(only_i, *NOVEMBER, now=NOW)
    assert f.callback == metrics.Rate(1, 1)
    assert str(f.satisfaction) == "—" and str(f.resolution) == "—"


def test_percentile_interpolates_between_ranks():
    assert metrics.percentile([1, 2, 3, 4], 50) == 2.5
    assert metrics.percentile([5], 90) == 5
    assert metrics.percentile([], 50) is None
