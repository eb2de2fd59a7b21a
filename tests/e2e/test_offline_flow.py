"""Offline work in a real Chromium (portal/offline, static/portal.js, portal/web/replay.py): a post clerk, a proxy
and a team member work with the network switched off, reload, close and open the browser again, and when
the link returns every action arrives exactly once, on the timeline (with when it was done) and on the boards;
a replay that meets a change made meanwhile says so beside the item; an ended session keeps the outbox until
the user signs in again, and a session ended on another device makes the phone forget its kept pages, as a page
kept longer than a week is forgotten. Each device keeps its own browser profile, as a phone or an office PC does."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain.cases import intake, lifecycle
from portal.domain.platform import accounts
from portal.extensions import db
from portal.models import (
    CallbackRecord,
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    Household,
    MaterialHandover,
    Place,
    ServiceItem,
    Slot,
    Team,
    User,
    Visit,
    VisitStatus,
)
from portal.web import replay
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, OFFICE, PHONE
from tests.e2e.test_errands_flow import _sign

pytestmark = pytest.mark.e2e

# What a browser says when it has no network (here, around the moments the link goes down and comes back).
OFFLINE_NOISE = re.compile(r"ERR_INTERNET_DISCONNECTED|Failed to fetch|ERR_FAILED|status of 503|^htmx:")


class Device:
    """A phone or PC with its own browser profile (IndexedDB, Cache Storage, the service worker), closed and
    opened again by ``restart``; every CSP violation or script error it reports is a problem."""

    def __init__(self, browser, base_url: str, profile, viewport=PHONE):
        self.browser_type = browser.browser_type
        self.base_url, self.profile, self.viewport = base_url, profile, viewport
        self.problems: list[str] = []
        self.start()

    def start(self):
        self.context = self.browser_type.launch_persistent_context(
            str(self.profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, base_url=self.base_url,
            viewport=self.viewport, locale="zh-CN", service_workers="allow")
        self.context.on("console", self._console)
        self.context.on("weberror", lambda error: self.problems.append(f"page error: {error.error}"))
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"CSP: {text}")
        elif message.type == "error" and not OFFLINE_NOISE.search(text) \
                and not re.search(r"status of (401|409|422)", text):
            self.problems.append(f"console {message.type}: {text}")

    def sign_in(self, username: str):
        page = self.page
        page.goto("/auth/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", "demo2026")
        page.click("#login-form button[type=submit]")
        page.wait_for_url(f"{self.base_url}/")

    def turn_offline_work_on(self):
        page = self.page
        page.goto("/offline/")
        page.click("[data-offline-on]")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.wait_for_selector("#offline-status:has-text('已保存')")

    def link(self, up: bool):
        self.context.set_offline(not up)

    def restart(self):
        """Close the browser and open it again (the link still down): what it kept is still there; the session
        cookie is not (the user signs in again once the link is back)."""
        self.context.close()
        self.start()
        self.link(False)

    def banner(self, text: str) -> None:
        """Wait for the outbox's banner to say ``text`` (it is filled in from the browser's store)."""
        self.page.wait_for_selector(f"#offline-queue-banner:has-text('{text}')", timeout=45000)  # the 30 s round at worst

    def submit_and_keep(self, button: str):
        self.page.click(button)
        self.page.wait_for_url(re.compile(r".*/offline/\?kept=.*"))
        self.page.wait_for_selector("#offline-queue-kept:visible")

    def close(self):
        self.context.close()


@pytest.fixture
def devices(browser, live_server, tmp_path):
    made: list[Device] = []

    def device(name: str, viewport=PHONE) -> Device:
        made.append(Device(browser, live_server.url, tmp_path / name, viewport))
        return made[-1]

    yield device
    problems = [p for d in made for p in d.problems]
    for d in made:
        d.close()
    assert problems == []


def _user(username: str) -> User:
    return db.session.scalars(sa.select(User).filter_by(username=username)).one()


def _household(code: str = "H01") -> Household:
    return db.session.scalars(sa.select(Household).join(Place).where(Place.code == code).limit(1)).one()


def _log(item_code: str, description: str, **details) -> Case:
    household = _household()
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code=item_code)).one()
    return intake.log_case(_user("staff-ls-p01"), item, Channel.PHONE, description, household.residents[0].name,
                           household.phone, household=household, resident=household.residents[0], **details)


def _events(number: str, kind: EventKind) -> list[CaseEvent]:
    db.session.expire_all()
    return db.session.scalars(sa.select(CaseEvent).join(Case).where(Case.number == number, CaseEvent.kind == kind)).all()


def _kpi(page, label: str) -> int:
    return int(page.locator(f".kpi:has(.kpi-label:text-is('{label}')) strong").first.inner_text())


def _kept(page, url: str) -> bool:
    return page.evaluate("url => caches.open('portal-pages').then(c => c.match(url, {ignoreVary: true}))"
                         ".then(hit => !!hit)", url)


def _wait_kept(page, url: str, kept: bool = True, seconds: float = 15) -> None:
    """Wait until the device keeps a copy of ``url``, or none (wait_for_function would take the promise that the
    page's caches answer with for a truthy value, and not wait)."""
    for _ in range(int(seconds * 5)):
        if _kept(page, url) is kept:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"{url} is {'not' if kept else 'still'} kept")


def _forgotten(page, url: str) -> None:
    _wait_kept(page, url, kept=False)


def test_a_post_clerk_logs_a_case_notes_and_records_a_callback_offline_and_each_arrives_once(devices, live_server):
    with live_server.app.app_context():
        open_case = _log("CV01", "居民咨询社保转移，等待材料").number
        called = _log("CV01", "开具居住证明", finish_on_spot=True)
        called.answer_until = clock.now() - timedelta(minutes=1)  # the resident's link ran out: the clerk calls
        db.session.commit()
        called = called.number
    pc = devices("post-pc", OFFICE)
    pc.sign_in("staff-ls-p01")
    pc.turn_offline_work_on()
    page = pc.page
    page.goto("/boards/place/H01")
    logged_before = _kpi(page, "今日受理")
    for number in (open_case, called):
        page.goto(f"/cases/{number}")  # opened while the link is up: kept
    page.goto("/intake/")

    pc.link(False)
    page.goto("/intake/")
    assert "离线副本" in page.locator("#offline-copy").inner_text()
    page.click("form.lang button")  # a form that cannot wait (no key): said so, nothing kept
    page.wait_for_selector("#offline-copy:has-text('此表单需要联网，未保存')")
    page.goto("/intake/")
    page.fill("input[name=requester_phone]", "13812340000")
    page.fill("input[name=requester_name]", "离线登记的居民")
    page.fill("input[name=item_query]", "CV01")
    page.fill("textarea[name=description]", "断网时登记：开具证明")
    page.select_option("select[name=place_id]", page.locator("select[name=place_id] option", has_text="H01")
                       .get_attribute("value"))
    pc.submit_and_keep("form.intake button.primary")
    pc.banner("1 条待上传")

    page.goto(f"/cases/{open_case}")
    page.fill("textarea[name=note]", "断网时记下：居民下午来补材料")
    pc.submit_and_keep("button:has-text('添加备注')")
    page.goto(f"/cases/{called}")  # the first call is not answered; the second is: two steps on one page
    page.click("summary:has-text('回访未接通')")
    pc.submit_and_keep("form[action$='/act/no_answer'] button[type=submit]")
    page.goto(f"/cases/{called}")
    page.click("summary:has-text('登记回访')")
    page.check("input[name='close-outcome'][value=solved]")
    page.check("input[name='close-satisfaction'][value=satisfied]")
    pc.submit_and_keep("form[action$='/act/close'] button[type=submit]")
    pc.banner("4 条待上传")

    page.reload()
    pc.banner("4 条待上传")
    page.goto("/intake/")
    page.click("#offline-queue-banner summary")  # the banner lists them, on any page
    assert page.locator("#offline-queue-banner li.offline-queue-item").count() == 4
    assert f"备注 · {open_case}" in page.locator("#offline-queue-banner").inner_text()
    pc.restart()
    pc.page.goto("/offline/")
    pc.banner("4 条待上传")
    assert pc.page.locator("#offline-queue-items li.offline-queue-item").count() == 4

    lost = pc.page.evaluate("() => PortalOfflineQueue.all().then(items => items.find(i => i.label.startsWith('添加备注')"
                            " || i.fields.some(f => f[0] === 'note')))")
    pc.link(True)  # the online event tries to send them: the restart ended the session
    pc.banner("请重新登录后上传")
    pc.sign_in("staff-ls-p01")
    pc.banner("已上传 4 条")  # the callback counted the unanswered call before it as the clerk's own
    # The note arrived but, say, its answer was lost on the way back: the outbox holds it still and sends it
    # again. The server answers with the first result; nothing is saved twice.
    pc.page.evaluate("item => { delete item.seq; return PortalOfflineQueue.update(item); }", lost)
    pc.page.goto("/offline/")
    pc.banner("已上传 1 条")
    assert pc.page.locator("#offline-queue-items li.offline-queue-item").count() == 0

    with live_server.app.app_context():
        logged = db.session.scalars(sa.select(Case).where(Case.description == "断网时登记：开具证明")).all()
        assert len(logged) == 1
        assert [e.acted_at is not None for e in _events(logged[0].number, EventKind.LOGGED)] == [True]
        assert len(_events(open_case, EventKind.NOTE)) == 1
        case = db.session.scalars(sa.select(Case).filter_by(number=called)).one()
        assert case.status is CaseStatus.CLOSED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CallbackRecord)
                                 .where(CallbackRecord.case_id == case.id)) == 1
        new_number = logged[0].number
    pc.page.goto(f"/cases/{new_number}")
    assert "离线时操作于" in pc.page.locator(".timeline").inner_text()
    pc.page.goto("/boards/place/H01")
    assert _kpi(pc.page, "今日受理") == logged_before + 1

    # Signing out forgets the kept pages; the outbox's page is kept again at the next sign-in.
    pc.page.click("details.usermenu summary")
    pc.page.click("form[data-forget-offline] button")
    pc.page.wait_for_url(re.compile(".*/auth/login.*"))
    assert not _kept(pc.page, "/offline/")
    pc.sign_in("staff-ls-p01")
    _wait_kept(pc.page, "/offline/")
    pc.link(False)
    pc.page.goto(f"/cases/{open_case}")
    pc.page.wait_for_selector("#offline-copy:has-text('本设备没有保存这个页面')")


def test_a_proxy_hands_documents_over_offline_meets_a_change_made_meanwhile_and_signs_in_again(
        devices, live_server, monkeypatch):
    with live_server.app.app_context():
        proxy = _user("proxy-h01")
        numbers = []
        for text in ("高龄津贴申领", "残疾人补贴申领"):
            case = _log("CA04", text)
            lifecycle.claim(case, proxy)
            numbers.append(case.number)
    kept, cancelled = numbers
    phone = devices("proxy-phone")
    phone.sign_in("proxy-h01")
    phone.turn_offline_work_on()  # keeps the errands page and the proxy's errands on it
    phone.link(False)
    page = phone.page
    for number in numbers:
        page.goto(f"/errands/{number}")
        assert "离线副本" in page.locator("#offline-copy").inner_text()
        for box in page.locator("input[name=materials]").all():
            box.check()
        _sign(page, "form[action$='/collect']")  # the resident signs on the screen, offline too
        phone.submit_and_keep("button:has-text('已收到材料')")
    phone.banner("2 条待上传")
    page.goto(f"/errands/{kept}")  # the kept page says what waits for it, and no longer offers the form it used
    waiting = page.locator("[data-offline-pending]")
    waiting.wait_for()
    assert f"待发送：已收到材料 · {kept}（离线时记录于" in waiting.inner_text()
    assert not page.locator("button:has-text('已收到材料')").is_visible()
    # The same action kept again (a second submit of the same fields, with a key of its own) is the one waiting.
    assert page.evaluate("""() => PortalOfflineQueue.all().then(items => {
      const fields = new FormData();
      items[0].fields.forEach(([name, value]) => fields.append(name, name === 'offline_key' ? 'f'.repeat(32) : value));
      return PortalOfflineQueue.keep(items[0].url, fields)
        .then(item => PortalOfflineQueue.all().then(after => [after.length, item.key === items[0].key]));
    })""") == [2, True]
    with live_server.app.app_context():  # meanwhile, at the post, the second errand is withdrawn
        case = db.session.scalars(sa.select(Case).filter_by(number=cancelled)).one()
        lifecycle.cancel(case, _user("staff-ls-p01"), "居民已自行办理")
    page.reload()
    phone.banner("2 条待上传")
    phone.restart()
    phone.page.goto("/errands/")
    phone.banner("2 条待上传")
    later = clock.now() + timedelta(minutes=live_server.app.config["SESSION_IDLE_MINUTES"] + 1)
    monkeypatch.setattr(clock, "now", lambda: later)  # the boat took longer than the session lasts (and the
    # restart ended the session anyway)
    phone.link(True)  # the outbox tries at once: the session has ended, and it keeps both
    phone.banner("请重新登录后上传")
    with live_server.app.app_context():
        assert [_events(number, EventKind.MATERIALS) for number in numbers] == [[], []]

    phone.sign_in("proxy-h01")
    phone.page.goto("/offline/")
    phone.page.wait_for_selector("#offline-queue-items li.offline-queue-refused")
    refused = phone.page.locator("#offline-queue-items li.offline-queue-refused")
    assert refused.count() == 1 and cancelled in refused.inner_text()
    assert "已撤销" in refused.inner_text() and "打开案件" in refused.inner_text()
    assert refused.locator(f"a[href$='{cancelled}']").count() == 1
    refused.locator("summary:has-text('填写的内容')").click()  # what was typed, to enter it again if need be
    typed = refused.locator("details").inner_text()
    assert "交付人（居民姓名）" in typed and "confirmed_by" not in typed
    assert re.search(r"已收到材料：\D", typed), typed  # each document by its name, not its number
    phone.banner("1 条未能保存")
    with live_server.app.app_context():
        handed = db.session.scalars(sa.select(MaterialHandover).join(MaterialHandover.material)).all()
        assert {h.material.case.number for h in handed} & set(numbers) == {kept}
        received = _events(kept, EventKind.MATERIALS)
        assert len(received) == 1 and received[0].acted_at is not None
        assert _events(cancelled, EventKind.MATERIALS) == []
    phone.page.once("dialog", lambda dialog: dialog.accept())
    refused.locator("button:has-text('删除')").click()  # settled: the proxy discards it
    phone.page.wait_for_selector("#offline-queue-items li.empty")


def test_a_team_member_starts_and_finishes_a_visit_offline_and_the_case_is_resolved_once(devices, live_server,
                                                                                          monkeypatch):
    with live_server.app.app_context():
        case = _log("SS04", "养老金资格认证，老人卧床")
        team = db.session.scalars(sa.select(Team).filter_by(code="T1")).one()
        later = _log("SS04", "残疾人证年审，上门拍照")
        visit = Visit(case=case, household_id=case.household_id, team_id=team.id, day=clock.today(), slot=Slot.PM)
        db.session.add(visit)
        tomorrows = Visit(case=later, household_id=later.household_id, team_id=team.id,
                          day=clock.today() + timedelta(days=1), slot=Slot.AM)
        db.session.add(tomorrows)
        db.session.commit()
        visit_id, number, tomorrows_id = visit.id, case.number, tomorrows.id
    # The pages the phone keeps say the session ends in a minute: the visit, done later with no link, is after it.
    monkeypatch.setitem(live_server.app.jinja_env.globals, "session_deadline",
                        lambda: (clock.now() - timedelta(minutes=1)).isoformat())
    phone = devices("team-phone")
    phone.sign_in("team1-a")
    phone.turn_offline_work_on()  # keeps the visits page and today's and tomorrow's visits
    phone.page.goto("/boards/team/T1")
    resolved_before = _kpi(phone.page, "本期办结")

    phone.link(False)
    page = phone.page
    page.goto(f"/visits/{visit_id}")
    assert "离线副本" in page.locator("#offline-copy").inner_text()
    phone.submit_and_keep("button:has-text('开始上门')")
    page.goto("/visits/")  # the kept list says the start waits, and offers it no more
    card = page.locator(f"#visit-{visit_id}")
    card.locator("[data-offline-pending]").wait_for()
    assert "待发送：开始上门" in card.inner_text() and not card.locator("button:has-text('开始上门')").is_visible()
    page.goto(f"/visits/{visit_id}")
    page.fill("textarea[name=work_done]", "已上门完成养老金资格认证")
    page.fill("textarea[name=resident_confirmed]", "老人本人确认")
    phone.submit_and_keep("button:has-text('完成上门，工单办结')")
    phone.banner("2 条待确认")
    phone.page.reload()
    phone.banner("2 条待确认")
    # Tomorrow's visit was kept today; on the phone's tomorrow, still without a link, its forms are there.
    page.goto(f"/visits/{tomorrows_id}")
    assert not page.locator("button:has-text('开始上门')").is_visible()
    page.clock.set_fixed_time(clock.local(clock.now() + timedelta(days=1)).replace(hour=9, tzinfo=None))
    page.goto(f"/visits/{tomorrows_id}")
    assert "离线副本" in page.locator("#offline-copy").inner_text()
    assert page.locator("button:has-text('开始上门')").is_visible()
    phone.restart()
    phone.page.goto("/visits/")
    phone.banner("2 条待确认")
    phone.link(True)
    phone.sign_in("team1-a")
    phone.page.goto("/offline/")  # nothing went by itself: the member, signed in again, says they are theirs
    phone.banner("2 条待确认")
    with live_server.app.app_context():
        assert _events(number, EventKind.VISIT_STARTED) == []
    phone.page.click("[data-offline-queue-confirm-all]")
    phone.banner("已上传 2 条")

    with live_server.app.app_context():
        db.session.expire_all()
        assert db.session.get(Visit, visit_id).status is VisitStatus.DONE
        assert [len(_events(number, kind)) for kind in (EventKind.VISIT_STARTED, EventKind.RESOLVED)] == [1, 1]
        assert all(e.acted_at is not None for e in _events(number, EventKind.RESOLVED))
    phone.page.goto("/boards/team/T1")
    assert _kpi(phone.page, "本期办结") == resolved_before + 1


def _claimed_errand(text: str) -> str:
    case = _log("CA04", text)
    lifecycle.claim(case, _user("proxy-h01"))
    return case.number


def test_a_phone_forgets_its_kept_pages_when_its_session_is_ended_elsewhere_and_keeps_its_outbox(
        devices, live_server):
    with live_server.app.app_context():
        number = _claimed_errand("高龄津贴申领")
    phone = devices("proxy-phone")
    phone.sign_in("proxy-h01")
    phone.turn_offline_work_on()
    page = phone.page
    assert _kept(page, f"/errands/{number}")
    phone.link(False)
    page.goto(f"/errands/{number}")
    for box in page.locator("input[name=materials]").all():
        box.check()
    _sign(page, "form[action$='/collect']")  # the resident signs on the screen
    phone.submit_and_keep("button:has-text('已收到材料')")
    phone.banner("1 条待上传")
    with live_server.app.app_context():  # meanwhile the proxy signs out on the post's PC: every session ends
        accounts.logout(_user("proxy-h01"))

    phone.link(True)  # the phone's next contact: the outbox asks, is told the session ended, and forgets the pages
    phone.banner("请重新登录后上传")
    _forgotten(page, f"/errands/{number}")
    assert page.evaluate("() => PortalOfflineQueue.all().then(items => items.length)") == 1  # the outbox waits
    phone.sign_in("proxy-h01")
    phone.banner("已上传 1 条")
    with live_server.app.app_context():
        received = _events(number, EventKind.MATERIALS)
        assert len(received) == 1 and received[0].acted_at is not None
    phone.link(False)
    page.goto(f"/errands/{number}")  # not opened since: not kept
    page.wait_for_selector("#offline-copy:has-text('本设备没有保存这个页面')")


def test_a_kept_page_older_than_a_week_is_not_shown_and_any_page_after_an_ended_session_forgets_them(
        devices, live_server):
    with live_server.app.app_context():
        old, recent = _claimed_errand("高龄津贴申领"), _claimed_errand("残疾人补贴申领")
    phone = devices("proxy-phone")
    phone.sign_in("proxy-h01")
    phone.turn_offline_work_on()
    page = phone.page
    assert _kept(page, f"/errands/{old}") and _kept(page, f"/errands/{recent}")
    page.evaluate("""url => caches.open('portal-pages').then(cache => cache.match(url, {ignoreVary: true})
      .then(hit => hit.text().then(html => {
        const headers = new Headers(hit.headers);  // kept eight days ago
        headers.set('X-Offline-Fetched', new Date(Date.now() - 8 * 24 * 3600 * 1000).toISOString());
        return cache.put(url, new Response(html, {status: 200, headers: headers}));
      })))""", f"/errands/{old}")
    phone.link(False)
    page.goto(f"/errands/{recent}")
    assert "离线副本" in page.locator("#offline-copy").inner_text()
    page.goto(f"/errands/{old}")
    page.wait_for_selector("#offline-copy:has-text('本设备没有保存这个页面')")
    assert not _kept(page, f"/errands/{old}")

    phone.link(True)
    with live_server.app.app_context():  # an administrator ends the proxy's sessions
        accounts.end_sessions(_user("proxy-h01"), _user("admin"), "手机遗失")
        db.session.commit()
    page.goto("/errands/")  # the phone's next page: to sign in, and the kept pages go
    page.wait_for_url(re.compile(".*/auth/login.*"))
    _forgotten(page, f"/errands/{recent}")


def test_a_note_whose_answer_was_lost_does_not_make_the_next_step_a_conflict_with_oneself(devices, live_server):
    """On a kept case page a note then 开始办理 wait; the note reaches the server but its answer never comes back:
    sent again, it is answered as the first time, version included, and the start follows it."""
    with live_server.app.app_context():
        case = _log("CV01", "居民咨询社保转移，等待材料")
        lifecycle.claim(case, _user("staff-ls-p01"))
        number = case.number
    pc = devices("post-pc", OFFICE)
    pc.sign_in("staff-ls-p01")
    pc.turn_offline_work_on()
    page = pc.page
    page.goto(f"/cases/{number}")  # kept
    pc.link(False)
    page.goto(f"/cases/{number}")
    page.fill("textarea[name=note]", "断网时记下：居民下午来补材料")
    pc.submit_and_keep("button:has-text('添加备注')")
    page.goto(f"/cases/{number}")
    page.click("summary:has-text('开始办理')")
    pc.submit_and_keep("form[action$='/act/start'] button[type=submit]")
    pc.banner("2 条待上传")

    # The note reaches the server (here sent beside the browser, as the outbox would), and its answer is lost.
    note = page.evaluate("() => PortalOfflineQueue.all().then(items => items.find(i => i.fields.some(f => f[0] === 'note')))")
    csrf = pc.context.request.get("/offline/state", headers={"X-Offline-Replay": "1"}).json()["csrf"]
    first = pc.context.request.post(note["url"], form={**dict(note["fields"]), "csrf_token": csrf},
                                    headers={"X-Offline-Replay": "1", "X-Portal-Poll": "1", "X-CSRFToken": csrf})
    assert first.json()["ok"] is True and first.json()["version"] is not None
    pc.link(True)
    pc.banner("已上传 2 条")  # the note answered "already saved", with its version: the start counted it as seen
    assert page.evaluate("() => PortalOfflineQueue.all().then(items => items.length)") == 0
    with live_server.app.app_context():
        assert len(_events(number, EventKind.NOTE)) == 1
        assert db.session.scalars(sa.select(Case).filter_by(number=number)).one().status is CaseStatus.IN_PROGRESS


def test_items_kept_under_the_queues_old_name_are_sent_once_by_the_new_script(devices, live_server):
    """A device updated with items still in the IndexedDB of the queue's old name ("portal-outbox", fields named
    outbox_*): the first page of the new script moves them into the offline queue, and they are sent once."""
    with live_server.app.app_context():
        row = _log("CV01", "居民咨询社保转移，等待材料")
        number, user = row.number, _user("staff-ls-p01")
        label = f"备注 · {number}"
        served = replay.stamp(user.id, number, label, clock.now() - timedelta(minutes=30))
        fields = [["outbox_key", "0a" * 16], ["outbox_acted_at", (clock.now() - timedelta(minutes=20)).isoformat()],
                  ["outbox_user", str(user.id)], ["outbox_label", label], ["outbox_served", served],
                  ["outbox_case", number], ["outbox_seen", str(row.version)], ["note", "旧版本离线时记下的备注"]]
        item = {"key": "0a" * 16, "user": str(user.id), "label": label, "caseNumber": number,
                "actedAt": fields[1][1], "sessionUntil": "", "keptAt": fields[1][1], "url": "",
                "fields": fields, "state": "waiting", "message": "", "next": ""}
    pc = devices("post-pc", OFFICE)
    pc.sign_in("staff-ls-p01")
    page = pc.page
    item["url"] = f"{live_server.url}/cases/{number}/notes"
    page.evaluate("""item => new Promise((resolve, reject) => {
      const request = indexedDB.open('portal-outbox', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('items', {keyPath: 'seq', autoIncrement: true})
        .createIndex('key', 'key', {unique: true});
      request.onsuccess = () => {
        const transaction = request.result.transaction('items', 'readwrite');
        transaction.objectStore('items').add(item);
        transaction.oncomplete = () => { request.result.close(); resolve(); };
        transaction.onerror = () => reject(transaction.error);
      };
    })""", item)
    page.goto(f"/cases/{number}")
    pc.banner("已上传 1 条")
    assert page.evaluate("() => indexedDB.databases().then(all => all.map(d => d.name).sort())") == [
        "portal-offline-queue"]
    page.reload()  # nothing is left under either name to send again
    assert page.evaluate("() => PortalOfflineQueue.all().then(items => items.length)") == 0
    with live_server.app.app_context():
        notes = _events(number, EventKind.NOTE)
        assert len(notes) == 1 and notes[0].acted_at is not None and notes[0].acted_at < notes[0].at
