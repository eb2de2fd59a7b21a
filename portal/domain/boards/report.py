"""The monthly report: the month's figures the island reports upward, by service point or by category."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import sqlalchemy as sa

from portal import clock
from portal.domain.boards import metrics
from portal.domain.boards.board import Category, _add, _as_sums, _categories, _empty, last_change
from portal.domain.boards.periods import Compared, Period, change, month_period
from portal.domain.platform import shelves
from portal.extensions import db
from portal.models import CaseCount, ServicePoint

# --- the monthly report -----------------------------------------------------------------------------

@dataclass
class ReportRow(Compared):
    point: ServicePoint | None     # None for the whole district
    sums: dict[str, int]
    previous_sums: dict[str, int]
    trip: metrics.TripCost

    @staticmethod
    def _days(sums: dict[str, int]) -> float | None:
        return sums["resolve_minutes"] / sums["resolved"] / 1440 if sums["resolved"] else None

    @property
    def average_days(self) -> float | None:
        """Average days from logging to resolution, over the month's resolutions."""
        return self._days(self.sums)

    @property
    def previous_average_days(self) -> float | None:
        return self._days(self.previous_sums)

    def change(self, name: str) -> float | None:
        if name == "average_days":
            now, before = self.average_days, self.previous_average_days
            return None if now is None or before is None else round(now - before, 1)
        if name in ("cost_saved", "hours_saved"):
            return self.saved_change(name, None)
        return change(getattr(self.figures, name), getattr(self.previous, name))


@dataclass
class Report:
    month: Period
    point: ServicePoint | None
    total: ReportRow
    points: list[ReportRow]
    categories: list[Category]


def monthly_report(month: date, point: ServicePoint | None = None) -> Report:
    """The month's figures the island reports upward: for the district (one row per service point)
    or for one point (one row per category)."""
    period = month_period(month)
    before = period.previous()
    trip = metrics.TripCost.configured()
    condition = CaseCount.service_point_id == point.id if point is not None else sa.true()

    def grouped(p: Period) -> dict[int, dict[str, int]]:
        rows = db.session.execute(
            sa.select(CaseCount.service_point_id, *metrics.sum_columns())
            .where(condition, CaseCount.day >= p.first, CaseCount.day <= p.last).group_by(CaseCount.service_point_id)
        ).all()
        return {row.service_point_id: _as_sums(row) for row in rows}

    now, then = grouped(period), grouped(before)

    def row_of(subject: ServicePoint | None, sums: dict[str, int], previous: dict[str, int]) -> ReportRow:
        return ReportRow(subject, sums, previous, trip)

    total_now, total_then = _empty(), _empty()
    for sums in now.values():
        _add(total_now, sums)
    for sums in then.values():
        _add(total_then, sums)
    points = []
    if point is None:
        for p in db.session.scalars(sa.select(ServicePoint).where(ServicePoint.id.in_(set(now) | set(then)))
                                    .order_by(ServicePoint.code)):
            points.append(row_of(p, now.get(p.id, _empty()), then.get(p.id, _empty())))
    # The month's categories are those with cases counted in the month (the report shows no open cases).
    return Report(period, point, row_of(point, total_now, total_then), points, _categories(condition, period))


_REPORTS = shelves.shelf(16)


def report_for(month: date, point: ServicePoint | None = None) -> Report:
    """``monthly_report``, kept per worker under the stamp of the district (or of the point): every counted event
    moves it. Its points are this request's (a renamed point shows at once)."""
    key = (month_period(month).first, point.id if point else None, clock.today(),
           last_change(["all"] if point is None else [f"point:{point.id}"]).token)
    kept = _REPORTS.get(key)
    if kept is None:
        report = monthly_report(month, point)
        _REPORTS.put(key, replace(report, point=None, total=replace(report.total, point=None),
                                  points=[replace(row, point=row.point.id) for row in report.points]))
        return report
    points = {p.id: p for p in db.session.scalars(
        sa.select(ServicePoint).where(ServicePoint.id.in_([row.point for row in kept.points])))}
    return replace(kept, point=point, total=replace(kept.total, point=point),
                   points=[replace(row, point=points[row.point]) for row in kept.points if row.point in points])

