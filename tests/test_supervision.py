"""Extensions, the sweep (reminders, overdue flags, problem cases), callbacks and resident ratings."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import Conflict, DomainError, Forbidden
from portal.domain.cases import lifecycle, supervision
from portal.extensions import db
from portal.models import (
    CallbackRecord,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    ExtensionStatus,
    Notification,
    Outcome,
    Role,
    Satisfaction,
    Supervision,
)
from tests.stories import claimed, in_progress, log, resolved

S = CaseStatus


def kinds(case):
    return [e.kind for e in db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id))]


def notifications(user=None, kind=None):
    query = sa.select(Notification)
    if user is not None:
        query = query.where(Notification.user_id == user.id)
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return db.session.scalars(query).all()


# --- extensions ---------------------------------------------------------------------------------------

def test_owner_asks_lead_approves_and_the_resident_sees_the_new_date(world):
    case = in_progress(world)
    new_due = case.due_at + timedelta(days=5)
    request = supervision.request_extension(case, world.proxy, new_due, "等待上级部门补充审核")
    assert request.status is ExtensionStatus.PENDING
    assert notifications(world.lead, "extension_asked")
    supervision.decide_extension(request, world.lead, approve=True, note="同意")
    assert case.due_at == new_due and request.status is ExtensionStatus.APPROVED
    extended = db.session.scalars(sa.select(CaseEvent).filter_by(case_id=case.id, kind=EventKind.EXTENDED)).one()
    assert extended.public and extended.data == {"due": new_due.isoformat()}
    assert notifications(world.proxy, "extension_approved")


def test_a_refusal_needs_a_reason_and_keeps_the_due_time(world):
    case = in_progress(world)
    due = case.due_at
    request = supervision.request_extension(case, world.proxy, due + timedelta(days=2), "材料未齐")
    with pytest.raises(DomainError):
        supervision.decide_extension(request, world.lead, approve=False, note="")
    supervision.decide_extension(request, world.lead, approve=False, note="请按时办结")
    assert case.due_at == due and request.status is ExtensionStatus.REFUSED
    assert EventKind.EXTENSION_REFUSED in kinds(case)
    with pytest.raises(Conflict):
        supervision.decide_extension(request, world.lead, approve=True)


def test_extensions_are_asked_by_the_owner_before_the_due_time(world, monkeypatch):
    case = in_progress(world)
    with pytest.raises(Forbidden):
        supervision.request_extension(case, world.staff, case.due_at + timedelta(days=1), "x")
    with pytest.raises(DomainError):
        supervision.request_extension(case, world.proxy, case.due_at - timedelta(hours=1), "x")
    late = case.due_at + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: late)
    with pytest.raises(DomainError) as raised:
        supervision.request_extension(case, world.proxy, case.due_at + timedelta(days=1), "x")
    assert raised.value.field == "new_due_at"


def test_only_leads_decide_and_only_one_request_waits_at_a_time(world):
    case = in_progress(world)
    request = supervision.request_extension(case, world.proxy, case.due_at + timedelta(days=1), "原因")
    with pytest.raises(Conflict):
        supervision.request_extension(case, world.proxy, case.due_at + timedelta(days=2), "再次")
    with pytest.raises(Forbidden):
        supervision.decide_extension(request, world.staff, approve=True)


# --- the sweep ---------------------------------------------------------------------------------------

def test_the_sweep_reminds_at_three_quarters_once_however_often_it_runs(world):
    case = in_progress(world)
    before = supervision.sweep(now=case.remind_at - timedelta(minutes=1))
    assert before.reminded == []
    first = supervision.sweep(now=case.remind_at + timedelta(minutes=1))
    second = supervision.sweep(now=case.remind_at + timedelta(minutes=2))
    assert first.reminded == [case.number] and second.reminded == []
    assert len(notifications(world.proxy, "remind")) == 1
    assert kinds(case).count(EventKind.REMINDED) == 1


def test_overdue_cases_are_flagged_to_the_leads_once(world):
    case = in_progress(world)
    later = case.due_at + timedelta(hours=1)
    first, second = supervision.sweep(now=later), supervision.sweep(now=later + timedelta(hours=1))
    assert case.number in first.overdue and second.overdue == []
    assert len(notifications(world.lead, "overdue")) == 1
    assert kinds(case).count(EventKind.OVERDUE) == 1


def test_an_approved_extension_rearms_the_reminder(world):
    case = in_progress(world)
    supervision.sweep(now=case.remind_at + timedelta(minutes=1))
    request = supervision.request_extension(case, world.proxy, case.due_at + timedelta(days=10), "等待批复")
    supervision.decide_extension(request, world.lead, approve=True)
    assert case.reminded_at is None
    supervision.sweep(now=case.remind_at + timedelta(minutes=1))
    assert len(notifications(world.proxy, "remind")) == 2


def test_a_case_transferred_three_times_becomes_a_problem_case_once(world):
    case = claimed(world)
    for _ in range(3):
        lifecycle.transfer(case, world.staff, "再次转办", owner=world.proxy)
    result = supervision.sweep()
    assert result.supervised == [case.number]
    assert supervision.sweep().supervised == []
    row = db.session.scalars(sa.select(Supervision).filter_by(case_id=case.id)).one()
    assert row.reason.value == "transferred"
    assert notifications(world.lead, "supervised")


def test_lead_assigns_a_responsible_person_and_a_deadline(world):
    case = in_progress(world)
    deadline = clock.now() + timedelta(days=2)
    with pytest.raises(Forbidden):
        supervision.supervise(case, world.staff, world.staff, deadline)
    with pytest.raises(DomainError):
        supervision.supervise(case, world.lead, world.staff, clock.now() - timedelta(hours=1))
    row = supervision.supervise(case, world.lead, world.staff, deadline, "三日内办结")
    assert row.responsible_id == world.staff.id and row.deadline == deadline
    assert notifications(world.staff, "responsible")
    assert row in supervision.open_supervisions()


# --- callbacks -----------------------------------------------------------------------------------

def test_resolved_cases_wait_for_a_callback_the_next_working_day(world):
    case = resolved(world)
    assert case.callback_due_at is not None
    assert clock.local(case.callback_due_at).date() > clock.local(case.resolved_at).date()


def test_three_unanswered_callbacks_close_the_case_unrated(world):
    case = resolved(world)
    retry = clock.now() + timedelta(hours=3)
    lifecycle.no_answer(case, world.staff, retry_at=retry, note="无人接听")
    assert case.status is S.RESOLVED and case.callback_retry_at == retry
    lifecycle.no_answer(case, world.staff)
    lifecycle.no_answer(case, world.staff)
    assert case.status is S.CLOSED and case.satisfaction is Satisfaction.UNRATED
    record = db.session.scalars(sa.select(CallbackRecord).filter_by(case_id=case.id)).one()
    assert record.satisfaction is Satisfaction.UNRATED and record.outcome is None


def test_a_callback_is_recorded_for_the_metrics(world):
    case = resolved(world)
    lifecycle.close(case, world.staff, Outcome.PARTLY, Satisfaction.BASICALLY, "基本解决")
    record = db.session.scalars(sa.select(CallbackRecord).filter_by(case_id=case.id)).one()
    assert (record.outcome, record.satisfaction, record.redo) == (Outcome.PARTLY, Satisfaction.BASICALLY, False)


@pytest.mark.parametrize(("channel", "allowed"), [(Channel.KIOSK, True), (Channel.WECHAT, True),
                                                  (Channel.COUNTER, False)])
def test_kiosk_and_wechat_cases_are_rated_by_the_resident(world, channel, allowed):
    case = resolved(world)
    case.channel = channel
    db.session.commit()
    if allowed:
        lifecycle.rate_by_resident(case, Outcome.SOLVED, Satisfaction.SATISFIED, "很好")
        assert case.status is S.CLOSED and case.rated_by_resident
        last = db.session.scalars(sa.select(CaseEvent).filter_by(case_id=case.id).order_by(CaseEvent.id.desc())).first()
        assert last.actor_id is None and last.public
    else:
        with pytest.raises(Forbidden):
            lifecycle.rate_by_resident(case, Outcome.SOLVED, Satisfaction.SATISFIED)


def test_a_resident_cannot_rate_before_the_case_is_resolved(world):
    case = in_progress(world)
    case.channel = Channel.KIOSK
    db.session.commit()
    with pytest.raises(DomainError):
        lifecycle.rate_by_resident(case, Outcome.SOLVED, Satisfaction.SATISFIED)


def test_leads_of_a_place_and_district_leads_hear_of_its_cases(world, make):
    from portal.models import Place

    island = db.session.scalars(sa.select(Place).filter_by(code="LS")).one()
    head = make.user(Role.LEAD, username="head-island", places=[island])
    heating_head = make.user(Role.LEAD, username="head-heat", places=[world.e01])
    case = log(world)
    leads = {u.username for u in supervision.leads_for(case)}
    assert leads == {"leader", head.username}
    assert heating_head.username not in leads
