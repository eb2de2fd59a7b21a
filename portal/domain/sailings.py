"""Cancelled sailings (停航): fog and wind stop the boat on an off-island day of the "3+2" week.

A lead of the island (or an administrator) marks the day (``cancel``): it is then no off-island day
(``timekeeping.WorkCalendar.sailing_cancelled``), so the manifest goes with the next off-island day that sails
(``timekeeping.next_off_island_day`` skips it) and no errand's time runs on it. In the same unit of work, each
open case whose time limit runs across the day is counted again on the calendar as it now is
(``calendar_years.recompute_limits``, the machinery of a changed calendar year): the errands of the island's points
move by the working time lost, each saying so on its timeline ("停航 …：办理时限由 … 顺延至 …") and in the audit log;
counter work and home visits, which never count an off-island day, do not move. A day is marked once; a lead undoes
it with a reason while the day is today or later, and the limits are counted again (said on each timeline).

Home visits are made by the island's on-site teams, on the island: the boat does not stop them. Only a visit of a
team based off the island, to a case of an island point, needs the boat; such visits are listed for rebooking
(``visits.to_rebook``) and their residents told when a visit is moved from that list. The rules of counting are in
docs/METRICS.md ("A cancelled sailing").
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import Conflict, DomainError, access
from portal.domain.boards import counters
from portal.domain.cases import calendar_years, timekeeping
from portal.domain.platform import audit, unit
from portal.domain.platform.text import typed
from portal.extensions import db
from portal.models import (
    ACTIVE_VISITS,
    IN_THE_DAY,
    CancelledSailing,
    Case,
    Place,
    SailingReason,
    ServicePoint,
    Team,
    User,
    Visit,
)

AHEAD_DAYS = 14  # a forecast reaches two weeks at most: a sailing is not cancelled further ahead
NOTE_LIMIT = 200


@dataclass
class Outcome:
    """What a cancellation (or its undo) did: the row, the cases whose time limit moved, where the manifest goes."""

    sailing: CancelledSailing
    moved: list[Case] = field(default_factory=list)
    next_day: date | None = None
    visits: list[Visit] = field(default_factory=list)


def island_points() -> list[ServicePoint]:
    """The island's service points whose week has off-island days (the boat's passengers)."""
    return [p for p in db.session.scalars(sa.select(ServicePoint).where(ServicePoint.active, ServicePoint.on_island)
                                          .order_by(ServicePoint.id)) if "O" in p.week]


def _island_calendar(day: date) -> timekeeping.WorkCalendar | None:
    points = island_points()
    return timekeeping.calendar_for(points[0]) if points else None


def active_on(day: date) -> CancelledSailing | None:
    return db.session.scalars(sa.select(CancelledSailing).where(CancelledSailing.day == day, CancelledSailing.active)
                              .options(joinedload(CancelledSailing.cancelled_by))).first()


def lost_days(first: date, last: date) -> list[date]:
    """The off-island days from ``first`` to ``last`` whose sailing was cancelled (and not restored)."""
    return list(db.session.scalars(sa.select(CancelledSailing.day).where(
        CancelledSailing.active, CancelledSailing.day >= first, CancelledSailing.day <= last)
        .order_by(CancelledSailing.day)))


def recent(limit: int = 30) -> list[CancelledSailing]:
    """The cancellations of the last months and those ahead, undone ones too (they say who undid them), newest first."""
    return list(db.session.scalars(sa.select(CancelledSailing).where(
        CancelledSailing.day >= clock.today() - timedelta(days=92))
        .options(joinedload(CancelledSailing.cancelled_by), joinedload(CancelledSailing.undone_by))
        .order_by(CancelledSailing.day.desc(), CancelledSailing.id.desc()).limit(limit)))


def reason_text(sailing: CancelledSailing) -> str:
    """Fog, wind, or the lead's own words."""
    return sailing.note if sailing.reason is SailingReason.OTHER and sailing.note else str(sailing.reason.label)


def _by(sailing: CancelledSailing) -> str:
    return sailing.cancelled_by.display_name if sailing.cancelled_by else str(_l("System"))


def _check_day(day: date | None) -> None:
    """Today or a day of the next two weeks, and an off-island day of the island's week that sails."""
    if day is None:
        raise DomainError(_l("Give the day whose sailing is cancelled."), field="day")
    if day < clock.today():
        raise DomainError(_l("%(day)s has passed: a sailing is marked cancelled on its day or before it.",
                             day=day.isoformat()), field="day")
    if day > clock.today() + timedelta(days=AHEAD_DAYS):
        raise DomainError(_l("%(day)s is more than %(n)d days ahead: mark it when the forecast is known.",
                             day=day.isoformat(), n=AHEAD_DAYS), field="day")
    calendar = _island_calendar(day)
    if calendar is None or calendar.kind_of(day) != "O":
        raise DomainError(_l("%(day)s is not an off-island day of the island's 3+2 week (a holiday, a rest day or a "
                             "day on the island): no boat leaves with errands that day.", day=day.isoformat()),
                          field="day")


def _mark_boards(cases: list[Case]) -> None:
    """The island's boards say the day is lost, and the moved cases' boards count their new due times: their
    stamps move (every island point, the places it serves and its teams; the district's with them)."""
    points = [p.id for p in island_points()]
    places = db.session.scalars(sa.select(Place.id).where(Place.service_point_id.in_(points))) if points else []
    teams = db.session.scalars(sa.select(Team.id).where(Team.service_point_id.in_(points))) if points else []
    keys = {f"point:{i}" for i in points} | {f"place:{i}" for i in places} | {f"team:{i}" for i in teams}
    keys |= {f"place:{c.place_id}" for c in cases if c.place_id} | {f"point:{c.service_point_id}" for c in cases}
    counters.mark(sorted(keys), clock.now())


def cancel(actor: User, day: date | None, reason: SailingReason | str | None, note: str = "") -> Outcome:
    """Mark ``day``'s sailing cancelled (停航) and move the time limits that ran across it, in one unit of work.
    A day is marked once: a second mark is refused, naming who marked it; two leads at once, the later is told."""
    access.require(actor, "sailing.cancel", message=_l("Only a lead of the island or an administrator marks a sailing "
                                                         "cancelled."))
    try:
        reason = SailingReason(reason)
    except ValueError:
        raise DomainError(_l("Say why the boat does not sail: fog, wind or another reason."), field="reason") from None
    note = typed(note, "note", NOTE_LIMIT,
                 required=_l("Say what stops the boat.") if reason is SailingReason.OTHER else None)
    _check_day(day)
    kept = active_on(day)
    if kept is not None:
        raise Conflict(_l("The sailing of %(day)s is marked cancelled already (%(reason)s, by %(name)s at %(at)s); "
                          "nothing was changed.", day=day.isoformat(), reason=reason_text(kept), name=_by(kept),
                          at=clock.local(kept.cancelled_at).strftime("%m-%d %H:%M")), field="day")
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    inserted = db.session.execute(
        insert(CancelledSailing).values(day=day, reason=reason, note=note, cancelled_by_id=actor.id,
                                        cancelled_at=clock.now(), active=True, undo_reason="")
        .on_conflict_do_nothing(index_elements=["day"], index_where=sa.text("active"))
        .returning(CancelledSailing.id)).scalar()
    if inserted is None:  # another lead's mark went in between our look and our insert
        raise Conflict(_l("Another lead marked the sailing of %(day)s cancelled a moment ago; look at it again.",
                          day=day.isoformat()), field="day")
    sailing = db.session.get(CancelledSailing, inserted)
    moved = calendar_years.recompute_limits({day}, actor, cause={
        "sailing": day.isoformat(), "reason": reason.value, "note": note})
    audit.record("sailing_cancelled", actor=actor, object_type="cancelled_sailings", object_id=str(sailing.id),
                 changes={"day": (None, day.isoformat()), "reason": (None, reason.value)},
                 reason=f"{note or reason.value}; {len(moved)} limits moved")
    _mark_boards(moved)
    unit.end_step()
    return Outcome(sailing, moved, next_sailing(day), stopped_visits(day))


def undo(actor: User, sailing_id: int, reason: str) -> Outcome:
    """Undo a cancellation made in error (the boat sailed after all), with a reason, while its day is today or
    later: the day is an off-island day again and the limits are counted again, said on each timeline."""
    access.require(actor, "sailing.cancel", message=_l("Only a lead of the island or an administrator marks a sailing "
                                                         "cancelled."))
    reason = typed(reason, "undo_reason", NOTE_LIMIT, required=_l("Say why the sailing is restored."))
    sailing = db.session.get(CancelledSailing, sailing_id)
    if sailing is None:
        raise DomainError(_l("No such cancelled sailing."))
    if sailing.day < clock.today():
        raise DomainError(_l("%(day)s has passed: its errands' time limits were counted without it and stay so.",
                             day=sailing.day.isoformat()), field="undo_reason")
    changed = db.session.execute(
        sa.update(CancelledSailing).where(CancelledSailing.id == sailing_id, CancelledSailing.active)
        .values(active=False, undone_by_id=actor.id, undone_at=clock.now(), undo_reason=reason)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        raise Conflict(_l("The sailing of %(day)s was restored already; look at it again.",
                          day=sailing.day.isoformat()))
    db.session.expire(sailing)
    moved = calendar_years.recompute_limits({sailing.day}, actor, cause={
        "sailing": sailing.day.isoformat(), "restored": True})
    audit.record("sailing_restored", actor=actor, object_type="cancelled_sailings", object_id=str(sailing.id),
                 changes={"active": (True, False)}, reason=f"{reason}; {len(moved)} limits moved")
    _mark_boards(moved)
    unit.end_step()
    return Outcome(sailing, moved, next_sailing(sailing.day))


def next_sailing(after: date) -> date | None:
    """The first off-island day after ``after`` on which the boat sails: where the manifest goes."""
    points = island_points()
    days = [d for d in (timekeeping.next_off_island_day(p, after + timedelta(days=1)) for p in points) if d]
    return min(days) if days else None


def carried_by(day: date) -> list[date]:
    """The days without a boat whose errands go with ``day``'s sailing: those whose next sailing it is."""
    lost = lost_days(day - timedelta(days=AHEAD_DAYS + 7), day - timedelta(days=1))
    return [d for d in lost if next_sailing(d) == day]


def visits_on(day: date) -> list[Visit]:
    """The home visits booked for ``day``, with their team and case's point."""
    return list(db.session.scalars(sa.select(Visit).where(Visit.day == day, Visit.status.in_(ACTIVE_VISITS))
                                   .options(joinedload(Visit.team).joinedload(Team.service_point),
                                            joinedload(Visit.case).joinedload(Case.service_point))
                                   .order_by(IN_THE_DAY, Visit.id)))


def needs_boat(visit: Visit) -> bool:
    """A visit crosses by boat when its team is based off the island and its case is an island point's."""
    team_point, case_point = visit.team.service_point if visit.team else None, visit.case.service_point
    return (team_point is not None and not team_point.on_island and case_point is not None
            and case_point.on_island)


def stopped_visits(day: date) -> list[Visit]:
    """The visits of ``day`` that the cancelled sailing stops (``needs_boat``)."""
    return [v for v in visits_on(day) if needs_boat(v)]
