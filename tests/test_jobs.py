"""Background jobs (portal.domain.platform.jobs): claimed by one worker at a time under a lease, taken up again when
a worker dies, tried again when a task breaks, shown only to whoever started them; run by the web process itself
and by `flask jobs run`. A roster import stopped halfway is finished by running it again, each row written once."""
import io
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import DomainError, rosters
from portal.domain.platform import jobs
from portal.extensions import db
from portal.models import Household, Job, JobStatus
from tests.test_imports import csv_bytes


@pytest.fixture
def tasks(monkeypatch):
    """A task of the test's own that records what it was given, reports two steps, and does what it is told."""
    calls = []

    def run(params, progress):
        calls.append(params)
        progress(total=2, stage="checking")
        if params.get("then") == "break" and len(calls) < 3:
            raise RuntimeError("the gateway hung up")
        if params.get("then") == "refuse":
            raise DomainError("文件里没有任何住户。")
        progress(done=2)
        return {"echo": params["n"]}

    monkeypatch.setitem(jobs.TASKS, "echo", jobs.Task("echo", run))
    return calls


def test_a_job_is_run_once_by_one_worker_and_keeps_its_result(world, tasks):
    job = jobs.start("echo", world.staff, {"n": 7})
    assert job.status is JobStatus.QUEUED
    assert jobs.work("worker-a") == 1 and jobs.work("worker-b") == 0
    db.session.refresh(job)
    assert (job.status, job.result, job.done, job.total, job.worker, job.attempts) == (
        JobStatus.DONE, {"echo": 7}, 2, 2, "worker-a", 1)
    assert tasks == [{"n": 7}]


def test_a_job_left_by_a_dead_worker_is_taken_again_once_its_claim_runs_out(world, tasks, monkeypatch):
    job = jobs.start("echo", world.staff, {"n": 1})
    assert jobs.claim("dead-worker").id == job.id  # claimed, then the process was killed
    assert jobs.work("worker-b") == 0  # its claim still holds
    later = clock.now() + timedelta(seconds=121)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert jobs.work("worker-b") == 1
    db.session.refresh(job)
    assert job.status is JobStatus.DONE and job.worker == "worker-b" and job.attempts == 2


def test_a_step_reported_after_the_claim_was_lost_stops_the_task_there(world, monkeypatch):
    steps = []

    def slow(params, progress):
        progress(stage="checking")
        db.session.execute(sa.update(Job).values(worker="another"))  # its claim ran out; another took it
        db.session.commit()
        progress(done=1)
        steps.append("went on")
        return {}

    monkeypatch.setitem(jobs.TASKS, "slow", jobs.Task("slow", slow))
    job = jobs.start("slow", world.staff, {})
    assert jobs.work("worker-a") == 1
    db.session.refresh(job)
    assert steps == [] and job.status is JobStatus.RUNNING and job.worker == "another"


def test_a_task_that_breaks_is_tried_again_and_one_that_refuses_says_why_once(world, tasks, app):
    flaky = jobs.start("echo", world.staff, {"n": 2, "then": "break"})
    jobs.work("w")
    db.session.refresh(flaky)
    assert flaky.status is JobStatus.DONE and flaky.attempts == 3 and len(tasks) == 3
    app.config["JOBS_MAX_ATTEMPTS"] = 2
    broken = jobs.start("echo", world.staff, {"n": 3, "then": "break"})
    tasks.clear()
    jobs.work("w")
    db.session.refresh(broken)
    assert broken.status is JobStatus.FAILED and "the gateway hung up" in broken.error and len(tasks) == 2
    refused = jobs.start("echo", world.staff, {"n": 4, "then": "refuse"})
    jobs.work("w")
    db.session.refresh(refused)
    assert (refused.status, refused.error, refused.attempts) == (JobStatus.FAILED, "文件里没有任何住户。", 1)


def test_a_jobs_page_is_its_owners_and_is_polled_until_it_is_done(world, tasks, client, auth):
    job = jobs.start("echo", world.staff, {"n": 5})
    auth.login("staff-p02")
    assert client.get(f"/jobs/{job.id}").status_code == 404  # another's job: nothing about it
    auth.logout()
    auth.login("staff-p01")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in page and "等待" in page
    jobs.work("w")
    poll = client.get(f"/jobs/{job.id}", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Refresh") == "true"  # done: the whole page again, with the result
    assert 'hx-trigger="every 2s"' not in client.get(f"/jobs/{job.id}").get_data(as_text=True)


def test_the_command_runs_what_waits(world, tasks, runner):
    jobs.start("echo", world.staff, {"n": 6})
    jobs.start("echo", world.staff, {"n": 7})
    result = runner.invoke(args=["jobs", "run"])
    assert result.exit_code == 0 and "ran 2 jobs" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job).where(Job.status == JobStatus.DONE)) == 2


def test_the_web_process_runs_a_job_itself_as_soon_as_it_is_queued(app, world, tasks):
    app.config["JOBS_IN_PROCESS"] = True
    with app.test_request_context("/"):
        job = jobs.start("echo", world.staff, {"n": 8})
    job_id = job.id
    db.session.remove()
    for _ in range(400):  # the runner thread of this process takes it; bounded wait, no timing asserted
        done = db.session.get(Job, job_id).status is JobStatus.DONE
        db.session.remove()  # no transaction (nor SQLite's lock) held while it waits
        if done:
            break
        time.sleep(0.05)
    assert db.session.get(Job, job_id).result == {"echo": 8}
    for _ in range(100):  # and the runner stops once nothing waits
        if not any(t.name == "portal-jobs" for t in threading.enumerate()):
            break
        time.sleep(0.05)
    assert not any(t.name == "portal-jobs" for t in threading.enumerate())


def test_an_import_stopped_halfway_is_finished_by_running_it_again_each_row_once(world, client, auth, monkeypatch):
    from portal.domain import roster_jobs

    monkeypatch.setattr(roster_jobs, "CHUNK", 100)
    rows = [["H01", f"北岙{n}号", "", "", f"居民{n}", "", "", "", "", "", ""] for n in range(350)]
    auth.login("root")
    response = client.post("/imports/households/check", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(csv_bytes(rows)), "名册.csv")})
    jobs.work("w")
    token = db.session.scalars(sa.select(Job)).one().params["token"]
    assert response.status_code == 303
    apply, calls = rosters.apply, []

    def dies_on_the_third_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise SystemExit("the worker was killed")  # not an error a task handles: the process is gone
        return apply(*args, **kwargs)

    monkeypatch.setattr(rosters, "apply", dies_on_the_third_chunk)
    started = client.post(f"/imports/households/{token}/import")
    assert started.status_code == 303
    with pytest.raises(SystemExit):
        jobs.work("dying-worker")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)
                             .where(Household.address.like("北岙%"))) == 200  # two chunks stand
    later = clock.now() + timedelta(seconds=121)
    monkeypatch.setattr(clock, "now", lambda: later)
    jobs.work("next-worker")
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "已导入：新增 150，更新 0，未变 200" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)
                             .where(Household.address.like("北岙%"))) == 350


def test_a_failed_job_says_what_was_kept_only_when_it_writes(world, client, auth, monkeypatch):
    def refuse(params, progress):
        raise DomainError("文件里没有任何住户。")

    monkeypatch.setitem(jobs.TASKS, "roster_check", jobs.Task("roster_check", refuse))
    monkeypatch.setitem(jobs.TASKS, "roster_import", jobs.Task("roster_import", refuse))
    check = jobs.start("roster_check", world.staff, {"kind": "households", "token": "x", "filename": "a.csv"})
    write = jobs.start("roster_import", world.staff, {"kind": "households", "token": "x", "filename": "a.csv"})
    jobs.work("w")
    auth.login("staff-p01")
    checked = client.get(f"/jobs/{check.id}").get_data(as_text=True)
    imported = client.get(f"/jobs/{write.id}").get_data(as_text=True)
    assert "文件里没有任何住户" in checked and "停止前已写入" not in checked  # a check wrote nothing to keep
    assert "停止前已写入的数据仍然保留" in imported
