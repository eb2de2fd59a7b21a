"""The case lifecycle: the transitions table and one function per transition.

    logged ──claim──▶ claimed ──start──▶ in progress ──send_off_island──▶ awaiting higher office
      │  ▲                                    ▲  │                              │
      │  └──transfer / assign                 │  └──resolve──▶ resolved ◀──────┘ record_office_answer
      └──finish_on_spot (counter items)──────────────────────▶ resolved ──close (回访)──▶ closed
                                     an unsolved or dissatisfied callback: redo (重办); no answer x3: closed unrated
    return_case ▶ returned · merge ▶ merged · cancel ▶ cancelled · reopen (within 30 days) ▶ in progress

Each function checks who may act (the rule ``case.<permission>`` of ``portal.domain.access`` that the table names),
that the case is in a state the transition starts from, and, where the user acted on a page, that
the case is still the version they saw. It then changes the row, writes the timeline event and the
audit row, and commits, all in one transaction; or it raises a ``DomainError`` and changes nothing.
Routes never set ``Case.status`` themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import Conflict, DomainError, Forbidden, access
from portal.domain.boards import counters
from portal.domain.cases import answers, messages, timekeeping
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, outbox, privacy, unit
from portal.domain.platform.text import typed
from portal.extensions import db
from portal.models import (
    ACTIVE_VISITS,
    OPEN_STATUSES,
    CallbackRecord,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    Holder,
    Mode,
    Outcome,
    Satisfaction,
    ServicePoint,
    Supervision,
    User,
    Visit,
    VisitStatus,
)

REOPEN_DAYS = 30
CALLBACK_ATTEMPTS = 3
WORKING = frozenset({CaseStatus.LOGGED, CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS, CaseStatus.RETURNED})
# Ending a case, or sending it back, while a resident's ID card is with a proxy or an office would
# leave the card with nobody to return it: these wait until the documents are home.
DOCUMENTS_MUST_BE_HOME = frozenset({"cancel", "return_case", "merge"})
# A case that ends takes its booked home visit with it (the slot is free again).
ENDS_VISITS = frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.CANCELLED, CaseStatus.MERGED, CaseStatus.RETURNED})


@dataclass(frozen=True)
class Transition:
    """One row of the table: everything the portal needs to know of a transition, said once. Its service is the
    function of this module that bears its name; the case page offers it with the form of what it ``asks``
    (``portal.cases.forms.FORMS``) under its ``label``, which the flash, the refusals and the audit log say too."""

    name: str
    label: object
    sources: frozenset
    target: CaseStatus | None
    permission: str
    event: EventKind
    public: bool
    # What the user gives on the case page (a key of portal.cases.forms.FORMS); None: not offered on the case page
    # (done to many cases at once, elsewhere).
    asks: str | None = None
    # For an errand this step also hands the documents over (domain/errands), so it is done on the errand page.
    on_errand_page: bool = False

    @property
    def on_page(self) -> bool:
        return self.asks is not None

    @property
    def service(self):
        """The function that makes this transition."""
        return globals()[self.name]


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition("claim", _l("Claim"), frozenset({CaseStatus.LOGGED}), CaseStatus.CLAIMED, "claim", EventKind.CLAIMED, True,
                   asks="nothing"),
        Transition("start", _l("Start work"), frozenset({CaseStatus.CLAIMED}), CaseStatus.IN_PROGRESS, "work", EventKind.STARTED, False,
                   asks="note"),
        Transition("send_off_island", _l("Send to higher office"), frozenset({CaseStatus.IN_PROGRESS}), CaseStatus.AWAITING_OFFICE,
                   "work", EventKind.SENT_OFF, True, asks="note", on_errand_page=True),
        Transition("record_office_answer", _l("Record the office's answer"), frozenset({CaseStatus.AWAITING_OFFICE}),
                   CaseStatus.IN_PROGRESS, "office_answer", EventKind.OFFICE_ANSWERED, True, asks="office_answer",
                   on_errand_page=True),
        Transition("resolve", _l("Resolve"), frozenset({CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS}), CaseStatus.RESOLVED, "work",
                   EventKind.RESOLVED, True, asks="result", on_errand_page=True),
        Transition("finish_on_spot", _l("Finish on the spot"), frozenset({CaseStatus.LOGGED}), CaseStatus.RESOLVED, "counter",
                   EventKind.FINISHED_ON_SPOT, True, asks="note"),
        # The callback closes the case or, not solved or dissatisfied, has it redone: the label says both.
        Transition("close", _l("Record the callback (close or redo)"), frozenset({CaseStatus.RESOLVED}), CaseStatus.CLOSED,
                   "dispatch", EventKind.CLOSED, True, asks="callback"),
        Transition("no_answer", _l("Callback: no answer"), frozenset({CaseStatus.RESOLVED}), None, "dispatch",
                   EventKind.CALLBACK_ATTEMPT, False, asks="call_again"),
        Transition("return_case", _l("Return"), frozenset({CaseStatus.LOGGED, CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS}), CaseStatus.RETURNED,
                   "return", EventKind.RETURNED, False, asks="reason"),
        Transition("transfer", _l("Transfer"), WORKING, CaseStatus.LOGGED, "dispatch", EventKind.TRANSFERRED, False,
                   asks="point_or_person"),
        Transition("assign", _l("Assign"), WORKING, CaseStatus.LOGGED, "dispatch", EventKind.ASSIGNED, False, asks="person"),
        Transition("merge", _l("Merge into the original"), WORKING, CaseStatus.MERGED, "dispatch", EventKind.MERGED, True,
                   asks="original"),
        Transition("reopen", _l("Reopen"), frozenset({CaseStatus.RESOLVED, CaseStatus.CLOSED}), CaseStatus.IN_PROGRESS, "dispatch",
                   EventKind.REOPENED, True, asks="reason"),
        Transition("cancel", _l("Cancel"), WORKING, CaseStatus.CANCELLED, "dispatch", EventKind.CANCELLED, True, asks="reason"),
        # Closing a heating incident resolves every open call linked to it, with the incident's closing note.
        Transition("resolve_for_incident", _l("Resolved with the incident"), frozenset(OPEN_STATUSES), CaseStatus.RESOLVED,
                   "close_incident", EventKind.RESOLVED, True),
    ]
}

OFFICE_ANSWERS = {
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "more_materials": _l("More materials needed"),
}


def available(case: Case, user: User) -> list[Transition]:
    """The transitions ``user`` may make on ``case`` now, for the buttons on its page."""
    return [
        t for t in TRANSITIONS.values()
        if t.on_page and case.status in t.sources and access.can(user, f"case.{t.permission}", case)
        and _applies(t, case)
    ]


def _applies(t: Transition, case: Case) -> bool:
    """Conditions of a transition beyond the status and the actor."""
    if t.name == "send_off_island":
        return case.item.needs_approval
    if t.name == "finish_on_spot":
        return case.mode is Mode.COUNTER
    if t.name == "reopen":
        return _within_reopen_window(case)
    return True


def _within_reopen_window(case: Case) -> bool:
    finished = case.closed_at or case.resolved_at
    return finished is None or clock.now() - finished <= timedelta(days=REOPEN_DAYS)


class WrongStatus(DomainError):
    """The case is in a status the transition does not start from."""


# --- the shared steps of every transition -------------------------------------------------------

def stale_message(case: Case):
    """Who changed ``case`` last, when, and what it is now: why a change made on an older view was not saved."""
    latest = db.session.scalars(
        sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc()).limit(1)
    ).first()
    who = latest.actor.display_name if latest and latest.actor else (latest.actor_label if latest else "")
    return _l(
        "%(who)s changed this case at %(when)s (now: %(status)s) after you opened it. "
        "Your change was not saved; look at the latest state below and try again if it still applies.",
        who=who or _l("Someone"),
        when=clock.local(latest.at).strftime("%H:%M") if latest else "",
        status=case.status.label,
    )


def _check(case: Case, actor: User, name: str, version: int | None) -> Transition:
    t = TRANSITIONS[name]
    if version is not None and case.version != version:
        raise Conflict(stale_message(case))
    if case.status not in t.sources:
        raise WrongStatus(
            _l("This case is %(status)s; it cannot be given “%(action)s” now.", status=case.status.label,
               action=t.label)
        )
    if not access.can(actor, f"case.{t.permission}", case):
        raise Forbidden(_l("You may not give “%(action)s” to this case.", action=t.label))
    if not _applies(t, case):
        raise DomainError(_l("“%(action)s” does not apply to this case.", action=t.label),
                          field="item_query" if name == "finish_on_spot" else None)
    if name in DOCUMENTS_MUST_BE_HOME and any(m.holder is not Holder.RESIDENT for m in case.materials):
        raise DomainError(_l("The resident's original documents are still away (with the proxy or the office); "
                             "hand them back to the resident first."))
    return t


def _text(value: str | None, required: bool, field: str = "note") -> str:
    return typed(value, field, required=_l("Give a reason; it goes on the case's timeline.") if required else None)


def _move(case: Case, actor: User | None, t: Transition, note: str = "", *, to_status: CaseStatus | None = None,
          kind: EventKind | None = None, data: dict | None = None, public: bool | None = None,
          actor_label: str = "") -> CaseEvent:
    """Change the status (unless the transition keeps it), write the event and the audit row, and
    commit. ``actor`` is None only for the resident acting on the public pages (``actor_label``)."""
    old = case.status
    new = to_status or t.target or old
    event = record_event(case, actor, kind or t.event, to_status=new if new is not old else None, from_status=old,
                         note=note, public=t.public if public is None else public, data=data,
                         actor_label=actor_label)
    case.status = new
    case.updated_at = event.at
    if new in ENDS_VISITS and new is not old:
        _cancel_visits(case, actor, new)
    audit.record(t.name, actor=actor, obj=case, actor_name="" if actor else actor_label,
                 changes={"status": (old, new)} if new is not old else None)
    unit.save(case)  # one UPDATE checked against the version read (a conflict if it moved on)
    unit.end_step()
    return event


def restart_clock(case: Case, start) -> None:
    """Fix the case's due time from ``start`` (claim, reopen, redo) and re-arm the reminders."""
    calendar = timekeeping.calendar_for(case.service_point)
    case.due_at = timekeeping.due_time(case.item, start, case.service_point, case.mode, calendar)
    case.remind_at = timekeeping.reminder_time(case.item, start, case.due_at, case.service_point, case.mode, calendar)
    case.reminded_at = case.overdue_flagged_at = None
    case.callback_due_at = None


def _resolved_now(case: Case) -> dict:
    """Mark the case resolved now and count it; return what the resolution event keeps."""
    now = clock.now()
    case.resolved_at = now
    case.callback_due_at = timekeeping.callback_due(now, case.service_point)
    case.trip_saved = saves_a_trip(case)
    answers.offer(case)
    return counters.resolution(case, now)


def saves_a_trip(case: Case) -> bool:
    """A resolution spares a round trip off the island when its item used to need one and the resident is
    served on the island (docs/METRICS.md)."""
    return bool(case.item.saves_trip and case.service_point and case.service_point.on_island)


# --- the transitions ------------------------------------------------------------------------------

def claim(case: Case, actor: User) -> None:
    """Sign for a waiting case (签收), atomically: of two people claiming at once, one gets it."""
    if case.owner is not None and case.owner_id != actor.id and (case.status is CaseStatus.LOGGED or case.status.is_open):
        raise _claimed_by_someone_else(case)
    t = _check(case, actor, "claim", None)
    access.errands.check_limit(case, actor)
    now = clock.now()
    values = {"status": CaseStatus.CLAIMED, "owner_id": actor.id, "updated_at": now, "version": Case.version + 1}
    if case.claimed_at is None:
        # The first signature fixes the due time; after a transfer or a reassignment the clock runs on.
        # An urgent item's limit runs from logging: signing for it does not restart it (docs/METRICS.md).
        start = timekeeping.limit_start(case.item, case.created_at, now)
        calendar = timekeeping.calendar_for(case.service_point)
        due = timekeeping.due_time(case.item, start, case.service_point, case.mode, calendar)
        values.update(claimed_at=now, due_at=due, reminded_at=None, overdue_flagged_at=None,
                      remind_at=timekeeping.reminder_time(case.item, start, due, case.service_point, case.mode,
                                                          calendar))
    # The rules above decided; the conditional UPDATE is the claim (of two at once, one finds the case taken).
    claimed = unit.write(
        sa.update(Case.__table__)
        .where(Case.id == case.id, Case.status == CaseStatus.LOGGED,
               sa.or_(Case.owner_id.is_(None), Case.owner_id == actor.id))
        .values(**values).returning(*Case.__table__.columns)
    ).first()
    if claimed is None:
        unit.abandon()
        db.session.refresh(case)
        raise _claimed_by_someone_else(case)
    row = claimed._asdict()
    if any(case.__dict__.get(name, value) != value for name, value in row.items() if name not in values):
        db.session.expire(case)  # changed by someone else since it was read (a transfer): read it all again
    else:
        unit.set_loaded(case, **{name: row[name] for name in values}, owner=actor)
    data = counters.where(case)
    if "claimed_at" in values:
        data.update(_count_sign_for(case, now))
    record_event(case, actor, t.event, to_status=CaseStatus.CLAIMED, from_status=CaseStatus.LOGGED, public=True,
                 data=data, at=now)
    audit.record("claim", actor=actor, object_type="cases", object_id=case.id,
                 changes={"status": (CaseStatus.LOGGED, CaseStatus.CLAIMED), "owner": (None, actor.username)})
    unit.end_step()


def _count_sign_for(case: Case, now) -> dict:
    """Count the first signature (签收) of a case, unless the sweep already counted it as missed."""
    if case.sign_missed_at is not None or case.sign_due_at is None:
        return {}
    in_time = now <= case.sign_due_at
    counters.bump(case, now, signed=1, signed_in_time=int(in_time))
    return {"in_time": in_time}


def _claimed_by_someone_else(case: Case) -> Conflict:
    holder = case.owner.display_name if case.owner else _l("Someone")
    return Conflict(_l("%(who)s has already claimed this case (now: %(status)s).", who=holder,
                       status=case.status.label))


def start(case: Case, actor: User, version: int | None = None, note: str = "") -> None:
    """Begin work on a claimed case."""
    t = _check(case, actor, "start", version)
    _move(case, actor, t, _text(note, False))


def send_off_island(case: Case, actor: User, version: int | None = None, note: str = "") -> None:
    """Hand an errand's materials to the higher office that must approve it."""
    t = _check(case, actor, "send_off_island", version)
    _move(case, actor, t, _text(note, False), data={"office": case.item.approving_office})


def record_office_answer(case: Case, actor: User, answer: str, version: int | None = None, note: str = "",
                         more: list[str] | None = None) -> None:
    """Record what the higher office answered: approved, rejected (with the reason), more materials."""
    t = _check(case, actor, "record_office_answer", version)
    if answer not in OFFICE_ANSWERS:
        raise DomainError(_l("Choose the office's answer."), field="answer")
    data = {"answer": answer, **({"more": more} if more else {})}
    note = _text(note, answer != "approved")
    messages.office_answered(case, answer)
    _move(case, actor, t, note, data=data)


def resolve(case: Case, actor: User, note: str, version: int | None = None) -> None:
    """Finish the work (办结) with a note for the resident; the callback follows."""
    t = _check(case, actor, "resolve", version)
    note = _text(note, True)
    _move(case, actor, t, note, data=_resolved_now(case))


def finish_on_spot(case: Case, actor: User, version: int | None = None, note: str = "") -> None:
    """Claim and resolve a counter item in one action, while the resident waits."""
    t = _check(case, actor, "finish_on_spot", version)
    case.owner = actor
    data = _resolved_now(case)
    # On the spot means while the resident waits: within ON_SPOT_MINUTES of logging (docs/METRICS.md).
    window = timedelta(minutes=current_app.config["ON_SPOT_MINUTES"])
    case.on_spot = case.resolved_at - case.created_at <= window
    if case.claimed_at is None:  # finishing it is signing for it
        case.claimed_at = case.resolved_at
        data.update(_count_sign_for(case, case.resolved_at))
    counters.bump(case, case.created_at, on_spot=int(case.on_spot))
    _move(case, actor, t, _text(note, False), data=data)


def close(case: Case, actor: User, outcome: Outcome, satisfaction: Satisfaction, comment: str = "",
          version: int | None = None) -> None:
    """Record the callback (回访). Solved and satisfied enough closes the case; a callback that says
    not solved, or dissatisfied, reopens it as a redo (重办) and counts it."""
    t = _check(case, actor, "close", version)
    _record_callback(case, actor, t, outcome, satisfaction, _text(comment, False, field="comment"))


def no_answer(case: Case, actor: User, retry_at=None, note: str = "", version: int | None = None) -> None:
    """Note a callback nobody answered; the third one closes the case without a rating (未评价)."""
    t = _check(case, actor, "no_answer", version)
    note = _text(note, False)
    if retry_at is not None and retry_at <= clock.now():
        raise DomainError(_l("The time to call again must be later than now."), field="retry_at")
    case.callback_attempts += 1
    if case.callback_attempts >= CALLBACK_ATTEMPTS:
        case.satisfaction = Satisfaction.UNRATED
        case.closed_at = clock.now()
        _add_callback(case, actor, outcome=None, satisfaction=Satisfaction.UNRATED, comment=note, at=case.closed_at)
        counters.callback(case, case.closed_at, None, Satisfaction.UNRATED, False)
        _close_supervision(case)
        _move(case, actor, t, note, to_status=CaseStatus.CLOSED, kind=EventKind.CLOSED, data={"unrated": True}, public=True)
        return
    case.callback_retry_at = retry_at
    _move(case, actor, t, note, data={"attempt": case.callback_attempts,
                                      "retry_at": retry_at.isoformat() if retry_at else None})


def rate_by_resident(case: Case, outcome: Outcome | None, satisfaction: Satisfaction, comment: str = "") -> None:
    """A resident rates a resolved kiosk or WeChat case on the public lookup page."""
    if case.status is CaseStatus.CLOSED:
        raise DomainError(_l("This case is already closed and rated; thank you."))
    if case.status is not CaseStatus.RESOLVED:
        raise DomainError(_l("The case can be rated once it is resolved."))
    if case.channel not in (Channel.KIOSK, Channel.WECHAT):
        raise Forbidden(_l("This case is rated by a callback from the service point."))
    case.rated_by_resident = True
    _record_callback(case, None, TRANSITIONS["close"], outcome, satisfaction, _text(comment, False, field="comment"),
                     by_resident=True)


def answer_by_resident(case: Case, outcome: Outcome, satisfaction: Satisfaction, comment: str = "") -> None:
    """The resident answers by the link of the result's SMS (``answers``): recorded as the callback, exactly as a
    clerk's would be (a dissatisfied or unsolved answer redoes the case)."""
    if not answers.open_for_answer(case):
        raise DomainError(_l("This case no longer waits for your answer; thank you."))
    if not isinstance(outcome, Outcome):
        raise DomainError(_l("Choose the outcome."), field="outcome")
    _record_callback(case, None, TRANSITIONS["close"], outcome, satisfaction, _text(comment, False, field="comment"),
                     by_resident=True)


def _record_callback(case: Case, actor: User | None, t: Transition, outcome: Outcome | None,
                     satisfaction: Satisfaction, comment: str, by_resident: bool = False) -> None:
    if outcome is not None and not isinstance(outcome, Outcome):
        raise DomainError(_l("Choose the outcome."), field="outcome")
    if outcome is None and not by_resident:
        raise DomainError(_l("Choose the outcome."), field="outcome")
    if satisfaction not in (Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.DISSATISFIED):
        raise DomainError(_l("Choose the satisfaction."), field="satisfaction")
    now = clock.now()
    resident = "resident" if by_resident else ""  # shown as 居民 / The resident by portal.cases.timeline
    redo = outcome is Outcome.UNSOLVED or satisfaction is Satisfaction.DISSATISFIED
    case.outcome, case.satisfaction, case.callback_comment = outcome, satisfaction, comment
    _add_callback(case, actor, outcome=outcome, satisfaction=satisfaction, comment=comment, by_resident=by_resident,
                  redo=redo, at=now)
    case.answer_until = None  # answered: the link is spent
    counters.callback(case, now, outcome, satisfaction, redo, by_resident)
    data = {"outcome": outcome.value if outcome else None, "satisfaction": satisfaction.value}
    if by_resident:
        data["by_resident"] = True
    if redo:
        case.redo_count += 1
        case.resolved_at = None
        case.callback_attempts = 0
        restart_clock(case, now)
        data["redo"] = True
        _move(case, actor, t, comment, to_status=CaseStatus.IN_PROGRESS, kind=EventKind.REOPENED, data=data, public=True,
              actor_label=resident)
    else:
        case.closed_at = now
        _close_supervision(case)
        _move(case, actor, t, comment, data=data, public=True, actor_label=resident)


def _add_callback(case: Case, actor: User | None, **values) -> None:
    """The callback's row, written at once (a list of the case's callbacks already read is read again)."""
    unit.insert(CallbackRecord, {"case_id": case.id, "actor_id": actor.id if actor is not None else None, **values})
    if "callbacks" in case.__dict__:
        db.session.expire(case, ["callbacks"])


def _cancel_visits(case: Case, actor: User | None, status: CaseStatus) -> None:
    """Cancel a case's booked or started home visit when the case ends, in the same transaction. What still waited
    to tell the resident of the visit is withdrawn; a visit still to come, cancelled with a case that ends unresolved
    (withdrawn, returned, merged), is told to the resident who was told of it: the team will not come that day."""
    visits = db.session.execute(sa.select(Visit.id, Visit.day, Visit.slot, Visit.status).where(
        Visit.case_id == case.id, Visit.status.in_(ACTIVE_VISITS))).all()
    if not visits:  # a booking link still waiting to go offers nothing now
        outbox.withdraw(case, messages.ABOUT_THE_VISIT)
        return
    unit.write(sa.update(Visit.__table__).where(Visit.id.in_([visit.id for visit in visits]))
               .values(status=VisitStatus.CANCELLED))
    record_event(case, actor, EventKind.VISIT_CANCELLED, public=True)
    coming = [visit for visit in visits if visit.status is VisitStatus.BOOKED and visit.day >= clock.today()]
    if coming and status not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        messages.visit_cancelled(case, coming[0].day, coming[0].slot)
    else:
        outbox.withdraw(case, messages.ABOUT_THE_VISIT)


def _close_supervision(case: Case) -> None:
    unit.write(sa.update(Supervision.__table__).where(Supervision.case_id == case.id, Supervision.closed_at.is_(None))
               .values(closed_at=clock.now()))


def return_case(case: Case, actor: User, reason: str, version: int | None = None) -> None:
    """Give back a case that is not this point's to handle (退回); it goes back to the point that
    logged it, to be routed again."""
    t = _check(case, actor, "return_case", version)
    reason = _text(reason, True)
    now = clock.now()
    first_return = db.session.scalar(sa.select(CaseEvent.id).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.RETURNED).limit(1)) is None
    if first_return:  # the return rate is of the cases logged: each once, on its logging day (docs/METRICS.md)
        counters.bump(case, case.created_at, returned=1)  # counted where it was returned from
    counters.touch(case, now)
    data = counters.where(case)
    answered = _count_sign_for(case, now) if case.claimed_at is None else {}
    if answered:
        # Returned before anyone signed for it: the return is the point's answer, in time or late, for the
        # response rate (及时签收率); the sign-for clock stops, so the case is not counted again when re-routed.
        data.update(answered)
        case.sign_due_at = None
    case.owner = None
    if case.created_by and case.created_by.service_point_id:
        case.service_point_id = case.created_by.service_point_id
    _move(case, actor, t, reason, data=data)


def transfer(case: Case, actor: User, reason: str, point: ServicePoint | None = None, owner: User | None = None,
             version: int | None = None) -> None:
    """Send a case to another service point or person (转办), who signs for it anew."""
    t = _check(case, actor, "transfer", version)
    reason = _text(reason, True)
    if point is None and owner is None:
        raise DomainError(_l("Choose the service point or the person to transfer to."), field="point")
    if point is not None and not point.active:
        raise DomainError(_l("%(name)s is closed; choose another service point.", name=point.name_zh), field="point")
    if owner is not None:
        _check_worker(owner)
    old_point = case.service_point
    counters.touch(case, clock.now())  # the board it leaves changes too
    case.service_point = point or owner.service_point or case.service_point
    case.owner = owner
    case.transfer_count += 1
    _move(case, actor, t, reason, data={"from_point": old_point.name_zh, "to_point": case.service_point.name_zh,
                                        "owner": owner.display_name if owner else None})


def assign(case: Case, actor: User, owner: User, version: int | None = None) -> None:
    """Give a case to a person of the point (派单), who signs for it."""
    t = _check(case, actor, "assign", version)
    _check_worker(owner, case)
    if case.owner_id == owner.id:
        raise DomainError(_l("The case is already with %(name)s.", name=owner.display_name), field="owner")
    case.owner = owner
    _move(case, actor, t, data={"owner": owner.display_name})


def _check_worker(person: User | None, case: Case | None = None) -> None:
    """Cases go only to active people who work cases (not to administrators); a case assigned within its
    point goes to someone whose own scope holds it."""
    if person is None or not person.active or person.role not in access.WORKERS:
        raise DomainError(_l("Choose an active person who works cases."), field="owner")
    if case is not None and not access.cases.may_be_given(person, case):
        raise DomainError(_l("%(name)s does not work cases of this place or point; choose someone who does.",
                             name=person.display_name), field="owner")


def merge(case: Case, actor: User, original_number: str, version: int | None = None) -> None:
    """Close a duplicate by merging it into the case it repeats."""
    t = _check(case, actor, "merge", version)
    original = db.session.scalars(sa.select(Case).where(Case.number == (original_number or "").strip())).first()
    if original is None or not access.can_view(actor, original):
        raise DomainError(_l("There is no case %(number)s.", number=original_number), field="original")
    if original.id == case.id:
        raise DomainError(_l("A case cannot be merged into itself."), field="original")
    if original.status in (CaseStatus.MERGED, CaseStatus.CANCELLED):
        raise DomainError(_l("%(number)s is %(status)s; merge into the case that is being worked.",
                             number=original.number, status=original.status.label), field="original")
    case.merged_into = original
    _close_supervision(case)
    record_event(original, actor, EventKind.NOTE, data={"duplicate": case.number})
    _move(case, actor, t, data={"original": original.number})


@unit.transactional
def resolve_for_incident(cases: list[Case], actor: User, note: str) -> int:
    """Resolve the calls linked to an estate incident, with the incident's closing note the residents read:
    all of them, or none."""
    for case in cases:
        t = _check(case, actor, "resolve_for_incident", None)
        data = _resolved_now(case)
        _move(case, actor, t, note, data={**data, "incident": case.incident.title})
    return len(cases)


def reopen(case: Case, actor: User, reason: str, version: int | None = None) -> None:
    """Take a resolved or closed case up again (within 30 days of finishing it)."""
    t = _check(case, actor, "reopen", version)
    reason = _text(reason, True)
    case.resolved_at = case.closed_at = None
    case.callback_attempts = 0
    restart_clock(case, clock.now())
    _move(case, actor, t, reason)


def cancel(case: Case, actor: User, reason: str, version: int | None = None) -> None:
    """Withdraw a case (the resident no longer needs it, or it was logged by mistake)."""
    t = _check(case, actor, "cancel", version)
    _close_supervision(case)
    _move(case, actor, t, _text(reason, True))


def add_note(case: Case, actor: User, note: str, public: bool = False) -> CaseEvent:
    """Add a note to the timeline; ``public`` notes are shown to the resident."""
    if not access.can(actor, "case.note", case):
        raise Forbidden(_l("You may not add notes to this case."))
    note = _text(note, True)
    if not note:
        raise DomainError(_l("Write the note first."), field="note")
    event = record_event(case, actor, EventKind.NOTE, note=note, public=public)
    case.updated_at = event.at
    audit.record("note", actor=actor, obj=case, reason="public" if public else "")
    unit.end_step()
    return event


def stop_messages(case: Case, actor: User) -> None:
    """The resident told the clerk they want no more SMS: their number gets none from now on (any case)."""
    if not access.can(actor, "case.note", case):
        raise Forbidden(_l("You may not change this case."))
    if not case.requester_phone:
        raise DomainError(_l("This case has no phone to stop messages to."))
    record_event(case, actor, EventKind.MESSAGES_STOPPED)
    outbox.stop(case.requester_phone, actor=actor)


EDITABLE = ("description", "requester_name", "requester_phone", "address", "priority")


def edit(case: Case, actor: User, values: dict, version: int) -> None:
    """Correct a case's details; refused when the case changed since the editor opened it."""
    if not (access.can(actor, "case.work", case) or access.can(actor, "case.dispatch", case)):
        raise Forbidden(_l("You may not edit this case."))
    if case.version != version:
        raise Conflict(stale_message(case))
    if not case.status.is_open:
        raise DomainError(_l("This case is %(status)s; it can no longer be edited.", status=case.status.label))
    values = {k: v for k, v in values.items() if k in EDITABLE}
    if "description" in values:
        values["description"] = _text(values["description"], True, field="description")
    if "requester_phone" in values:  # stored in the one form it is looked up and matched in
        values["requester_phone"] = privacy.normalise_phone(values["requester_phone"])
        if not privacy.is_valid_phone(values["requester_phone"]):
            raise DomainError(_l("Enter a mobile number of 11 digits, a landline with its area code, "
                                 "or a number abroad starting with +."), field="requester_phone")
    changes = audit.apply_changes(case, values)
    if not changes:
        return
    record_event(case, actor, EventKind.EDITED, data={"fields": sorted(changes)})
    case.updated_at = clock.now()
    audit.record("edit", actor=actor, obj=case, changes=changes)
    unit.end_step()
