"""Replays: a user's action that carries a key made in the browser when they acted is done once per key.

The portal's pages put a key on the forms that matter in the field (logging a case at a post, a document
handover, starting and finishing a home visit, a note, a callback). Sent at once, the key stops a double
submission; kept in the browser's outbox while the link is down (static/portal.js), it is what makes sending
again safe: the outbox may send an item twice (it cannot know whether a lost answer's request arrived), the
server does it once.

``once(user, sent, action)`` runs ``action`` inside the caller's unit of work and writes the ``Replay`` row in
the same transaction: the action and its key are saved together, or neither. A key already saved is not run
again: ``Replayed`` carries the first result. Two sends of one key at the same moment queue on an advisory
lock on PostgreSQL (SQLite's write lock queues them already), so the second sees the first's row.

While the action runs, every timeline event it writes keeps ``acted_at``, the moment the user acted by their
device's clock, beside ``at``, when it arrived (``cases.timeline.record_event`` asks ``acted_at()``). A device's
clock is not trusted for anything that counts: time limits and boards count arrival; a moment in the future
is taken as the arrival, and one older than ``MAX_AGE`` is refused (an outbox that old needs a person's look).
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
KEPT_FOR = MAX_AGE * 2  # a key is kept as long as an outbox may still send it again, and then some
_ACTED = "replay_acted_at"
_CASES = "replay_cases"


@dataclass(frozen=True)
class Sent:
    """What came with an action besides its fields: the key, and when the user acted (None: just now)."""

    key: str
    acted_at: datetime | None = None


class Replayed(Exception):
    """The key was used before: ``first`` is what was saved then."""

    def __init__(self, first: Replay):
        super().__init__(first.key)
        self.first = first


def parse(key: str | None, acted_at: str | None) -> Sent | None:
    """The ``Sent`` of a form's ``outbox_key`` and ``outbox_acted_at`` fields, or None when it carries no key."""
    key = (key or "").strip()
    if not key:
        return None
    if not KEY.match(key):
        raise DomainError(_l("This form's key is not one the portal made; reload the page and submit again."))
    return Sent(key, _moment(acted_at))


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


def once(user: User, sent: Sent, action: Callable[[], Any]) -> Any:
    """Run ``action`` unless ``sent.key`` was used by ``user`` before (then raise ``Replayed``), and save the key
    with it. Call it inside a unit of work (``unit.with_retries``)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK, sa.func.hashtext(f"{user.id}:{sent.key}"))))
    first = earlier(user, sent.key)
    if first is not None:
        raise Replayed(first)
    info = db.session.info
    info[_ACTED], info[_CASES] = sent.acted_at, []
    try:
        value = action()
    finally:
        info.pop(_ACTED, None)
        cases = info.pop(_CASES, [])
    db.session.add(Replay(user_id=user.id, key=sent.key, case=cases[0] if cases else None, acted_at=sent.acted_at,
                          arrived_at=clock.now()))
    unit.commit()
    return value


def acted_at() -> datetime | None:
    """When the user acted, while a replayed action runs (None otherwise, or when it was just now)."""
    return db.session.info.get(_ACTED)


def acting_day() -> date:
    """The local day the user acted on: a visit finished offline at 16:00 and sent the next morning was done
    on its own day (the moment is bounded by ``MAX_AGE`` and by its arrival)."""
    moment = acted_at()
    return clock.local(moment).date() if moment is not None else clock.today()


def forget_old() -> int:
    """Delete the keys no outbox can send again (``flask sweep``); return how many."""
    deleted = db.session.execute(sa.delete(Replay).where(Replay.arrived_at < clock.now() - KEPT_FOR)).rowcount
    db.session.commit()
    return deleted or 0


def note_case(case: Case) -> None:
    """Remember the case an action under way changed: its replay answers with it."""
    cases = db.session.info.get(_CASES)
    if cases is not None and case not in cases:
        cases.append(case)
