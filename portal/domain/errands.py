"""Party-member proxy errands (党员代办) and the "3+2" off-island run.

A proxy claims an errand of their places (at most ``ERRAND_LIMIT`` open at once, so the load is
shared), collects the resident's original documents, carries the ready errands off the island on
the next off-island day, records the office's answer, and hands the result and the documents back,
which resolves the case and counts a round trip the resident did not have to make.

Every document has exactly one holder at a time. A handover moves it with a conditional UPDATE on
its current holder, so two people recording the same handover cannot both succeed, and every move
is kept (who, when, confirmed by whom) and written to the timeline in the same transaction.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from portal import clock
from portal.domain import Conflict, DomainError, access
from portal.domain.cases import lifecycle, queues, timekeeping
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, unit
from portal.extensions import db
from portal.models import (
    Case,
    CaseMaterial,
    CaseStatus,
    EventKind,
    Holder,
    MaterialHandover,
    Mode,
    ServiceItem,
    ServicePoint,
    User,
)

# The moves a document may make, and nothing else.
MOVES = {
    (Holder.RESIDENT, Holder.PROXY),   # collected from the resident
    (Holder.PROXY, Holder.PROXY),      # taken over from the previous proxy, when a lead reassigns
    (Holder.PROXY, Holder.OFFICE),     # handed in off the island
    (Holder.OFFICE, Holder.PROXY),     # given back by the office with its answer
    (Holder.PROXY, Holder.RESIDENT),   # returned to the resident
}
def ensure_materials(case: Case) -> list[CaseMaterial]:
    """The case's documents, created from the item's checklist the first time they are needed."""
    if not case.materials and case.item.material_list:
        case.materials = [CaseMaterial(name=name[:80], holder=Holder.RESIDENT) for name in case.item.material_list]
        db.session.flush()
    return case.materials


# --- custody ----------------------------------------------------------------------------------------

def hand_over(case: Case, actor: User, materials: list[CaseMaterial], to: Holder, confirmed_by: str,
              rule: str = "case.work") -> None:
    """Move documents to ``to``, each from the one holder it has now; refuse any other move. ``rule`` is the
    access rule the move asks (the office's answer: ``case.office_answer``, which the hall's staff pass)."""
    access.require(actor, rule, case, _l("Only the errand's proxy records handovers."))
    if not case.status.is_open:
        raise DomainError(_l("This case is %(status)s; its documents no longer move.", status=case.status.label))
    confirmed_by = (confirmed_by or "").strip()
    if not confirmed_by:
        raise DomainError(_l("Write who confirmed the handover (the resident, the office's clerk)."),
                          field="confirmed_by")
    if not materials:
        raise DomainError(_l("Tick the documents that changed hands."), field="materials")
    now = clock.now()
    moved = []
    for material in materials:
        if material.case_id != case.id:
            raise DomainError(_l("That document belongs to another case."), field="materials")
        source = material.holder
        if source is Holder.PROXY and to is Holder.PROXY and material.holder_user_id == actor.id:
            raise DomainError(_l("You already hold %(name)s.", name=material.name), field="materials")
        if (source, to) not in MOVES:
            raise DomainError(_l("%(name)s is held by %(holder)s; it cannot go to %(to)s.", name=material.name,
                                 holder=source.label, to=to.label), field="materials")
        result = db.session.execute(
            sa.update(CaseMaterial).where(CaseMaterial.id == material.id, CaseMaterial.holder == source,
                                          CaseMaterial.holder_user_id.is_(material.holder_user_id)
                                          if material.holder_user_id is None
                                          else CaseMaterial.holder_user_id == material.holder_user_id)
            .values(holder=to, holder_user_id=actor.id if to is Holder.PROXY else None, since=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            unit.abandon()
            raise Conflict(_l("%(name)s changed hands meanwhile; look at the latest custody and try again.",
                              name=material.name))
        db.session.add(MaterialHandover(material_id=material.id, at=now, from_holder=source, to_holder=to,
                                        by_id=actor.id, confirmed_by=confirmed_by[:50]))
        moved.append((material.name, source))
    for material in materials:
        db.session.expire(material)
    sources = sorted({source.value for _name, source in moved})
    record_event(case, actor, EventKind.MATERIALS, public=True,
                 data={"materials": [name for name, _source in moved], "from": sources, "to": to.value,
                       "confirmed_by": confirmed_by[:50]})
    case.updated_at = now
    audit.record("handover", actor=actor, obj=case, changes={"materials": (sources, to.value)},
                 reason=", ".join(name for name, _source in moved))
    unit.end_step()


@dataclass
class Readiness:
    ready: bool
    missing: list[str]


def _with_owner(case: Case, material: CaseMaterial) -> bool:
    return material.holder is Holder.PROXY and material.holder_user_id == case.owner_id


def readiness(case: Case) -> Readiness:
    """An errand is ready to travel when its proxy holds every document itself: none still with the
    resident, none still with a proxy it was taken from."""
    missing = [m.name for m in case.materials if m.holder is Holder.RESIDENT or
               (m.holder is Holder.PROXY and not _with_owner(case, m))]
    return Readiness(not missing, missing)


def stage(case: Case) -> str:
    """Where an errand stands, for "my errands": collecting, ready, submitted, to return, done."""
    if not case.status.is_open:
        return "done"
    if case.status is CaseStatus.AWAITING_OFFICE:
        return "submitted"
    if case.status is CaseStatus.LOGGED:
        return "collecting"
    if not readiness(case).ready and not any(m.holder is Holder.OFFICE for m in case.materials):
        return "collecting"
    if not case.item.needs_approval:  # nothing to hand in off the island: do it and hand back
        return "to_return"
    answered = any(e.kind is EventKind.OFFICE_ANSWERED for e in case.events)
    return "to_return" if answered and not _needs_more(case) else "ready"


def _needs_more(case: Case) -> bool:
    answers = [e for e in case.events if e.kind is EventKind.OFFICE_ANSWERED]
    return bool(answers) and (answers[-1].data or {}).get("answer") == "more_materials"


STAGES = [
    ("collecting", _l("Collecting the documents")),
    ("ready", _l("Ready for the off-island day")),
    ("submitted", _l("Handed in, awaiting the office")),
    ("to_return", _l("To hand back to the resident")),
]


# --- the round trip -----------------------------------------------------------------------------------

def collect(case: Case, actor: User, material_ids: list[int], confirmed_by: str) -> None:
    """Take documents from the resident, or over from the previous proxy (starting the work if it has
    not started)."""
    if case.status is CaseStatus.CLAIMED:
        lifecycle.start(case, actor)
    ensure_materials(case)
    chosen = [m for m in case.materials if m.id in set(material_ids)]
    hand_over(case, actor, chosen, Holder.PROXY, confirmed_by)


@unit.transactional
def submit(case: Case, actor: User, confirmed_by: str) -> None:
    """Hand a ready errand's documents to the office and send it off (one transaction)."""
    if not case.item.needs_approval:
        raise DomainError(_l("This errand needs no office's approval; hand the result back when it is done."))
    ensure_materials(case)
    if case.status is CaseStatus.CLAIMED:
        lifecycle.start(case, actor)
    state = readiness(case)
    if not state.ready:
        raise DomainError(_l("Not ready: the resident still holds %(missing)s.", missing="、".join(state.missing)))
    with_proxy = [m for m in case.materials if m.holder is Holder.PROXY]
    if with_proxy:
        hand_over(case, actor, with_proxy, Holder.OFFICE, confirmed_by)
    lifecycle.send_off_island(case, actor)


def submit_all(actor: User, day: date, confirmed_by: str) -> list[str]:
    """Hand in every ready errand of ``actor`` for the off-island day ``day``; the numbers sent."""
    sent = []
    for group in manifest(actor, day).ready_by_office.values():
        for case in group:
            if case.owner_id == actor.id:
                submit(case, actor, confirmed_by)
                sent.append(case.number)
    return sent


@unit.transactional
def record_answer(case: Case, actor: User, answer: str, note: str = "", more: list[str] | None = None,
                  confirmed_by: str = "") -> None:
    """Record the office's answer; the documents it held come back to the proxy, and documents it
    asks for are added to the checklist (still with the resident)."""
    ensure_materials(case)
    access.require(actor, "case.office_answer", case, _l("You may not record this errand's answer."))
    at_office = [m for m in case.materials if m.holder is Holder.OFFICE]
    if at_office:  # to whoever records the answer: the proxy, or the hall that keeps them for the proxy
        hand_over(case, actor, at_office, Holder.PROXY, confirmed_by or str(_l("the office")), "case.office_answer")
    if answer == "more_materials":
        names = [n.strip()[:80] for n in (more or []) if n.strip()]
        if not names:
            raise DomainError(_l("Name the documents the office asks for, one per line."), field="more")
        for name in names:
            db.session.add(CaseMaterial(case=case, name=name, holder=Holder.RESIDENT, added_later=True))
        lifecycle.record_office_answer(case, actor, answer, note=note, more=names)
        return
    lifecycle.record_office_answer(case, actor, answer, note=note)


@unit.transactional
def deliver(case: Case, actor: User, note: str, confirmed_by: str) -> None:
    """Hand the result and the documents back to the resident; this resolves the errand and counts a
    round trip saved."""
    ensure_materials(case)
    if case.status is not CaseStatus.IN_PROGRESS or stage(case) != "to_return":
        raise DomainError(_l("This errand is not ready to hand back: its documents must be collected and, "
                             "where an office decides, handed in and answered first."))
    back = [m for m in case.materials if m.holder is Holder.PROXY]
    if back:
        hand_over(case, actor, back, Holder.RESIDENT, confirmed_by)
    lifecycle.resolve(case, actor, note)


# --- the off-island manifest ----------------------------------------------------------------------------

@dataclass
class Manifest:
    day: date | None
    ready_by_office: dict[str, list[Case]] = field(default_factory=dict)
    ready_by_proxy: dict[str, list[Case]] = field(default_factory=dict)
    not_ready: list[tuple[Case, list[str]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(cases) for cases in self.ready_by_office.values())


def next_day_for(user: User) -> date | None:
    """The next off-island day of the user's points: the points of the places they cover (a proxy's
    hamlet post), or their own point, or the island's points for a lead."""
    point_ids = {p.service_point_id for p in user.places if p.service_point_id}
    if user.service_point_id:
        point_ids.add(user.service_point_id)
    query = sa.select(ServicePoint).where(ServicePoint.active, ServicePoint.on_island)
    if point_ids and not access.sees_everything(user):
        query = query.where(ServicePoint.id.in_(point_ids))
    days = [d for d in (timekeeping.next_off_island_day(p) for p in db.session.scalars(query)) if d is not None]
    return min(days) if days else None


def is_off_island_day(day: date) -> bool:
    """Whether some island service point goes off the island on ``day``."""
    points = db.session.scalars(sa.select(ServicePoint).where(ServicePoint.active, ServicePoint.on_island))
    return any(timekeeping.calendar_for(p, clock.local_midnight(day)).is_off_island(day) for p in points)


def manifest(user: User, day: date | None = None) -> Manifest:
    """The errands to carry off the island on ``day`` (the next off-island day by default): the ready
    ones by destination office and by proxy, and apart, those still missing documents."""
    day = day or next_day_for(user)
    cases = db.session.scalars(
        sa.select(Case).join(Case.item).where(
            access.case_scope(user), Case.mode == Mode.ERRAND, Case.owner_id.is_not(None),
            Case.status.in_([CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS]), ServiceItem.needs_approval)
        .options(joinedload(Case.item), joinedload(Case.owner), joinedload(Case.service_point),
                 selectinload(Case.materials), selectinload(Case.events))
        .order_by(Case.number)
    ).unique().all()
    result = Manifest(day)
    by_office, by_proxy = defaultdict(list), defaultdict(list)
    calendars: dict[int, timekeeping.WorkCalendar] = {}
    for case in cases:
        if stage(case) == "to_return":
            continue
        if day is not None:  # only errands whose point goes off the island that day
            if case.service_point_id not in calendars:
                calendars[case.service_point_id] = timekeeping.calendar_for(case.service_point,
                                                                            clock.local_midnight(day))
            if not calendars[case.service_point_id].is_off_island(day):
                continue
        state = readiness(case)
        if state.ready:
            by_office[case.item.approving_office or str(_l("the higher office"))].append(case)
            by_proxy[case.owner.display_name].append(case)
        else:
            result.not_ready.append((case, state.missing))
    result.ready_by_office = dict(sorted(by_office.items()))
    result.ready_by_proxy = dict(sorted(by_proxy.items()))
    return result


# --- the proxy's page -----------------------------------------------------------------------------------

def pool(user: User, page: int = 1) -> queues.Page:
    """Errands waiting to be claimed in the proxy's places, urgent and oldest first, a page of 20 (a phone's
    screenful or two), with how many wait in all (counted up to ``queues.COUNT_CAP``)."""
    page = min(max(page, 1), queues.MAX_PAGE)
    where = [access.claimable(user), Case.mode == Mode.ERRAND]
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(Case.id).where(*where).limit(queues.COUNT_CAP + 1).subquery()))
    cases = db.session.scalars(
        sa.select(Case).where(*where).options(joinedload(Case.item), joinedload(Case.place))
        .order_by(Case.priority.desc(), Case.created_at, Case.id)
        .limit(queues.PAGE_SIZE).offset((page - 1) * queues.PAGE_SIZE))
    return queues.Page(list(cases), total, page)


def mine_by_stage(user: User) -> dict[str, list[Case]]:
    """The proxy's open errands, grouped by stage."""
    cases = db.session.scalars(
        sa.select(Case).where(Case.owner_id == user.id, Case.mode == Mode.ERRAND,
                              Case.status.in_([CaseStatus.LOGGED, CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS, CaseStatus.AWAITING_OFFICE]))
        .options(joinedload(Case.item), joinedload(Case.place), selectinload(Case.materials),
                 selectinload(Case.events))
        .order_by(Case.due_at)
    ).unique().all()
    grouped: dict[str, list[Case]] = {key: [] for key, _label in STAGES}
    for case in cases:
        grouped.setdefault(stage(case), []).append(case)
    return grouped
