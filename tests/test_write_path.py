"""The write path under contention: a transient failure (a deadlock, a serialization failure, a busy SQLite)
runs the whole unit of work again, and what it wrote is kept once; the boards' marks are written last."""
import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain.boards import counters
from portal.domain.cases import lifecycle
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import BoardMark, CaseEvent, EventKind
from tests.stories import log


class _Deadlock(Exception):
    sqlstate = "40P01"


def _transient(message="deadlock detected", orig=None):
    return sa.exc.OperationalError("UPDATE board_marks ...", {}, orig or _Deadlock(message))


def test_a_unit_that_meets_a_deadlock_is_run_again_and_its_timeline_written_once(world):
    case = log(world)
    tries = []

    def claim():
        lifecycle.claim(case, world.proxy)
        tries.append(1)
        if len(tries) == 1:
            raise _transient()  # as PostgreSQL answers one of two crossing writers

    unit.with_retries(claim)
    assert len(tries) == 2
    claimed = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.CLAIMED))
    assert claimed == 1 and case.owner_id == world.proxy.id


def test_a_busy_sqlite_is_transient_and_other_errors_are_not():
    assert unit.is_transient(_transient(orig=Exception("database is locked")))
    assert unit.is_transient(_transient())
    assert not unit.is_transient(sa.exc.IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")))
    assert not unit.is_transient(ValueError("not a database error"))


def test_retries_are_bounded(world):
    def always():
        raise _transient()

    with pytest.raises(sa.exc.OperationalError):
        unit.with_retries(always)


def test_the_boards_marks_are_written_as_the_transaction_commits(world):
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(BoardMark))
    counters.mark(["place:1"], clock.now())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BoardMark)) == before  # not yet
    db.session.commit()
    keys = set(db.session.scalars(sa.select(BoardMark.key)))
    assert {"all", "place:1"} <= keys


class RecordingChannel:
    """A gateway that notes whether the portal held a transaction (on SQLite: the write lock) while it worked."""

    calls: list = []

    def send(self, user, text):
        RecordingChannel.calls.append((user.username, text, db.session().in_transaction()))


def test_reminders_go_out_after_the_commit_with_no_transaction_held(world, app, monkeypatch):
    from datetime import timedelta

    from portal.domain.cases import supervision
    from portal.models import Notification
    from tests.stories import in_progress

    monkeypatch.setitem(app.config, "NOTIFY_CHANNEL", "tests.test_write_path.RecordingChannel")
    RecordingChannel.calls = []
    case = in_progress(world)
    supervision.sweep(now=case.remind_at + timedelta(minutes=1))
    assert RecordingChannel.calls and all(held is False for _user, _text, held in RecordingChannel.calls)
    assert [user for user, _text, _held in RecordingChannel.calls] == [world.proxy.username]
    assert case.number in RecordingChannel.calls[0][1]
    assert db.session.scalars(sa.select(Notification.sent_at)).all()[0] is not None


def test_a_message_of_a_change_rolled_back_is_never_sent(world, app, monkeypatch):
    from portal.domain.platform import notify

    monkeypatch.setitem(app.config, "NOTIFY_CHANNEL", "tests.test_write_path.RecordingChannel")
    RecordingChannel.calls = []
    case = log(world)
    with pytest.raises(RuntimeError), unit.unit_of_work():
        created = notify.notify([world.proxy], "remind", case, "test:1")
        notify.send([n.id for n in created])
        raise RuntimeError("the change fails after the message was queued")
    assert RecordingChannel.calls == []


def test_a_failing_action_after_the_commit_neither_fails_nor_repeats_the_change(world):
    case = log(world)
    runs = []

    def claim_then_fail_after():
        runs.append(1)
        lifecycle.claim(case, world.proxy)
        unit.after_commit(lambda: (_ for _ in ()).throw(_transient()))  # the gateway's database write fails

    unit.with_retries(claim_then_fail_after)
    assert runs == [1] and case.owner_id == world.proxy.id
