"""Keeping every case on time: extensions (延期), the sweep that urges and escalates (催办, 督办),
and the lead's supervision of problem cases (问题工单).

``sweep`` is what ``flask --app portal sweep`` runs from cron every few minutes. It is idempotent:
each reminder and each flag is claimed with a conditional UPDATE (``reminded_at IS NULL``,
``overdue_flagged_at IS NULL``) or a unique row (one supervision per case, one notification per key),
so two sweeps running at once, or the same sweep run twice, send everything exactly once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import clock
from portal.domain import Conflict, DomainError, Forbidden, access
from portal.domain.boards import counters
from portal.domain.cases import timekeeping
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, notify, unit
from portal.domain.platform.text import MAX_TEXT, typed
from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    Case,
    CaseStatus,
    EventKind,
    ExtensionRequest,
    ExtensionStatus,
    Role,
    Supervision,
    SupervisionReason,
    User,
)

PROBLEM_AFTER = 3  # redone or transferred this many times makes a problem case
MAX_EXTENSION = timedelta(days=366)


def leads_for(case: Case) -> list[User]:
    """The leads who answer for a case: district leads (no places) and leads whose places hold it."""
    leads = db.session.scalars(sa.select(User).where(User.role == Role.LEAD, User.active)).all()
    return [lead for lead in leads if access.can_view(lead, case)]


def _reason(text: str | None, field: str = "reason") -> str:
    return typed(text, field, required=_l("Give a reason; it goes on the case's timeline."))


# --- extensions ------------------------------------------------------------------------------------

def pending_extension(case: Case) -> ExtensionRequest | None:
    return db.session.scalars(
        sa.select(ExtensionRequest).where(ExtensionRequest.case_id == case.id,
                                          ExtensionRequest.status == ExtensionStatus.PENDING)
    ).first()


def request_extension(case: Case, actor: User, new_due_at: datetime, reason: str) -> ExtensionRequest:
    """The owner asks, before the due time, to move it; a lead decides."""
    if case.owner_id != actor.id:
        raise Forbidden(_l("Only the case's owner asks for an extension."))
    access.require(actor, "extension.ask", case, _l("Only a claimed, open case can be extended."))
    now = clock.now()
    if case.due_at <= now:
        raise DomainError(_l("The case is already overdue; an extension is asked before the due time."),
                          field="new_due_at")
    if new_due_at is None or new_due_at <= case.due_at:
        raise DomainError(_l("The new due time must be later than the current one (%(due)s).",
                             due=clock.local(case.due_at).strftime("%Y-%m-%d %H:%M")), field="new_due_at")
    if new_due_at > now + MAX_EXTENSION:
        raise DomainError(_l("An extension reaches at most a year ahead."), field="new_due_at")
    pending = pending_extension(case)
    if pending is not None and pending.requested_by_id == actor.id:
        raise Conflict(_l("An extension of this case is already waiting for a decision."))
    if pending is not None:  # asked by an earlier owner: it no longer stands
        pending.status, pending.decided_at = ExtensionStatus.WITHDRAWN, now
    request = ExtensionRequest(case=case, requested_by=actor, requested_at=now, reason=_reason(reason),
                               old_due_at=case.due_at, new_due_at=new_due_at)
    db.session.add(request)
    record_event(case, actor, EventKind.EXTENSION_ASKED, note=request.reason,
                 data={"due": new_due_at.isoformat()})
    case.updated_at = now
    audit.record("extension_asked", actor=actor, obj=case, changes={"due_at": (case.due_at, new_due_at)})
    notify.notify(leads_for(case), "extension_asked", case, f"ext-ask:{case.id}:{now.timestamp():.0f}")
    unit.end_step()
    return request


def decide_extension(request: ExtensionRequest, actor: User, approve: bool, note: str = "") -> None:
    """A lead approves (the due time moves; the resident sees the new date) or refuses."""
    if request.requested_by_id == actor.id:
        raise Forbidden(_l("Another lead decides on your own extension."))
    access.require(actor, "extension.decide", request, _l("Only a lead decides on extensions."))
    if request.status is not ExtensionStatus.PENDING:
        raise Conflict(_l("This extension was already decided (%(status)s).", status=request.status.label))
    case = request.case
    note = (note or "").strip()
    if not approve and not note:
        raise DomainError(_l("Say why the extension is refused."), field="note")
    now = clock.now()
    if not case.status.is_open or case.owner_id != request.requested_by_id:
        # The case was finished, or went to someone else, since the request: it no longer stands.
        # The withdrawal stands although the decision is refused: written when the refusal has rolled back.
        unit.lasting(lambda: _settle(request, ExtensionStatus.WITHDRAWN, actor, now, note))
        raise Conflict(_l("The case changed since the request (now %(status)s); the request was withdrawn.",
                          status=case.status.label))
    _settle(request, ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED, actor, now, note)
    if approve:
        old_due = case.due_at
        case.due_at = request.new_due_at
        case.remind_at = timekeeping.reminder_time(case.item, now, case.due_at, case.service_point, case.mode)
        case.reminded_at = case.overdue_flagged_at = None
        record_event(case, actor, EventKind.EXTENDED, note=note, public=True,
                     data={"due": request.new_due_at.isoformat()})
        audit.record("extension_approved", actor=actor, obj=case, changes={"due_at": (old_due, case.due_at)})
    else:
        record_event(case, actor, EventKind.EXTENSION_REFUSED, note=note)
        audit.record("extension_refused", actor=actor, obj=case)
    case.updated_at = now
    kind = "extension_approved" if approve else "extension_refused"
    notify.notify([request.requested_by], kind, case, f"{kind}:{request.id}")
    unit.end_step()


def _settle(request: ExtensionRequest, status: ExtensionStatus, actor: User, now: datetime, note: str) -> None:
    """Decide a request once: of two leads deciding at the same moment, the second is told."""
    result = db.session.execute(
        sa.update(ExtensionRequest)
        .where(ExtensionRequest.id == request.id, ExtensionRequest.status == ExtensionStatus.PENDING)
        .values(status=status, decided_by_id=actor.id, decided_at=now, decision_note=note)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        unit.abandon()
        raise Conflict(_l("This extension was already decided by another lead."))
    db.session.expire(request)


def pending_extensions() -> list[ExtensionRequest]:
    return list(db.session.scalars(
        sa.select(ExtensionRequest).where(ExtensionRequest.status == ExtensionStatus.PENDING)
        .options(joinedload(ExtensionRequest.case), joinedload(ExtensionRequest.requested_by))
        .order_by(ExtensionRequest.requested_at)
    ))


# --- supervision -----------------------------------------------------------------------------------

def open_supervisions() -> list[Supervision]:
    return list(db.session.scalars(
        sa.select(Supervision).where(Supervision.closed_at.is_(None))
        .options(joinedload(Supervision.case).joinedload(Case.item), joinedload(Supervision.responsible))
        .order_by(Supervision.created_at)
    ))


def supervise(case: Case, actor: User, responsible: User, deadline: datetime, instruction: str = "") -> Supervision:
    """A lead puts a case under supervision, naming who answers for it and by when."""
    access.require(actor, "case.supervise", case, _l("Only a lead supervises cases."))
    if responsible is None or not access.cases.may_be_given(responsible, case):
        raise DomainError(_l("Choose an active person who works cases of this place or point."), field="responsible")
    if deadline is None or deadline <= clock.now():
        raise DomainError(_l("The deadline must be in the future."), field="deadline")
    if not case.status.is_open and case.status is not CaseStatus.RESOLVED:
        raise DomainError(_l("This case is %(status)s; there is nothing left to supervise.",
                             status=case.status.label))
    supervision = db.session.scalars(sa.select(Supervision).filter_by(case_id=case.id)).first()
    if supervision is None:
        supervision = Supervision(case=case, reason=SupervisionReason.LEAD)
        db.session.add(supervision)
    supervision.responsible, supervision.deadline = responsible, deadline
    supervision.instruction, supervision.closed_at = (instruction or "").strip()[:MAX_TEXT], None
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # another lead put it under supervision at the same moment
        unit.abandon()
        raise Conflict(_l("Another lead has just put this case under supervision; look again.")) from None
    record_event(case, actor, EventKind.SUPERVISED, note=supervision.instruction,
                 data={"responsible": responsible.display_name, "deadline": deadline.isoformat()})
    case.updated_at = clock.now()
    audit.record("supervise", actor=actor, obj=case,
                 changes={"responsible": (None, responsible.username), "deadline": (None, deadline)})
    notify.notify([responsible], "responsible", case, f"responsible:{case.id}:{deadline.timestamp():.0f}")
    unit.end_step()
    return supervision


# --- the sweep -------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    sign_missed: list[str] = field(default_factory=list)
    reminded: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    supervised: list[str] = field(default_factory=list)


def _claim_flag(case: Case, column, now: datetime) -> bool:
    """Set a case's flag if nobody has yet; True when this sweep got it."""
    result = db.session.execute(
        sa.update(Case).where(Case.id == case.id, column.is_(None)).values({column.key: now})
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def sweep(now: datetime | None = None, batch: int = 500) -> SweepResult:
    """Urge owners at 75 % of the limit, flag overdue cases to the leads, and put cases redone or
    transferred three times on the supervision list. Safe to run again at any time."""
    now = now or clock.now()
    result = SweepResult()
    open_ = Case.status.in_(OPEN_STATUSES)
    system = "system"  # shown as 系统 / System by portal.cases.timeline

    missed = db.session.scalars(
        sa.select(Case).where(Case.status == CaseStatus.LOGGED, Case.claimed_at.is_(None), Case.incident_id.is_(None),
                              Case.sign_missed_at.is_(None), Case.sign_due_at < now)
        .order_by(Case.sign_due_at).limit(batch)
    ).all()
    for case in missed:
        if _claim_flag(case, Case.sign_missed_at, now):
            record_event(case, None, EventKind.SIGN_MISSED, actor_label=system,
                         data={"due": case.sign_due_at.isoformat(), **counters.where(case)})
            counters.bump(case, now, signed=1)
            result.sign_missed.append(case.number)
        unit.end_step()

    reminders = db.session.scalars(
        sa.select(Case).where(open_, Case.owner_id.is_not(None), Case.remind_at <= now, Case.reminded_at.is_(None))
        .options(joinedload(Case.owner)).order_by(Case.remind_at).limit(batch)
    ).all()
    for case in reminders:
        if _claim_flag(case, Case.reminded_at, now):
            record_event(case, None, EventKind.REMINDED, actor_label=system, data={"due": case.due_at.isoformat()})
            audit.record("remind", obj=case, actor_name="sweep")
            notify.notify([case.owner], "remind", case, f"remind:{case.id}:{case.due_at.timestamp():.0f}")
            result.reminded.append(case.number)
        unit.end_step()

    overdue = db.session.scalars(
        sa.select(Case).where(open_, Case.due_at < now, Case.overdue_flagged_at.is_(None))
        .order_by(Case.due_at).limit(batch)
    ).all()
    for case in overdue:
        if _claim_flag(case, Case.overdue_flagged_at, now):
            record_event(case, None, EventKind.OVERDUE, actor_label=system, data={"due": case.due_at.isoformat()})
            audit.record("overdue", obj=case, actor_name="sweep")
            recipients = leads_for(case) + ([case.owner] if case.owner else [])
            notify.notify(recipients, "overdue", case, f"overdue:{case.id}:{case.due_at.timestamp():.0f}")
            result.overdue.append(case.number)
        unit.end_step()

    problems = db.session.scalars(
        sa.select(Case).where(
            open_ | (Case.status == CaseStatus.RESOLVED),
            sa.or_(Case.redo_count >= PROBLEM_AFTER, Case.transfer_count >= PROBLEM_AFTER),
            ~sa.exists().where(Supervision.case_id == Case.id),
        ).limit(batch)
    ).all()
    for case in problems:
        reason = SupervisionReason.REDONE if case.redo_count >= PROBLEM_AFTER else SupervisionReason.TRANSFERRED
        db.session.add(Supervision(case=case, reason=reason, created_at=now))
        try:
            db.session.flush()
        except sa.exc.IntegrityError:  # another sweep got there first
            unit.abandon()
            continue
        record_event(case, None, EventKind.SUPERVISED, actor_label=system, data={"reason": reason.value})
        audit.record("supervise", obj=case, actor_name="sweep", reason=reason.value)
        notify.notify(leads_for(case), "supervised", case, f"supervised:{case.id}")
        result.supervised.append(case.number)
        unit.end_step()

    return result
