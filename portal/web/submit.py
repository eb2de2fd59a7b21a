"""One way for a route to hand a submitted form to the domain.

``submit(form, action)`` validates the form and, when it is valid, runs ``action`` (a call of the domain) in
one unit of work: all of it is saved, or nothing (run again, whole, when the database answers a deadlock,
a serialization failure or a busy lock: ``unit.with_retries``). A refusal of the domain is shown where the user will see
it (next to the field it names, or at the top of the page) and answered with the status that says what it
was: 422 bad input, 403 not allowed, 409 someone else changed it first. The route then redirects on success,
or shows the form again with what was typed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, flash

from portal.domain import DomainError
from portal.domain.platform import replays
from portal.domain.platform.unit import with_retries
from portal.web import replay
from portal.web.forms import attach_error
from portal.web.guards import me


@dataclass
class Submitted:
    ok: bool
    status: int  # what to answer with when not ok: 200 (not submitted yet), 422, 403, 409 or 429
    value: Any = None
    error: DomainError | None = None


def status_of(error: DomainError) -> int:
    """422 bad input; 403 not allowed; 409 changed by someone else first; 429 too many tries."""
    return error.status if error.status in (403, 409, 429) else 422


def explain(form, error: DomainError, field: str | None = None, about: str = "", fields: dict | None = None) -> int:
    """Show a refusal: next to its field, or (a conflict, a refusal of the whole action, an error that names
    no field) at the top of the page, after ``about`` (which of many rows it was about). Returns the status to
    answer with. ``fields`` renames the domain's names of fields to the form's ({"day": "visit_day"})."""
    if error.status == 404:
        abort(404)
    if fields and error.field in fields:
        error.field = fields[error.field]
    if error.status in (403, 409) or (error.field is None and field is None) or form is None:
        said = f"{about}：{error.message}" if about else str(error.message)
        flash(said, "error")
        replay.note_outcome(False, error, said)
    else:
        attach_error(form, error, default_field=field)
    return status_of(error)


def run(action: Callable[[], Any], form=None, field: str | None = None, about: str = "",
        fields: dict | None = None, say: bool = True) -> Submitted:
    """Run ``action`` in one unit of work; on a refusal, explain it (``form``'s ``field`` by default), unless
    the page says it in its own way (``say=False``). A form that carries a key (``portal.web.replay``) is done
    once per key: the key is saved with the action, and a key saved before answers with its first result. The key
    is the one parsed before the view ran (``replay.sent``), and how the action ended is kept for a replay's
    answer (``replay.note_outcome``)."""
    sent = replay.sent()
    try:
        value = with_retries((lambda: replays.once(me(), sent, action, replay.first_answer if replay.is_replay()
                                                else None)) if sent else action)
    except replays.Replayed as again:  # sent twice at the same moment: the other one saved it
        abort(replay.answer_first(again.first))
    except DomainError as error:
        # Kept on the result: it must not keep the request's frames (and its uploaded files) alive.
        error.__traceback__ = error.__context__ = error.__cause__ = None
        replay.note_outcome(False, error)  # the page says it: next to a field, at its top (``explain``), its own way
        if not say:
            return Submitted(False, status_of(error), error=error)
        return Submitted(False, explain(form, error, field, about, fields), error=error)
    replay.note_outcome(True)
    return Submitted(True, 200, value)


def submit(form, action: Callable[[], Any], field: str | None = None, fields: dict | None = None) -> Submitted:
    """Validate ``form`` and run ``action`` if it is valid. Not submitted yet: status 200; invalid: 422."""
    if not form.is_submitted():
        return Submitted(False, 200)
    replay.note_form(form)
    if not form.validate():
        return Submitted(False, 422)
    return run(action, form, field, fields=fields)
