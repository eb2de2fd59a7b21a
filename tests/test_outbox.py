"""Messages through the transactional outbox (portal.domain.platform.outbox), delivered to real local servers: an
HTTP SMS gateway and an SMTP server started by the tests (tests/mailboxes.py), never mocks. Where a gateway's
slowness matters to the outbox's leases, the gateway moves the portal's clock as it answers."""
import shutil
import threading
import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import DomainError
from portal.domain.cases import intake
from portal.domain.platform import notify, outbox, unit
from portal.extensions import db
from portal.models import AuditEntry, Channel, MessageChannel, MessageStatus, OutboxMessage
from tests import mailboxes
from tests.mailboxes import SmsGateway, SmtpServer
from tests.stories import at


def use(app, gateway: SmsGateway | None = None, smtp: SmtpServer | None = None, **settings) -> None:
    if gateway is not None:
        app.config.update(SMS_GATEWAY_URL=gateway.url, SMS_GATEWAY_TIMEOUT=1.0)
    if smtp is not None:
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp.port, SMTP_FROM="portal@bianmin.local")
    app.config.update(settings)


def log(world, phone="13912345678"):
    return intake.log_case(world.staff, world.plain_errand, Channel.PHONE, "代办医保", "王大爷", phone,
                           household=world.household)


def messages(**filters) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(OutboxMessage).filter_by(**filters).order_by(OutboxMessage.id)))


def queue(n: int, prefix: str = "t", to_resident: bool = False, phone: str = "13800000000") -> list[str]:
    keys = [f"{prefix}:{i}" for i in range(n)]
    for key in keys:
        outbox.enqueue("test", MessageChannel.SMS, phone, f"消息 {key}", key, to_resident=to_resident)
    db.session.commit()
    return keys


def outcome(**counts) -> dict[str, int]:
    """What ``outbox.deliver`` answers: the counts given, and none of the rest."""
    return dict.fromkeys(outbox.OUTCOMES, 0) | counts


class MovingClock:
    """The portal's clock, moved by the test (and by a gateway that takes its time to answer)."""

    def __init__(self, monkeypatch, *moment):
        self.now, self.lock = datetime(*moment, tzinfo=clock.LOCAL_TZ), threading.Lock()
        monkeypatch.setattr(clock, "now", lambda: self.now)
        monkeypatch.setattr(clock, "today", lambda: clock.local(self.now).date())

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.now += timedelta(seconds=seconds)


def local(moment: datetime) -> datetime:
    return clock.local(moment).replace(tzinfo=None)


def test_a_receipt_is_written_with_its_case_and_never_without_it(world, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = log(world)
    [receipt] = messages(kind="receipt")
    assert receipt.key == f"receipt:{case.number}" and receipt.address == "13912345678" and receipt.to_resident
    assert case.number in receipt.text and "王**" in receipt.text and "王大爷" not in receipt.text
    assert len(receipt.text) <= 70  # one SMS
    with pytest.raises(RuntimeError), unit.unit_of_work():
        log(world)
        raise RuntimeError("the intake fails after the receipt was written")
    assert len(messages(kind="receipt")) == 1


def test_every_message_reaches_the_gateway_once(world, app):
    with SmsGateway() as gateway:
        use(app, gateway)
        keys = queue(5)
        assert outbox.deliver() == outcome(sent=5)
        assert outbox.deliver() == outcome()
    delivered = gateway.delivered()
    assert sorted(delivered) == sorted(keys) and all(len(v) == 1 for v in delivered.values())
    assert delivered["t:0"][0] == {"mobile": "13800000000", "content": "消息 t:0", "requestId": "t:0"}
    assert {m.status for m in messages()} == {MessageStatus.SENT}


def test_a_gateway_that_fails_refuses_or_hangs_loses_nothing(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway(["fail", "refuse", "hang"], hang_seconds=1.5) as gateway:
        use(app, gateway, SMS_GATEWAY_TIMEOUT=0.5)
        keys = queue(3)
        assert outbox.deliver() == outcome(retry=3)
        waiting = messages()
        assert [m.status for m in waiting] == [MessageStatus.PENDING] * 3 and all(m.attempts == 1 for m in waiting)
        assert [m.last_error.split(":")[0] for m in waiting] == ["HTTP 503", "refused", "no answer"]
        assert outbox.deliver()["sent"] == 0  # backing off: tried again after a minute, not at once
        at(monkeypatch, 2026, 11, 27, 10, 2)
        assert outbox.deliver() == outcome(sent=3)
    delivered = gateway.delivered()
    assert sorted(delivered) == sorted(keys)
    # The one the gateway took but answered too late came again under its key, for the gateway to drop.
    assert [len(delivered[k]) for k in keys] == [2, 2, 2]
    assert {m.status for m in messages()} == {MessageStatus.SENT}


def test_a_message_failing_every_time_is_given_up_and_can_be_sent_again(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway(["fail"] * 3) as gateway:
        use(app, gateway, OUTBOX_MAX_ATTEMPTS=3)
        [key] = queue(1)
        for minute in (0, 2, 5):
            at(monkeypatch, 2026, 11, 27, 10, minute)
            outbox.deliver()
        [message] = messages()
        assert message.status is MessageStatus.DEAD and message.attempts == 3
        assert outbox.retry(message)
        assert not outbox.retry(message)  # not given up any more
        assert outbox.deliver()["sent"] == 1
    assert len(gateway.delivered()[key]) == 4


def test_two_workers_at_once_send_each_message_once(world, app):
    with SmsGateway() as gateway:
        use(app, gateway)
        keys = queue(30)
        errors = []

        def work():
            try:
                with app.app_context():
                    while outbox.deliver(limit=4)["sent"]:
                        pass
                    db.session.remove()
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        workers = [threading.Thread(target=work) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert errors == []
    delivered = gateway.delivered()
    assert sorted(delivered) == sorted(keys) and all(len(v) == 1 for v in delivered.values())
    assert {m.status for m in messages()} == {MessageStatus.SENT}


def test_a_claim_left_by_a_worker_that_died_is_taken_again_when_its_lease_runs_out(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway() as gateway:
        use(app, gateway, OUTBOX_LEASE_SECONDS=120)
        [key] = queue(1)
        assert len(outbox.claim("a-worker-that-dies")) == 1
        assert outbox.deliver()["sent"] == 0  # still claimed
        at(monkeypatch, 2026, 11, 27, 10, 3)
        assert outbox.deliver()["sent"] == 1
    assert len(gateway.delivered()[key]) == 1


def test_no_sms_reaches_a_resident_at_night(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 23, 10)
    with SmsGateway() as gateway:
        use(app, gateway)
        case = log(world)
        assert outbox.deliver()["sent"] == 0
        at(monkeypatch, 2026, 11, 28, 7, 59)
        assert outbox.deliver()["sent"] == 0
        at(monkeypatch, 2026, 11, 28, 8, 0)
        assert outbox.deliver()["sent"] == 1
    assert list(gateway.delivered()) == [f"receipt:{case.number}"]


def test_a_resident_who_opted_out_is_sent_nothing(world):
    outbox.opt_out("13912345678")
    db.session.commit()
    log(world)
    assert messages(kind="receipt") == []


def test_staff_reminders_go_by_sms_and_by_email(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    world.proxy.phone, world.proxy.email = "13700000001", "proxy@bianmin.local"
    case = log(world)
    notify.notify([world.proxy], "overdue", case, f"overdue:{case.id}")
    db.session.commit()
    staff = messages(kind="overdue")
    assert sorted(m.channel for m in staff) == [MessageChannel.EMAIL, MessageChannel.SMS]
    assert all(case.number in m.text for m in staff)
    with SmsGateway() as gateway, SmtpServer() as smtp:
        use(app, gateway, smtp)
        assert outbox.deliver()["sent"] == 3  # the resident's receipt, and the proxy's two
    assert [f["mobile"] for f in gateway.received if f["requestId"].startswith("notify:")] == ["13700000001"]
    [mail] = smtp.messages
    assert "To: proxy@bianmin.local" in mail and "Message-ID: <notify." in mail


def test_a_resident_stops_messages_by_replying_td_to_the_gateway(world, app, client, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    log(world)  # a receipt waits to be sent
    reply = {"mobile": "13912345678", "content": " td "}
    assert client.post("/messages/sms-reply", json=reply).status_code == 404  # no token configured: no callback
    app.config["SMS_INBOUND_TOKEN"] = "gateway-secret"
    assert client.post("/messages/sms-reply", json=reply, headers={"X-Portal-Token": "wrong"}).status_code == 404
    answer = client.post("/messages/sms-reply", json={**reply, "content": "好的"},
                         headers={"X-Portal-Token": "gateway-secret"})
    assert answer.json == {"code": "0", "stopped": False} and not outbox.opted_out("13912345678")
    answer = client.post("/messages/sms-reply?token=gateway-secret", data=reply)
    assert answer.json == {"code": "0", "stopped": True}
    assert outbox.opted_out("13912345678")
    [stopped] = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "opt_out")).all()
    assert stopped.actor_name == "sms reply" and stopped.reason == "139****5678"  # what acted, and on which number
    assert [m.status for m in messages(kind="receipt")] == [MessageStatus.DEAD]  # what waited is not sent
    log(world)
    assert len(messages(kind="receipt")) == 1  # and nothing new is written


def test_a_clerk_stops_messages_when_the_resident_asks(world, client, auth, monkeypatch):
    from portal.models import CaseEvent, EventKind

    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = log(world)
    auth.login("staff-p01")
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "停发短信" in page
    assert client.post(f"/cases/{case.number}/no-sms").status_code == 303
    assert outbox.opted_out("13912345678")
    assert db.session.scalar(sa.select(CaseEvent.id).where(CaseEvent.case_id == case.id,
                                                           CaseEvent.kind == EventKind.MESSAGES_STOPPED))
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "opt_out")) == "opt_out"
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "停发短信" not in page and "不发短信" in page


def test_the_resident_hears_when_the_errand_is_back_and_the_day_before_a_visit(home):
    from datetime import date

    from portal.domain import visits
    from portal.domain.cases import lifecycle
    from portal.models import Slot
    from tests import stories

    errand = stories.in_progress(home)
    lifecycle.send_off_island(errand, home.proxy)
    lifecycle.record_office_answer(errand, home.proxy, "more_materials", note="缺户口本")
    [back] = messages(kind="errand_back")
    assert errand.number in back.text and "补充材料" in back.text and back.to_resident

    visit_case = stories.log(home, home.home_item)
    visits.book(visit_case, home.staff, date(2026, 11, 30), Slot.AM)
    assert visits.remind_tomorrow(date(2026, 11, 28)) == 0  # not tomorrow yet
    assert visits.remind_tomorrow(date(2026, 11, 29)) == 1
    assert visits.remind_tomorrow(date(2026, 11, 29)) == 0  # once a visit
    [booked, reminder] = messages(kind="visit")  # told when it was booked, and the day before
    assert "已预约" in booked.text and "11-30 上午" in reminder.text and visit_case.number in reminder.text


def test_administrators_see_messages_in_trouble_and_send_a_given_up_one_again(world, app, client, auth,
                                                                                 monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway(["fail"]) as gateway:
        use(app, gateway, OUTBOX_MAX_ATTEMPTS=1)
        [key] = queue(1)
        assert outbox.deliver()["dead"] == 1
        auth.login("root")
        page = client.get("/directory/messages/").get_data(as_text=True)
        assert key in page and "HTTP 503" in page and "已放弃" in page and "138****0000" in page
        [message] = messages()
        assert client.post(f"/directory/messages/{message.id}/retry").status_code == 303
        assert outbox.deliver()["sent"] == 1
    assert db.session.scalar(sa.select(AuditEntry.action).where(AuditEntry.action == "message_retry"))
    auth.logout()
    auth.login("staff-p01")
    assert client.get("/directory/messages/").status_code == 403


def test_a_retry_never_reaches_a_resident_at_night(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 20, 59)
    with SmsGateway(["fail"]) as gateway:
        use(app, gateway)
        case = log(world)
        assert outbox.deliver()["retry"] == 1
        at(monkeypatch, 2026, 11, 27, 21, 5)
        assert outbox.deliver()["sent"] == 0  # its minute has passed, but it is night now
        at(monkeypatch, 2026, 11, 28, 8, 0)
        assert outbox.deliver()["sent"] == 1
    assert len(gateway.delivered()[f"receipt:{case.number}"]) == 2


# --- once: a lease per message, a whole deadline per request (issue 31) -----------------------------------------

def as_another_worker(app, work, errors: list):
    """Run ``work`` as another `flask deliver` would: its own application context and database session."""
    try:
        with app.app_context():
            try:
                return work()
            finally:
                db.session.remove()
    except Exception as error:  # noqa: BLE001 - reported by the test
        errors.append(error)


def test_a_second_deliver_after_the_lease_sends_no_receipt_twice(world, app, monkeypatch):
    # 150 receipts due at once, a gateway answering each in 1.3 s, and cron starting a second `flask deliver`
    # at +121 s, when a lease on the whole batch would have run out: 22 keys were acknowledged twice.
    now = MovingClock(monkeypatch, 2026, 11, 27, 10, 0)
    started, second, errors = now.now, {}, []

    def gateway_takes_1_3_s(fields):
        now.advance(1.3)
        if now.now >= started + timedelta(seconds=121) and not second:
            second["at"] = now.now
            second["outcome"] = as_another_worker(app, lambda: outbox.deliver(worker="second"), errors)

    with SmsGateway(on_request=gateway_takes_1_3_s) as gateway:
        use(app, gateway, SMS_GATEWAY_TIMEOUT=10.0, OUTBOX_LEASE_SECONDS=120)
        keys = queue(150, to_resident=True)
        first = outbox.deliver(limit=200, worker="first")
    assert errors == []
    delivered = gateway.delivered()
    assert sorted(delivered) == sorted(keys)
    assert [key for key, sends in delivered.items() if len(sends) > 1] == []
    assert first["sent"] + second["outcome"]["sent"] == 150 and second["outcome"]["sent"] > 0  # they shared it
    assert {m.status for m in messages()} == {MessageStatus.SENT}


def test_a_gateway_trickling_its_answer_byte_by_byte_is_cut_off_at_the_whole_deadline(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway(["trickle"], trickle_seconds=0.05) as gateway:  # a whole answer takes about 5 s
        use(app, gateway, SMS_GATEWAY_TIMEOUT=1.0)
        [key] = queue(1)
        begun = time.monotonic()
        assert outbox.deliver() == outcome(retry=1)
        took = time.monotonic() - begun
        assert took < 2.5  # no read waited long, but the request as a whole may not
        [message] = messages()
        assert message.last_error == "no answer: no whole answer within 1 s" and message.attempts == 1
        at(monkeypatch, 2026, 11, 27, 10, 2)
        assert outbox.deliver() == outcome(sent=1)
    assert len(gateway.delivered()[key]) == 2  # the repeat carries its key, for the gateway to drop


def test_a_gateway_killed_mid_send_loses_nothing(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway(["die"]) as gateway:
        use(app, gateway)
        [key] = queue(1)
        assert outbox.deliver() == outcome(retry=1)
        assert messages()[0].last_error.startswith("no answer:") and messages()[0].attempts == 1
        at(monkeypatch, 2026, 11, 27, 10, 2)
        assert outbox.deliver() == outcome(sent=1)
    assert len(gateway.delivered()[key]) == 2


def test_a_mail_server_trickling_its_replies_is_cut_off_at_the_whole_deadline(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    outbox.enqueue("test", MessageChannel.EMAIL, "proxy@bianmin.local", "邮件", "mail:0")
    db.session.commit()
    with SmtpServer(trickle_seconds=0.05) as smtp:  # the whole conversation takes about 4 s
        use(app, smtp=smtp, SMS_GATEWAY_TIMEOUT=1.0)
        begun = time.monotonic()
        assert outbox.deliver() == outcome(retry=1)
        assert time.monotonic() - begun < 2.5
    assert smtp.messages == [] and messages()[0].last_error == "SMTP: no whole answer within 1 s"


def test_a_lease_that_a_send_could_outlast_is_refused(world, app, runner):
    app.config.update(SMS_GATEWAY_TIMEOUT=10.0, OUTBOX_LEASE_SECONDS=30)
    with pytest.raises(ValueError, match="OUTBOX_LEASE_SECONDS"):
        outbox.deliver()
    result = runner.invoke(args=["deliver"])
    assert result.exit_code == 1 and "OUTBOX_LEASE_SECONDS (30) must be at least SMS_GATEWAY_TIMEOUT" in result.output


# --- by day: quiet hours checked when a message is claimed and when it is sent ---------------------------------

def test_a_receipt_due_before_21_00_is_not_sent_once_the_batch_reaches_21_00(world, app, monkeypatch):
    now = MovingClock(monkeypatch, 2026, 11, 27, 20, 59, 0)
    with SmsGateway(on_request=lambda fields: now.advance(40)) as gateway:
        use(app, gateway)
        keys = queue(3, to_resident=True)  # written at 20:59: due at once
        assert outbox.deliver() == outcome(sent=2, later=1)  # the third's turn came at 21:00:20
    assert sorted(gateway.delivered()) == keys[:2]
    last = messages()[-1]
    assert last.status is MessageStatus.PENDING and last.attempts == 0 and last.last_error == ""  # no failure
    assert local(last.not_before) == datetime(2026, 11, 28, 8, 0)


def test_a_claim_that_runs_out_at_night_waits_for_the_morning(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 20, 58)
    with SmsGateway() as gateway:
        use(app, gateway, OUTBOX_LEASE_SECONDS=120)
        case = log(world)
        assert len(outbox.claim("a-worker-that-dies")) == 1
        at(monkeypatch, 2026, 11, 27, 21, 1)  # its claim ran out at 21:00
        assert outbox.deliver() == outcome(later=1)
        [receipt] = messages(kind="receipt")
        assert receipt.status is MessageStatus.PENDING and receipt.attempts == 0
        assert local(receipt.not_before) == datetime(2026, 11, 28, 8, 0)
        at(monkeypatch, 2026, 11, 28, 7, 59)
        assert outbox.deliver() == outcome()
        at(monkeypatch, 2026, 11, 28, 8, 0)
        assert outbox.deliver() == outcome(sent=1)
    assert list(gateway.delivered()) == [f"receipt:{case.number}"]


def test_staff_are_told_at_night_while_residents_wait(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 23, 0)
    with SmsGateway() as gateway:
        use(app, gateway)
        [resident] = queue(1, prefix="resident", to_resident=True)
        [staff] = queue(1, prefix="staff")
        assert outbox.deliver() == outcome(sent=1)
    assert list(gateway.delivered()) == [staff]


# --- never after TD: the opt-out checked at the moment of sending ------------------------------------------------

def test_a_td_reply_during_a_running_batch_stops_what_the_batch_still_holds(world, app, client, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    replies = []

    def the_resident_replies_td(fields):  # while the first message is being sent
        if not replies:
            replies.append(client.post("/messages/sms-reply", json={"mobile": "+86 139 3524 9848", "content": "TD"},
                                       headers={"X-Portal-Token": "gateway-secret"}).json)

    with SmsGateway(on_request=the_resident_replies_td) as gateway:
        use(app, gateway, SMS_INBOUND_TOKEN="gateway-secret")
        keys = queue(3, to_resident=True, phone="13935249848")
        assert outbox.deliver() == outcome(sent=1)
    assert replies == [{"code": "0", "stopped": True}]
    assert list(gateway.delivered()) == keys[:1]
    assert [(m.status, m.last_error) for m in messages()] == [
        (MessageStatus.SENT, ""), (MessageStatus.DEAD, "opted out"), (MessageStatus.DEAD, "opted out")]


def test_a_dead_workers_claim_never_goes_to_a_number_that_opted_out_since(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway() as gateway:
        use(app, gateway)
        log(world)
        assert len(outbox.claim("a-worker-that-dies")) == 1
        outbox.stop("139 1234 5678", via="sms reply")
        at(monkeypatch, 2026, 11, 27, 10, 5)  # its claim ran out
        assert outbox.deliver() == outcome()
    assert gateway.received == []
    [receipt] = messages(kind="receipt")
    assert receipt.status is MessageStatus.DEAD and receipt.last_error == "opted out"


def test_one_number_however_it_is_written_opts_out_once(world):
    outbox.opt_out("+86 139 1234 5678")
    db.session.commit()
    assert outbox.opted_out("13912345678") and outbox.opted_out("139-1234-5678")
    assert not outbox.enqueue("test", MessageChannel.SMS, "8613912345678", "消息", "t:0", to_resident=True)
    log(world)
    assert messages() == []


def test_every_opt_out_says_who_or_what_stopped_the_messages(world):
    outbox.stop("13912345678", via="sms reply")
    outbox.stop("13900000001", actor=world.staff)  # a clerk told by the resident
    with pytest.raises(TypeError):
        outbox.stop("13900000002", "sms reply")  # a label where the user goes would leave the row without one
    with pytest.raises(TypeError):
        outbox.stop("13900000002")
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "opt_out").order_by(AuditEntry.id))
    assert [(row.actor_id, row.actor_name) for row in rows] == [(None, "sms reply"),
                                                                 (world.staff.id, world.staff.username)]
    assert not outbox.opted_out("13900000002")


# --- an administrator's resend ------------------------------------------------------------------------------------

def test_an_administrator_cannot_resend_to_a_number_that_opted_out(world, app, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway(["fail"]) as gateway:
        use(app, gateway, OUTBOX_MAX_ATTEMPTS=1)
        log(world)
        assert outbox.deliver() == outcome(dead=1)
        outbox.stop("+86 139 1234 5678", via="sms reply")
        [receipt] = messages(kind="receipt")
        auth.login("root")
        page = client.post(f"/directory/messages/{receipt.id}/retry", follow_redirects=True).get_data(as_text=True)
        assert "139****5678 已要求不再接收短信" in page and "此消息不再重新发送" in page
        with pytest.raises(DomainError):
            outbox.retry(receipt)
        assert messages(kind="receipt")[0].status is MessageStatus.DEAD
        assert outbox.deliver() == outcome()
    assert len(gateway.received) == 1
    assert db.session.scalar(sa.select(AuditEntry.id).where(AuditEntry.action == "message_retry")) is None


def test_a_resident_sms_resent_at_night_waits_for_the_morning(world, app, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 20, 0)
    with SmsGateway(["fail"]) as gateway:
        use(app, gateway, OUTBOX_MAX_ATTEMPTS=1)
        case = log(world)
        assert outbox.deliver() == outcome(dead=1)
        at(monkeypatch, 2026, 11, 27, 23, 30)
        [receipt] = messages(kind="receipt")
        auth.login("root")
        page = client.post(f"/directory/messages/{receipt.id}/retry", follow_redirects=True).get_data(as_text=True)
        assert "将在免打扰时段结束后（2026-11-28 08:00）发送" in page
        assert outbox.deliver() == outcome()
        at(monkeypatch, 2026, 11, 28, 8, 0)
        assert outbox.deliver() == outcome(sent=1)
    assert len(gateway.delivered()[f"receipt:{case.number}"]) == 2


# --- nothing pretends: a channel with no gateway ------------------------------------------------------------------

def test_with_no_gateway_messages_wait_and_deliver_and_the_page_say_so(world, app, runner, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    keys = queue(2)
    outbox.enqueue("test", MessageChannel.EMAIL, "proxy@bianmin.local", "邮件", "mail:0")
    db.session.commit()
    before = [(m.id, m.not_before) for m in messages()]
    assert outbox.deliver() == outcome()
    waiting = messages()
    assert {(m.status, m.attempts, m.worker, m.claimed_until, m.sent_at) for m in waiting} == {
        (MessageStatus.PENDING, 0, "", None, None)}
    assert [(m.id, m.not_before) for m in waiting] == before  # untouched
    assert outbox.unconfigured() == {MessageChannel.SMS: 2, MessageChannel.EMAIL: 1}
    result = runner.invoke(args=["deliver"])
    assert result.exit_code == 1
    assert "no sms channel is configured (SMS_GATEWAY_URL): 2 messages wait" in result.output
    assert "no email channel is configured (SMTP_HOST): 1 messages wait" in result.output
    auth.login("root")
    page = client.get("/directory/messages/").get_data(as_text=True)
    assert "未配置短信通道（SMS_GATEWAY_URL）：2 条消息正在等待" in page
    assert "未配置电子邮箱通道（SMTP_HOST）：1 条消息正在等待" in page
    with SmsGateway() as gateway:
        use(app, gateway)
        result = runner.invoke(args=["deliver"])
    assert result.exit_code == 1 and "sent 2," in result.output  # what it could send, it sent
    assert "SMTP_HOST" in result.output and "SMS_GATEWAY_URL" not in result.output
    assert sorted(gateway.delivered()) == sorted(keys)
    [mail] = messages(channel=MessageChannel.EMAIL)
    assert mail.status is MessageStatus.PENDING and mail.attempts == 0
    page = client.get("/directory/messages/").get_data(as_text=True)
    assert "未配置短信通道" not in page and "未配置电子邮箱通道" in page


# --- e-mail over verified TLS -------------------------------------------------------------------------------------

@pytest.fixture
def certificate(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for a TLS mail server")
    return mailboxes.self_signed_certificate(tmp_path)


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_e_mail_goes_only_to_a_server_whose_certificate_verifies(world, app, monkeypatch, certificate, tls):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    outbox.enqueue("test", MessageChannel.EMAIL, "proxy@bianmin.local", "邮件", "mail:0")
    db.session.commit()
    with SmtpServer(tls=tls, certificate=certificate) as smtp:
        use(app, smtp=smtp, SMTP_STARTTLS=tls == "starttls", SMTP_SSL=tls == "implicit")
        assert outbox.deliver() == outcome(retry=1)  # signed by itself: whoever answers could have made it
        assert smtp.messages == [] and "CERTIFICATE_VERIFY_FAILED" in messages()[0].last_error
        monkeypatch.setenv("SSL_CERT_FILE", certificate.cert)  # the system now trusts the server's certificate
        at(monkeypatch, 2026, 11, 27, 10, 2)
        assert outbox.deliver() == outcome(sent=1)
    [mail] = smtp.messages
    assert "To: proxy@bianmin.local" in mail
