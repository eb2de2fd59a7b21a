"""Handling cases at their edges: nothing half-saved, nothing stuck, nothing that answers 500."""
import threading

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Case, CaseStatus, Mode, Place, PlaceKind, Role, ServicePoint
from tests.stories import claimed, in_progress, log


@pytest.fixture
def desk(app, make, auth):
    make.directory()
    h01, point = make.get(Place, code="H01"), make.get(ServicePoint, code="LS-P01")
    staff = make.user(Role.STAFF, username="wang", display_name="王芳", service_point_id=point.id, places=[h01])
    proxy = make.user(Role.PROXY, username="dang", display_name="党员李", places=[h01])
    household = make.household(h01, address="东岙8号", phone="13912345678", residents=("王大爷",))
    auth.login("wang")
    return staff, proxy, household


def _log(client, household, **override):
    data = {"requester_phone": "13912345678", "household_id": household.id, "requester_name": "王大爷",
            "item_query": "dbsq", "channel": "counter", "description": "申请低保"}
    data.update(override)
    return client.post("/intake/", data=data)


def _count(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Case))


def test_log_and_finish_an_errand_saves_nothing_and_says_why(app, client, desk):
    response = _log(client, desk[2], finish="1")
    assert response.status_code in (403, 422)
    assert "当场办结" in response.get_data(as_text=True)
    assert _count(app) == 0


def test_a_butler_opens_the_case_he_logged_for_another_estate(client, auth, make):
    make.directory()
    make.user(Role.BUTLER, username="guan", places=[make.get(Place, code="E01")])
    auth.login("guan")
    response = client.post("/intake/", data={"requester_phone": "13911112222", "requester_name": "李四",
                                             "item_query": "HT01", "channel": "phone", "description": "暖气不热",
                                             "place_id": make.get(Place, code="E02").id})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200


@pytest.mark.parametrize("url", ["/cases/?tab=point&page=99999999999999999999", "/cases/?date_from=0001-01-01",
                                 "/cases/?date_to=9999-12-31"])
def test_queue_edge_parameters_are_answered_without_an_error(client, desk, url):
    response = client.get(url)
    assert response.status_code == 200


def test_the_status_filter_finds_resolved_cases_on_the_point_tab(client, desk):
    number = _log(client, desk[2], item_query="CV01", description="开具证明", finish="1").headers["Location"]
    number = number.split("/")[2].split("?")[0]
    html = client.get("/cases/", query_string={"tab": "point", "status": "resolved"}).get_data(as_text=True)
    assert number in html


def test_a_place_cannot_be_its_own_parent(client, auth, make):
    make.directory()
    make.user(Role.ADMIN, username="root")
    auth.login("root")
    h01 = make.get(Place, code="H01")
    response = client.post(f"/directory/places/{h01.id}", data={
        "code": "H01", "kind": "hamlet", "name_zh": "东岙", "parent_id": h01.id, "service_point_id": ""})
    assert response.status_code == 422 and 'id="parent_id-error">地点不能隶属于自身' in response.get_data(as_text=True)


def test_walking_up_a_place_loop_ends(app, ctx, make):
    from portal.domain.cases import intake

    lead = make.user(Role.LEAD, username="lead")
    a = make.place("CYA", kind=PlaceKind.VILLAGE)
    b = make.place("CYB", kind=PlaceKind.HAMLET, parent_id=a.id)
    a.parent_id = b.id  # a loop written behind the directory's back
    db.session.commit()
    done = []

    def walk():
        with app.app_context():
            done.append(intake.responsible_point(Mode.ERRAND, b, lead))

    worker = threading.Thread(target=walk, daemon=True)
    worker.start()
    worker.join(5)
    assert done == [None]


def test_cases_are_never_assigned_to_administrators(world):
    from portal.domain import DomainError
    from portal.domain.cases import lifecycle

    case = claimed(world)
    with pytest.raises(DomainError) as raised:
        lifecycle.assign(case, world.lead, world.admin)
    assert raised.value.field == "owner"


def test_a_closed_service_point_receives_no_transfers(world, make):
    from portal.domain import DomainError
    from portal.domain.cases import lifecycle

    closed = make.point("DEAD", active=False)
    case = in_progress(world)
    with pytest.raises(DomainError) as raised:
        lifecycle.transfer(case, world.staff, "改派", point=closed)
    assert raised.value.field == "point"
    assert case.service_point_id != closed.id


def test_an_expired_session_on_an_htmx_poll_redirects_the_whole_page(client, desk):
    with client.session_transaction() as session:
        session["seen"] -= 3600
    response = client.get("/cases/badge", headers={"HX-Request": "true", "X-Portal-Poll": "1",
                                                   "HX-Current-URL": "http://localhost/cases/?tab=point"})
    assert response.headers["HX-Redirect"] == "/auth/login?next=/cases/?tab%3Dpoint"


def test_reopen_counts_thirty_days_from_the_callback(world, monkeypatch):
    from datetime import timedelta

    from portal import clock
    from portal.domain.cases import lifecycle
    from portal.models import Outcome, Satisfaction

    case = log(world, world.counter_item)
    lifecycle.finish_on_spot(case, world.staff)
    start = clock.now()
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=25))
    lifecycle.close(case, world.staff, Outcome.SOLVED, Satisfaction.SATISFIED)
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(days=35))
    lifecycle.reopen(case, world.staff, "居民又来电")  # ten days after the callback
    assert case.status is CaseStatus.IN_PROGRESS


def test_canned_replies_and_presence_work_without_javascript(app, client, desk):
    from portal.models import CannedReply

    number = _log(client, desk[2]).headers["Location"].split("/")[2].split("?")[0]
    with app.app_context():
        reply = CannedReply(text="已电话告知居民所需材料")
        db.session.add(reply)
        db.session.commit()
        reply_id = reply.id
    other = app.test_client()
    other.post("/auth/login", data={"username": "dang", "password": "correct-horse-7"})
    other.post(f"/cases/{number}/presence")
    html = client.get(f"/cases/{number}").get_data(as_text=True)
    assert 'href="#"' not in html and "正在同时查看：党员李" in html
    filled = client.get(f"/cases/{number}", query_string={"canned": reply_id, "field": "note"}).get_data(as_text=True)
    assert "已电话告知居民所需材料</textarea>" in filled


def test_a_proxy_is_not_offered_the_edit_form(client, auth, desk):
    number = _log(client, desk[2]).headers["Location"].split("/")[2].split("?")[0]
    auth.logout()
    auth.login("dang")
    assert client.get(f"/cases/{number}/edit").status_code == 403


def test_the_mode_can_be_changed_without_javascript(app, client, desk):
    response = _log(client, desk[2], item_query="CV01", description="老人行动不便，请上门开证明", mode="home")
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalars(sa.select(Case.mode)).one() is Mode.HOME


@pytest.mark.parametrize(("name", "arguments"), [
    ("return_case", ("不属于本站",)), ("transfer", ("改派",)), ("merge", ("LS-20260101-0001",)),
    ("cancel", ("撤销",)), ("send_off_island", ()),
])
@pytest.mark.parametrize("who", ["butler", "member", "admin"])
def test_people_outside_the_case_may_not_act_on_it(world, name, arguments, who):
    from portal.domain import Forbidden
    from portal.domain.cases import lifecycle

    case = in_progress(world)
    with pytest.raises(Forbidden):
        getattr(lifecycle, name)(case, getattr(world, who), *arguments)
    assert case.status is CaseStatus.IN_PROGRESS
