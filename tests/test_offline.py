"""What the offline area serves (portal/offline): which pages a device may keep, the service worker, and what the
outbox asks before it sends. The flows themselves run in Chromium: tests/e2e/test_offline_flow.py."""
from datetime import timedelta

from portal import clock
from portal.offline import FORGET_HEADER, KEEP_HEADER, KEPT, KEPT_FOR

REPLAY = {"X-Offline-Replay": "1", "X-Portal-Poll": "1"}


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def test_only_the_field_pages_are_marked_to_keep_and_never_a_fragment(app, home):
    proxy = _client(app, "proxy-h01")
    assert proxy.get("/errands/").headers.get(KEEP_HEADER) == "1"
    assert proxy.get("/errands/manifest").headers.get(KEEP_HEADER) == "1"
    assert proxy.get("/").headers.get(KEEP_HEADER) is None  # home: not a field page
    assert proxy.get("/errands/", headers={"HX-Request": "true"}).headers.get(KEEP_HEADER) is None
    member = _client(app, "team1-a")
    assert member.get("/visits/").headers.get(KEEP_HEADER) == "1"
    clerk = _client(app, "staff-p01")
    assert clerk.get("/intake/").headers.get(KEEP_HEADER) == "1"
    assert clerk.get("/boards/place/H01").headers.get(KEEP_HEADER) is None
    assert {"errands.index", "visits.index", "intake.new_case", "cases.queue"} <= KEPT


def test_the_service_worker_is_served_at_the_root_with_the_shell_and_no_caching(app, home):
    response = app.test_client().get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.get_data(as_text=True)
    assert '"/static/portal.js"' in body and "/static/offline_queue.js" in body and "portal-shell-" in body
    assert "{{" not in body and "importScripts(\"/static/offline_queue.js\")" in body


def test_the_outbox_page_lists_the_roles_field_pages_to_keep(app, home):
    page = _client(app, "proxy-h01").get("/offline/").get_data(as_text=True)
    assert 'href="/errands/" data-offline-keep' in page and 'href="/errands/manifest" data-offline-keep' in page
    assert 'href="/intake/"' not in page  # not a proxy's page
    clerk = _client(app, "staff-p01").get("/offline/").get_data(as_text=True)
    assert 'href="/intake/" data-offline-keep' in clerk and 'id="offline-queue-items"' in clerk


def test_a_visit_of_tomorrow_carries_its_forms_for_a_phone_without_a_link_tomorrow(app, home):
    from datetime import timedelta

    from portal import clock
    from portal.extensions import db
    from portal.models import Slot, Visit
    from tests.stories import log

    visits = {}
    for days in (1, 2):
        case = log(home, home.home_item)
        visit = Visit(case=case, household_id=case.household_id, team_id=home.t1.id,
                      day=clock.today() + timedelta(days=days), slot=Slot.AM)
        db.session.add(visit)
        db.session.commit()
        visits[days] = visit.id
    member = _client(app, "team1-a")
    tomorrow = member.get(f"/visits/{visits[1]}").get_data(as_text=True)
    day = (clock.today() + timedelta(days=1)).isoformat()
    assert f'<div data-shown-from="{day}" hidden>' in tomorrow and f"/visits/{visits[1]}/start" in tomorrow
    later = member.get(f"/visits/{visits[2]}").get_data(as_text=True)
    assert "data-shown-from" not in later and f"/visits/{visits[2]}/start" not in later


def test_a_device_whose_session_was_ended_elsewhere_is_told_to_forget_its_kept_pages(app, home):
    from portal.domain.platform import directory

    phone = _client(app, "proxy-h01")
    assert phone.get("/offline/state", headers=REPLAY).headers.get(FORGET_HEADER) is None
    pc = _client(app, "proxy-h01")
    assert pc.post("/auth/logout").status_code == 303  # signing out on the PC signs out everywhere
    state = phone.get("/offline/state", headers=REPLAY)
    assert state.status_code == 401 and state.headers.get(FORGET_HEADER) == "1"
    page = phone.get("/errands/")  # any page says so, the login page it leads to as well
    assert page.status_code == 302 and page.headers.get(FORGET_HEADER) == "1"
    assert phone.get(page.location).headers.get(FORGET_HEADER) == "1"
    phone = _client(app, "proxy-h01")  # signed in again: nothing more to forget
    assert phone.get("/errands/").headers.get(FORGET_HEADER) is None
    directory.end_sessions(home.proxy, home.admin)  # an administrator ends them
    assert phone.get("/offline/state", headers=REPLAY).headers.get(FORGET_HEADER) == "1"


def test_a_session_that_timed_out_keeps_the_pages_for_the_field(app, home, monkeypatch):
    """A phone on the boat outlives its session's timeouts: that is what offline work is for."""
    phone = _client(app, "proxy-h01")
    later = clock.now() + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    state = phone.get("/offline/state", headers=REPLAY)
    assert state.status_code == 401 and state.headers.get(FORGET_HEADER) is None
    assert app.test_client().get("/errands/").headers.get(FORGET_HEADER) is None  # never signed in


def test_the_service_worker_drops_kept_pages_older_than_a_week(app, home):
    body = app.test_client().get("/sw.js").get_data(as_text=True)
    assert KEPT_FOR == timedelta(days=7)
    assert f"var MAX_AGE_MS = {7 * 24 * 3600 * 1000};" in body and '"X-Offline-Forget"' in body


def test_the_scripts_spell_no_cache_name_or_address_the_server_owns(app, home):
    """The caches' names and the addresses of offline work are the server's (``portal.offline.names``): the page
    gives them to static/portal.js, the worker's route to templates/offline/sw.js; the scripts spell none."""
    import json
    import re
    from pathlib import Path

    root = Path(app.root_path).parent
    owned = ('"portal-pages"', '"portal-shell-', '"/offline/state"', '"/offline/"', '"/cases/', '"/sw.js"',
             '{scope: "/"}', 'getRegistration("/")')
    for script in ("static/portal.js", "static/offline_queue.js", "templates/offline/sw.js"):
        text = (root / script).read_text(encoding="utf-8").replace("'", '"')
        assert not [literal for literal in owned if literal.replace("'", '"') in text], script
    page = _client(app, "staff-p01").get("/offline/").get_data(as_text=True)
    names = json.loads(re.search(r"<meta name=\"portal-offline\" content='([^']+)'>", page).group(1))
    assert names == {"pages": "portal-pages", "shell": "portal-shell-", "state": "/offline/state",
                     "queue": "/offline/", "worker": "/sw.js", "scope": "/", "case": "/cases/NUMBER"}
    worker = app.test_client().get("/sw.js").get_data(as_text=True)
    assert 'var PAGES = "portal-pages";' in worker and 'var QUEUE_PAGE = "/offline/";' in worker


def test_the_offline_banner_is_kept_per_language_and_lists_the_queue_except_on_its_own_page(app, home):
    """The banner is rendered once per language and kept (portal/offline: banner): each reader still gets their own
    language, and the queue's own page, which lists the queue in its body, has no second list in the banner."""
    chinese, english = _client(app, "staff-p01"), _client(app, "proxy-h01")
    english.post("/language", data={"lang": "en", "next": "/"})
    for _ in range(2):  # the second time from what was kept
        zh, en = chinese.get("/auth/password").get_data(as_text=True), english.get("/auth/password").get_data(as_text=True)
        assert 'id="offline-queue-banner"' in zh and "data-offline-queue-list" in zh
        assert "Waiting to be sent" not in zh and "Waiting to be sent: {label}" in en
        assert 'data-empty="Nothing waits to be sent."' in en and 'data-empty="Nothing waits to be sent."' not in zh
        queue_page = chinese.get("/offline/").get_data(as_text=True)
        assert 'id="offline-queue-banner"' in queue_page and queue_page.count("data-offline-queue-list") == 1
