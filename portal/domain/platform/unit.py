"""The unit of work: a change is committed whole, or not at all, and the domain owns that.

Every service function of the domain ends its change with ``commit()``. Called on its own (from a command,
a test, a worker), that commits. Called inside ``unit_of_work()`` (the web opens one around each submitted
form; a service made of other services opens one around them), it only marks the end of a step: the
outermost unit commits once at its end, and rolls everything back and re-raises when anything in it
fails. So no service takes a ``commit=`` flag, and no route rolls back.

Writes that must last even though the request fails (a failed sign-in counted, a refused read audited)
commit on their own with ``db.session.commit()`` before they raise, outside any unit's say.
"""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from portal.domain import Conflict
from portal.extensions import db

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


def abandon() -> None:
    """Give up the change under way: roll it back now, or, inside a unit of work, let the unit's end do it
    (the error that made us give up is on its way there)."""
    if not _depth():
        db.session.rollback()


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
        raise


def transactional(service):
    """Run the decorated service in a unit of work of its own: a service made of other services (log a case
    and book its visit; hand documents over and send the errand off) keeps all of them, or none."""
    @functools.wraps(service)
    def run(*args, **kwargs):
        with unit_of_work():
            return service(*args, **kwargs)
    return run
