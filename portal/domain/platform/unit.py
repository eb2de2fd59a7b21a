"""The unit of work: a change is committed whole, or not at all, and the domain owns that.

Every service function of the domain ends its change with ``commit()``. Called on its own (from a command,
a test, a worker), that commits. Called inside ``unit_of_work()`` (the web opens one around each submitted
form; a service made of other services opens one around them), it only marks the end of a step: the
outermost unit commits once at its end, and rolls everything back and re-raises when anything in it
fails. So no service takes a ``commit=`` flag, and no route rolls back.

Writes that must last even though the request fails (a failed sign-in counted, a refused read audited)
commit on their own with ``db.session.commit()`` before they raise, outside any unit's say.

The write path under concurrency:
- No hot rows. What every writer would touch (the boards' counters and marks, a kiosk's key) is inserted, not
  updated, or written at most once a minute, so writers do not queue on one row (``boards.counters``).
- One lock order. A transaction locks the rows of the one case it acts on (a conditional UPDATE checked
  against the version the user saw), then only inserts; an import or a sign-in takes its advisory lock first,
  in a transaction of its own (``rosters.IMPORT_LOCK``, ``accounts.LOGIN_LOCK``). No transaction holds rows
  that another wants in the opposite order, so none waits on another crosswise.
- A transient failure (serialization failure 40001, deadlock 40P01, a busy SQLite) runs the whole unit again,
  a bounded number of times (``with_retries``): what the failed try wrote, timeline included, was rolled back.
- Nothing slow inside: messages, files and the network wait for the commit (``after_commit``).
"""
from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from portal.domain import Conflict
from portal.extensions import db

log = logging.getLogger("portal.unit")
_DEPTH = "unit_of_work_depth"
STALE = _l("Someone changed this case at the same moment. Look at the latest state and try again.")


def _depth() -> int:
    return db.session.info.get(_DEPTH, 0)


def commit() -> None:
    """End a change: commit it now, or, inside a unit of work, leave that to the unit's end. A row changed by
    someone else since it was read (its version moved on) is a ``Conflict``, and nothing is kept."""
    inside = _depth() > 0
    try:
        db.session.flush() if inside else db.session.commit()
    except StaleDataError:
        if not inside:
            db.session.rollback()
        raise Conflict(STALE) from None
    if not inside:
        _run_after_commit()


_AFTER = "after_commit"


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the change under way is committed (now, when none is), and never if it is rolled
    back: what is slow or goes over the network (a message to a gateway) never runs inside a transaction."""
    if _depth() == 0:  # outside a unit, every service has committed its change: end any read, then run it
        db.session.commit()
        db.session.info.setdefault(_AFTER, []).append(callback)
        _run_after_commit()
    else:
        db.session.info.setdefault(_AFTER, []).append(callback)


def _run_after_commit() -> None:
    """Run what waited for the commit. The change is saved whatever they do: a failure is logged, never
    raised (so neither the request fails nor ``with_retries`` runs the committed unit again)."""
    for callback in db.session.info.pop(_AFTER, []):
        try:
            callback()
        except Exception:  # noqa: BLE001 - after the commit, nothing may undo or repeat it
            log.exception("an action after the commit failed")
            db.session.rollback()


def abandon() -> None:
    """Give up the change under way: roll it back now, or, inside a unit of work, let the unit's end do it
    (the error that made us give up is on its way there)."""
    if not _depth():
        db.session.rollback()
        db.session.info.pop(_AFTER, None)


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit everything done inside on leaving it; roll it all back and re-raise on any error. Units nest:
    only the outermost one commits."""
    depth = _depth()
    db.session.info[_DEPTH] = depth + 1
    try:
        yield
        db.session.info[_DEPTH] = depth
        if depth == 0:
            commit()
    except BaseException:
        db.session.info[_DEPTH] = depth
        if depth == 0:
            db.session.rollback()
            db.session.info.pop(_AFTER, None)
        raise


# Transient failures of a whole transaction that trying again resolves: PostgreSQL's serialization failure and
# deadlock (SQLSTATE 40001, 40P01), and SQLite's busy database once its busy timeout has run out.
RETRIES = 3
RETRYABLE_STATES = {"40001", "40P01"}


def is_transient(error: BaseException) -> bool:
    """Whether a database error is one that the same unit of work, run again, would not meet."""
    if not isinstance(error, sa.exc.DBAPIError):
        return False
    original = error.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state in RETRYABLE_STATES:
        return True
    return "database is locked" in str(original) or "database is busy" in str(original)


def with_retries(action: Callable[[], Any]) -> Any:
    """Run ``action`` in a unit of work, again (at most ``RETRIES`` times, after a short random pause) when the
    database answers a transient failure; whatever it wrote the failed time was rolled back, so its timeline
    events, counters and audit rows are written once."""
    for attempt in range(RETRIES + 1):
        try:
            with unit_of_work():
                return action()
        except sa.exc.DBAPIError as error:
            if attempt == RETRIES or _depth() > 0 or not is_transient(error):
                raise
            db.session.rollback()
            time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))


def transactional(service):
    """Run the decorated service in a unit of work of its own: a service made of other services (log a case
    and book its visit; hand documents over and send the errand off) keeps all of them, or none."""
    @functools.wraps(service)
    def run(*args, **kwargs):
        with unit_of_work():
            return service(*args, **kwargs)
    return run
