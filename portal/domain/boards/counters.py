"""Keeping the daily counters the boards read (``CaseCount``), in the same transaction as the events.

Each counted moment adds a row (a delta) for its local day and the case's place, service point, team
and category: logging, signing for (or missing the sign-for time), resolving (on time or not, how
long it took, a trip saved), a callback, a return, a counter item finished on the spot. ``compact``
folds the deltas into one row per key; boards sum whatever rows there are. ``rebuild``
computes all the rows again from the cases, the timeline and the callbacks, in SQL, for a database
loaded in bulk (the demo, the generator) or to check the counters (tests compare the two).
"""
from __future__ import annotations

from datetime import datetime
from functools import cache

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from portal import clock
from portal.domain.boards.scopes import KINDS
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import (
    COUNTERS,
    HOUR_BUCKETS,
    CallbackRecord,
    Case,
    CaseCount,
    CaseEvent,
    ChangeMark,
    EventKind,
    Mode,
    Outcome,
    Satisfaction,
    ServiceItem,
)

# ``proactive`` keeps proactive work (主动服务: care visits, campaign findings) apart from residents' requests.
KEY = ("day", "place_id", "service_point_id", "team_id", "category", "proactive")
RESOLUTIONS = (EventKind.RESOLVED, EventKind.FINISHED_ON_SPOT)


def bucket(hours: float) -> str:
    """The histogram column for a time to resolve."""
    for index, bound in enumerate(HOUR_BUCKETS):
        if bound is None or hours <= bound:
            return f"h{index}"
    return f"h{len(HOUR_BUCKETS) - 1}"


def bump(case: Case, at: datetime, **increments: int) -> None:
    """Add to the counters of ``case``'s key for the local day of ``at``: a delta row of its own (the caller
    commits)."""
    increments = {k: v for k, v in increments.items() if v}
    if not increments:
        return
    key = {"day": clock.local(at).date(), "place_id": case.place_id or 0, "service_point_id": case.service_point_id,
           "team_id": case.team_id or 0, "category": case.item.category_zh[:40], "proactive": bool(case.proactive)}
    db.session.connection().execute(_INSERT_DELTA, {**key, **dict.fromkeys(COUNTERS, 0), **increments})


_INSERT_DELTA = sa.insert(CaseCount).values({**{name: sa.bindparam(name) for name in (*KEY, *COUNTERS)},
                                             "delta": True})


def where(case: Case) -> dict:
    """The case's place, point and team now, kept in the data of each counted event so that a rebuild
    counts it where it happened even after the case moved (a transfer, a return, a visit moved)."""
    place = case.place.id if case.place is not None else case.place_id
    point = case.service_point.id if case.service_point is not None else case.service_point_id
    team = case.team.id if case.team is not None else case.team_id
    return {"scope": [place or 0, point or 0, team or 0]}


def touch(case: Case, at: datetime) -> None:
    """Note that something happened in the scopes of ``case`` (for the boards' ETags)."""
    place_id, point_id, team_id = where(case)["scope"]
    mark([f"place:{place_id}", f"point:{point_id}", f"team:{team_id}"], at)


# No hot rows (the write path: ``portal.domain.platform.unit``): counters and marks are inserted, never updated,
# so two writers never wait on one of them; ``compact`` (run by the sweep) folds what writers added.
def mark(keys: list[str], at: datetime) -> None:
    """Note that the boards of ``keys`` (and the district's) changed at ``at``: written as the transaction
    commits (the marks ride on the unit of work until then)."""
    pending = unit.current().marks
    for key in ["all", *keys]:
        pending[key] = max(at, pending.get(key, at))


@sa.event.listens_for(Session, "before_commit")
def _write_marks(session: Session) -> None:
    pending = unit.current(session).marks
    if not pending:
        return
    session.flush()  # the transaction's own rows first (SQLAlchemy flushes them after this hook otherwise)
    rows = [{"key": k, "changed_at": at} for k, at in pending.items()]
    pending.clear()
    if rows:
        session.connection().execute(sa.insert(ChangeMark), rows)


@sa.event.listens_for(Session, "after_rollback")
def _forget_marks(session: Session) -> None:
    unit.current(session).marks.clear()


def compact(batch: int = 200) -> int:
    """Fold the counters' delta rows into one row per key, and each key's marks into one; return the rows
    removed. Writers go on meanwhile: only rows that existed when it began are folded. Run twice at once, the
    later finds its rows gone and folds nothing twice (each batch deletes exactly the rows it read, or rolls
    back)."""
    removed = 0
    top = db.session.scalar(sa.select(sa.func.max(CaseCount.id)).where(CaseCount.delta)) or 0
    key_columns = [getattr(CaseCount, name) for name in KEY]
    while keys := db.session.execute(sa.select(*key_columns).where(CaseCount.delta, CaseCount.id <= top)
                                     .distinct().limit(batch)).all():
        rows = db.session.execute(
            sa.select(CaseCount.id, *key_columns, *(getattr(CaseCount, name) for name in COUNTERS))
            .where(sa.tuple_(*key_columns).in_([tuple(key) for key in keys]), CaseCount.id <= top)).all()
        folded: dict[tuple, dict[str, int]] = {}
        for row in rows:
            slot = folded.setdefault(tuple(row[1:1 + len(KEY)]), dict.fromkeys(COUNTERS, 0))
            for name in COUNTERS:
                slot[name] += getattr(row, name)
        if not _fold(CaseCount, [row.id for row in rows],
                     [dict(zip(KEY, key, strict=True), **values) for key, values in folded.items()]):
            return removed
        removed += len(rows) - len(folded)
    # The marks: a new row for each key with several (a new id, so that every board's ETag moves once).
    top = db.session.scalar(sa.select(sa.func.max(ChangeMark.id))) or 0
    several = db.session.scalars(sa.select(ChangeMark.key).where(ChangeMark.id <= top).group_by(ChangeMark.key)
                                 .having(sa.func.count() > 1)).all()
    if several:
        marks = db.session.execute(sa.select(ChangeMark.id, ChangeMark.key, ChangeMark.changed_at).where(
            ChangeMark.id <= top, ChangeMark.key.in_(several))).all()
        newest: dict[str, datetime] = {}
        for _, key, at in marks:
            newest[key] = max(at, newest.get(key, at))
        if _fold(ChangeMark, [mark.id for mark in marks], [{"key": k, "changed_at": at} for k, at in newest.items()]):
            removed += len(marks) - len(newest)
    return removed


def _fold(model, ids: list[int], rows: list[dict]) -> bool:
    """Replace the rows ``ids`` of ``model`` by ``rows`` in one transaction, unless another compaction removed
    some of them first (then nothing)."""
    if db.session.execute(sa.delete(model).where(model.id.in_(ids))).rowcount != len(ids):
        unit.abandon()
        return False
    db.session.execute(sa.insert(model), rows)
    unit.end_step()
    return True


def journeys_saved(case: Case) -> int:
    """The journeys off the island a resolution of ``case`` now spares its resident: its item's journeys, on
    the case's first resolution only (a redo or a reopened case resolved again spares nothing more: the resident
    would not have travelled twice), and only if it was resolved without the trip (``case.trip_saved``)."""
    if not case.trip_saved or not case.item.journeys:
        return 0
    if case.id is not None and db.session.scalar(sa.select(CaseEvent.id).where(
            CaseEvent.case_id == case.id, CaseEvent.kind.in_(RESOLUTIONS)).limit(1)) is not None:
        return 0
    return case.item.journeys


def resolution(case: Case, at: datetime) -> dict:
    """Count a resolution; return what the resolution event keeps of it (on time, hours, journeys saved)."""
    hours = (at - case.created_at).total_seconds() / 3600
    on_time = case.due_at is None or at <= case.due_at
    journeys = journeys_saved(case)
    bump(case, at, resolved=1, resolved_on_time=int(on_time), trips_saved=journeys,
         resolve_minutes=round(hours * 60), **{bucket(hours): 1})
    return {"on_time": on_time, "hours": round(hours, 2), "journeys": journeys,
            **({"trip": True} if journeys else {}), **where(case)}


def callback(case: Case, at: datetime, outcome: Outcome | None, satisfaction: Satisfaction, redo: bool,
             by_resident: bool = False) -> None:
    """Count a finished callback with the resolution it follows (on that resolution's day, not the callback's):
    the rates built on callbacks are rates of a cohort of resolutions, and none can pass 100 %. An answer the
    resident gave themself is counted apart as well (the boards show satisfaction by who answered)."""
    rated = satisfaction in (Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.DISSATISFIED)
    satisfied = satisfaction in (Satisfaction.SATISFIED, Satisfaction.BASICALLY)
    bump(case, case.resolved_at or at, callbacks=1, rated=int(rated), satisfied=int(satisfied),
         with_outcome=int(outcome is not None), solved=int(outcome is Outcome.SOLVED), redone=int(rated and redo),
         rated_by_resident=int(rated and by_resident), satisfied_by_resident=int(satisfied and by_resident))


# --- rebuilding from the timeline -------------------------------------------------------------------

@cache
def first_resolutions():
    """Each case's first resolution event (a subquery: ``case_id``, ``first_id``)."""
    return (sa.select(CaseEvent.case_id.label("case_id"), sa.func.min(CaseEvent.id).label("first_id"))
            .where(CaseEvent.kind.in_(RESOLUTIONS)).group_by(CaseEvent.case_id).subquery("first_resolutions"))


def journeys_of_event(firsts) -> sa.ColumnElement[int]:
    """The journeys a resolution event saved (joined with ``Case``, ``ServiceItem`` and ``firsts``): as it
    recorded them; an event from before journeys were recorded saved its item's journeys if it was the case's
    first resolution and saved a trip."""
    recorded = CaseEvent.data["journeys"].as_integer()
    trip = sa.case((CaseEvent.data["on_time"].as_boolean().is_not(None), CaseEvent.data["trip"].as_boolean()),
                   else_=Case.trip_saved)
    return sa.case((recorded.is_not(None), recorded),
                   (sa.and_(CaseEvent.id == firsts.c.first_id, trip), ServiceItem.journeys), else_=0)


def _local_day(column):
    """The local (UTC+8, no daylight saving) date of a stored UTC timestamp, in SQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.cast(column + sa.text("interval '8 hours'"), sa.Date)
    return sa.func.date(column, "+8 hours")


def _hours(later, earlier):
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.extract("epoch", later - earlier) / 3600.0
    # Whole seconds: julianday's floating point would put exactly one hour just past the 1 h bound.
    return sa.func.round((sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0) / 3600.0


def _grouped(day, select_from, where, counts: dict, scoped: bool = True):
    """Rows of (key..., counter...) grouped by day and dimensions: those an event kept in its data
    (``where``), else the case's own."""
    scope = CaseEvent.data["scope"]
    if scoped:
        dims = [sa.func.coalesce(scope[0].as_integer(), Case.place_id, 0),
                sa.func.coalesce(scope[1].as_integer(), Case.service_point_id),
                sa.func.coalesce(scope[2].as_integer(), Case.team_id, 0)]
    else:
        dims = [sa.func.coalesce(Case.place_id, 0), Case.service_point_id, sa.func.coalesce(Case.team_id, 0)]
    key = [day.label("day"), dims[0].label("place_id"), dims[1].label("service_point_id"), dims[2].label("team_id"),
           ServiceItem.category_zh.label("category"), Case.proactive.label("proactive")]
    query = (sa.select(*key, *[expression.label(name) for name, expression in counts.items()])
             .select_from(select_from).join(ServiceItem, ServiceItem.id == Case.item_id).where(*where)
             .group_by(*key))
    return db.session.execute(query).all()


def rebuild() -> int:
    """Recompute every counter from the timeline and the callbacks; return the rows kept. Each moment is
    counted where its event says the case was (callbacks: where the case is now, on the day of the resolution
    they follow)."""
    count, total = sa.func.count, {}
    one = sa.literal(1)
    events = sa.join(CaseEvent, Case, Case.id == CaseEvent.case_id)
    day = _local_day(CaseEvent.at)

    def add(rows, names):
        for row in rows:
            key = (row.day if not isinstance(row.day, str) else datetime.fromisoformat(row.day).date(),
                   row.place_id, row.service_point_id, row.team_id, row.category, bool(row.proactive))
            slot = total.setdefault(key, dict.fromkeys(COUNTERS, 0))
            for name in names:
                slot[name] += int(getattr(row, name) or 0)

    add(_grouped(day, events, [CaseEvent.kind == EventKind.LOGGED], {
        "logged": count(), "on_spot": sa.func.sum(sa.case((Case.on_spot, one), else_=0)),
        "counter_logged": sa.func.sum(sa.case((Case.mode == Mode.COUNTER, one), else_=0))}),
        ("logged", "on_spot", "counter_logged"))

    # Signing for: the sweep's "missed" events, and the first signature (its event says whether in time).
    in_time = CaseEvent.data["in_time"].as_boolean()
    missed = CaseEvent.kind == EventKind.SIGN_MISSED
    add(_grouped(day, events, [sa.or_(missed, in_time.is_not(None))], {
        "signed": count(), "signed_in_time": sa.func.sum(sa.case((sa.and_(~missed, in_time), one), else_=0))}),
        ("signed", "signed_in_time"))

    hours = _hours(CaseEvent.at, Case.created_at)
    buckets, low = {}, None
    for index, bound in enumerate(HOUR_BUCKETS):
        condition = sa.true() if bound is None else hours <= bound
        if low is not None:
            condition = sa.and_(hours > low, condition)
        buckets[f"h{index}"] = sa.func.sum(sa.case((condition, one), else_=0))
        low = bound
    # On time and trip saved as the resolution event recorded them (the due time may have moved since:
    # a redo, an extension); by the case's due time for events from before the counters existed.
    recorded = CaseEvent.data["on_time"].as_boolean()
    on_time = sa.case((recorded.is_not(None), recorded),
                      else_=sa.or_(Case.due_at.is_(None), CaseEvent.at <= Case.due_at))
    # Journeys saved as the event recorded them; for events from before journeys were recorded, the item's
    # journeys on the case's first resolution, if it saved a trip.
    journeys = journeys_of_event(first_resolutions())
    resolutions = sa.outerjoin(events, first_resolutions(), first_resolutions().c.case_id == CaseEvent.case_id)
    add(_grouped(day, resolutions, [CaseEvent.kind.in_(RESOLUTIONS)], {
        "resolved": count(), "resolved_on_time": sa.func.sum(sa.case((on_time, one), else_=0)),
        "resolve_minutes": sa.func.sum(sa.func.round(hours * 60)),
        "trips_saved": sa.func.sum(journeys),
        **buckets}),
        ("resolved", "resolved_on_time", "resolve_minutes", "trips_saved", *buckets))

    rated = CallbackRecord.satisfaction.in_([Satisfaction.SATISFIED, Satisfaction.BASICALLY,
                                             Satisfaction.DISSATISFIED])
    satisfied = CallbackRecord.satisfaction.in_([Satisfaction.SATISFIED, Satisfaction.BASICALLY])
    # Each callback on the day of the resolution it follows: the last one before it (a join and a grouping, not
    # a subquery a row, which a planner without statistics walks by time).
    followed = (sa.select(CallbackRecord.id.label("callback_id"), sa.func.max(CaseEvent.at).label("at"))
                .join(CaseEvent, sa.and_(CaseEvent.case_id == CallbackRecord.case_id, CaseEvent.kind.in_(RESOLUTIONS),
                                         CaseEvent.at <= CallbackRecord.at))
                .group_by(CallbackRecord.id).subquery())
    callbacks = (sa.join(CallbackRecord, Case, Case.id == CallbackRecord.case_id)
                 .outerjoin(followed, followed.c.callback_id == CallbackRecord.id))
    add(_grouped(_local_day(sa.func.coalesce(followed.c.at, CallbackRecord.at)), callbacks, [], {
        "callbacks": count(),
        "rated": sa.func.sum(sa.case((rated, one), else_=0)),
        "satisfied": sa.func.sum(sa.case((satisfied, one), else_=0)),
        "with_outcome": sa.func.sum(sa.case((CallbackRecord.outcome.is_not(None), one), else_=0)),
        "solved": sa.func.sum(sa.case((CallbackRecord.outcome == Outcome.SOLVED, one), else_=0)),
        "redone": sa.func.sum(sa.case((sa.and_(rated, CallbackRecord.redo), one), else_=0)),
        "rated_by_resident": sa.func.sum(sa.case((sa.and_(rated, CallbackRecord.by_resident), one), else_=0)),
        "satisfied_by_resident": sa.func.sum(sa.case((sa.and_(satisfied, CallbackRecord.by_resident), one), else_=0)),
    }, scoped=False), ("callbacks", "rated", "satisfied", "with_outcome", "solved", "redone", "rated_by_resident",
                       "satisfied_by_resident"))

    # Returns: each case once (its first return, where it was returned from), on the day it was logged.
    earlier = aliased(CaseEvent)
    first_return = (sa.select(sa.func.min(earlier.id)).where(
        earlier.case_id == Case.id, earlier.kind == EventKind.RETURNED).scalar_subquery())
    add(_grouped(_local_day(Case.created_at), events, [CaseEvent.kind == EventKind.RETURNED,
                                                       CaseEvent.id == first_return], {"returned": count()}),
        ("returned",))

    db.session.execute(sa.delete(CaseCount))
    rows = [dict(zip(KEY, key, strict=True), **values) for key, values in total.items()]
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(CaseCount), rows[start:start + 5000])
    # Every board may have changed: mark every scope, so that no ETag (nor a board kept under it) stays.
    mark([kind.mark_of(i) for kind in KINDS.values() if kind.subjects is not None
          for i in [0, *db.session.scalars(sa.select(kind.subjects.id))]], clock.now())
    unit.end_step()
    return len(rows)


def as_rows() -> list[tuple]:
    """The counters of every key, its rows summed, as comparable tuples (for checking the kept counters
    against a rebuild)."""
    key = [getattr(CaseCount, name) for name in KEY]
    rows = db.session.execute(sa.select(*key, *(sa.func.sum(getattr(CaseCount, name)) for name in COUNTERS))
                              .group_by(*key).order_by(*key)).all()
    return [tuple(row) for row in rows if any(row[len(KEY):])]

