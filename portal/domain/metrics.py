"""The figures a board shows, as defined in docs/METRICS.md, computed in SQL for any set of cases
(a place, a point, a team, the district) and any period.

A rate is a ``Rate(numerator, denominator)``; with nothing to count its value is None and pages show
"—", never 0 %. Every definition here is written out, with its formula, in docs/METRICS.md; keep the
two in step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import OPEN_STATUSES, CallbackRecord, Case, CaseEvent, CaseStatus, EventKind, Outcome, Satisfaction


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def __str__(self) -> str:
        return "—" if self.value is None else f"{self.value * 100:.1f}%"


@dataclass(frozen=True)
class Figures:
    logged: int
    resolved: int
    timely_sign_for: Rate      # 及时签收率 (the Beijing 响应率)
    on_time_resolution: Rate   # 按时办结率
    resolution: Rate           # 解决率
    satisfaction: Rate         # 满意率
    callback: Rate             # 回访率
    redo: Rate                 # 重办率
    returned: Rate             # 退回率
    on_the_spot: Rate          # 当场办结率
    median_hours: float | None  # time to resolve
    p90_hours: float | None

    @property
    def three_rates(self) -> tuple[Rate, Rate, Rate]:
        """The Beijing 三率: response (响应率), resolution (解决率), satisfaction (满意率)."""
        return self.timely_sign_for, self.resolution, self.satisfaction


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile by linear interpolation between closest ranks (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def figures(scope: sa.ColumnElement[bool], start: datetime, end: datetime, now: datetime | None = None) -> Figures:
    """The figures of the cases matching ``scope`` for the period [start, end)."""
    now = now or clock.now()
    count = sa.func.count
    logged = (Case.created_at >= start) & (Case.created_at < end)
    resolved = (Case.resolved_at >= start) & (Case.resolved_at < end)
    never_claimed_gone = Case.claimed_at.is_(None) & Case.status.in_([CaseStatus.CANCELLED, CaseStatus.MERGED])
    sign_for_counted = logged & Case.sign_due_at.is_not(None) & ~never_claimed_gone & (
        Case.claimed_at.is_not(None) | (Case.sign_due_at < now))
    due_in_period_open = Case.status.in_(OPEN_STATUSES) & (Case.due_at >= start) & (Case.due_at < end) & (
        Case.due_at < now)
    has_callback = sa.exists().where(CallbackRecord.case_id == Case.id, CallbackRecord.at >= Case.resolved_at)
    callback_counted = resolved & (has_callback | (Case.callback_due_at < now))

    row = db.session.execute(
        sa.select(
            count().filter(logged).label("logged"),
            count().filter(resolved).label("resolved"),
            count().filter(sign_for_counted).label("sign_for_total"),
            count().filter(sign_for_counted & (Case.claimed_at <= Case.sign_due_at)).label("sign_for_timely"),
            count().filter(resolved | due_in_period_open).label("due_total"),
            count().filter(resolved & (Case.resolved_at <= Case.due_at)).label("on_time"),
            count().filter(callback_counted).label("callback_total"),
            count().filter(callback_counted & has_callback).label("called_back"),
            count().filter(logged & Case.on_spot).label("on_spot"),
        ).select_from(Case).where(scope)
    ).one()

    rated = CallbackRecord.satisfaction.in_([Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.DISSATISFIED])
    callbacks = db.session.execute(
        sa.select(
            count().filter(rated).label("rated"),
            count().filter(CallbackRecord.satisfaction.in_([Satisfaction.SATISFIED, Satisfaction.BASICALLY]))
            .label("satisfied"),
            count().filter(CallbackRecord.outcome.is_not(None)).label("with_outcome"),
            count().filter(CallbackRecord.outcome == Outcome.SOLVED).label("solved"),
            count().filter(rated & CallbackRecord.redo).label("redo"),
        ).select_from(CallbackRecord).join(Case, Case.id == CallbackRecord.case_id)
        .where(scope, CallbackRecord.at >= start, CallbackRecord.at < end)
    ).one()

    returns = db.session.scalar(
        sa.select(count()).select_from(CaseEvent).join(Case, Case.id == CaseEvent.case_id)
        .where(scope, CaseEvent.kind == EventKind.RETURNED, CaseEvent.at >= start, CaseEvent.at < end)
    )

    durations = [
        (finished - began).total_seconds() / 3600
        for began, finished in db.session.execute(
            sa.select(Case.created_at, Case.resolved_at).where(scope, resolved)
        )
    ]

    return Figures(
        logged=row.logged,
        resolved=row.resolved,
        timely_sign_for=Rate(row.sign_for_timely, row.sign_for_total),
        on_time_resolution=Rate(row.on_time, row.due_total),
        resolution=Rate(callbacks.solved, callbacks.with_outcome),
        satisfaction=Rate(callbacks.satisfied, callbacks.rated),
        callback=Rate(row.called_back, row.callback_total),
        redo=Rate(callbacks.redo, callbacks.rated),
        returned=Rate(returns, row.logged),
        on_the_spot=Rate(row.on_spot, row.logged),
        median_hours=percentile(durations, 50),
        p90_hours=percentile(durations, 90),
    )
