"""Extensions and time limits at their edges: extensions that no longer stand, re-claims, holidays at the
heating stations, 24:00, limits too long for the calendar, who acted, SMS language."""
import threading
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import refresh

from portal import clock
from portal.domain import Conflict, DomainError, Forbidden
from portal.domain.boards import metrics
from portal.domain.cases import lifecycle, supervision, timekeeping
from portal.domain.cases.timekeeping import WorkCalendar, parse_hours
from portal.extensions import db
from portal.models import (
    CaseCount,
    ExtensionRequest,
    ExtensionStatus,
    Mode,
    Role,
    ServiceItem,
    ServicePoint,
    User,
)
from tests.stories import in_progress, log, resolved


def local(*args):
    return datetime(*args, tzinfo=clock.LOCAL_TZ)


def item(hours):
    return ServiceItem(code="X", name_zh="x", category_zh="x", sla_hours=hours, mode=Mode.COUNTER)


def login(app, username):
    client = app.test_client()
    client.post("/auth/login", data={"username": username, "password": "correct-horse-7"})
    return client


def ask(case, who, days=3, reason="等批复"):
    return supervision.request_extension(case, who, case.due_at + timedelta(days=days), reason)


def test_only_24_00_may_end_a_day_and_it_means_midnight():
    with pytest.raises(ValueError):
        parse_hours("08:00-24:30")
    calendar = WorkCalendar(parse_hours("00:00-24:00"), "WWWWWWW", {})
    assert timekeeping.due_time(item(24), local(2026, 11, 23), calendar=calendar) == local(2026, 11, 24)


def test_a_limit_beyond_the_calendar_is_refused_clearly():
    calendar = WorkCalendar(parse_hours("08:00-09:00"), "WRRRRRR", {})
    with pytest.raises(DomainError):
        timekeeping.due_time(item(24 * 500), local(2026, 11, 23, 8), calendar=calendar)


def test_heating_stations_work_through_the_spring_festival(world):
    station = db.session.scalars(sa.select(ServicePoint).filter_by(code="HT-SQT")).one()
    radiator = db.session.scalars(sa.select(ServiceItem).filter_by(code="HT01")).one()
    assert timekeeping.due_time(radiator, local(2026, 2, 15, 9), station) == local(2026, 2, 16, 9)


def test_an_extension_decided_after_the_case_was_finished_is_withdrawn(world, monkeypatch):
    case = in_progress(world, item=world.plain_errand)
    request = ask(case, world.proxy, 5)
    late = case.due_at + timedelta(days=1)
    monkeypatch.setattr(clock, "now", lambda: late)
    lifecycle.resolve(case, world.proxy, "办好了")
    with pytest.raises(Conflict):
        supervision.decide_extension(request, world.lead, approve=True)
    db.session.refresh(request)
    assert request.status is ExtensionStatus.WITHDRAWN
    day = clock.local(late).date()
    assert metrics.figures(CaseCount.place_id == case.place_id, day, day).on_time_resolution == metrics.Rate(0, 1)


def test_a_new_owner_is_not_blocked_by_the_old_owners_request(world):
    case = in_progress(world)
    old = ask(case, world.proxy)
    lifecycle.transfer(case, world.staff, "换人", owner=world.proxy_h02)
    lifecycle.claim(case, world.proxy_h02)
    ask(case, world.proxy_h02, reason="新理由")
    db.session.refresh(old)
    assert old.status is ExtensionStatus.WITHDRAWN


def test_a_lead_does_not_approve_their_own_extension(world):
    case = in_progress(world, who=world.lead)
    request = ask(case, world.lead)
    with pytest.raises(Forbidden):
        supervision.decide_extension(request, world.lead, approve=True)


def test_an_extension_reaches_at_most_a_year(world):
    case = in_progress(world)
    with pytest.raises(DomainError) as raised:
        ask(case, world.proxy, days=800)
    assert raised.value.field == "new_due_at"


def test_two_leads_deciding_at_once_the_second_is_told(app, world, make, database_url):
    if "sqlite" in database_url:
        pytest.skip("SQLite's write lock already serialises the two decisions")
    other = make.user(Role.LEAD, username="leader-2")
    case = in_progress(world)
    ids = (ask(case, world.proxy).id, world.lead.id, other.id)
    db.session.commit()
    loaded, decided, out = threading.Event(), threading.Event(), {}

    def first():
        with app.app_context():
            request, lead = db.session.get(ExtensionRequest, ids[0]), db.session.get(User, ids[1])
            assert request.case.version
            loaded.set()
            decided.wait(10)
            try:
                supervision.decide_extension(request, lead, approve=False, note="不同意")
            except Exception as error:  # noqa: BLE001 - the kind of error is what the test looks at
                out["error"] = type(error).__name__

    def second():
        loaded.wait(10)
        with app.app_context():
            supervision.decide_extension(db.session.get(ExtensionRequest, ids[0]), db.session.get(User, ids[2]), True)
        decided.set()

    threads = [threading.Thread(target=f) for f in (first, second)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert out["error"] == "Conflict"


def test_refusals_on_the_extension_forms_are_shown(app, world):
    case = in_progress(world)
    proxy = login(app, "proxy-h01")
    data = {"new_due_at": clock.local(case.due_at + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"), "reason": "x"}
    proxy.post(f"/supervision/cases/{case.number}/extension", data=data)
    again = proxy.post(f"/supervision/cases/{case.number}/extension", data=data)
    assert again.status_code == 409 and "已有一份延期申请在等待审批" in again.get_data(as_text=True)
    request_id = db.session.scalar(sa.select(ExtensionRequest.id))
    lead = login(app, "leader")
    lead.post(f"/supervision/extensions/{request_id}/approve")
    twice = lead.post(f"/supervision/extensions/{request_id}/refuse", data={"decision-note": "不"})
    assert "该延期申请已处理" in twice.get_data(as_text=True)


def test_reassigning_does_not_restart_the_clock(world, monkeypatch):
    case = in_progress(world)
    due = case.due_at
    monkeypatch.setattr(clock, "now", lambda: due + timedelta(days=2))
    with pytest.raises(DomainError):
        lifecycle.assign(case, world.staff, world.proxy, version=case.version)  # already theirs
    lifecycle.transfer(case, world.staff, "换人", owner=world.proxy_h02)
    lifecycle.claim(case, world.proxy_h02)
    db.session.refresh(case)
    assert case.due_at == due


def test_a_retry_time_in_the_past_is_refused(world):
    with pytest.raises(DomainError) as raised:
        lifecycle.no_answer(resolved(world), world.staff, retry_at=clock.now() - timedelta(days=3))
    assert raised.value.field == "retry_at"


def test_the_callback_rate_counts_by_the_callback_due_not_the_retry(world):
    case = resolved(world)
    due = case.callback_due_at
    lifecycle.no_answer(case, world.staff, retry_at=due + timedelta(days=40))
    day = clock.local(case.resolved_at).date()
    assert metrics.figures(CaseCount.place_id == case.place_id, day, day).callback == metrics.Rate(0, 1)


def test_sign_for_is_timed_from_logging_even_after_an_assignment(world, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: local(2026, 11, 30, 9))
    case = log(world)
    monkeypatch.setattr(clock, "now", lambda: local(2026, 12, 1, 9))
    lifecycle.assign(case, world.staff, world.proxy, version=case.version)
    lifecycle.claim(case, world.proxy)
    figures = metrics.figures(CaseCount.place_id == case.place_id, date(2026, 11, 30), date(2026, 12, 1))
    assert figures.timely_sign_for == metrics.Rate(0, 1)


def test_cancelling_a_supervised_case_takes_it_off_the_list(world):
    case = in_progress(world)
    supervision.supervise(case, world.lead, world.staff, clock.now() + timedelta(days=2))
    lifecycle.cancel(case, world.staff, "不需要了", version=case.version)
    assert case not in [s.case for s in supervision.open_supervisions()]


def test_the_sweep_reads_as_system_in_the_readers_language(app, world):
    case = in_progress(world)
    number, at = case.number, case.remind_at + timedelta(minutes=1)
    supervision.sweep(now=at)
    client = login(app, "proxy-h01")
    client.post("/language", data={"lang": "en"})
    refresh()
    html = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "系统" not in html and "System" in html


def test_sms_go_out_in_chinese_whatever_the_deciders_language(app, world):
    from portal.models import OutboxMessage

    world.proxy.phone = "13700000001"
    request_id = ask(in_progress(world), world.proxy).id
    lead = login(app, "leader")
    lead.post("/language", data={"lang": "en"})
    refresh()
    lead.post(f"/supervision/extensions/{request_id}/approve")
    db.session.expire_all()
    sent = db.session.scalars(sa.select(OutboxMessage.text).where(OutboxMessage.kind == "extension_approved")).all()
    assert sent and all("延期" in text for text in sent)


def test_signing_for_an_urgent_item_does_not_restart_its_limit(world, monkeypatch):
    # Issue 34: a leak (HT03, 4 hours) logged at 10:00 and signed for at 10:30 is due at 14:00, not 14:30.
    assert world.leak.urgent and world.leak.sla_hours == 4
    monkeypatch.setattr(clock, "now", lambda: local(2026, 11, 23, 10, 0))
    case = log(world, world.leak)
    monkeypatch.setattr(clock, "now", lambda: local(2026, 11, 23, 10, 30))
    lifecycle.claim(case, world.member)  # a home visit: team 1's to sign for
    db.session.refresh(case)
    assert case.claimed_at == local(2026, 11, 23, 10, 30)
    assert case.due_at == local(2026, 11, 23, 14, 0)
    assert case.remind_at == local(2026, 11, 23, 13, 0)  # 75 % of the four hours from logging


def test_a_normal_items_limit_still_runs_from_the_first_signature(world, monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: local(2026, 11, 23, 10, 0))
    case = log(world, world.counter_item)
    signed = local(2026, 11, 23, 10, 30)
    monkeypatch.setattr(clock, "now", lambda: signed)
    lifecycle.claim(case, world.staff)
    db.session.refresh(case)
    assert case.due_at == timekeeping.due_time(case.item, signed, case.service_point, case.mode)
    assert case.due_at != timekeeping.due_time(case.item, local(2026, 11, 23, 10, 0), case.service_point, case.mode)
