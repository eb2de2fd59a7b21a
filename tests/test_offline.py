"""What the offline area serves (portal/offline): which pages a device may keep, the service worker, and what the
outbox asks before it sends. The flows themselves run in Chromium: tests/e2e/test_offline_flow.py."""
from portal.offline import KEEP_HEADER, KEPT


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
    assert '"/static/portal.js"' in body and "/static/outbox.js" in body and "portal-shell-" in body
    assert "{{" not in body and "importScripts(\"/static/outbox.js\")" in body


def test_the_outbox_page_lists_the_roles_field_pages_to_keep(app, home):
    page = _client(app, "proxy-h01").get("/offline/").get_data(as_text=True)
    assert 'href="/errands/" data-offline-keep' in page and 'href="/errands/manifest" data-offline-keep' in page
    assert 'href="/intake/"' not in page  # not a proxy's page
    clerk = _client(app, "staff-p01").get("/offline/").get_data(as_text=True)
    assert 'href="/intake/" data-offline-keep' in clerk and 'id="outbox-items"' in clerk


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
