"""Backups taken while cases are being logged restore to the same cases, pass an integrity check, and
are readable by their owner only; personal data is cleared after the retention period, figures kept."""
import sqlite3
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain.boards import metrics
from portal.domain.cases import attachments, intake, lifecycle
from portal.domain.platform import backups, files, retention
from portal.extensions import db
from portal.models import (
    Attachment,
    AuditEntry,
    CallbackRecord,
    Case,
    CaseCount,
    CaseEvent,
    Channel,
    Outcome,
    Satisfaction,
    User,
)
from tests.stories import resolved


def count(model=Case) -> int:
    value = db.session.scalar(sa.select(sa.func.count()).select_from(model))
    db.session.rollback()  # never hold a transaction (on SQLite, a write lock) while the writer runs
    return value


def logger(app, staff_id, household_id, stop: threading.Event, done: list):
    """Log cases one after another until told to stop (another worker, as far as the database knows)."""

    with app.app_context():
        try:
            _log_until(staff_id, household_id, stop, done)
        finally:
            stop.set()
            db.session.remove()


def _log_until(staff_id, household_id, stop, done):
    from portal.models import Household, ServiceItem

    if True:
        staff = db.session.get(User, staff_id)
        household = db.session.get(Household, household_id)
        item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CV05")).one()
        while not stop.is_set():
            intake.log_case(staff, item, Channel.PHONE, "压力测试", "王大爷", "13912345678", household=household)
            done.append(1)


def test_a_backup_taken_under_load_restores_and_passes_its_integrity_check(app, world, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        try:
            backups._tool("pg_dump")
        except backups.BackupError as error:
            pytest.skip(str(error))
    staff_id, household_id = world.staff.id, world.household.id
    db.session.commit()
    stop, done = threading.Event(), []
    writer = threading.Thread(target=logger, args=(app, staff_id, household_id, stop, done))
    writer.start()
    try:
        while len(done) < 20 and not stop.is_set():
            threading.Event().wait(0.05)
        assert len(done) >= 20, "the writer stopped"
        before = count()
        path = tmp_path / "backups" / "portal.backup"
        assert backups.backup(path) > 0
        after = count()
    finally:
        stop.set()
        writer.join(30)
    assert (path.stat().st_mode & 0o777) == 0o600
    assert len(done) > 20  # cases kept coming while the backup ran
    final = count()
    backups.restore(path)
    restored = count()
    assert before <= restored <= after < final or before <= restored <= after == final
    # Every restored case came with its first timeline event: the snapshot is consistent.
    logged = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(CaseEvent.kind == "logged"))
    assert logged == restored
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with sqlite3.connect(path) as copy:
            assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert copy.execute("SELECT count(*) FROM cases").fetchone()[0] == restored
        assert db.session.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"


def test_the_backup_commands(app, world, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("the commands are the same on PostgreSQL; the test above covers pg_dump and pg_restore")
    runner = app.test_cli_runner()
    path = tmp_path / "nightly.sqlite3"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    resolved(world)
    assert count() == 1
    result = runner.invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert count() == 0


# --- retention -----------------------------------------------------------------------------------------

@pytest.fixture
def old_case(world, app):
    case = resolved(world)
    lifecycle.close(case, world.staff, Outcome.SOLVED, Satisfaction.SATISFIED, "王大爷说谢谢")
    lifecycle.add_note(case, world.staff, "王大爷的儿子代为签收")
    app.config["UPLOAD_FOLDER"] = str(app.config.get("UPLOAD_FOLDER"))

    attachments.attach(case, world.staff, "户口簿.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    case.closed_at = clock.now() - timedelta(days=6 * 365)
    db.session.commit()
    return case


def test_purging_clears_personal_data_of_old_cases_and_keeps_the_figures(old_case, world):
    recent = resolved(world)
    figures = metrics.figures(CaseCount.place_id == world.h01.id, clock.today() - timedelta(days=1), clock.today())
    path = files.folder()
    files_before = sorted(p.name for p in path.rglob("*") if p.is_file())
    dry = retention.purge(5, dry_run=True)
    assert (dry.cases, dry.comments, dry.files) == (1, 1, 1) and dry.notes >= 2
    assert db.session.get(Case, old_case.id).requester_name == "王大爷"
    result = retention.purge(5)
    assert result.cases == 1
    db.session.expire_all()
    case = db.session.get(Case, old_case.id)
    assert (case.requester_name, case.requester_phone, case.address, case.household_id) == ("（已清除）", "", "", None)
    notes = db.session.scalars(sa.select(CaseEvent.note).filter_by(case_id=case.id)).all()
    assert all(note == "" for note in notes)
    assert db.session.scalars(sa.select(CallbackRecord.comment).filter_by(case_id=case.id)).one() == ""
    assert count(Attachment) == 0 and files_before and not any(p.is_file() for p in path.rglob("*"))
    assert db.session.get(Case, recent.id).requester_name == "王大爷"  # not old enough
    assert metrics.figures(CaseCount.place_id == world.h01.id, clock.today() - timedelta(days=1),
                           clock.today()) == figures
    assert db.session.scalars(sa.select(AuditEntry).filter_by(action="purge_personal_data")).one()
    assert retention.purge(5).cases == 0  # once is enough


def test_the_purge_command_has_a_dry_run(app, old_case):
    output = app.test_cli_runner().invoke(args=["purge-personal-data", "--dry-run"]).output
    assert output.startswith("would clear 1 cases")
    assert db.session.get(Case, old_case.id).requester_name == "王大爷"
