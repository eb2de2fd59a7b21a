"""The unit of work: a change is committed whole, or not at all, and the domain owns that.

A ``Unit`` is the change under way on the database session, reached by ``current()``. It holds how deeply units
are opened inside one another, and what rides on the change until it ends: the boards whose scope it changed
(``marks``, written as it commits), what it changed of the directory and the catalog (``changed_kinds``), the
action replayed from a browser's outbox while it runs (``replay``), the form its request submitted (``sending``:
its key, parsed once, and how its action ended, for a replay's answer), what waits for its commit
(``after_commit``) and the writes that must stand whatever its end (``lasting``).

Two things, two names:
- **A step** (``end_step()``): every service of the domain ends its change with it. Inside a unit (the web opens
  one around each submitted form: ``with_retries``; a service made of others opens one: ``transactional``), a
  step only flushes, so that a conflict shows where it happens; the outermost unit commits once at its end, and
  rolls everything back and re-raises when anything in it fails. Called on its own (a command, a test, a
  worker's loop), a step is a unit of its own and is committed. So no service takes a ``commit=`` flag, and
  neither a route nor a service commits or rolls back by itself: only this module does.
- **A lasting write** (``lasting(write)``): what must stand even when the change it belongs to fails (a failed
  sign-in counted, a refused read audited). Outside any unit it is written and committed at once; inside one, it
  is written when the unit ends, committed or rolled back, in a transaction of its own.

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
- Rules decide, Core writes: the hot steps (a case logged, a claim, a transition, a callback) write their rows by
  Core statements (``write``, ``insert``, ``insert_many``, ``save``), not through the ORM's flush, in the same
  transaction; the objects the request reads afterwards are told what was written (``insert``, ``set_loaded``).
"""
from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.domain import Conflict
from portal.extensions import begin_mode, current_begin_mode, db

log = logging.getLogger("portal.unit")
STALE = _l("Someone changed this case at the same moment. Look at the latest state and try again.")


@dataclass
class Replay:
    """An action replayed from a browser's outbox, while it runs: when the user acted (None: just now), when it
    began, and the cases it changed (its answer names them)."""

    acted_at: datetime | None
    started: datetime
    cases: list = field(default_factory=list)


@dataclass
class Unit:
    """The change under way on a database session, and what rides on it until it ends (each part is cleared by
    its owner as the transaction commits or rolls back: the marks by ``boards.counters``, the kinds by
    ``platform.snapshot``)."""

    depth: int = 0                                       # units opened inside one another; the outermost commits
    wrote: bool = False                                  # the unit has flushed a change (``alone`` checks it)
    settling: bool = False                               # its lasting writes are being written
    marks: dict[str, datetime] = field(default_factory=dict)      # boards whose scope changed (boards.counters)
    changed_kinds: set[str] = field(default_factory=set)          # the directory, the catalog (platform.snapshot)
    replay: Replay | None = None                                  # a replayed action, while it runs
    sending: Any = None                          # a submitted form, for its request (replays.Sending)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    lasting: list[Callable[[], None]] = field(default_factory=list)


def current(session: Session | None = None) -> Unit:
    """The unit of the database session (the request's, the command's, the worker thread's)."""
    info = (session or db.session).info
    found = info.get("unit")
    if found is None:
        found = info["unit"] = Unit()
    return found


# --- steps and units ----------------------------------------------------------------------------------------------

def end_step() -> None:
    """End a step of a change: inside a unit, flush it (the unit commits at its end); outside any, commit it. A
    row changed by someone else since it was read (its version moved on) is a ``Conflict``, and nothing is kept."""
    inside = current().depth > 0
    try:
        db.session.flush() if inside else db.session.commit()
    except StaleDataError:
        if not inside:
            db.session.rollback()
        raise Conflict(STALE) from None
    if not inside:
        _run_after_commit()


def after_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the change under way is committed (now, when none is), and never if it is rolled
    back: what is slow or goes over the network (a worker thread woken) never runs inside a transaction."""
    unit = current()
    unit.after_commit.append(callback)
    if unit.depth == 0:  # outside a unit, every service has committed its change: end any read, then run it
        db.session.commit()
        _run_after_commit()


def lasting(write: Callable[[], None]) -> None:
    """A write that must stand even when the change it belongs to fails: now and committed, outside any unit;
    inside one, when the unit ends (committed or rolled back), in a transaction of its own."""
    unit = current()
    if unit.depth > 0:
        unit.lasting.append(write)
    else:
        alone(write)


def alone(write: Callable[[], Any]) -> Any:
    """Do ``write`` in a transaction of its own, now, and return what it returns: the read under way ends first
    (what it loaded is kept), and on SQLite the write lock is taken up front. Inside a unit, only before the unit
    has written anything (a sign-in counts the attempt first): later, it would end the unit's change halfway
    (``lasting`` waits for the unit's end instead)."""
    unit = current()
    session = db.session()
    if unit.wrote or (unit.depth > 0 and (session.new or session.dirty or session.deleted)):
        raise RuntimeError("a write of its own cannot follow the unit's own writes: use unit.lasting")
    end_read()
    with begin_mode("IMMEDIATE"):
        for attempt in range(RETRIES + 1):  # a busy database is tried again, as a unit's is (``with_retries``)
            try:
                value = write()
                db.session.commit()
                return value
            except BaseException as error:
                db.session.rollback()
                if attempt == RETRIES or not is_transient(error):
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
            finally:
                unit.wrote = False  # its own transaction: nothing of it is the unit's


# --- writing by Core statements ------------------------------------------------------------------------------------
# The hot steps (a case logged, a claim, a callback) write their rows by Core statements on the unit's connection,
# not through the ORM's flush: the rules have decided what to write, and the statements write just that.

def write(statement, parameters=None) -> sa.CursorResult:
    """Run an INSERT, UPDATE or DELETE in the change under way, on the session's connection (a list of
    ``parameters`` runs it as one executemany). Inside a unit it counts as the unit's write, as a flush does."""
    unit = current()
    session = db.session()
    if unit.depth == 0:
        _loose_write(session)
    result = session.connection().execute(statement, parameters)
    if unit.depth > 0:
        unit.wrote = True
    return result


def insert(model: type, values: dict[str, Any]) -> Any:
    """INSERT one row of ``model`` by Core and return its object, known to the session as if it had been loaded
    (no flush, no SELECT): the columns not given take their defaults, here as in the row."""
    row = _with_defaults(model, values)
    result = write(_insert_into(model), row)
    if "id" not in row:
        row["id"] = result.inserted_primary_key[0]
    return adopt(model, row)


def insert_many(model: type, rows: list[dict[str, Any]]) -> None:
    """INSERT many rows of ``model`` in one executemany (their objects are not wanted: none is made)."""
    if rows:
        write(_insert_into(model), [_with_defaults(model, row) for row in rows])


def adopt(model: type, row: dict[str, Any]) -> Any:
    """The object of a row already written (with its id), put in the session as loaded: what the request reads of
    it afterwards comes from these values, a column not given is loaded when first read."""
    found = db.session.identity_map.get(sa.inspect(model).identity_key_from_primary_key((row["id"],)))
    if found is not None:  # a row of a rolled-back try whose id the database gave again
        db.session.expunge(found)
    obj = model.__mapper__.class_manager.new_instance()
    obj.__dict__.update(row)  # as a query's rows fill an object: loaded values, no history
    sa.orm.make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


@functools.cache
def _insert_into(model: type) -> sa.Insert:
    """One INSERT statement a table, made once: its compiled form and cache key are kept with it."""
    if any(prop.key != prop.columns[0].key for prop in model.__mapper__.column_attrs):
        raise TypeError(f"{model.__name__}: an attribute named apart from its column cannot be adopted")
    return sa.insert(model.__table__)


def _with_defaults(model: type, values: dict[str, Any]) -> dict[str, Any]:
    row = dict(values)
    for column in _defaulted(model):
        if column.key not in row:
            default = column.default
            row[column.key] = default.arg(None) if default.is_callable else default.arg
    return row


@functools.cache
def _defaulted(model: type) -> tuple[sa.Column, ...]:
    """The columns of ``model`` with a Python default a Core INSERT would fill in (so the object knows them)."""
    return tuple(column for column in model.__table__.columns
                 if column.default is not None and (column.default.is_scalar or column.default.is_callable))


def save(obj: Any) -> None:
    """Write what was changed of one loaded, versioned row (``obj``: a case) by one Core UPDATE … WHERE id = ? AND
    version = ?, the version it was read at: a row changed by someone else since is a ``Conflict`` (as the flush's
    check says it), and nothing is kept. A change the UPDATE cannot say (a collection) is left to the flush."""
    state = sa.inspect(obj)
    mapper = state.mapper
    changed = state.committed_state
    if not changed or state.key is None:
        return
    values = {}
    for key in changed:
        prop = mapper.attrs[key]
        if isinstance(prop, sa.orm.ColumnProperty):
            values[prop.columns[0].key] = state.dict[key]
        elif prop.direction is sa.orm.MANYTOONE:
            target = state.dict[key]
            if target is not None and sa.inspect(target).key is None:
                return  # a row not written yet: the flush orders the two
            for local, remote in prop.local_remote_pairs:
                values[local.key] = None if target is None else getattr(target, remote.key)
        else:
            return
    table, version = mapper.local_table, mapper.version_id_col
    read_at = changed.get(version.key, state.dict[version.key])
    for column in _updated_by_default(table):
        values.setdefault(column.key, column.onupdate.arg(None))
    values[version.key] = read_at + 1
    done = write(sa.update(table).where(table.c.id == obj.id, version == read_at).values(values))
    if done.rowcount != 1:
        abandon()
        raise Conflict(STALE)
    state._commit(state.dict, list(changed))  # the object now says what its row says: no flush writes it again
    set_loaded(obj, **{column: values[column] for column in values if column not in state.dict
                       or state.dict[column] is not values[column]})


@functools.cache
def _updated_by_default(table: sa.Table) -> tuple[sa.Column, ...]:
    return tuple(column for column in table.columns if column.onupdate is not None and column.onupdate.is_callable)


def set_loaded(obj: Any, **values: Any) -> None:
    """Tell the session that ``obj``'s row now holds ``values`` (written by a Core statement): the object reads
    them without a SELECT, and no flush writes them again."""
    for key, value in values.items():
        sa.orm.attributes.set_committed_value(obj, key, value)


def abandon() -> None:
    """Give up the change under way: roll it back now, or, inside a unit of work, let the unit's end do it
    (the error that made us give up is on its way there)."""
    unit = current()
    if not unit.depth:
        db.session.rollback()
        unit.after_commit.clear()
        _run_lasting(unit)


def end_read() -> None:
    """End the read under way without forgetting what it loaded, so that the next transaction begins afresh
    (on SQLite: a unit's own begins with the write lock). Nothing is written."""
    session = db.session()
    if session.in_transaction():
        keep, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = keep


def _run_after_commit() -> None:
    """Run what waited for the commit, then the lasting writes. The change is saved whatever they do: a failure
    is logged, never raised (so neither the request fails nor ``with_retries`` runs the committed unit again)."""
    unit = current()
    while unit.after_commit:
        callback = unit.after_commit.pop(0)
        try:
            callback()
        except Exception:  # noqa: BLE001 - after the commit, nothing may undo or repeat it
            log.exception("an action after the commit failed")
            db.session.rollback()
    _run_lasting(unit)


def _run_lasting(unit: Unit) -> None:
    if unit.settling:  # a lasting write that gives up its own transaction: the loop below goes on with the rest
        return
    unit.settling = True
    try:
        while unit.lasting:
            write = unit.lasting.pop(0)
            try:
                alone(write)
            except Exception:  # noqa: BLE001 - one lasting write failing must not undo the others
                log.exception("a lasting write failed")
    finally:
        unit.settling = False


@sa.event.listens_for(Session, "before_flush")
def refuse_loose_writes(session: Session, _context, _instances) -> None:
    """A change flushed outside any unit of work, in a transaction that began without SQLite's write lock (a
    request's reads), could be refused at once by SQLite ("database is locked": a reader's snapshot cannot become
    a writer's once another has written), and nothing would try it again. Every write of a request belongs in a
    unit (``with_retries``, ``transactional``) or in a transaction of its own (``alone``, ``lasting``): under
    tests such a write fails here; in service it is logged."""
    found = session.info.get("unit")
    if found is None or found.depth == 0:
        _loose_write(session)


@sa.event.listens_for(Session, "do_orm_execute")
def refuse_loose_statements(state) -> None:
    """The same for an INSERT, UPDATE or DELETE statement the session runs."""
    if state.is_insert or state.is_update or state.is_delete:
        found = state.session.info.get("unit")
        if found is None or found.depth == 0:
            _loose_write(state.session)


def _loose_write(session: Session) -> None:
    if current_begin_mode() != "DEFERRED" or session.get_bind().dialect.name != "sqlite":
        return
    message = "a write outside a unit of work, in a transaction begun without the write lock"
    if has_app_context() and current_app.testing:
        raise RuntimeError(message)
    log.warning(message)


@sa.event.listens_for(Session, "after_flush")
def _flushed(session: Session, _context) -> None:
    found = session.info.get("unit")
    if found is not None and found.depth > 0:
        found.wrote = True


@contextmanager
def unit_of_work() -> Iterator[Unit]:
    """Commit everything done inside on leaving it; roll it all back and re-raise on any error. Units nest:
    only the outermost one commits."""
    unit = current()
    depth = unit.depth
    if depth == 0:
        unit.wrote = False
        _take_the_write_lock()
    unit.depth = depth + 1
    try:
        with begin_mode("IMMEDIATE"):
            yield unit
            unit.depth = depth
            if depth == 0:
                unit.wrote = False
                end_step()
    except BaseException:
        unit.depth = depth
        if depth == 0:
            unit.wrote = False
            db.session.rollback()
            unit.after_commit.clear()
            _run_lasting(unit)
        raise


def _take_the_write_lock() -> None:
    """An outermost unit begins its own transaction, and on SQLite it begins with the write lock
    (``BEGIN IMMEDIATE``): the read under way (a page's own reads before it submits, the hooks before the view)
    ends first, keeping what it loaded, so the unit waits for the lock where a busy database is tried again
    (``with_retries``), never before. A change made before the unit opened stays in its transaction."""
    session = db.session()
    if session.new or session.dirty or session.deleted:
        _loose_write(session)
    else:
        end_read()


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
            if attempt == RETRIES or current().depth > 0 or not is_transient(error):
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

