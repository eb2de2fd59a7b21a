"""The queue's first tab and the 待办 badge (issue 36.4 and 36.6): a queue opens where the work is, and
the badge counts exactly the list it opens."""
import html as html_lib
import re

import pytest

from portal.models import CaseStatus, Place, Role, ServiceItem, ServicePoint

BADGE = re.compile(r'class="notify-badge" href="([^"]+)">[^<]*(?:<span class="count"[^>]*>(\d+)</span>)?')


@pytest.fixture
def estate(app, make):
    """The estate 金色环海 (E01) with its station, a heating item, and a butler and a lead for it."""
    make.directory()
    e01 = make.get(Place, code="E01")
    station = make.get(ServicePoint, code="HT-SQT")
    item = make.get(ServiceItem, code="HT01")
    butler = make.user(Role.BUTLER, username="guan", places=[e01])
    lead = make.user(Role.LEAD, username="boss", places=[e01])
    return e01, station, item, butler, lead


def _badge_and_list(client):
    """The badge's number and the number of rows of the list it links to."""
    href, count = BADGE.search(client.get("/cases/badge").get_data(as_text=True)).groups()
    listed = client.get(html_lib.unescape(href)).get_data(as_text=True)
    return int(count or 0), len(re.findall(r'<tr id="case-\d+"', listed)), listed


def test_a_butlers_badge_counts_exactly_the_list_it_opens(client, auth, make, estate):
    e01, station, item, butler, lead = estate
    make.cases(3, item, e01, station)  # waiting to be signed for, by anyone of the estate
    make.cases(1, item, e01, station, owner=butler)  # given to him, waiting for his signature
    # Signed for but not started: his work, in 我的, but not what the 待签收 list shows (the badge used to
    # count them too, and said 6 over a list of 4).
    make.cases(2, item, e01, station, status=CaseStatus.CLAIMED, owner=butler)
    auth.login("guan")
    badge, rows, listed = _badge_and_list(client)
    assert (badge, rows) == (4, 4)
    assert 'aria-current="page">待签收' in listed


def test_a_leads_badge_counts_what_is_given_to_them_and_opens_that_list(client, auth, make, estate):
    e01, station, item, butler, lead = estate
    make.cases(3, item, e01, station)  # the front line's pool: the lead watches it on the boards
    make.cases(2, item, e01, station, owner=lead)
    make.cases(1, item, e01, station, status=CaseStatus.CLAIMED, owner=lead)
    auth.login("boss")
    badge, rows, listed = _badge_and_list(client)
    assert (badge, rows) == (2, 2)


def test_the_queue_opens_on_the_first_tab_with_work_and_keeps_a_tab_the_user_picked(client, auth, make):
    make.directory()
    h01, point = make.get(Place, code="H01"), make.get(ServicePoint, code="LS-P01")
    make.user(Role.STAFF, username="wang", service_point_id=point.id, places=[h01])
    household = make.household(h01, address="东岙8号", phone="13912345678", residents=("王大爷",))
    auth.login("wang")
    for _ in range(3):  # the clerk logs three errands for the point's proxies: none is the clerk's own
        response = client.post("/intake/", data={
            "requester_phone": "13912345678", "household_id": household.id, "requester_name": "王大爷",
            "item_query": "dbsq", "channel": "counter", "description": "申请低保，材料齐全"})
        assert response.status_code == 303
    html = client.get("/cases/").get_data(as_text=True)
    tabs = re.findall(r'<a href="/cases/\?tab=(\w+)"[^>]*?( aria-current="page")?>[^<]*(?:<span class="count">(\d+)</span>)?',
                      html)
    counts = {key: int(count or 0) for key, _current, count in tabs}
    current = [key for key, chosen, _count in tabs if chosen]
    assert counts["mine"] == 0
    first_with_work = next(key for key, count in counts.items() if count)
    assert current == [first_with_work]
    assert len(re.findall(r'<tr id="case-\d+"', html)) == 3 and "暂无工单" not in html
    picked = client.get("/cases/?tab=mine").get_data(as_text=True)
    assert re.search(r'tab=mine"[^>]*aria-current="page"', picked) and 'id="case-' not in picked


def test_a_queue_with_no_work_anywhere_opens_on_mine(client, auth, make):
    make.directory()
    make.user(Role.STAFF, username="wang", service_point_id=make.get(ServicePoint, code="LS-P01").id)
    auth.login("wang")
    assert re.search(r'tab=mine"[^>]*aria-current="page"', client.get("/cases/").get_data(as_text=True))


def test_the_staff_tab_of_their_point_says_it_holds_the_places_they_cover_too(client, auth, make):
    make.directory()  # the off-island hall's clerk covers the island's places: the tab is not only the hall's own
    make.user(Role.STAFF, username="hall", service_point_id=make.get(ServicePoint, code="LS-OFF").id,
              places=[make.get(Place, code="LS")])
    auth.login("hall")
    page = client.get("/cases/").get_data(as_text=True)
    assert "本站点及辖区" in page and ">本站点<" not in page
