"""The write path under contention: a transient failure (a deadlock, a serialization failure, a busy SQLite)
runs the whole unit of work again, and what it wrote is kept once; the boards' marks are written last."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import Conflict
from portal.domain.boards import board, counters, scopes
from portal.domain.cases import lifecycle
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import AuditEntry, Case, CaseCount, CaseEvent, CaseStatus, ChangeMark, EventKind
from tests.stories import claimed, log, resolved


class _Deadlock(Exception):
    sqlstate = "40P01"


def _transient(message="deadlock detected", orig=None):
    return sa.exc.OperationalError("UPDATE change_marks ...", {}, orig or _Deadlock(message))


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
    before = db.session.scalar(sa.select(sa.func.count()).select_from(ChangeMark))
    counters.mark(["place:1"], clock.now())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChangeMark)) == before  # not yet
    db.session.commit()
    keys = set(db.session.scalars(sa.select(ChangeMark.key)))
    assert {"all", "place:1"} <= keys


def _rows(model):
    return {row.id: tuple(row) for row in db.session.execute(sa.select(model.__table__)).all()}


def test_writers_only_insert_so_two_never_meet_on_a_row(world):
    log(world)
    db.session.commit()
    counts, marks = _rows(CaseCount), _rows(ChangeMark)
    log(world)  # the same item, place and day: the same counter key and the same marks
    db.session.commit()
    after_counts, after_marks = _rows(CaseCount), _rows(ChangeMark)
    assert {i: after_counts[i] for i in counts} == counts and len(after_counts) > len(counts)
    assert {i: after_marks[i] for i in marks} == marks and len(after_marks) > len(marks)


def test_compaction_folds_the_deltas_into_what_a_rebuild_computes(world):
    for _ in range(3):
        resolved(world)
    db.session.commit()
    kept = counters.as_rows()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseCount).where(CaseCount.delta)) > len(kept)
    assert counters.compact() > 0
    assert counters.as_rows() == kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseCount).where(CaseCount.delta)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseCount)) == len(kept)  # one row a key
    per_key = db.session.execute(sa.select(ChangeMark.key, sa.func.count()).group_by(ChangeMark.key)).all()
    assert per_key and all(n == 1 for _, n in per_key)
    assert counters.compact() == 0  # nothing left to fold
    counters.rebuild()
    assert counters.as_rows() == kept


def test_the_boards_stamp_moves_with_every_commit_even_one_stamped_earlier(world):
    district = scopes.scope_for("district", "all")
    counters.mark([], clock.now())
    db.session.commit()
    first = board.last_change(district)
    # A transaction that stamped its change before the last one but commits after it still moves the ETag.
    counters.mark([], clock.now() - timedelta(seconds=5))
    db.session.commit()
    second = board.last_change(district)
    assert second.at == first.at and second.token != first.token
    counters.compact()
    third = board.last_change(district)
    assert third.at == first.at and third.token not in (first.token, second.token)


class RecordingChannel:
    """A channel that notes whether the portal held a transaction (on SQLite: the write lock) while it sent."""

    calls: list = []

    def send(self, message):
        RecordingChannel.calls.append((message.address, message.text, db.session().in_transaction()))


def test_reminders_are_written_with_their_change_and_sent_with_no_transaction_held(world, app, monkeypatch):
    from datetime import timedelta

    from portal.domain.cases import supervision
    from portal.domain.platform import outbox
    from tests.stories import in_progress

    monkeypatch.setattr(outbox, "channel_for", lambda channel: RecordingChannel())
    RecordingChannel.calls = []
    world.proxy.phone = "13700000001"
    case = in_progress(world)
    supervision.sweep(now=case.remind_at + timedelta(minutes=1))
    assert RecordingChannel.calls == []  # written, not yet sent
    outbox.deliver()
    assert RecordingChannel.calls and all(held is False for _to, _text, held in RecordingChannel.calls)
    assert [to for to, _text, _held in RecordingChannel.calls if case.number in _text and "75%" in _text] \
        == ["13700000001"]


def test_a_message_of_a_change_rolled_back_is_never_written(world, app):
    from portal.domain.platform import notify
    from portal.models import OutboxMessage

    world.proxy.phone = "13700000001"
    case = log(world)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    with pytest.raises(RuntimeError), unit.unit_of_work():
        notify.notify([world.proxy], "remind", case, "test:1")
        raise RuntimeError("the change fails after the message was queued")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == before


def test_a_failing_action_after_the_commit_neither_fails_nor_repeats_the_change(world):
    case = log(world)
    runs = []

    def claim_then_fail_after():
        runs.append(1)
        lifecycle.claim(case, world.proxy)
        unit.after_commit(lambda: (_ for _ in ()).throw(_transient()))  # the gateway's database write fails

    unit.with_retries(claim_then_fail_after)
    assert runs == [1] and case.owner_id == world.proxy.id


def test_a_case_logged_by_core_statements_reads_in_its_request_as_its_row_says(world):
    with unit.unit_of_work():
        case = log(world)  # written by INSERTs; its object is the session's without a SELECT
        seen = {column.key: getattr(case, column.key) for column in Case.__table__.columns}
        materials = [m.name for m in case.materials]
    row = db.session.execute(sa.select(Case.__table__).where(Case.id == seen["id"])).one()._asdict()
    assert seen == row
    assert materials == world.errand_item.material_list and seen["status"] is CaseStatus.LOGGED
    assert [e.kind for e in case.events] == [EventKind.LOGGED]


def test_a_step_on_a_case_someone_changed_since_it_was_read_is_a_conflict_and_keeps_nothing(world):
    case = claimed(world)
    db.session.commit()
    assert case.status is CaseStatus.CLAIMED  # read, at this version
    unit.end_read()
    with db.engine.begin() as other:  # another writer's change, after our read
        other.execute(sa.update(Case.__table__).where(Case.__table__.c.id == case.id)
                      .values(version=Case.__table__.c.version + 1, description="另一人改过"))
    events = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case.id))
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    with pytest.raises(Conflict):
        unit.with_retries(lambda: lifecycle.start(case, world.proxy))
    assert db.session.scalar(sa.select(Case.status).where(Case.id == case.id)) is CaseStatus.CLAIMED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent)
                             .where(CaseEvent.case_id == case.id)) == events
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == audits
    lifecycle.start(case, world.proxy)  # read again, the step goes through
    assert case.status is CaseStatus.IN_PROGRESS and case.description == "另一人改过"
