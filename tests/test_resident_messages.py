"""What a resident is told by SMS is true and points where it should: a booked visit is told with its day and
half-day, never offered a booking; a booking link only when a half-day can be chosen; every link at the one public
address, never one a request named; and the public pages that links open refuse any malformed input with a 4xx."""
import re
from datetime import date

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.domain import visits
from portal.domain.cases import intake, links
from portal.extensions import db
from portal.models import AuditEntry, CaseStatus, Channel, MessageStatus, OutboxMessage, Slot
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


def test_a_visit_booked_and_moved_by_staff_tells_the_resident_each_time(home):
    case = stories.log_home(home)
    visit = visits.book(case, home.staff, date(2026, 11, 30), Slot.PM)
    visits.move(visit, home.lead, date(2026, 12, 1), Slot.AM)
    booked, moved = texts("visit")
    assert "已预约" in booked and "11-30 下午" in booked
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
