"""Two people acting on one case at once: exactly one wins, the other is told, nothing is lost."""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from portal.domain import Conflict
from portal.domain.cases import intake, lifecycle
from portal.extensions import db
from portal.models import Case, CaseEvent, Channel, EventKind, Place, Role, ServiceItem, ServicePoint, User

pytestmark = pytest.mark.slow


@pytest.fixture
def errand(app, make):
    """An errand of the hamlet H01, and twenty staff of its post who may all claim it."""
    make.directory()
    with app.app_context():
        point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
        h01 = db.session.scalars(sa.select(Place).filter_by(code="H01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CA01")).one()
        desk = make.user(Role.STAFF, username="desk", service_point=point, places=[h01])
        household = make.household(h01)
        case = intake.log_case(desk, item, Channel.COUNTER, "低保申请", "张三", "13800001111", household=household)
        case_id, point_id = case.id, point.id
    staff = [make.user(Role.STAFF, username=f"staff{i}", service_point_id=point_id).id for i in range(20)]
    return case_id, staff


def test_twenty_people_claim_one_case_at_once_and_exactly_one_gets_it(app, errand):
    case_id, staff = errand
    barrier = threading.Barrier(len(staff))

    def claim(user_id):
        with app.app_context():
            user, case = db.session.get(User, user_id), db.session.get(Case, case_id)
            db.session.commit()  # hold no transaction (and no SQLite lock) while waiting at the barrier
            barrier.wait()
            try:
                lifecycle.claim(case, user)
                return "won"
            except Conflict as conflict:
                db.session.rollback()
                return str(conflict.message)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(staff)) as pool:
        results = list(pool.map(claim, staff))

    assert results.count("won") == 1
    losers = [r for r in results if r != "won"]
    assert len(losers) == 19 and all("已签收此工单" in r for r in losers)
    with app.app_context():
        case = db.session.get(Case, case_id)
        winner = staff[results.index("won")]
        assert case.owner_id == winner
        claims = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.CLAIMED))
        assert claims == 1


def test_a_stale_edit_is_refused_and_keeps_the_first_writers_change(app, errand, client, make):
    case_id, staff = errand
    with app.app_context():
        number = db.session.get(Case, case_id).number
        version = db.session.get(Case, case_id).version
    first, second = app.test_client(), app.test_client()
    for c, name in ((first, "staff0"), (second, "staff1")):
        c.post("/auth/login", data={"username": name, "password": "correct-horse-7"})
    form = {"requester_name": "张三", "requester_phone": "13800001111", "address": "东岙1号",
            "priority": "normal"}
    saved = first.post(f"/cases/{number}/edit", data={**form, "version": version, "description": "第一位的修改"})
    assert saved.status_code == 303
    refused = second.post(f"/cases/{number}/edit", data={**form, "version": version, "description": "第二位的修改"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "您的操作没有保存" in html
    assert "第二位的修改" in html  # what the second writer typed is still in the form
    with app.app_context():
        assert db.session.get(Case, case_id).description == "第一位的修改"


def test_a_burst_of_wrong_passwords_at_once_is_checked_no_more_than_the_limit(app, make):
    """Forty wrong passwords at the same moment: the limit of checks holds on both databases."""
    from portal.domain import DomainError
    from portal.domain.platform import accounts
    from portal.models import AuditEntry

    make.user(Role.STAFF, username="target")
    limit = app.config["LOGIN_THROTTLE_ATTEMPTS"]
    barrier = threading.Barrier(40)

    def guess(n):
        with app.app_context():
            barrier.wait()
            try:
                accounts.authenticate("target", f"wrong-{n}", f"10.0.{n}.1")
            except DomainError as refused:
                return type(refused).__name__
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=40) as pool:
        results = list(pool.map(guess, range(40)))
    with app.app_context():
        checked = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "login_failed"))
    assert checked == limit and results.count("Throttled") == 40 - limit


def test_ten_retries_of_one_kiosk_post_at_once_log_one_case(app, make):
    """A kiosk that retries its POST while the first is still being answered: one case, ten answers of it."""
    from werkzeug.datastructures import MultiDict

    from portal.domain import open311
    from portal.domain.credentials import apikeys
    from portal.domain.platform import unit

    make.directory()
    with app.app_context():
        point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
        key, _secret = apikeys.create(None, point, "kiosk-1", actor_name="test")
        key_id = key.id
    form = MultiDict({"service_code": "CV05", "address_id": "H01", "phone": "13912345678", "description": "代购药品"})
    barrier = threading.Barrier(10)

    def post(_n):
        with app.app_context():
            from portal.models import ApiKey

            api_key = db.session.get(ApiKey, key_id)
            db.session.commit()
            barrier.wait()
            try:
                case, _replayed = unit.with_retries(lambda: open311.submit(api_key, form, "retry-0001"))
                return case.number
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=10) as pool:
        numbers = list(pool.map(post, range(10)))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    assert len(set(numbers)) == 1


def test_two_imports_into_one_place_at_once_number_apart_and_store_each_resident_once(app, make):
    """Two clerks import rosters of 东岙 at the same moment, both naming the same new resident."""
    from portal.domain import rosters
    from portal.domain.platform import unit
    from portal.models import Household, Resident
    from tests.test_imports import HEADER, csv_bytes

    make.directory()
    files = [csv_bytes([["H01", f"东岙{200 + n}号", "", "13912340001", f"住户{n}", "", "", "", "", "", ""],
                        ["H01", "东岙300号", "", "13912340009", "王建国", "370211195001011235", "", "", "", "", ""]],
                       header=HEADER) for n in range(2)]
    barrier = threading.Barrier(2)

    def run(data):
        with app.app_context():
            kind = rosters.KINDS["households"]
            checked = rosters.check(kind, "名册.csv", data, None)
            db.session.commit()
            barrier.wait()
            try:
                return unit.with_retries(lambda: rosters.apply(kind, checked, None, actor_name="test")).created
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=2) as pool:
        created = list(pool.map(run, files))
    with app.app_context():
        codes = db.session.scalars(sa.select(Household.code)).all()
        assert len(codes) == len(set(codes)) == 3  # 东岙200号, 东岙201号 and 东岙300号 once
        same = db.session.scalars(sa.select(Resident).where(Resident.id_number == "370211195001011235")).all()
        assert len(same) == 1
    assert sorted(created) == [1, 2]  # the second found 王建国 already there


def test_one_outbox_item_sent_by_four_tabs_at_once_is_saved_once(app, errand):
    """The browser's outbox may send one item twice at the same moment (two tabs, a retry after a lost answer):
    the web path, key lock and all, saves it once, and every sender is answered with the one result."""
    case_id, staff = errand
    with app.app_context():
        number = db.session.get(Case, case_id).number
    clients = []
    for _ in range(4):
        client = app.test_client()
        assert client.post("/auth/login", data={"username": "desk", "password": "correct-horse-7"}).status_code == 303
        clients.append(client)
    with app.app_context():
        desk_id = db.session.scalars(sa.select(User.id).filter_by(username="desk")).one()
    fields = {"outbox_key": "e" * 32, "outbox_acted_at": "", "outbox_user": str(desk_id), "outbox_case": number,
              "note": "断网时记下的备注"}
    barrier = threading.Barrier(len(clients))

    def send(client):
        barrier.wait()
        return client.post(f"/cases/{number}/notes", data=fields, headers={"X-Outbox-Replay": "1"}).get_json()

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        answers = list(pool.map(send, clients))
    assert [a["ok"] for a in answers] == [True] * 4, answers
    with app.app_context():
        notes = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.NOTE))
    assert notes == 1
