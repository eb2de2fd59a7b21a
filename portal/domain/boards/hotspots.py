"""Hotspots for proactive work (主动治理, "每月一题"): the place × category pairs of a board whose cases recur or
rise over the last 90 days, and the month's topic a lead makes of one, followed on the board.

A pair is a hotspot when it had at least ``RECURRING`` cases in 90 days (it keeps coming back), or at least
``RISING_MIN`` in the last 30 days and more than 1.5 times the average 30 days of the 60 before (it is rising).
Both are read from the daily counters (residents' requests logged: proactive work, a care visit or a campaign's
finding, is the office's own and never a hotspot), so they cost a grouped query whatever the number of cases.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import DomainError, access
from portal.domain.boards import counters, metrics
from portal.domain.boards.periods import Period, period_for
from portal.domain.platform import audit, unit
from portal.extensions import db
from portal.models import CaseCount, MonthlyTopic, User

WINDOW_DAYS, RECENT_DAYS = 90, 30
RECURRING, RISING_MIN, RISING_FACTOR = 3, 2, 1.5
SHOWN = 8


@dataclass(frozen=True)
class Hotspot:
    place_id: int
    category: str
    total: int    # cases logged in the last 90 days
    recent: int   # of them, in the last 30 days
    rising: bool

    @property
    def earlier(self) -> float:
        """The average 30 days of the 60 before the last 30."""
        return (self.total - self.recent) / 2


def hotspots(counts: sa.ColumnElement[bool], today: date | None = None) -> list[Hotspot]:
    """The hotspots among the counters ``counts`` selects (a board's scope), rising ones first."""
    today = today or clock.today()
    first, recent_first = today - timedelta(days=WINDOW_DAYS - 1), today - timedelta(days=RECENT_DAYS - 1)
    recent = sa.func.sum(sa.case((CaseCount.day >= recent_first, CaseCount.logged), else_=0))
    rows = db.session.execute(
        sa.select(CaseCount.place_id, CaseCount.category, sa.func.sum(CaseCount.logged), recent)
        .where(counts, metrics.REQUESTS, CaseCount.place_id != 0, CaseCount.day >= first, CaseCount.day <= today)
        .group_by(CaseCount.place_id, CaseCount.category))
    found = []
    for place_id, category, total, last in rows:
        total, last = int(total or 0), int(last or 0)
        rising = last >= RISING_MIN and last > RISING_FACTOR * (total - last) / 2
        if total >= RECURRING or rising:
            found.append(Hotspot(place_id, category, total, last, rising))
    found.sort(key=lambda h: (not h.rising, -h.recent, -h.total, h.place_id, h.category))
    return found[:SHOWN]


def topic_of(scope_key: str, month: date) -> MonthlyTopic | None:
    """The month's topic of a board (``scope_key``: "place:12", or "all" for the district)."""
    return db.session.scalars(sa.select(MonthlyTopic).where(MonthlyTopic.scope_key == scope_key,
                                                            MonthlyTopic.month == month)).first()


def choose(scope, place_id: int, category: str, actor: User, note: str = "") -> MonthlyTopic:
    """Make a hotspot of the board ``scope`` this month's topic (a lead of the board); a second choice in the
    same month replaces the first."""
    access.require(actor, "topic.choose", scope, _l("Only the leads of this board choose its topic."))
    if (place_id, category) not in {(h.place_id, h.category) for h in hotspots(scope.counts)}:
        raise DomainError(_l("Choose a hotspot of this board."), field="topic")
    month = clock.today().replace(day=1)
    topic = topic_of(scope.mark, month) or MonthlyTopic(scope_key=scope.mark, month=month)
    old = (topic.place_id, topic.category) if topic.id else None
    topic.place_id, topic.category, topic.note = place_id, category[:40], note[:200]
    topic.chosen_by, topic.chosen_at = actor, clock.now()
    db.session.add(topic)
    audit.record("topic", actor=actor, obj=topic, changes={"topic": (old, (place_id, category))})
    counters.mark(scope.marks, clock.now())  # the board shows it at its next poll
    unit.end_step()
    return topic


@dataclass(frozen=True)
class Progress:
    """How the topic fares: its residents' requests logged this month and last month."""

    this_month: int
    last_month: int


def progress(topic: MonthlyTopic) -> Progress:
    month: Period = period_for("month")
    last: Period = month.previous()

    def logged(first: date, last_day: date) -> int:
        return int(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(CaseCount.logged), 0)).where(
            CaseCount.place_id == topic.place_id, CaseCount.category == topic.category, metrics.REQUESTS,
            CaseCount.day >= first, CaseCount.day <= last_day)) or 0)

    return Progress(logged(month.first, month.last), logged(last.first, last.last))
