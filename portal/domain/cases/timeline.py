"""The case's timeline: every step of a case is an event written in the same transaction as the step.

Events keep what happened (kind, statuses, data) and the words a person typed (note); how an event reads
is composed when it is shown (``portal/cases/timeline.py``), in the reader's language.
"""
from __future__ import annotations

from portal import clock
from portal.domain.boards import counters
from portal.domain.platform import replays, unit
from portal.extensions import db
from portal.models import Case, CaseEvent, EventKind, User


def record_event(case: Case, actor: User | None, kind: EventKind, *, to_status=None, note: str = "", public=False,
                 data=None, from_status=None, actor_label: str = "", at=None) -> CaseEvent:
    """Add an event to ``case``'s timeline (the caller's transaction commits it), and mark the boards that
    show the case as changed. A step sent from the browser's outbox keeps when the user acted (``replays``)."""
    values = {"actor_id": getattr(actor, "id", None), "actor_label": actor_label, "kind": kind,
              "from_status": from_status if from_status is not None else (case.status if to_status else None),
              "to_status": to_status, "note": note, "public": public, "data": data, "at": at or clock.now(),
              "acted_at": replays.acted_at()}
    if case.id is not None and (actor is None or actor.id is not None):
        event = _insert(case, values)
    else:  # a case (or an actor) not written yet: the flush writes the event after it
        values.pop("actor_id")
        event = CaseEvent(case=case, actor=actor, **values)
        db.session.add(event)
    replays.note_case(case)
    counters.touch(case, event.at)
    return event


def _insert(case: Case, values: dict) -> CaseEvent:
    """The event written at once by a Core INSERT (the write path: ``platform.unit.insert``); a timeline the
    session had loaded is read again when next shown."""
    event = unit.insert(CaseEvent, {"case_id": case.id, **values})
    if "events" in case.__dict__:
        db.session.expire(case, ["events"])
    return event
