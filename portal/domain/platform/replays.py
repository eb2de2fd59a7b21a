"""Replays: a user's action that carries a key made in the browser when they acted is done once per key.

The portal's pages put a key on the forms that matter in the field (logging a case at a post, a document
handover, starting and finishing a home visit, a note, a callback). Sent at once, the key stops a double
submission; kept in the browser's offline queue while the link is down (static/portal.js), it is what makes sending
again safe: the queue may send an item twice (it cannot know whether a lost answer's request arrived), the
server does it once.

``once(user, sent, action, answer)`` runs ``action`` inside the caller's unit of work and writes the ``Replay``
row in the same transaction, with what the answer says of the step (``answer``: the cases it changed, the
version it left): the action, its key and that are saved together, or none of them. A key already saved is not
run again: ``Replayed`` carries the first result, and its answer is sent again as it was (``note_answer`` adds
the words the route said, once they are known). Two sends of one key at the same moment queue on an advisory
lock on PostgreSQL (SQLite's write lock queues them already), so the second sees the first's row.

While the action runs, every timeline event it writes keeps ``acted_at``, the moment the user acted by their
device's clock, beside ``at``, when it arrived (``cases.timeline.record_event`` asks ``acted_at()``). A device's
clock is not trusted for anything that counts: time limits and boards count arrival; a moment in the future
is taken as the arrival, and one older than ``MAX_AGE`` is refused (an item that old needs a person's look).
Nor is it trusted to go back before the page: the moment is no earlier than when the server gave the user the
form (``Served``, signed into the page by ``portal/web/replay.py``); a form that does not say so, or says it with
a signature the portal did not make, counts as done when it arrived. A device a little slow (``CLOCK_SLACK``) is
set to the moment the form was served; one that claims more is refused (its clock needs setting, or its item a
person's look). A served moment is for one case (or for none, a form that logs a new case): the step must be
about that case, so a moment served with one case's form cannot date a step on another.
A refused action (bad input, no longer allowed, changed meanwhile) saves nothing, its key included: sent
again, it is checked again against the case as it is then.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import DomainError
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import Case, Replay, User

LOCK = 5504  # the first key of the advisory lock that queues two sends of one key
KEY = re.compile(r"^[A-Za-z0-9-]{16,64}$")
MAX_AGE = timedelta(days=14)
CLOCK_SLACK = timedelta(minutes=5)  # how slow a device's clock may be before its moment is refused
KEPT_FOR = MAX_AGE * 2  # a key is kept as long as a browser's queue may still send it again, and then some


@dataclass(frozen=True)
class Served:
    """When the server gave a user a form that can wait in the offline queue, and the case the form was about ("" for
    none): read from the form's signed ``offline_served`` (``portal/web/replay.py``)."""

    at: datetime
    case: str = ""


@dataclass(frozen=True)
class Sent:
    """What came with an action besides its fields: the key, and when the user acted (None: just now), and, when
    that moment came from a page that said when it was served, the case that page's form was about."""

    key: str
    acted_at: datetime | None = None
    about: str | None = None


@dataclass
class Sending:
    """A submitted form, for the length of its request (``unit.current().sending``, kept by portal/web/replay.py):
    its key as parsed once, before the view runs (``sent``, None when it carries none); for a replay, the version
    of its case the request began with; the form, so that a refusal can say what was wrong with its fields; and
    how its action ended (``submit.run``): ``saved``, or refused with ``refusal`` (and ``said``, the words the
    page shows at its top; None when they went next to a field, or the page says them in its own way)."""

    sent: Sent | None = None
    parsed: bool = False
    version_before: int | None = None
    form: Any = None
    ran: bool = False
    saved: bool = False
    refusal: DomainError | None = None
    said: str | None = None


class Replayed(Exception):
    """The key was used before: ``first`` is what was saved then."""

    def __init__(self, first: Replay):
        super().__init__(first.key)
        self.first = first


def parse(key: str | None, acted_at: str | None, served: Served | None = None) -> Sent | None:
    """The ``Sent`` of a form's ``offline_key`` and ``offline_acted_at`` fields, or None when it carries no key.
    Without ``served`` (the page did not say when it gave the form, or the signature was not the portal's) the
    user acted when it arrived."""
    key = (key or "").strip()
    if not key:
        return None
    if not KEY.match(key):
        raise DomainError(_l("This form's key is not one the portal made; reload the page and submit again."))
    moment = _moment(acted_at)
    if moment is None or served is None:
        return Sent(key)
    if moment < served.at - CLOCK_SLACK:
        raise DomainError(_l(
            "This device's clock says this was done at %(acted)s, before the page was given to you at %(served)s; "
            "it was not saved. Set the device's clock right, then enter it again if it still applies.",
            acted=clock.local(moment).strftime("%m-%d %H:%M"), served=clock.local(served.at).strftime("%m-%d %H:%M")))
    return Sent(key, min(max(moment, served.at), clock.now()), served.case)


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DomainError(_l("This form's time is not one the portal made; reload the page and submit again.")) from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    now = clock.now()
    if moment < now - MAX_AGE:
        raise DomainError(_l("This was done more than %(days)s days ago by this device's clock; it was not saved. "
                             "Check it with the case and enter it again if it still applies.", days=MAX_AGE.days))
    return min(moment, now)


def earlier(user: User, key: str) -> Replay | None:
    """What the user's action with ``key`` saved, if it was saved."""
    return db.session.scalars(sa.select(Replay).where(Replay.user_id == user.id, Replay.key == key)).first()


def once(user: User, sent: Sent, action: Callable[[], Any],
         answer: Callable[[list[Case]], dict] | None = None) -> Any:
    """Run ``action`` unless ``sent.key`` was used by ``user`` before (then raise ``Replayed``), and save the key
    with it, and with ``answer(cases)``: what the answer says of the cases the step changed, as they are once it
    is written (versions included). Call it inside a unit of work (``unit.with_retries``)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK, sa.func.hashtext(f"{user.id}:{sent.key}"))))
    first = earlier(user, sent.key)
    if first is not None:
        raise Replayed(first)
    running = unit.current().replay = unit.Replay(sent.acted_at, clock.now())
    try:
        value = action()
        if sent.acted_at is not None and not _about(sent.about, running.cases, running.started):
            raise DomainError(_l("This form's time is not one the portal made; reload the page and submit again."))
    finally:
        unit.current().replay = None
    cases = running.cases
    if answer is not None:
        db.session.flush()  # the versions the step leaves
    db.session.add(Replay(user_id=user.id, key=sent.key, case=cases[0] if cases else None, acted_at=sent.acted_at,
                          arrived_at=clock.now(), answer=answer(cases) if answer is not None else None))
    unit.end_step()
    return value


def moved_on(user: User, case: Case, seen: int) -> int:
    """The version of ``case`` that the user's own replays, each saved on the version the one before it left, moved
    it to from ``seen`` (``seen`` itself when none did): a later item of the user's offline queue, made on the page
    before those steps, counts them as seen. Each saved replay's answer says the version it saw and the one it left,
    the latter only when nothing else changed the case in between (``portal/web/replay.py``, ``first_answer``)."""
    answers = db.session.scalars(sa.select(Replay.answer).where(
        Replay.user_id == user.id, Replay.case_id == case.id, Replay.arrived_at >= clock.now() - KEPT_FOR)).all()
    steps = {said["seen"]: said["version"] for said in answers
             if said and said.get("case") == case.number and isinstance(said.get("seen"), int)
             and isinstance(said.get("version"), int) and said["version"] > said["seen"]}
    while seen in steps:
        seen = steps[seen]
    return seen


def note_answer(replay: Replay, **said) -> None:
    """Add to a saved key's answer what the route said once the step was saved (its message, where it led): sent
    again, the key is answered with it too. Its own small transaction: should it be lost, the key still answers
    with what was saved with the step."""
    def add() -> None:
        replay.answer = {**(replay.answer or {}), **said}

    unit.alone(add)


def _about(case: str | None, cases: list[Case], started: datetime) -> bool:
    """Whether a step dated by a page's served moment is about the page's case: it changed that case (or, for a
    form about no case, only cases it made itself, as logging a case does)."""
    if case is None or not cases:
        return True
    if case:
        return any(changed.number == case for changed in cases)
    return all(changed.created_at is not None and changed.created_at >= started for changed in cases)


def acted_at() -> datetime | None:
    """When the user acted, while a replayed action runs (None otherwise, or when it was just now)."""
    running = unit.current().replay
    return running.acted_at if running is not None else None


def acting_day() -> date:
    """The local day the user acted on: a visit finished offline at 16:00 and sent the next morning was done
    on its own day (the moment is bounded by ``MAX_AGE`` and by its arrival)."""
    moment = acted_at()
    return clock.local(moment).date() if moment is not None else clock.today()


def forget_old() -> int:
    """Delete the keys no browser's queue can send again (``flask sweep``); return how many."""
    deleted = db.session.execute(sa.delete(Replay).where(Replay.arrived_at < clock.now() - KEPT_FOR)).rowcount
    unit.end_step()
    return deleted or 0


def note_case(case: Case) -> None:
    """Remember the case an action under way changed: its replay answers with it."""
    running = unit.current().replay
    if running is not None and case not in running.cases:
        running.cases.append(case)
