"""The public side: the self-service lookup and its throttle, ratings from kiosk cases, the page of a
convenience card's QR code, notices (who may publish, what shows where, sanitising, conflicts), and
the API keys of kiosks in the directory and on the command line."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import DomainError, Forbidden, notices
from portal.domain.cases import intake, lifecycle
from portal.domain.credentials import apikeys
from portal.extensions import db
from portal.models import ApiKey, AuditEntry, CallbackRecord, Case, CaseStatus, Channel, Notice, Place, ServicePoint
from tests.stories import in_progress, log, signed


def place(code):
    return db.session.scalars(sa.select(Place).filter_by(code=code)).one()


def look(client, number, digits, **extra):
    return client.post("/lookup/", data={"number": number, "last_four": digits, **extra})


# --- the lookup ------------------------------------------------------------------------------------

def test_a_resident_follows_a_case_with_its_number_and_phone_digits(client, world):
    case = in_progress(world)
    lifecycle.add_note(case, world.proxy, "材料已收齐，明天出岛", public=True)
    lifecycle.add_note(case, world.proxy, "老人耳背，打电话要大声", public=False)
    response = look(client, case.number.lower(), "5678")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert case.number in page and "办理中" in page and "王**" in page and "139****5678" in page
    assert "材料已收齐，明天出岛" in page and "老人耳背" not in page  # the resident's timeline only
    assert "data-print" in page and clock.local(case.due_at).strftime("%Y-%m-%d") in page


def test_a_wrong_number_and_wrong_digits_get_the_same_answer(client, world):
    case = log(world)
    wrong_digits = look(client, case.number, "0000")
    no_case = look(client, "LS-20990101-0001", "5678")
    assert wrong_digits.status_code == no_case.status_code == 422
    message = "没有与该编号和电话后四位相符的工单"
    assert message in wrong_digits.get_data(as_text=True) and message in no_case.get_data(as_text=True)
    bad_format = look(client, "hello", "56")
    assert "请按回执单填写工单编号" in bad_format.get_data(as_text=True)


def test_guessing_the_digits_is_throttled_even_for_the_right_answer(client, world, app):
    case = log(world)
    for digits in ("0001", "0002", "0003", "0004", "0005"):
        assert look(client, case.number, digits).status_code == 422
    throttled = look(client, case.number, "5678")
    assert throttled.status_code == 429 and "错误次数过多" in throttled.get_data(as_text=True)
    other = log(world)
    assert look(client, other.number, "5678").status_code == 200  # another case is not locked


def test_one_address_guessing_many_cases_is_throttled(client, world, app):
    app.config["LOOKUP_ADDRESS_ATTEMPTS"] = 3
    case = log(world)
    for n in range(3):
        look(client, f"LS-20990101-000{n}", "1234")
    assert look(client, case.number, "5678").status_code == 429


@pytest.fixture
def kiosk_case(world):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    case = intake.log_case(None, world.plain_errand, Channel.KIOSK, "代购药品", "王大爷", "13912345678",
                           household=world.household, point=point, actor_label="kiosk")
    lifecycle.claim(case, world.proxy)
    lifecycle.start(case, world.proxy)
    lifecycle.resolve(case, world.proxy, "药已送到")
    return case


def test_a_kiosk_case_is_rated_once_on_the_lookup(client, kiosk_case):
    page = look(client, kiosk_case.number, "5678").get_data(as_text=True)
    assert "评价我们的服务" in page
    rating = {"number": kiosk_case.number, "last_four": "5678", "outcome": "solved", "satisfaction": "satisfied",
              "comment": "很方便"}
    missing = client.post("/lookup/rate", data={**rating, "satisfaction": ""})
    assert missing.status_code == 422 and "请选择满意度" in missing.get_data(as_text=True)
    done = client.post("/lookup/rate", data=rating)
    assert done.status_code == 200 and "感谢您对我们服务的评价" in done.get_data(as_text=True)
    db.session.refresh(kiosk_case)
    assert kiosk_case.status is CaseStatus.CLOSED and kiosk_case.rated_by_resident
    record = db.session.scalars(sa.select(CallbackRecord).filter_by(case_id=kiosk_case.id)).one()
    assert record.comment == "很方便"
    again = client.post("/lookup/rate", data=rating)
    assert again.status_code == 422 and "此工单已办结并已评价" in again.get_data(as_text=True)


def test_a_rating_needs_the_right_digits(client, kiosk_case):
    response = client.post("/lookup/rate", data={"number": kiosk_case.number, "last_four": "0000",
                                                 "outcome": "solved", "satisfaction": "satisfied"})
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CallbackRecord)) == 0


def test_a_counter_case_is_rated_by_the_callback_not_on_the_lookup(client, world):
    case = in_progress(world, item=world.plain_errand)
    lifecycle.resolve(case, world.proxy, "办好了")
    page = look(client, case.number, "5678").get_data(as_text=True)
    # The result SMS carries the link to answer until answer_until; the call comes only if they do not answer by then.
    until = clock.local(db.session.get(Case, case.id).answer_until).strftime("%Y-%m-%d %H:%M")
    assert "评价我们的服务" not in page and f"我们已通过短信发送链接，请在 {until} 前告诉我们办理情况" in page
    assert "届时仍未答复的，服务点将致电回访" in page


def test_the_lookup_of_a_resolved_case_whose_answer_time_ran_out_says_the_service_point_calls(client, world):
    case = in_progress(world, item=world.plain_errand)
    lifecycle.resolve(case, world.proxy, "办好了")
    case = db.session.get(Case, case.id)
    case.answer_until = clock.now() - timedelta(minutes=1)
    db.session.commit()
    page = look(client, case.number, "5678").get_data(as_text=True)
    assert "服务点将电话回访" in page and "我们已通过短信发送链接" not in page


def test_the_page_of_a_cards_qr_code(client, district):
    response = client.get(f"/lookup/h/{district.flat.code}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert district.butler.display_name in page and "金色环海" in page
    assert "金色环海1号楼1单元101" not in page and "赵先生" not in page  # nothing about the household itself
    assert client.get("/lookup/h/NOPE").status_code == 404


# --- notices ------------------------------------------------------------------------------------------

def test_notices_show_where_and_when_they_are_for(client, world):
    today = clock.today()
    notices.publish(world.staff, "东岙停水通知", "明天 **8:00-12:00** 停水", world.h01, today, today + timedelta(days=2))
    notices.publish(world.lead, "全域通知", "春节服务安排", None, today, today)
    notices.publish(world.lead, "下周通知", "", None, today + timedelta(days=7), today + timedelta(days=8))
    h01 = client.get("/lookup/?place=H01").get_data(as_text=True)
    assert "东岙停水通知" in h01 and "<strong>8:00-12:00</strong>" in h01 and "全域通知" in h01
    assert "下周通知" not in h01
    h05 = client.get("/lookup/?place=H05").get_data(as_text=True)
    assert "东岙停水通知" not in h05 and "全域通知" in h05
    assert sorted(n.title for n in notices.for_user(world.proxy)) == ["东岙停水通知", "全域通知"]
    assert [n.title for n in notices.for_user(world.proxy_h02)] == ["全域通知"]


def test_a_village_notice_shows_in_its_hamlets(client, world):
    today = clock.today()
    notices.publish(world.lead, "东岙村通知", "", place("V1"), today, today)
    assert "东岙村通知" in client.get("/lookup/?place=H02").get_data(as_text=True)


def test_notice_bodies_keep_only_harmless_html(world):
    html = str(notices.html('<script>alert(1)</script><img src=x onerror=alert(2)>[link](javascript:alert(3)) '
                            '[away](https://example.org) [here](/lookup/) [call](tel:053286801008) '
                            '<b onclick="x()">b</b>'))
    assert "<script" not in html and "<img" not in html and "onerror" not in html and "onclick" not in html
    assert "javascript:" not in html and "example.org" not in html  # a kiosk's browser stays on the portal
    assert 'href="/lookup/"' in html and 'href="tel:053286801008"' in html and 'rel="noopener noreferrer"' in html


def test_staff_publish_only_for_their_places(world):
    today = clock.today()
    with pytest.raises(Forbidden):
        notices.publish(world.staff, "全域", "", None, today, today)
    with pytest.raises(Forbidden):
        notices.publish(world.staff, "沙嘴", "", world.h02, today, today)


def test_the_notice_form_explains_bad_input_in_chinese(client, auth, world):
    auth.login("staff-p01")
    response = client.post("/notices/new", data={"title": "", "place": "H01", "valid_from": "2026-12-05",
                                                 "valid_to": "2026-12-01"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "请填写公告标题" in page
    response = client.post("/notices/new", data={"title": "停水", "place": "H01", "valid_from": "2026-12-05",
                                                 "valid_to": "2026-12-01"})
    assert "结束日期不能早于开始日期" in response.get_data(as_text=True)
    response = client.post("/notices/new", data={"title": "停水", "place": "", "valid_from": "2026-12-01",
                                                 "valid_to": "2026-12-05"})
    assert "只有站长和领导可以面向全域发布" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0


def test_two_editors_of_one_notice_get_a_conflict_not_an_overwrite(client, auth, world):
    today = clock.today()
    notice = notices.publish(world.lead, "停电通知", "周三停电", world.h01, today, today + timedelta(days=1))
    auth.login("staff-p01")
    form = {"title": "停电通知（更正）", "body": "周四停电", "place": "H01", "valid_from": str(today),
            "valid_to": str(today + timedelta(days=1)), "version": str(notice.version)}
    notices.update(world.lead, notice, notice.version, "停电通知", "周三停电，8点开始", world.h01, today,
                   today + timedelta(days=1))
    response = client.post(f"/notices/{notice.id}/edit", data=form)
    assert response.status_code == 409 and "您的修改未保存" in response.get_data(as_text=True)
    db.session.refresh(notice)
    assert notice.body == "周三停电，8点开始"


def test_a_withdrawn_notice_leaves_the_kiosks(client, auth, world):
    today = clock.today()
    notice = notices.publish(world.staff, "临时通知", "", world.h01, today, today)
    auth.login("staff-p01")
    client.post(f"/notices/{notice.id}/withdraw")
    assert "临时通知" not in client.get("/lookup/?place=H01").get_data(as_text=True)
    assert client.get(f"/notices/{notice.id}").status_code == 404
    actions = db.session.scalars(sa.select(AuditEntry.action).filter_by(object_type="notices")).all()
    assert sorted(actions) == ["publish", "withdraw"]


def test_staff_see_their_notices_on_the_home_page(client, auth, world):
    notices.publish(world.staff, "东岙停水通知", "", world.h01, clock.today(), clock.today())
    auth.login("proxy-h01")
    assert "东岙停水通知" in client.get("/").get_data(as_text=True)


# --- API keys -----------------------------------------------------------------------------------------

def test_an_admin_makes_and_revokes_a_kiosk_key(client, auth, world):
    auth.login("root")
    response = client.post("/directory/api-keys/", data={"name": "kiosk-7", "point": "LS-P01", "channel": "kiosk"})
    page = response.get_data(as_text=True)
    secret = page.split('<code class="feed">')[1].split("</code>")[0]
    assert secret.startswith("p311_")
    key = db.session.scalars(sa.select(ApiKey).filter_by(name="kiosk-7")).one()
    assert key.key_hash != secret and secret not in client.get("/directory/api-keys/").get_data(as_text=True)
    assert apikeys.authenticate(secret).id == key.id
    duplicate = client.post("/directory/api-keys/", data={"name": "kiosk-7", "point": "LS-P01", "channel": "kiosk"})
    assert duplicate.status_code == 422 and "正在使用" in duplicate.get_data(as_text=True)
    client.post(f"/directory/api-keys/{key.id}/revoke")
    assert apikeys.authenticate(secret) is None
    auth.logout()
    auth.login("leader")
    assert client.get("/directory/api-keys/").status_code == 403


def test_the_api_key_command_prints_a_key_once(app, world):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["api-key", "create", "--point", "LS-P01", "--name", "kiosk-1"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert apikeys.authenticate(secret).service_point.code == "LS-P01"
    listing = runner.invoke(args=["api-key", "list"]).output
    assert "kiosk-1" in listing and secret not in listing
    assert runner.invoke(args=["api-key", "create", "--point", "NOPE", "--name", "x"]).exit_code != 0
    assert runner.invoke(args=["api-key", "revoke", "kiosk-1"]).exit_code == 0
    assert apikeys.authenticate(secret) is None


def test_a_key_only_logs_as_a_kiosk_or_wechat(world):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    with pytest.raises(DomainError) as raised:
        apikeys.create(world.admin, point, "x", Channel.COUNTER)
    assert raised.value.field == "channel"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


def test_full_width_digits_from_a_phone_keyboard_work(client, world):
    case = log(world)
    assert look(client, case.number, "５６７８").status_code == 200


def test_a_right_answer_does_not_use_up_the_tries(client, world):
    case = log(world)
    for _ in range(8):
        assert look(client, case.number, "5678").status_code == 200


def test_the_lookup_page_is_never_cached_and_returns_to_the_start(client, world):
    case = in_progress(world)
    lifecycle.add_note(case, world.proxy, "请王大爷带身份证370211195001011236，电话13912345678", public=True)
    response = look(client, case.number, "5678", place="H01")
    page = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert 'http-equiv="refresh" content="120;url=/lookup/?place=H01"' in page
    assert "370211195001011236" not in page and "370211********1236" in page and "139****5678" in page


def test_a_kiosk_without_a_place_shows_the_districts_notices_only(client, world):
    today = clock.today()
    notices.publish(world.staff, "东岙停水通知", "", world.h01, today, today)
    notices.publish(world.lead, "全域通知", "", None, today, today)
    page = client.get("/lookup/").get_data(as_text=True)
    assert "全域通知" in page and "东岙停水通知" not in page
    assert "东岙停水通知" not in client.get("/lookup/?place=NOPE").get_data(as_text=True)


def test_a_withdrawn_notice_cannot_be_edited(world):
    today = clock.today()
    notice = notices.publish(world.lead, "临时", "", world.h01, today, today)
    notices.withdraw(world.lead, notice)
    with pytest.raises(DomainError):
        notices.update(world.lead, notice, notice.version, "改", "", world.h01, today, today)


def test_wrong_guesses_from_one_address_do_not_lock_the_resident_out(client, world, app):
    case = log(world)
    for digits in ("0001", "0002", "0003", "0004", "0005"):
        look(client, case.number, digits)
    assert look(client, case.number, "5678").status_code == 429
    at_home = app.test_client().post("/lookup/", data={"number": case.number, "last_four": "5678"},
                                     environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert at_home.status_code == 200 and case.number in at_home.get_data(as_text=True)


def test_the_lookup_timeline_names_nobody_in_full(client, world):
    from portal.domain import errands

    staff = world.staff
    case = log(world)
    lifecycle.assign(case, staff, world.proxy)
    errands.collect(case, world.proxy, [m.id for m in case.materials], "王大爷", signature=signed())
    page = look(client, case.number, "5678").get_data(as_text=True)
    assert staff.display_name not in page and world.proxy.display_name not in page and "王大爷" not in page
    assert "王**" in page
