"""Messages through the transactional outbox (portal.domain.platform.outbox), delivered to real local servers: an
HTTP SMS gateway and an SMTP server started by the tests (tests/mailboxes.py), never mocks."""
import threading

import pytest
import sqlalchemy as sa

from portal.domain.cases import intake
from portal.domain.platform import notify, outbox, unit
from portal.extensions import db
from portal.models import Channel, MessageChannel, MessageStatus, OutboxMessage
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


def queue(n: int, prefix: str = "t") -> list[str]:
    keys = [f"{prefix}:{i}" for i in range(n)]
    for key in keys:
        outbox.enqueue("test", MessageChannel.SMS, "13800000000", f"消息 {key}", key)
    db.session.commit()
    return keys


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
        assert outbox.deliver() == {"sent": 5, "retry": 0, "dead": 0}
        assert outbox.deliver() == {"sent": 0, "retry": 0, "dead": 0}
    delivered = gateway.delivered()
    assert sorted(delivered) == sorted(keys) and all(len(v) == 1 for v in delivered.values())
    assert delivered["t:0"][0] == {"mobile": "13800000000", "content": "消息 t:0", "requestId": "t:0"}
    assert {m.status for m in messages()} == {MessageStatus.SENT}


def test_a_gateway_that_fails_refuses_or_hangs_loses_nothing(world, app, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    with SmsGateway(["fail", "refuse", "hang"], hang_seconds=1.5) as gateway:
        use(app, gateway, SMS_GATEWAY_TIMEOUT=0.5)
        keys = queue(3)
        assert outbox.deliver() == {"sent": 0, "retry": 3, "dead": 0}
        waiting = messages()
        assert [m.status for m in waiting] == [MessageStatus.PENDING] * 3 and all(m.attempts == 1 for m in waiting)
        assert [m.last_error.split(":")[0] for m in waiting] == ["HTTP 503", "refused", "no answer"]
        assert outbox.deliver()["sent"] == 0  # backing off: tried again after a minute, not at once
        at(monkeypatch, 2026, 11, 27, 10, 2)
        assert outbox.deliver() == {"sent": 3, "retry": 0, "dead": 0}
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
    assert [m.status for m in messages(kind="receipt")] == [MessageStatus.DEAD]  # what waited is not sent
    log(world)
    assert len(messages(kind="receipt")) == 1  # and nothing new is written


def test_a_clerk_stops_messages_when_the_resident_asks(world, client, auth, monkeypatch):
    from portal.models import AuditEntry, CaseEvent, EventKind

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

    from portal.domain.cases import lifecycle
    from portal.domain.features import visits
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
    [reminder] = messages(kind="visit")
    assert "11-30 上午" in reminder.text and visit_case.number in reminder.text


def test_administrators_see_messages_in_trouble_and_send_a_given_up_one_again(world, app, client, auth,
                                                                                 monkeypatch):
    from portal.models import AuditEntry

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
