"""The case lifecycle at the service layer: every transition, who may make it and who may not."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import Conflict, DomainError, Forbidden
from portal.domain.cases import intake, lifecycle, timekeeping
from portal.extensions import db
from portal.models import (
    AuditEntry,
    Case,
    CaseStatus,
    Channel,
    EventKind,
    Mode,
    Outcome,
    Role,
    Satisfaction,
    ServicePoint,
)
from tests.stories import claimed, events, in_progress, log, resolved

S = CaseStatus

# --- intake ------------------------------------------------------------------------------------

def test_logging_gives_a_number_a_due_time_and_a_first_event(world):
    case = log(world)
    assert case.number.startswith(f"LS-{clock.today():%Y%m%d}-")
    assert case.status is S.LOGGED and case.mode is Mode.ERRAND
    assert case.place_id == world.h01.id and case.service_point.code == "LS-P01"
    assert case.due_at == timekeeping.due_time(world.errand_item, case.created_at, case.service_point)
    assert case.sign_due_at is not None and case.sign_due_at <= case.due_at
    [event] = events(case)
    assert event.kind is EventKind.LOGGED and event.public and event.to_status is S.LOGGED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "log")) == 1


def test_case_numbers_count_up_per_point_and_day(world):
    first, second = log(world), log(world)
    assert int(second.number[-4:]) == int(first.number[-4:]) + 1


def test_home_visits_go_to_the_team_covering_the_place(world):
    case = log(world, world.home_item)
    assert case.team_id == world.t1.id


def test_mode_can_be_changed_at_intake(world):
    case = log(world, world.counter_item, mode=Mode.HOME)
    assert case.mode is Mode.HOME


@pytest.mark.parametrize(("field", "values", "message"), [
    ("description", {"description": "   "}, "请填写居民的诉求。"),
    ("description", {"description": "长" * 20_000}, "最多 2000 个字符（现有 20000 个）"),
    ("requester_phone", {"requester_phone": "12345"}, "请填写 11 位手机号"),
    ("requester_name", {"requester_name": ""}, "请填写居民姓名。"),
    ("item", {"item": None}, "请从列表中选择服务事项。"),
])
def test_bad_intake_is_refused_with_the_field_named_and_nothing_saved(world, field, values, message):
    arguments = dict(item=world.errand_item, channel=Channel.PHONE, description="需要办理", requester_name="王大爷",
                     requester_phone="13912345678", household=world.household)
    arguments.update(values)
    with pytest.raises(DomainError) as raised:
        intake.log_case(world.staff, **arguments)
    assert raised.value.field == field and message in str(raised.value.message)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_proxies_do_not_log_cases(world):
    with pytest.raises(Forbidden):
        intake.log_case(world.proxy, world.errand_item, Channel.PHONE, "x", "王", "13912345678",
                        household=world.household)


# --- claiming ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "allowed"), [
    ("proxy", True), ("staff", True), ("lead", True),
    ("proxy_h02", False), ("staff_p02", False), ("member", False), ("butler", False), ("admin", False),
])
def test_who_may_claim_an_errand_of_the_hamlet(world, who, allowed):
    case = log(world)
    user = getattr(world, who)
    if allowed:
        lifecycle.claim(case, user)
        db.session.refresh(case)
        assert case.status is S.CLAIMED and case.owner_id == user.id and case.claimed_at is not None
    else:
        with pytest.raises(Forbidden):
            lifecycle.claim(case, user)
        db.session.refresh(case)
        assert case.status is S.LOGGED and case.owner_id is None


def test_claim_fixes_the_due_time_from_the_moment_of_claiming(world, monkeypatch):
    case = log(world)
    later = clock.now() + timedelta(hours=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    lifecycle.claim(case, world.proxy)
    db.session.refresh(case)
    assert case.due_at == timekeeping.due_time(world.errand_item, later, case.service_point)
    assert later < case.remind_at < case.due_at


def test_a_second_claim_is_told_who_has_the_case(world):
    case = log(world)
    lifecycle.claim(case, world.proxy)
    with pytest.raises(Conflict) as raised:
        lifecycle.claim(case, world.staff)
    assert world.proxy.display_name in str(raised.value.message)
    assert [e.kind for e in events(case)].count(EventKind.CLAIMED) == 1


def test_home_visits_are_claimed_by_their_team(world):
    case = log(world, world.home_item)
    with pytest.raises(Forbidden):
        lifecycle.claim(case, world.proxy)
    lifecycle.claim(case, world.member)
    db.session.refresh(case)
    assert case.owner_id == world.member.id


# --- working -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "allowed"), [("proxy", True), ("lead", True), ("staff", False), ("proxy_h02", False)])
def test_only_the_owner_or_a_lead_works_a_case(world, who, allowed):
    case = claimed(world)
    user = getattr(world, who)
    if allowed:
        lifecycle.start(case, user)
        assert case.status is S.IN_PROGRESS
    else:
        with pytest.raises(Forbidden):
            lifecycle.start(case, user)


def test_errand_goes_to_the_office_and_comes_back(world):
    case = in_progress(world)
    lifecycle.send_off_island(case, world.proxy)
    assert case.status is S.AWAITING_OFFICE
    with pytest.raises(DomainError) as raised:
        lifecycle.record_office_answer(case, world.proxy, "rejected", note="")
    assert raised.value.field == "note"
    lifecycle.record_office_answer(case, world.proxy, "approved")
    assert case.status is S.IN_PROGRESS
    lifecycle.resolve(case, world.proxy, "批复已送到居民手中")
    assert case.status is S.RESOLVED and case.resolved_at is not None
    kinds = [e.kind for e in events(case)]
    assert kinds == [EventKind.LOGGED, EventKind.CLAIMED, EventKind.STARTED, EventKind.SENT_OFF,
                     EventKind.OFFICE_ANSWERED, EventKind.RESOLVED]
    sent_off = events(case)[3]
    assert sent_off.public and sent_off.data == {"office": world.errand_item.approving_office}


def test_items_without_approval_are_not_sent_off(world):
    case = in_progress(world, item=world.plain_errand)
    assert "send_off_island" not in [t.name for t in lifecycle.available(case, world.proxy)]
    with pytest.raises(DomainError):
        lifecycle.send_off_island(case, world.proxy)


def test_resolving_needs_a_note_for_the_resident(world):
    case = in_progress(world)
    with pytest.raises(DomainError) as raised:
        lifecycle.resolve(case, world.proxy, "  ")
    assert raised.value.field == "note"
    assert case.status is S.IN_PROGRESS


@pytest.mark.parametrize(("who", "allowed"), [("staff", True), ("lead", True), ("proxy", False), ("staff_p02", False)])
def test_counter_items_are_finished_on_the_spot_in_one_action(world, who, allowed):
    case = log(world, world.counter_item)
    user = getattr(world, who)
    if allowed:
        lifecycle.finish_on_spot(case, user)
        assert case.status is S.RESOLVED and case.owner_id == user.id
        assert case.claimed_at == case.resolved_at
    else:
        with pytest.raises(Forbidden):
            lifecycle.finish_on_spot(case, user)


def test_only_counter_items_are_finished_on_the_spot(world):
    case = log(world)
    with pytest.raises(DomainError):
        lifecycle.finish_on_spot(case, world.staff)


# --- callback ------------------------------------------------------------------------------------

def test_a_good_callback_closes_the_case(world):
    case = resolved(world)
    lifecycle.close(case, world.staff, Outcome.SOLVED, Satisfaction.SATISFIED, "很满意")
    assert case.status is S.CLOSED and case.closed_at is not None
    assert (case.outcome, case.satisfaction, case.callback_comment) == (Outcome.SOLVED, Satisfaction.SATISFIED, "很满意")
    assert events(case)[-1].data == {"outcome": "solved", "satisfaction": "satisfied"}


@pytest.mark.parametrize(("outcome", "satisfaction"), [
    (Outcome.UNSOLVED, Satisfaction.BASICALLY), (Outcome.SOLVED, Satisfaction.DISSATISFIED)])
def test_an_unsolved_or_dissatisfied_callback_reopens_the_case_as_a_redo(world, outcome, satisfaction):
    case = resolved(world)
    lifecycle.close(case, world.staff, outcome, satisfaction, "药没送对")
    assert case.status is S.IN_PROGRESS and case.redo_count == 1 and case.resolved_at is None
    last = events(case)[-1]
    assert last.kind is EventKind.REOPENED and last.data["redo"] is True


@pytest.mark.parametrize(("who", "allowed"), [("staff", True), ("lead", True), ("proxy", False)])
def test_who_records_callbacks(world, who, allowed):
    case = resolved(world)
    user = getattr(world, who)
    if allowed:
        lifecycle.close(case, user, Outcome.SOLVED, Satisfaction.BASICALLY)
        assert case.status is S.CLOSED
    else:
        with pytest.raises(Forbidden):
            lifecycle.close(case, user, Outcome.SOLVED, Satisfaction.BASICALLY)


# --- returning, transferring, assigning, merging, reopening, cancelling -------------------------

def test_returning_needs_a_reason_and_sends_the_case_back_to_its_logging_point(world, make):
    center = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-C")).one()
    desk = make.user(Role.STAFF, username="staff-c", service_point=center, places=[world.h01])
    case = intake.log_case(desk, world.errand_item, Channel.PHONE, "x", "王大爷", "13912345678",
                           household=world.household)
    assert case.service_point.code == "LS-P01"
    lifecycle.claim(case, world.proxy)
    with pytest.raises(DomainError):
        lifecycle.return_case(case, world.proxy, "")
    lifecycle.return_case(case, world.proxy, "应由窗口当场办理")
    assert case.status is S.RETURNED and case.owner_id is None and case.service_point_id == center.id
    assert not events(case)[-1].public


def test_transfer_to_a_person_counts_and_waits_for_their_signature(world):
    case = claimed(world)
    with pytest.raises(DomainError):
        lifecycle.transfer(case, world.staff, "", owner=world.proxy_h02)
    lifecycle.transfer(case, world.staff, "该户已搬到沙嘴", owner=world.proxy_h02)
    assert case.status is S.LOGGED and case.owner_id == world.proxy_h02.id and case.transfer_count == 1
    lifecycle.claim(case, world.proxy_h02)


def test_proxies_cannot_transfer(world):
    case = claimed(world)
    with pytest.raises(Forbidden):
        lifecycle.transfer(case, world.proxy, "不想办", owner=world.proxy_h02)


def test_lead_assigns_a_case_to_another_person(world, make):
    other = make.user(Role.PROXY, username="proxy-h01-b", places=[world.h01])
    case = claimed(world)
    lifecycle.assign(case, world.lead, other)
    assert case.owner_id == other.id and case.status is S.LOGGED
    lifecycle.claim(case, other)


def test_merge_closes_the_duplicate_and_notes_it_on_the_original(world):
    original, duplicate = log(world), log(world)
    with pytest.raises(DomainError):
        lifecycle.merge(duplicate, world.staff, duplicate.number)
    with pytest.raises(DomainError):
        lifecycle.merge(duplicate, world.staff, "LS-19990101-0001")
    lifecycle.merge(duplicate, world.staff, original.number)
    assert duplicate.status is S.MERGED and duplicate.merged_into_id == original.id
    assert events(original)[-1].data == {"duplicate": duplicate.number}


def test_reopen_within_thirty_days_only(world, monkeypatch):
    case = resolved(world)
    lifecycle.close(case, world.staff, Outcome.SOLVED, Satisfaction.SATISFIED)
    later = clock.now() + timedelta(days=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    with pytest.raises(DomainError):
        lifecycle.reopen(case, world.staff, "居民又来电")
    monkeypatch.setattr(clock, "now", lambda: later - timedelta(days=2))
    lifecycle.reopen(case, world.staff, "居民又来电")
    assert case.status is S.IN_PROGRESS and case.closed_at is None


def test_cancel_needs_a_reason(world):
    case = log(world)
    with pytest.raises(DomainError):
        lifecycle.cancel(case, world.staff, "")
    lifecycle.cancel(case, world.staff, "居民已自行办理")
    assert case.status is S.CANCELLED


@pytest.mark.parametrize("name", ["start", "resolve", "close", "reopen", "send_off_island"])
def test_a_transition_not_allowed_from_the_current_state_is_refused_and_changes_nothing(world, name):
    case = log(world)
    arguments = {"start": (), "resolve": ("done",), "close": (Outcome.SOLVED, Satisfaction.SATISFIED),
                 "reopen": ("again",), "send_off_island": ()}[name]
    with pytest.raises(DomainError) as raised:
        getattr(lifecycle, name)(case, world.lead, *arguments)
    assert "此工单状态为“已登记”" in str(raised.value.message)
    db.session.rollback()
    assert case.status is S.LOGGED and len(events(case)) == 1


def test_every_transition_writes_its_event_and_one_audit_row_in_the_same_commit(world):
    case = in_progress(world)
    audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    before = len(events(case))
    lifecycle.resolve(case, world.proxy, "done")
    assert len(events(case)) == before + 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == audits + 1


# --- versions ------------------------------------------------------------------------------------

def test_a_stale_version_is_refused_with_who_changed_the_case(world):
    case = in_progress(world)
    seen = case.version
    lifecycle.add_note(case, world.staff, "已电话联系居民")
    lifecycle.edit(case, world.staff, {"description": "新的描述"}, version=case.version)
    with pytest.raises(Conflict) as raised:
        lifecycle.resolve(case, world.proxy, "done", version=seen)
    assert world.staff.display_name in str(raised.value.message)
    assert case.status is S.IN_PROGRESS


def test_notes_are_internal_unless_marked_for_the_resident(world):
    case = log(world)
    internal = lifecycle.add_note(case, world.staff, "内部备注")
    public = lifecycle.add_note(case, world.staff, "已安排人员", public=True)
    assert not internal.public and public.public
    with pytest.raises(DomainError):
        lifecycle.add_note(case, world.staff, "")
