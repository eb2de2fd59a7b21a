"""The case's timeline: every step of a case is an event written in the same transaction as the step.

Events keep what happened (kind, statuses, data) and the words a person typed (note); how an event reads
is composed when it is shown (``portal/cases/timeline.py``), in the reader's language.
"""
from __future__ import annotations

from portal import clock
from portal.domain.boards import counters
from portal.domain.platform import replays
from portal.extensions import db
from portal.models import Case, CaseEvent, EventKind, User


def record_event(case: Case, actor: User | None, kind: EventKind, *, to_status=None, note: str = "", public=False,
                 data=None, from_status=None, actor_label: str = "") -> CaseEvent:
    """Add an event to ``case``'s timeline (the caller's transaction commits it), and mark the boards that
    show the case as changed. A step sent from the browser's outbox keeps when the user acted (``replays``)."""
    event = CaseEvent(case=case, actor=actor, actor_label=actor_label, kind=kind,
                      from_status=from_status if from_status is not None else (case.status if to_status else None),
                      to_status=to_status, note=note, public=public, data=data, at=clock.now(),
                      acted_at=replays.acted_at())
    db.session.add(event)
    replays.note_case(case)
    counters.touch(case, event.at)
    return event
