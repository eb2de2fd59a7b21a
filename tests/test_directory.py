"""Directory admin: users, service points, places, service items and teams."""
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEntry, Role, ServiceItem, User


@pytest.fixture
def admin(make, auth):
    make.directory()
    user = make.user(Role.ADMIN, username="root")
    auth.login("root")
    return user


def _count(app, model):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_only_admins_reach_the_directory(client, auth, make):
    make.user(Role.STAFF, username="wang")
    auth.login("wang")
    assert client.get("/directory/").status_code == 403


def test_admin_lists_every_kind_of_row(client, admin):
    html = client.get("/directory/").get_data(as_text=True)
    for title in ("用户", "服务站点", "地点", "服务事项", "上门服务队"):
        assert title in html
    items = client.get("/directory/items/?q=dbsq").get_data(as_text=True)
    assert "最低生活保障申请" in items


def test_admin_creates_a_user_who_can_then_sign_in(app, client, admin, make):
    point = make.get(__import__("portal.models", fromlist=["ServicePoint"]).ServicePoint, code="LS-P01")
    response = client.post("/directory/users/new", data={
        "username": "li.na", "display_name": "李娜", "phone": "138 0000 2222", "role": "staff",
        "service_point_id": str(point.id), "team_id": "", "password": "a-first-secret-9",
    })
    assert response.status_code == 303
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.username == "li.na")).one()
        assert user.phone == "13800002222"
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "create")).one()
        assert entry.object_id == str(user.id)
        assert entry.changes["phone"] == [None, "138****2222"]
        assert "password_hash" not in entry.changes
    other = app.test_client()
    assert other.post("/auth/login", data={"username": "li.na", "password": "a-first-secret-9"}).status_code == 303


def test_places_are_ticked_and_taking_places_with_open_cases_is_confirmed(app, client, admin, make):
    import re

    from portal.models import Household, Place, ServicePoint
    from tests.stories import log

    with app.app_context():
        h01, h02, h03 = (db.session.scalars(sa.select(Place).filter_by(code=c)).one() for c in ("H01", "H02", "H03"))
        point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
        clerk = make.user(Role.STAFF, username="wang", service_point=point, places=[h01, h02, h03])
        household = make.household(h02, address="沙嘴1号", phone="13900000000")
        log(type("W", (), {"staff": db.session.get(User, clerk.id), "household": db.session.get(Household, household.id)}),
            db.session.scalars(sa.select(ServiceItem).filter_by(code="CV01")).one())  # an open case in H02
        ids, clerk_id, point_id = [h01.id, h02.id, h03.id], clerk.id, point.id
    page = client.get(f"/directory/users/{clerk_id}").get_data(as_text=True)
    ticked = set(re.findall(r'name="place_ids" value="(\d+)"\s+checked', page))
    assert ticked == {str(i) for i in ids} and "<select multiple" not in page
    assert re.search(r'<fieldset class="place-group"><legend>[^<]*东岙村', page)  # grouped by village
    data = {"username": "wang", "display_name": "王", "role": "staff", "service_point_id": str(point_id),
            "team_id": "", "place_ids": [str(ids[0])]}
    refused = client.post(f"/directory/users/{clerk_id}", data=data)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="place_ids-error"' in html and "沙嘴（1）" in html
    assert 'name="confirm_places"' in html
    with app.app_context():
        assert {p.code for p in db.session.get(User, clerk_id).places} == {"H01", "H02", "H03"}  # nothing lost
    assert client.post(f"/directory/users/{clerk_id}", data={**data, "confirm_places": "y"}).status_code == 303
    with app.app_context():
        assert {p.code for p in db.session.get(User, clerk_id).places} == {"H01"}


def test_a_team_whose_places_are_refused_shows_the_form_again(app, client, admin):
    from portal.models import Team

    with app.app_context():
        team = db.session.scalars(sa.select(Team).filter_by(code="T1")).one()
        team_id, point_id = team.id, team.service_point_id
    response = client.post(f"/directory/teams/{team_id}", data={"code": "T1", "name_zh": "第一上门服务队",
                                                                "service_point_id": str(point_id or ""),
                                                                "capacity_per_slot": "4", "place_ids": ["999999"]})
    assert response.status_code == 422 and 'id="place_ids-error"' in response.get_data(as_text=True)


def test_duplicate_username_is_refused_next_to_the_field(app, client, admin):
    before = _count(app, User)
    response = client.post("/directory/users/new", data={
        "username": "root", "display_name": "重名", "role": "staff", "service_point_id": "", "team_id": "",
        "password": "a-first-secret-9",
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="username-error">“root”已被使用，请换一个。' in html
    assert _count(app, User) == before


def test_service_item_code_that_exists_is_refused_and_nothing_changes(app, client, admin):
    before = _count(app, ServiceItem)
    response = client.post("/directory/items/new", data={
        "code": "CA01", "category_zh": "民政", "name_zh": "重复事项", "mode": "counter", "sla_hours": "24",
    })
    assert response.status_code == 422
    assert 'id="code-error">“CA01”已被使用' in response.get_data(as_text=True)
    assert _count(app, ServiceItem) == before


@pytest.mark.parametrize(("field", "value", "message"), [
    ("code", "ca 01", "请使用大写字母、数字和连字符"),
    ("name_zh", "", "此项必填。"),
    ("sla_hours", "0", "请填写 1 到 2400 小时（100 个工作日）之间的数。"),
    ("sla_hours", "", "请填写办理时限（小时）。"),
])
def test_bad_service_item_input_is_explained_next_to_the_field(client, admin, field, value, message):
    data = {"code": "NEW1", "category_zh": "民政", "name_zh": "新事项", "mode": "counter", "sla_hours": "24"}
    data[field] = value
    response = client.post("/directory/items/new", data=data)
    assert response.status_code == 422
    assert f'id="{field}-error">{message}' in response.get_data(as_text=True)


def test_new_service_item_is_found_by_its_pinyin_initials(app, client, admin):
    client.post("/directory/items/new", data={
        "code": "CV09", "category_zh": "便民服务", "name_zh": "老年证办理", "keywords": "老年卡", "mode": "counter",
        "sla_hours": "24",
    })
    with app.app_context():
        item = db.session.scalars(sa.select(ServiceItem).where(ServiceItem.code == "CV09")).one()
        assert "lnzbl" in item.pinyin.split() and "lnk" in item.pinyin.split()


def test_deactivating_a_user_signs_them_out_at_their_next_request(app, client, admin, make):
    make.user(Role.STAFF, username="wang")
    theirs = app.test_client()
    theirs.post("/auth/login", data={"username": "wang", "password": "correct-horse-7"})
    assert theirs.get("/").status_code == 200
    with app.app_context():
        wang = db.session.scalars(sa.select(User).where(User.username == "wang")).one()
    response = client.post(f"/directory/users/{wang.id}/active", data={"active": "0"})
    assert response.status_code == 303
    assert theirs.get("/").status_code == 302
    with app.app_context():
        assert db.session.get(User, wang.id).active is False  # deactivated, never deleted


def test_admin_cannot_deactivate_themselves(app, client, admin):
    response = client.post(f"/directory/users/{admin.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "不能停用自己的账号。" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin.id).active


def test_admin_ends_a_users_sessions(app, client, admin, make):
    user = make.user(Role.PROXY, username="dang")
    theirs = app.test_client()
    theirs.post("/auth/login", data={"username": "dang", "password": "correct-horse-7"})
    client.post(f"/directory/users/{user.id}/sessions")
    assert theirs.get("/").status_code == 302


def test_editing_a_place_writes_one_audit_row_with_old_and_new(app, client, admin, make):
    from portal.models import Place

    place = make.get(Place, code="H01")
    form = client.get(f"/directory/places/{place.id}")
    assert form.status_code == 200
    response = client.post(f"/directory/places/{place.id}", data={
        "code": "H01", "kind": "hamlet", "name_zh": "东岙村", "name_en": "Dong'ao", "parent_id": str(place.parent_id),
        "service_point_id": str(place.service_point_id), "household_count": "97",
    })
    assert response.status_code == 303
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "update")).all()
    assert len(entries) == 1
    assert entries[0].changes == {"name_zh": ["东岙", "东岙村"], "household_count": [96, 97]}


def test_admin_adds_a_canned_reply_for_one_item(app, client, admin, make):
    from portal.models import CannedReply

    item = make.get(ServiceItem, code="CA01")
    response = client.post("/directory/replies/new", data={"item_id": str(item.id), "status": "", "text": "请补充收入证明"})
    assert response.status_code == 303
    with app.app_context():
        reply = db.session.scalars(sa.select(CannedReply).filter_by(text="请补充收入证明")).one()
        assert reply.item_id == item.id and reply.status is None and reply.action is None  # under every action
    client.post("/directory/replies/new", data={"item_id": "", "status": "", "action": "resolve", "text": "已办结"})
    with app.app_context():
        assert db.session.scalars(sa.select(CannedReply).filter_by(text="已办结")).one().action == "resolve"
    empty = client.post("/directory/replies/new", data={"item_id": "", "status": "", "text": ""})
    assert empty.status_code == 422 and 'id="text-error">此项必填。' in empty.get_data(as_text=True)


def test_admin_searches_and_exports_the_audit_log(app, client, admin, make):
    import csv
    import io

    from portal.models import AuditEntry

    make.user(Role.STAFF, username="wang", phone="13912345678")
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "wang", "password": "wrong-password"})
    client.post("/auth/login", data={"username": "root", "password": "correct-horse-7"})
    page = client.get("/directory/audit/?action=login_failed").get_data(as_text=True)
    assert "wang" in page and 'title="login_failed">登录失败</td>' in page and 'title="login"' not in page
    assert "login_failed</option>" not in page and ">登录失败</option>" in page  # the filter speaks Chinese too
    response = client.get("/directory/audit.csv?q=wang")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "时间" and any(row[3] == "登录失败 (login_failed)" for row in rows[1:])
    assert "13912345678" not in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(sa.select(AuditEntry).filter_by(action="export", object_type="audit_entries")).one()
    bad = client.get("/directory/audit/?first=not-a-date")
    assert bad.status_code == 422


def test_a_refused_page_and_a_users_change_read_as_words_in_the_audit_log(client, admin, make):
    staff = make.user(Role.STAFF, username="wang")
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "wang", "password": "correct-horse-7"})
    assert client.get("/directory/").status_code == 403
    client.post("/auth/logout")
    client.post("/auth/login", data={"username": "root", "password": "correct-horse-7"})
    page = client.get("/directory/audit/?action=denied").get_data(as_text=True)
    assert ">拒绝访问</td><td>页面 /directory/</td>" in page and "directory.index" not in page
    page = client.get("/directory/audit/?object_type=users").get_data(as_text=True)
    assert f"<td>用户 {staff.id}</td>" in page


def test_every_action_the_code_writes_to_the_audit_log_has_a_label():
    import re
    from pathlib import Path

    from portal.directory import audit_labels

    source = "\n".join(p.read_text(encoding="utf-8") for p in Path("portal").rglob("*.py"))
    written = set(re.findall(r'audit\.record(?:_alone)?\(\s*"([a-z_]+)"', source))
    assert written and not {a for a in written if audit_labels.action_label(a) == a}
    types = set(re.findall(r'object_type="([a-z_]+)"', source))
    assert not {t for t in types if audit_labels.object_label(t) == t}


def test_a_name_typed_at_the_login_never_runs_as_a_formula_in_the_audit_export(client, admin):
    import csv
    import io

    client.post("/auth/logout")
    client.post("/auth/login", data={"username": '=HYPERLINK("http://x","点我")', "password": "x"})
    client.post("/auth/login", data={"username": "root", "password": "correct-horse-7"})
    rows = list(csv.reader(io.StringIO(client.get("/directory/audit.csv?action=login_failed").data.decode("utf-8-sig"))))
    names = [row[1] for row in rows[1:]]
    assert "'=HYPERLINK(\"http://x\",\"点我\")" in names and not any(n.startswith("=") for n in names)


def test_a_percent_or_underscore_in_a_search_matches_itself_not_everything(client, admin, make):
    make.user(Role.STAFF, username="wang_fang")
    make.user(Role.STAFF, username="wangxfang")
    found = client.get("/directory/users/?q=g_f").get_data(as_text=True)
    assert "wang_fang" in found and "wangxfang" not in found
    assert "wang_fang" not in client.get("/directory/users/?q=%25%25zz").get_data(as_text=True)
