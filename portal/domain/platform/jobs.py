"""Background jobs: what takes longer than a request may (a roster's check and import; an export of a year; an
estate's cards) runs apart from the request that asked for it, and the person comes back to its page.

- **Written with its request.** ``start`` writes the job in the request's transaction; its page shows the
  progress (``done`` of ``total``, at ``stage``) and then the result, or what went wrong, in Chinese.
- **Run by any worker, once at a time.** A worker claims one job with one conditional UPDATE (SKIP LOCKED on
  PostgreSQL) for ``JOBS_LEASE_SECONDS`` and renews the claim at each step of progress; a step reported after
  the claim was lost stops there (another worker has the job). The workers are the web process's own runner, a
  thread started as soon as a job is queued (``kick``: so `make run` and a single host need nothing more; off
  with ``JOBS_IN_PROCESS``), and ``flask jobs run`` (cron, every minute, on any host), which also takes up what a
  dead process left once its claim ran out.
- **Nothing lost, nothing twice.** A task writes in short transactions of its own (an import: 500 rows at a
  time), so no request waits long on a lock, and a job run again after its worker died starts again from its
  beginning: what it wrote stands, and writing it again changes nothing (those rows come out "unchanged"). A task that fails is tried again (at most
  ``JOBS_MAX_ATTEMPTS`` times), then marked failed with its reason.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app

from portal import clock
from portal.domain import DomainError
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import Job, JobStatus, User

log = logging.getLogger("portal.jobs")


class Lost(Exception):
    """This worker's claim on the job ran out and another worker took it: stop, the other goes on."""


class Progress:
    """What a task calls between its steps: how far it got (and so that its claim lasts). Each call ends the
    task's transaction under way and writes in a short one of its own; it raises ``Lost`` when the job is no
    longer this worker's."""

    def __init__(self, job_id: int, worker: str):
        self.job_id, self.worker = job_id, worker

    def __call__(self, done: int | None = None, total: int | None = None, stage: str | None = None,
                 add: int = 0) -> None:
        values: dict = {"claimed_until": clock.now() + _lease()}
        if done is not None:
            values["done"] = done
        if add:
            values["done"] = Job.done + add
        if total is not None:
            values["total"] = total
        if stage is not None:
            values["stage"] = stage
        _update_own(self.job_id, self.worker, values)


@dataclass(frozen=True)
class Task:
    kind: str
    run: Callable[[dict, Progress], dict]


TASKS: dict[str, Task] = {}


def task(kind: str):
    """Register the function that does a kind of job: ``run(params, progress) -> result`` (a JSON-able dict).
    It raises ``DomainError`` for what the person must put right (shown to them, not tried again)."""
    def register(run: Callable[[dict, Progress], dict]):
        TASKS[kind] = Task(kind, run)
        return run
    return register


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["JOBS_LEASE_SECONDS"])


# --- starting and reading -----------------------------------------------------------------------------------------

def start(kind: str, user: User | None, params: dict) -> Job:
    """Queue a job of ``kind`` with its ``params`` (plain JSON values) for ``user`` (the caller's unit commits
    it), and have it run as soon as it is committed."""
    if kind not in TASKS:
        raise ValueError(f"no task {kind!r}")
    job = Job(kind=kind, params=params, user=user, status=JobStatus.QUEUED, stage="", done=0, total=0, error="",
              attempts=0, worker="", created_at=clock.now())
    db.session.add(job)
    unit.end_step()
    if current_app.config["JOBS_IN_PROCESS"]:
        app = current_app._get_current_object()
        unit.after_commit(lambda: kick(app))
    return job


def recent(user: User, kinds: tuple[str, ...], limit: int = 8) -> list[Job]:
    """The jobs of ``kinds`` that ``user`` started, newest first (a job is its starter's alone: ``access.jobs``)."""
    return list(db.session.scalars(sa.select(Job).where(Job.user_id == user.id, Job.kind.in_(kinds))
                                   .order_by(Job.id.desc()).limit(limit)))


# --- running ------------------------------------------------------------------------------------------------------

def claim(worker: str) -> Job | None:
    """Claim the oldest job that waits, or whose claim ran out, for ``worker`` (and commit the claim)."""
    now = clock.now()
    due = (sa.select(Job.id).where(sa.or_(Job.status == JobStatus.QUEUED,
                                          sa.and_(Job.status == JobStatus.RUNNING, Job.claimed_until < now)))
           .order_by(Job.id).limit(1))
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    job_id = db.session.scalar(sa.update(Job).where(Job.id == due.scalar_subquery())
                               .values(status=JobStatus.RUNNING, worker=worker, claimed_until=now + _lease(),
                                       attempts=Job.attempts + 1, started_at=sa.func.coalesce(Job.started_at, now))
                               .returning(Job.id))
    unit.end_step()
    return db.session.get(Job, job_id) if job_id is not None else None


def run_next(worker: str) -> bool:
    """Run one job that is due; False when none is."""
    job = claim(worker)
    if job is None:
        return False
    job_id, kind, params, attempts = job.id, job.kind, dict(job.params or {}), job.attempts
    unit.end_step()  # no transaction stays open while the task runs
    try:
        result = TASKS[kind].run(params, Progress(job_id, worker))
    except Lost:
        unit.abandon()
        log.warning("job %s went to another worker", job_id)
        return True
    except DomainError as error:  # the person must put something right: said once, not tried again
        unit.abandon()
        _finish(job_id, worker, JobStatus.FAILED, error=str(error.message)[:500])
        return True
    except Exception as error:  # noqa: BLE001 - a task that breaks must not take the worker with it
        unit.abandon()
        log.exception("job %s (%s) failed", job_id, kind)
        if attempts < current_app.config["JOBS_MAX_ATTEMPTS"]:
            _update_own(job_id, worker, {"status": JobStatus.QUEUED, "claimed_until": None,
                                         "error": f"{error.__class__.__name__}"[:500]}, strict=False)
        else:
            _finish(job_id, worker, JobStatus.FAILED, error=f"{error.__class__.__name__}: {error}"[:500])
        return True
    _finish(job_id, worker, JobStatus.DONE, result=result, error="")
    return True


def work(worker: str | None = None, limit: int | None = None) -> int:
    """Run jobs until none is due (or ``limit`` of them); return how many ran."""
    worker = worker or worker_name()
    ran = 0
    while (limit is None or ran < limit) and run_next(worker):
        ran += 1
    return ran


def _finish(job_id: int, worker: str, status: JobStatus, **values) -> None:
    _update_own(job_id, worker, {"status": status, "claimed_until": None, "finished_at": clock.now(), **values},
                strict=False)


def _update_own(job_id: int, worker: str, values: dict, strict: bool = True) -> None:
    """Write to the job only while it is still this worker's; ``Lost`` otherwise (``strict``). In a transaction of
    its own, with the write lock (``unit.alone``): what the task read before is over, and a write after a read in
    one SQLite transaction could not wait for the lock."""
    unit.end_step()
    changed = unit.alone(lambda: db.session.execute(sa.update(Job).where(
        Job.id == job_id, Job.worker == worker, Job.status == JobStatus.RUNNING).values(**values)).rowcount)
    if not changed and strict:
        raise Lost(job_id)


# --- the web process's runner -------------------------------------------------------------------------------------

# One runner per process (a process serves one app: gunicorn's workers, `make run`).
_runner = threading.Lock()
_state = {"running": False, "wanted": False}


def kick(app: Flask) -> None:
    """Have this process run the jobs that wait: start its runner thread, or tell the running one to look again."""
    with _runner:
        _state["wanted"] = True
        if _state["running"]:
            return
        _state["running"] = True
    threading.Thread(target=_run_in_process, args=(app,), name="portal-jobs", daemon=True).start()


def _run_in_process(app: Flask) -> None:
    worker = worker_name()
    try:
        while True:
            with _runner:
                _state["wanted"] = False
            with app.app_context():
                try:
                    work(worker)
                finally:
                    db.session.remove()
            with _runner:
                if not _state["wanted"]:
                    _state["running"] = False
                    return
    except Exception:  # noqa: BLE001 - the runner must not die holding "running"; cron takes over
        log.exception("the jobs runner stopped")
        with _runner:
            _state["running"] = False
