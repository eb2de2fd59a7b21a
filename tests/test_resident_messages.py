"""What a resident is told by SMS is true and points where it should: a booked visit is told with its day and
half-day, never offered a booking; a booking link only when a half-day can be chosen; every link at the one public
address, never one a request named; and the public pages that links open refuse any malformed input with a 4xx."""
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.domain import DomainError, visits
from portal.domain.cases import intake, lifecycle, links
from portal.domain.platform import outbox
from portal.extensions import db
from portal.models import (
    AuditEntry,
    CalendarDay,
    Case,
    CaseStatus,
    Channel,
    DayKind,
    MessageStatus,
    OutboxMessage,
    Slot,
)
from tests import stories
from tests.conftest import config_for


def texts(kind: str | None = None) -> list[str]:
    query = sa.select(OutboxMessage.text).order_by(OutboxMessage.id)
    return list(db.session.scalars(query.where(OutboxMessage.kind == kind) if kind else query))


def test_a_care_visit_booked_by_the_schedule_tells_its_day_and_never_offers_a_booking(home, make):
    make.household(home.h01, address="东岙30号", phone="13700000030", residents=("李奶奶",), elderly_alone=True)
    [number] = visits.schedule_care_visits()
    assert texts("book") == texts("book_call") == []  # "请点此选择上门时间" for a visit the schedule booked itself: never
    [notice] = [text for text in texts("visit") if number in text]
    assert "已预约" in notice and "11-30 上午" in notice and "/lookup/" not in notice
    assert "如需改约请致电" in notice  # and whom to call to change it


def test_a_care_visit_is_due_on_its_half_day_and_its_resident_is_told_no_earlier_date(home, make):
    make.household(home.h01, address="东岙31号", phone="13700000031", residents=("周奶奶",), elderly_alone=True)
    [number] = visits.schedule_care_visits()
    case = db.session.scalars(sa.select(Case).filter_by(number=number)).one()
    visit = visits.active_visit(case)
    ends = visits.visit_window(visit)[1]
    assert case.due_at == ends and case.sign_due_at == ends  # not 72 working hours from today, before the visit
    assert texts("receipt") == []  # no "您的诉求已受理…预计…前办结": they asked for nothing, and the day is the visit's
    [told] = texts("visit")
    assert f"{visit.day:%m-%d}" in told


def test_a_case_logged_on_a_visit_is_not_called_the_residents_request(home):
    case = stories.log_home(home)
    [receipt] = texts("receipt")
    assert "您的诉求已受理" in receipt  # the resident asked for this one
    finding = intake.log_case(home.staff, home.home_item, Channel.VISIT, "走访发现水管渗漏", "王大爷", "13912345678",
                              household=home.household, proactive=True)
    [told] = [t for t in texts("receipt") if finding.number in t]
    assert "您的诉求" not in told and "我们走访时为您登记了服务工单" in told and case.number not in told


def _visit_messages() -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "visit")
                                   .order_by(OutboxMessage.id)))


def test_a_visit_moved_away_and_back_is_told_each_time_and_only_the_last_day_waits_to_go(home):
    case = stories.log_home(home)  # its booking link waits to be sent
    visit = visits.book(case, home.staff, date(2026, 11, 30), Slot.PM)
    visits.move(visit, home.lead, date(2026, 12, 1), Slot.AM)
    visits.move(visit, home.lead, date(2026, 11, 30), Slot.PM)  # back to the first day: told again
    told = _visit_messages()
    assert [("已预约" in m.text, "已改约" in m.text) for m in told] == [(True, False), (False, True), (False, True)]
    assert "改于11-30 下午" in told[-1].text and told[-1].status is MessageStatus.PENDING
    # What waited to say an earlier day (and the link to book a visit now booked) is withdrawn, not sent later.
    stale = told[:2] + list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "book")))
    assert {(m.status, m.last_error) for m in stale} == {(MessageStatus.DEAD, outbox.WITHDRAWN)}
    assert outbox.troubled() == []  # withdrawn is not trouble for the administrators...
    with pytest.raises(DomainError, match="已撤回"):
        outbox.retry(stale[0])  # ...and never sent again


@pytest.mark.parametrize("ends, told", [("cancel", True), ("return_case", True), ("resolve", False)])
def test_a_case_that_ends_withdraws_what_waited_about_its_visit_and_says_when_the_team_will_not_come(home, ends, told):
    case = stories.log_home(home)
    visits.book(case, home.staff, date(2026, 11, 30), Slot.PM)
    visits.move(visits.active_visit(case), home.lead, date(2026, 12, 1), Slot.AM)
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.text.contains("已预约"))
                       .values(status=MessageStatus.SENT))  # the booking went; the move still waits
    db.session.commit()
    db.session.refresh(case)
    if ends == "resolve":  # done without the team (by phone, say): the result SMS follows, no cancellation
        lifecycle.claim(case, home.member)
        lifecycle.start(case, home.member)
        lifecycle.resolve(case, home.member, "电话指导后已解决")
    else:
        getattr(lifecycle, ends)(case, home.staff if ends == "cancel" else home.member, "居民已自行解决")
    messages = _visit_messages()
    assert messages[1].status is MessageStatus.DEAD and messages[1].last_error == outbox.WITHDRAWN  # "已改约" never goes
    cancelled = [m for m in messages if "已取消" in m.text]
    assert len(cancelled) == int(told)
    if told:
        assert "原定12-01 上午的上门服务已取消" in cancelled[0].text and cancelled[0].status is MessageStatus.PENDING


def test_a_visit_the_resident_never_heard_of_is_not_announced_cancelled_and_a_waiting_link_is_withdrawn(home):
    booked = stories.log_home(home)
    visits.book(booked, home.staff, date(2026, 11, 30), Slot.PM)  # its "已预约" still waits (no gateway here)
    lifecycle.cancel(booked, home.staff, "居民已自行解决")
    assert not [m for m in _visit_messages() if "已取消" in m.text]  # "cancelled" of a visit they were never told of
    linked = stories.log_home(home)  # a booking link waits; the case ends with no visit booked
    lifecycle.cancel(linked, home.staff, "登记有误")
    link = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.case_id == linked.id,
                                                             OutboxMessage.kind == "book")).one()
    assert (link.status, link.last_error) == (MessageStatus.DEAD, outbox.WITHDRAWN)


def test_a_message_a_worker_claimed_but_has_not_sent_is_withdrawn_too_and_skipped(home):
    case = stories.log_home(home)
    db.session.execute(sa.update(OutboxMessage).values(status=MessageStatus.SENDING, worker="w1"))
    db.session.commit()
    visits.book(case, home.staff, date(2026, 11, 30), Slot.PM)
    link = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "book")).one()
    assert (link.status, link.last_error) == (MessageStatus.DEAD, outbox.WITHDRAWN)


def test_a_care_visit_moved_takes_its_limits_to_its_new_half_day(home, make):
    make.household(home.h01, address="东岙32号", phone="13700000032", residents=("吴奶奶",), elderly_alone=True)
    [number] = visits.schedule_care_visits()
    case = db.session.scalars(sa.select(Case).filter_by(number=number)).one()
    visit = visits.active_visit(case)
    visits.move(visit, home.lead, visit.day + timedelta(days=7), Slot.PM)
    ends = visits.visit_window(visit)[1]
    assert case.due_at == ends and case.sign_due_at == ends


def test_no_reminder_is_sent_for_a_visit_whose_day_became_a_holiday(home, make):
    case = stories.log_home(home)
    visit = visits.book(case, home.staff, date(2026, 11, 30), Slot.PM)
    db.session.add(CalendarDay(day=date(2026, 11, 30), kind=DayKind.HOLIDAY, name="临时休假"))
    db.session.commit()
    assert [r.visit.id for r in visits.to_rebook()] == [visit.id]
    assert visits.remind_tomorrow(date(2026, 11, 29)) == 0  # "the team comes tomorrow" would be false
    assert not any("明天" in t or "将于11-30" in t for t in texts("visit")[1:])


def test_a_visit_booked_and_moved_by_staff_tells_the_resident_each_time(home):
    case = stories.log_home(home)
    visit = visits.book(case, home.staff, date(2026, 11, 30), Slot.PM)
    visits.move(visit, home.lead, date(2026, 12, 1), Slot.AM)
    booked, moved = texts("visit")
    assert "已预约" in booked and "11-30 下午" in booked
    assert re.search(r"11-30 下午（\d{2}:\d{2}-\d{2}:\d{2}）", booked)  # the half-day's hours, not only its name
    assert "已改约" in moved and "12-01 上午" in moved
    assert visits.remind_tomorrow(date(2026, 11, 30)) == 1  # the reminder of the day it moved to
    assert "12-01 上午" in texts("visit")[-1]


def test_a_booking_link_is_sent_only_when_a_half_day_can_be_chosen(home):
    offered = stories.log_home(home)
    [link] = texts("book")
    assert "/lookup/v/" in link and offered.number in link
    home.t1.capacity_per_slot = 0  # the team has no free half-day before the case is due
    db.session.commit()
    full = stories.log_home(home)
    [told] = texts("book_call")
    assert full.number in told and "/lookup/" not in told and "服务点将致电" in told


def test_the_case_page_says_what_the_resident_was_told_about_booking(home, client, auth):
    offered = stories.log_home(home)
    home.t1.capacity_per_slot = 0
    db.session.commit()
    promised = stories.log_home(home)
    auth.login("staff-p01")
    # Not sent yet (no gateway here): the page says the SMS waits, never that the resident has it.
    waiting = client.get(f"/cases/{offered.number}").get_data(as_text=True)
    assert "自选上门时段的链接短信尚在等待发送" in waiting and "已收到自选上门时段的链接" not in waiting
    assert "短信尚在等待发送" in client.get(f"/cases/{promised.number}").get_data(as_text=True)
    db.session.execute(sa.update(OutboxMessage).values(status=MessageStatus.SENT))
    db.session.commit()
    assert "已收到自选上门时段的链接" in client.get(f"/cases/{offered.number}").get_data(as_text=True)
    page = client.get(f"/cases/{promised.number}").get_data(as_text=True)
    assert "服务点将致电约定上门时间：请致电居民" in page  # the post calls those it promised to call


def test_a_booking_sms_given_up_is_not_said_to_have_reached_the_resident(home, client, auth):
    offered = stories.log_home(home)
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.kind == "book")
                       .values(status=MessageStatus.DEAD))
    db.session.commit()
    auth.login("staff-p01")
    page = client.get(f"/cases/{offered.number}").get_data(as_text=True)
    assert "已收到自选上门时段的链接" not in page
    assert "预约短信未能发出：请致电居民" in page


def test_without_a_public_address_no_message_carries_a_link_and_the_callback_falls_to_the_clerk(world, app,
                                                                                               client, auth,
                                                                                               monkeypatch):
    stories.at(monkeypatch, 2026, 11, 27, 10, 0)
    app.config["PUBLIC_BASE_URL"] = ""
    case = stories.resolved(world)
    assert texts("result") == [] and case.answer_until is None  # no link to nowhere: the clerk calls back
    assert links.url(case, "answer") is None
    assert all("http" not in text for text in texts())
    auth.login("root")  # and the administrators are told why
    assert "公网地址（PUBLIC_BASE_URL）尚未设置" in client.get("/directory/messages/").get_data(as_text=True)


def test_links_written_without_a_request_name_the_public_address(world, app, monkeypatch):
    stories.at(monkeypatch, 2026, 11, 27, 10, 0)
    case = stories.resolved(world)
    assert re.search(r"https://bianmin\.test/lookup/r/[0-9a-f]+-\S+", texts("result")[0])
    assert links.url(case, "answer").startswith("https://bianmin.test/lookup/r/")


def test_a_request_naming_a_foreign_host_is_refused_and_never_reaches_an_sms(world, app, client, monkeypatch):
    stories.at(monkeypatch, 2026, 11, 27, 10, 0)
    assert client.get("/lookup/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/lookup/", headers={"Host": "bianmin.test"}).status_code == 200
    # Whatever host a request that writes a link named (were it let through), the link names the public address.
    app.config["TRUSTED_HOSTS"] = None
    with app.test_request_context("/", headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}):
        stories.resolved(world)
    [result] = texts("result")
    assert "evil" not in result and "https://bianmin.test/lookup/r/" in result


def test_behind_a_proxy_a_forwarded_host_is_never_read(database_url, tmp_path):
    app = create_app(config_for(database_url, PROXY_COUNT=1, UPLOAD_FOLDER=str(tmp_path)))
    seen = app.test_client().get("/open311/discovery.json",
                                 headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-For": "10.0.0.9"})
    assert seen.status_code == 200 and "evil.example" not in seen.get_data(as_text=True)
    assert "https://bianmin.test/open311/v2" in seen.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("settings, problem", [
    ({"PUBLIC_URL": "https://old.example"}, "PUBLIC_URL was replaced by PUBLIC_BASE_URL"),
    ({"PUBLIC_BASE_URL": "bianmin.example.gov.cn"}, "must be an http(s) address"),
    ({"PUBLIC_BASE_URL": "https://bianmin.example.gov.cn/?next=x"}, "no query"),
])
def test_a_public_address_that_cannot_be_right_stops_the_portal_from_starting(settings, problem, tmp_path):
    with pytest.raises((RuntimeError, ValueError), match=re.escape(problem)):
        create_app(config_for(f"sqlite:///{tmp_path}/x.sqlite3", **settings))


def test_the_public_address_sets_the_hosts_the_portal_answers_for(tmp_path):
    app = create_app(config_for(f"sqlite:///{tmp_path}/x.sqlite3", PUBLIC_BASE_URL="https://bianmin.example.gov.cn/"))
    assert app.config["PUBLIC_BASE_URL"] == "https://bianmin.example.gov.cn"
    assert app.config["TRUSTED_HOSTS"] == ["bianmin.example.gov.cn", "localhost", "127.0.0.1"]
    unset = create_app(config_for(f"sqlite:///{tmp_path}/y.sqlite3", PUBLIC_BASE_URL=""))
    assert unset.config["TRUSTED_HOSTS"] is None
    more = create_app(config_for(f"sqlite:///{tmp_path}/z.sqlite3", TRUSTED_HOSTS=["portal.lan"]))
    assert more.config["TRUSTED_HOSTS"] == ["bianmin.test", "localhost", "127.0.0.1", "portal.lan"]  # added to them


@pytest.mark.parametrize("path", ["/lookup/v/1-%C3%A9", "/lookup/r/1-%C3%A9", "/lookup/v/%EF%BC%91-abc",
                                  "/lookup/r/1_0-abc", "/lookup/v/-", "/lookup/r/%00-x", "/lookup/v/ffffffffffff-x"])
def test_a_malformed_link_opens_nothing_and_answers_404(world, client, path):
    assert client.get(path).status_code == 404
    assert client.post(path, data={"pick": "x"}).status_code == 404


@pytest.mark.parametrize("body", [["13912345678", "TD"], "TD", 13912345678, None, {"mobile": ["1"], "content": "TD"}])
def test_a_callback_body_of_any_shape_gets_a_4xx(world, app, client, body):
    app.config["SMS_INBOUND_TOKEN"] = "gateway-secret"
    answer = client.post("/messages/sms-reply", json=body, headers={"X-Portal-Token": "gateway-secret"})
    assert 400 <= answer.status_code < 500


@pytest.mark.parametrize("written", ["+86 139 3524 9848", "8613935249848", "139 3524 9848", "+8613935249848"])
def test_a_td_reply_stops_the_number_however_the_gateway_writes_it(world, app, client, monkeypatch, written):
    stories.at(monkeypatch, 2026, 11, 27, 10, 0)
    def log():
        return intake.log_case(world.staff, world.plain_errand, Channel.PHONE, "请代办", "柏先生", "139-3524-9848",
                               place=world.h01, address="东岙9号")

    log()  # a receipt waits for 13935249848
    app.config["SMS_INBOUND_TOKEN"] = "gateway-secret"
    answer = client.post("/messages/sms-reply", json={"mobile": written, "content": "TD"},
                         headers={"X-Portal-Token": "gateway-secret"})
    assert answer.json == {"code": "0", "stopped": True}
    from portal.domain.platform import outbox

    assert outbox.opted_out("13935249848") and outbox.opted_out("+86 139-3524-9848")
    [entry] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "opt_out")).all()
    assert entry.actor_name == "sms reply"  # every audit row says who or what acted
    assert [m.status.value for m in db.session.scalars(sa.select(OutboxMessage))] == ["dead"]  # not sent
    log()  # a case of that number now: nothing written for it
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


def test_the_lookup_of_a_case_with_a_booked_visit_says_when_the_team_comes(home, client):
    case = stories.log_home(home)
    visits.book(case, home.staff, date(2026, 11, 30), Slot.AM)
    page = client.post("/lookup/", data={"number": case.number, "last_four": "5678"}).get_data(as_text=True)
    assert "2026-11-30 上午" in page and 'href="tel:' in page
    assert case.status is CaseStatus.LOGGED
