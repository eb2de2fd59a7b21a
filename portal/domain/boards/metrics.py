"""The figures a board shows, as defined in docs/METRICS.md, read from the daily counters.

``figures`` sums the ``CaseCount`` rows of a set of cases (a place and the places below it, a
service point, a team, the district) over a period of local days. A rate is a ``Rate(numerator,
denominator)``; with nothing to count its value is None and pages show "—", never 0 %. Every
definition here is written out, with its formula, in docs/METRICS.md; keep the two in step.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import sqlalchemy as sa
from flask import current_app

from portal.extensions import db
from portal.models import COUNTERS, HOUR_BUCKETS, CaseCount


@dataclass(frozen=True)
class TripCost:
    """What one journey off the island (a round trip to an office on the mainland) costs a resident, in parts,
    each a setting (``portal/config.py``): the boat fare (``TRIP_BOAT_FARE_YUAN``), transport on the mainland
    (``TRIP_MAINLAND_TRANSPORT_YUAN``), meals (``TRIP_MEALS_YUAN``), a day's income lost (``TRIP_LOST_INCOME_YUAN``)
    and the hours (``TRIP_HOURS``). Boards and reports print these assumptions beside the sums they multiply
    into: money saved = journeys saved × ``yuan``, hours saved = journeys saved × ``hours``."""

    boat_fare: float
    mainland_transport: float
    meals: float
    lost_income: float
    hours: float

    @classmethod
    def configured(cls) -> TripCost:
        config = current_app.config
        return cls(config["TRIP_BOAT_FARE_YUAN"], config["TRIP_MAINLAND_TRANSPORT_YUAN"], config["TRIP_MEALS_YUAN"],
                   config["TRIP_LOST_INCOME_YUAN"], config["TRIP_HOURS"])

    @property
    def fare(self) -> float:
        """What the journey costs in fares: the boat and the mainland's transport."""
        return self.boat_fare + self.mainland_transport

    @property
    def yuan(self) -> float:
        """What one journey costs a resident, every part added."""
        return self.boat_fare + self.mainland_transport + self.meals + self.lost_income

    def cost(self, journeys: int) -> float:
        return journeys * self.yuan

    def time(self, journeys: int) -> float:
        return journeys * self.hours


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
    logged: int                # residents' requests logged (受理): proactive work is apart, below
    resolved: int
    trips_saved: int           # journeys off the island saved: each case's item's journeys, on its first resolution
    timely_sign_for: Rate      # 及时签收率 (the Beijing 响应率)
    on_time_resolution: Rate   # 按时办结率
    resolution: Rate           # 解决率
    satisfaction: Rate         # 满意率
    resident_satisfaction: Rate  # 满意率, of the answers residents gave themselves (the SMS link, a kiosk)
    called_satisfaction: Rate    # 满意率, of the answers taken by a clerk's callback
    callback: Rate             # 回访率
    redo: Rate                 # 重办率
    returned: Rate             # 退回率
    on_the_spot: Rate          # 当场办结率: of the requests handled at the counter
    median_hours: float | None  # time to resolve, at most this many hours
    p90_hours: float | None
    proactive: int = 0           # proactive work logged (主动服务: care visits, campaign findings)
    proactive_resolved: int = 0  # proactive work done

    @property
    def three_rates(self) -> tuple[Rate, Rate, Rate]:
        """The Beijing 三率: response (响应率), resolution (解决率), satisfaction (满意率)."""
        return self.timely_sign_for, self.resolution, self.satisfaction


RATES = ("timely_sign_for", "resolution", "satisfaction", "on_time_resolution", "callback", "redo", "returned",
         "on_the_spot")


def percentile(histogram: list[int], p: float) -> float | None:
    """The upper bound (hours) of the histogram bucket holding the p-th percentile; None when empty.
    The open last bucket reports the bound before it."""
    total = sum(histogram)
    if not total:
        return None
    needed, running = total * p / 100, 0
    for count, bound in zip(histogram, HOUR_BUCKETS, strict=True):
        running += count
        if running >= needed and count:
            return float(bound if bound is not None else HOUR_BUCKETS[-2])
    return float(HOUR_BUCKETS[-2])


def from_sums(sums: dict[str, int]) -> Figures:
    """Figures from summed counters (one period of one scope): ``sum_columns``'s, requests apart from proactive
    work."""
    histogram = [sums.get(f"h{n}", 0) for n in range(len(HOUR_BUCKETS))]
    return Figures(
        logged=sums["logged"], resolved=sums["resolved"], trips_saved=sums["trips_saved"],
        timely_sign_for=Rate(sums["signed_in_time"], sums["signed"]),
        on_time_resolution=Rate(sums["resolved_on_time"], sums["resolved"]),
        resolution=Rate(sums["solved"], sums["with_outcome"]),
        satisfaction=Rate(sums["satisfied"], sums["rated"]),
        resident_satisfaction=Rate(sums["satisfied_by_resident"], sums["rated_by_resident"]),
        called_satisfaction=Rate(sums["satisfied"] - sums["satisfied_by_resident"],
                                 sums["rated"] - sums["rated_by_resident"]),
        callback=Rate(sums["callbacks"], sums["resolved"]),
        redo=Rate(sums["redone"], sums["rated"]),
        returned=Rate(sums["returned"], sums["logged"]),
        on_the_spot=Rate(sums["on_spot"], sums["counter_logged"]),
        median_hours=percentile(histogram, 50),
        p90_hours=percentile(histogram, 90),
        proactive=sums.get("proactive", 0), proactive_resolved=sums.get("proactive_resolved", 0),
    )


# Counted over requests and proactive work alike: a journey saved is the resident's, whoever began the case.
EVERY_CASE = frozenset({"trips_saved"})
# What ``sum_columns`` adds to the counters: proactive work's cases logged and resolved.
PROACTIVE = ("proactive", "proactive_resolved")
SUMMED = (*COUNTERS, *PROACTIVE)


def _sum(column, proactive: bool | None = False):
    """``coalesce(sum(column), 0)`` over the rows of requests (``proactive`` False), of proactive work (True) or
    of both (None)."""
    if proactive is not None:
        column = sa.case((CaseCount.proactive.is_(sa.true()) if proactive else CaseCount.proactive.is_(sa.false()),
                          column), else_=0)
    return sa.func.coalesce(sa.func.sum(column), 0)


@cache
def sum_columns() -> tuple:
    """The summed counters, labelled (``SUMMED``), built once (expressions are immutable): every counter of
    residents' requests only (受理: proactive work is not a request), except the journeys saved (``EVERY_CASE``),
    and ``proactive``/``proactive_resolved``, the proactive work logged and done."""
    return (*(_sum(getattr(CaseCount, name), None if name in EVERY_CASE else False).label(name) for name in COUNTERS),
            _sum(CaseCount.logged, True).label("proactive"), _sum(CaseCount.resolved, True).label("proactive_resolved"))


# The condition for counters of residents' requests alone (the hotspots read these rows).
REQUESTS = CaseCount.proactive.is_(sa.false())


def sums(scope: sa.ColumnElement[bool], first: date, last: date) -> dict[str, int]:
    """The counters of a scope summed over the local days ``first`` to ``last``, inclusive."""
    row = db.session.execute(sa.select(*sum_columns()).where(scope, CaseCount.day >= first,
                                                             CaseCount.day <= last)).one()
    return {name: int(value) for name, value in row._mapping.items()}


def figures(scope: sa.ColumnElement[bool], first: date, last: date) -> Figures:
    """The figures of a scope for the local days ``first`` to ``last``, inclusive."""
    return from_sums(sums(scope, first, last))
