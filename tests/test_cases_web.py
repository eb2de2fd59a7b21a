"""Intake, queues and the case page through HTTP, as staff and proxies use them."""
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, Case, CaseStatus, Place, Priority, Role, ServiceItem, ServicePoint
from tests.query_count import counting_queries


@pytest.fixture
def desk(app, make, auth):
    """The directory, a staff member of the post of 东岙 signed in, a proxy, and a registered household."""
    make.directory()
    h01, point = make.get(Place, code="H01"), make.get(ServicePoint, code="LS-P01")
    staff = make.user(Role.STAFF, username="wang", display_name="王芳", service_point_id=point.id, places=[h01])
    proxy = make.user(Role.PROXY, username="dang", display_name="党员李", places=[h01])
    household = make.household(h01, address="东岙8号", phone="13912345678", residents=("王大爷", "王大娘"),
                               elderly_alone=True)
    auth.login("wang")
    return staff, proxy, household


def _log(client, household, **override):
    data = {"requester_phone": "139 1234 5678", "household_id": household.id, "requester_name": "王大爷",
            "item_query": "dbsq", "channel": "counter", "description": "申请低保，材料齐全"}
    data.update(override)
    return client.post("/intake/", data=data)


def _count(app, model=Case):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- intake --------------------------------------------------------------------------------------

def test_item_search_finds_by_pinyin_initials_code_and_name(client, desk):
    for query in ("dbsq", "CA01", "低保", "最低生活"):
        html = client.get("/intake/items", query_string={"item_query": query}, headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "最低生活保障申请" in html, query
        assert "<html" not in html


def test_caller_lookup_shows_the_household_and_its_recent_cases(app, client, desk):
    staff, proxy, household = desk
    _log(client, household)
    html = client.get("/intake/caller", query_string={"requester_phone": "139-1234-5678"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "东岙8号" in html and "王大娘" in html and "独居老人" in html
    assert "该号码近期工单" in html and "最低生活保障申请" in html


def test_caller_lookup_finds_households_by_either_phone_or_a_residents_phone(app, client, desk, make):
    staff, proxy, household = desk
    h01 = make.get(Place, code="H01")
    second = make.household(h01, address="东岙9号", phone="13800000001", residents=("李四",))
    gone = make.household(h01, address="东岙10号", phone="13700000002", residents=("搬走了",))
    with app.app_context():
        from portal.models import Household, Resident

        db.session.get(Household, second.id).phone2 = "13700000002"
        db.session.scalars(sa.select(Resident).filter_by(household_id=second.id)).one().phone = "13600000003"
        db.session.get(Household, gone.id).active = False
        db.session.commit()
    for phone in ("13800000001", "13700000002", "13600000003"):
        html = client.get("/intake/caller", query_string={"requester_phone": phone},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "东岙9号" in html, phone
        assert "东岙10号" not in html  # a household no longer active is not offered
    for n in range(7):
        make.household(h01, address=f"东岙{20 + n}号", phone="13500000005", residents=(f"住户{n}",))
    html = client.get("/intake/caller", query_string={"requester_phone": "13500000005"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert sum(f"东岙{20 + n}号" in html for n in range(7)) == 5  # the first five


def test_logging_a_case_gives_its_number_due_time_and_receipt(app, client, desk):
    staff, proxy, household = desk
    response = _log(client, household)
    assert response.status_code == 303
    number = re.search(r"/cases/([A-Z]+-\d{8}-\d{4})", response.headers["Location"]).group(1)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"工单 {number} 已登记" in page and "打印回执" in page and "办理时限" in page
    receipt = client.get(f"/cases/{number}/receipt").get_data(as_text=True)
    for text in (number, "身份证", "户口簿", "家庭收入证明", "预计办结日期", "东岙便民驿站", "139****5678"):
        assert text in receipt
    assert "https://bianmin.test/lookup/</strong>" in receipt and "<svg" in receipt  # where to look it up, and a QR
    app.config["PUBLIC_BASE_URL"] = ""  # no public address: no QR to nowhere, and where else to look it up
    bare = client.get(f"/cases/{number}/receipt").get_data(as_text=True)
    assert "<svg" not in bare and "/lookup/" not in bare and "可在任一便民驿站的自助机查询" in bare
    prefilled = client.get(f"/lookup/?number={number}").get_data(as_text=True)
    assert f'value="{number}"' in prefilled
    with app.app_context():
        case = db.session.scalars(sa.select(Case).filter_by(number=number)).one()
        assert case.place.code == "H01" and case.household_id == household.id and case.requester_phone == "13912345678"


def test_log_and_finish_a_counter_item_in_one_go(app, client, desk):
    staff, proxy, household = desk
    response = _log(client, household, item_query="CV01", description="开具居住证明", finish="1")
    assert response.status_code == 303
    assert "已登记并当场办结" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        case = db.session.scalars(sa.select(Case)).one()
        assert case.status is CaseStatus.RESOLVED and case.owner_id == staff.id


@pytest.mark.parametrize(("override", "field", "message"), [
    ({"description": ""}, "description", "请填写居民的诉求。"),
    ({"description": "长" * 20_000}, "description", "最多 2000 个字符。"),
    ({"requester_phone": "1391234"}, "requester_phone", "请填写 11 位手机号"),
    ({"item_query": "zzzz"}, "item_query", "请从列表中选择服务事项。"),
])
def test_bad_intake_input_is_explained_next_to_the_field_and_saves_nothing(app, client, desk, override, field, message):
    staff, proxy, household = desk
    response = _log(client, household, **override)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in html
    assert _count(app) == 0


def test_an_empty_intake_says_everything_missing_at_once(app, client, desk):
    html = client.post("/intake/", data={"requester_phone": "", "item_query": "", "description": ""}).get_data(as_text=True)
    for field, message in (("requester_phone", "请填写来电人电话。"), ("description", "请填写居民的诉求。"),
                           ("item_query", "请从列表中选择服务事项。")):
        assert f'id="{field}-error">{message}' in html, field
    assert _count(app) == 0


def test_an_intake_form_sent_in_gbk_is_refused_and_nothing_is_saved(app, client, desk):
    from urllib.parse import quote_from_bytes

    csrf_free = "requester_phone=13912345678&item_query=CV01&channel=counter&description="
    body = csrf_free + quote_from_bytes("开具居住证明".encode("gbk"))
    response = client.post("/intake/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "UTF-8" in response.get_data(as_text=True)
    assert _count(app) == 0
    utf8 = client.post("/intake/", data=csrf_free + "%E5%BC%80%E5%85%B7", content_type="application/x-www-form-urlencoded")
    assert utf8.status_code != 400  # percent-encoded UTF-8 is read as ever


def test_ambiguous_item_query_without_javascript_offers_the_matches(client, desk):
    staff, proxy, household = desk
    html = _log(client, household, item_query="申请").get_data(as_text=True)
    assert 'name="item_id"' in html and "最低生活保障申请" in html and "临时救助申请" in html


def test_proxies_cannot_log_cases(client, auth, desk):
    auth.logout()
    auth.login("dang")
    assert client.get("/intake/").status_code == 403


# --- queues --------------------------------------------------------------------------------------

def test_queue_tabs_show_counts_and_the_claim_button(app, client, auth, desk, make):
    staff, proxy, household = desk
    for _ in range(3):
        _log(client, household)
    auth.logout()
    auth.login("dang")
    html = client.get("/cases/?tab=claimable").get_data(as_text=True)
    assert re.search(r"待签收\s*<span class=\"count\">3</span>", html)
    assert html.count(">签收</button>") == 3


def test_the_all_list_counts_up_to_a_cap_and_shows_the_newest_first(app, client, auth, desk, make, monkeypatch):
    from datetime import timedelta

    from portal import clock
    from portal.domain.cases import queues

    staff, proxy, household = desk
    item, place = make.get(ServiceItem, code="CV01"), make.get(Place, code="H01")
    point = make.get(ServicePoint, code="LS-P01")
    make.user(Role.LEAD, username="lead")
    now = clock.now()
    make.cases(1, item, place, point, status=CaseStatus.CLOSED, created_at=now - timedelta(days=1),
               requester_name="昨天的紧急件", priority=Priority.URGENT)
    make.cases(6, item, place, point, status=CaseStatus.CLOSED, created_at=now)
    auth.logout()
    auth.login("lead")
    html = client.get("/cases/?tab=all").get_data(as_text=True)
    assert "7 件" in html or "7 cases" in html
    assert not re.search(r"全部\s*<span class=\"count\">", html)  # "all" is not a to-do list: no badge
    rows = re.findall(r"居民\d+|昨天的紧急件", html)
    assert rows[-1] == "昨天的紧急件"  # newest first: an old urgent case does not jump the list
    monkeypatch.setattr(queues, "COUNT_CAP", 5)
    html = client.get("/cases/?tab=all").get_data(as_text=True)
    assert "超过 5 件" in html and "7 件" not in html


def test_queue_filters_live_in_the_url_and_htmx_gets_only_the_list(client, desk):
    staff, proxy, household = desk
    _log(client, household)
    _log(client, household, item_query="CV01", description="开具证明")
    url = "/cases/?tab=point&q=%E8%AF%81%E6%98%8E&category=%E4%BE%BF%E6%B0%91%E6%9C%8D%E5%8A%A1"
    full = client.get(url).get_data(as_text=True)
    assert "<html" in full and "证明材料开具" in full and "最低生活保障申请" not in full
    assert 'value="证明"' in full  # the search box keeps the query
    part = client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in part and 'id="queue"' in part and "证明材料开具" in part


def test_search_finds_a_case_by_number_and_by_phone(app, client, desk):
    staff, proxy, household = desk
    number = _log(client, household).headers["Location"].split("/")[2].split("?")[0]
    for query in (number, "13912345678", "5678"):
        html = client.get("/cases/", query_string={"tab": "point", "q": query}).get_data(as_text=True)
        assert number in html, query


def test_bad_date_filter_is_explained(client, desk):
    html = client.get("/cases/?tab=point&date_from=2026-13-40").get_data(as_text=True)
    assert "请按 2026-11-28 的格式填写日期。" in html


@pytest.mark.parametrize("path", ["/cases/?tab=point", "/cases/?tab=point&sort=due&q=居民", "CASE"])
def test_queue_and_case_pages_use_the_same_number_of_queries_for_10_and_500_cases(app, client, desk, make, path):
    staff, proxy, household = desk
    item, h01 = make.get(ServiceItem, code="CA01"), make.get(Place, code="H01")
    point = make.get(ServicePoint, code="LS-P01")

    def measure():
        target = path
        if path == "CASE":
            with app.app_context():
                target = "/cases/" + db.session.scalar(sa.select(Case.number).order_by(Case.id.desc()).limit(1))
        client.get(target)  # warm: the worker loads the directory it keeps once
        with counting_queries(app) as statements:
            assert client.get(target).status_code == 200
        return len(statements)

    make.cases(10, item, h01, point)
    few = measure()
    make.cases(490, item, h01, point)
    many = measure()
    assert few == many


# --- the case page -------------------------------------------------------------------------------

def test_case_page_offers_only_the_actions_the_user_may_take(client, auth, desk):
    staff, proxy, household = desk
    number = _log(client, household).headers["Location"].split("/")[2].split("?")[0]
    as_staff = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "转办" in as_staff and "取消" in as_staff
    assert ">办结</button>" not in as_staff
    auth.logout()
    auth.login("dang")
    as_proxy = client.get(f"/cases/{number}").get_data(as_text=True)
    assert ">签收</button>" in as_proxy and "转办" not in as_proxy


def test_proxy_claims_works_and_resolves_through_the_pages(app, client, auth, desk):
    staff, proxy, household = desk
    number = _log(client, household, item_query="CV05", description="代购降压药").headers["Location"].split("/")[2].split("?")[0]
    auth.logout()
    auth.login("dang")

    def case():
        with app.app_context():
            return db.session.scalars(sa.select(Case).filter_by(number=number).options(
                sa.orm.selectinload(Case.materials))).one()

    assert client.post(f"/cases/{number}/act/claim", data={"claim-version": case().version}).status_code == 303
    assert client.post(f"/cases/{number}/act/start", data={"start-version": case().version}).status_code == 303
    # An errand is resolved on the errand page, where its documents go back to the resident.
    assert client.post(f"/cases/{number}/act/resolve", data={"resolve-version": case().version,
                                                            "resolve-note": "x"}).status_code == 404
    ids = [m.id for m in case().materials]
    from tests.test_errands_web import DRAWN  # a signature drawn on the screen

    assert client.post(f"/errands/{number}/collect", data={"materials": ids, "confirmed_by": "王大爷",
                                                           "signature": DRAWN}).status_code == 303
    refused = client.post(f"/errands/{number}/deliver", data={"note": "", "confirmed_by": "王大爷", "signature": DRAWN})
    assert refused.status_code == 422 and "请填写办理情况，居民可以看到。" in refused.get_data(as_text=True)
    done = client.post(f"/errands/{number}/deliver", data={"note": "药已送到", "confirmed_by": "王大爷",
                                                          "signature": DRAWN})
    assert done.status_code == 303
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert "已办结" in page and "药已送到" in page
    assert case().trip_saved


def test_a_transition_not_allowed_now_is_explained_and_changes_nothing(app, client, desk):
    staff, proxy, household = desk
    number = _log(client, household).headers["Location"].split("/")[2].split("?")[0]
    with app.app_context():
        version = db.session.scalars(sa.select(Case.version).filter_by(number=number)).one()
    response = client.post(f"/cases/{number}/act/reopen", data={"reopen-version": version, "reopen-reason": "再办"})
    assert response.status_code == 422
    assert "此工单状态为“已登记”，现在不能“重新办理”。" in response.get_data(as_text=True)


def test_claim_from_the_queue_row_answers_with_the_row_or_says_who_was_first(app, client, auth, desk, make):
    staff, proxy, household = desk
    number = _log(client, household).headers["Location"].split("/")[2].split("?")[0]
    with app.app_context():
        version = db.session.scalars(sa.select(Case.version).filter_by(number=number)).one()
    auth.logout()
    auth.login("dang")
    row = client.post(f"/cases/{number}/act/claim", data={"claim-version": version, "row": "claimable"},
                      headers={"HX-Request": "true"})
    html = row.get_data(as_text=True)
    assert row.status_code == 200 and html.strip().startswith("<tr") and "已签收" in html
    assert row.headers["HX-Trigger"] == "cases-changed"  # the tab counts and the badge follow
    tabs = client.get("/cases/?tab=claimable", headers={"HX-Request": "true", "HX-Target": "queue-tabs"})
    tabs_html = tabs.get_data(as_text=True)
    assert tabs_html.strip().startswith('<nav class="tabs" id="queue-tabs"') and "<form" not in tabs_html
    assert re.search(r"待签收 <span class=\"count\">0</span>", tabs_html)
    assert re.search(r"我的 <span class=\"count\">1</span>", tabs_html)
    other = make.user(Role.PROXY, username="dang2", places=[make.get(Place, code="H01")])
    late = app.test_client()
    late.post("/auth/login", data={"username": other.username, "password": "correct-horse-7"})
    lost = late.post(f"/cases/{number}/act/claim", data={"claim-version": version, "row": "claimable"},
                     headers={"HX-Request": "true"})
    assert lost.status_code == 409 and "党员李 已签收此工单" in lost.get_data(as_text=True)


def test_someone_elses_case_answers_404_and_the_refusal_is_audited(app, client, auth, desk, make):
    staff, proxy, household = desk
    number = _log(client, household).headers["Location"].split("/")[2].split("?")[0]
    make.user(Role.PROXY, username="far", places=[make.get(Place, code="H09")])
    auth.logout()
    auth.login("far")
    assert client.get(f"/cases/{number}").status_code == 404
    with app.app_context():
        denied = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "denied")).all()
        assert [(d.object_type, d.reason) for d in denied] == [("cases", "read")]


def test_notes_and_canned_replies(app, client, desk):
    from portal.models import CannedReply

    staff, proxy, household = desk
    number = _log(client, household).headers["Location"].split("/")[2].split("?")[0]
    with app.app_context():
        reply = CannedReply(text="已电话告知居民所需材料")
        db.session.add(reply)
        db.session.commit()
        reply_id = reply.id
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert f"/canned/{reply_id}" in page
    filled = client.get(f"/cases/{number}/canned/{reply_id}", query_string={"field": "note", "target": "note", "note": "您好"},
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert filled.startswith("<textarea") and "您好\n已电话告知居民所需材料" in filled
    assert client.post(f"/cases/{number}/notes", data={"note": "内部：居民行动不便"}).status_code == 303
    assert client.post(f"/cases/{number}/notes", data={"note": "已安排党员上门", "public": "y"}).status_code == 303
    public = client.get(f"/cases/{number}?timeline=public").get_data(as_text=True)
    assert "已安排党员上门" in public and "内部：居民行动不便" not in public


def test_who_else_is_viewing_the_case(app, client, desk):
    staff, proxy, household = desk
    number = _log(client, household).headers["Location"].split("/")[2].split("?")[0]
    other = app.test_client()
    other.post("/auth/login", data={"username": "dang", "password": "correct-horse-7"})
    other.post(f"/cases/{number}/presence")
    html = client.post(f"/cases/{number}/presence").get_data(as_text=True)
    assert "正在同时查看：党员李" in html


def test_badge_counts_waiting_cases_and_answers_304_when_unchanged(client, auth, desk):
    staff, proxy, household = desk
    _log(client, household)
    _log(client, household)
    auth.logout()
    auth.login("dang")
    first = client.get("/cases/badge")
    assert ">2<" in first.get_data(as_text=True)
    etag = first.headers["ETag"]
    again = client.get("/cases/badge", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""


def test_searching_swaps_the_results_and_leaves_the_form_where_the_cursor_is(client, desk):
    staff, proxy, household = desk
    _log(client, household)
    results = client.get("/cases/?tab=point&q=王大爷", headers={"HX-Request": "true", "HX-Target": "queue-results"})
    html = results.get_data(as_text=True)
    assert html.strip().startswith('<div id="queue-results">') and "王大爷" in html
    assert "<form" not in html and 'id="queue-q"' not in html
    whole = client.get("/cases/?tab=point", headers={"HX-Request": "true", "HX-Target": "queue"}).get_data(as_text=True)
    assert 'id="queue-q"' in whole and 'id="queue-results"' in whole and 'id="queue-tabs"' in whole


def test_the_badge_links_the_work_to_the_queue_and_the_reminders_to_the_reminders(client, auth, desk):
    staff, proxy, household = desk
    _log(client, household)
    auth.logout()
    auth.login("dang")
    html = client.get("/cases/badge").get_data(as_text=True)
    assert re.search(r'href="/cases/\?tab=claimable">待办 <span class="count"[^>]*>1</span></a>', html)
    assert 'href="/notifications">提醒</a>' in html


def test_a_leads_badge_counts_what_is_given_to_them_not_the_whole_pool(client, auth, desk, make):
    staff, proxy, household = desk
    _log(client, household)
    make.user(Role.LEAD, username="boss")
    auth.logout()
    auth.login("boss")
    assert "count" not in client.get("/cases/badge").get_data(as_text=True)
    assert client.get("/cases/?tab=claimable").status_code == 200


def test_the_clerks_home_shows_the_work_waiting_and_the_menu_starts_with_intake(client, desk):
    staff, proxy, household = desk
    _log(client, household)
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'href="/cases/\?tab=claimable" class="has-work">\s*<strong>1</strong><span>待签收</span>', html)
    menu = re.findall(r'<nav class="nav"[^>]*>(.*?)</nav>', html, re.S)[0]
    assert re.findall(r">([^<]+)</a>", menu)[:3] == ["首页", "登记事项", "工单"]


def test_queue_links_keep_the_page_and_the_order_chosen():
    from portal.domain.cases.queues import Filters

    assert Filters(page=3, sort="due", q="王").as_args() == {"q": "王", "sort": "due", "page": 3}
    assert Filters(page=3, sort="new").as_args(page=4) == {"sort": "new", "page": 4}  # "new" kept: "all" differs


def test_a_case_with_nobody_says_whether_it_waits_or_was_given_back(app):
    from types import SimpleNamespace

    from portal.models import CaseStatus

    with app.test_request_context():
        owner = app.jinja_env.from_string('{% from "_macros/cases.html" import owner %}{{ owner(case) }}')
        waiting = SimpleNamespace(owner=None, status=CaseStatus.LOGGED)
        returned = SimpleNamespace(owner=None, status=CaseStatus.RETURNED)
        assert owner.render(case=waiting) == "尚未签收"
        assert owner.render(case=returned) == "已退回，待重新分派"


def test_a_form_refused_while_another_writer_holds_sqlites_lock_is_answered_at_once(app, client, desk):
    """Only a unit of work takes SQLite's write lock: a writing view's own reads (the user, the form's place list)
    and its refusal need none, so they never wait for a writer outside the unit's retries."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    import sqlite3

    from portal import create_app
    from tests.conftest import Auth, config_for

    impatient = create_app(config_for(url, SQLITE_BUSY_TIMEOUT_MS=200))  # the same database, a short busy timeout
    clerk = impatient.test_client()
    Auth(clerk).login("wang")
    holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer, in the middle of a long change
    try:
        response = _log(clerk, desk[2], requester_phone="", description="")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        with impatient.app_context():
            db.engine.dispose()
    assert response.status_code == 422
    assert 'id="description-error">请填写居民的诉求。' in response.get_data(as_text=True)
    assert _count(app) == 0


def test_a_phrase_is_offered_under_the_action_it_is_written_for(app, client, desk):
    from portal.models import CannedReply

    staff, proxy, household = desk
    number = _log(client, household).headers["Location"].split("/")[2].split("?")[0]
    with app.app_context():
        back = CannedReply(text="不属于本站办理范围，请改派", action="return_case")
        done = CannedReply(text="已办结，结果已告知居民", action="resolve")
        db.session.add_all([back, done])
        db.session.commit()
        back_id, done_id = back.id, done.id
    page = client.get(f"/cases/{number}").get_data(as_text=True)
    assert f"/canned/{back_id}?field=return_case-" in page  # under 退回's reason
    assert f"/canned/{done_id}?field=return_case-" not in page and f"/canned/{back_id}?field=note" not in page
    assert client.get(f"/cases/{number}/canned/{done_id}", query_string={"field": "note", "target": "note"},
                      headers={"HX-Request": "true"}).status_code == 404  # not a note's phrase
