"""Phone numbers in one form (issue 31, item 7): however a number is typed ("+86 139 3524 9848",
"8613935249848", "139-3524-9848", a landline with or without +86, a number abroad with +), it is stored and
compared as ``privacy.normalise_phone`` writes it, so the same caller is found as one everywhere; and the
migration that rewrites the numbers stored before."""
import importlib.util
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.domain import DomainError, access
from portal.domain.cases import intake, lifecycle, queues
from portal.domain.platform import privacy
from portal.extensions import db
from portal.models import (
    Case,
    Channel,
    Household,
    MessageChannel,
    OptOut,
    OutboxMessage,
    Resident,
    ServicePoint,
    User,
)
from tests.stories import at, log

MOBILE = "13912345678"  # the household of the world fixture
WAYS = ("+86 139 1234 5678", "8613912345678", "0086 139-1234-5678", "139 1234 5678", "(139) 1234.5678",
        "１３９１２３４５６７８")
PHONE_ERROR = 'id="requester_phone-error">请填写 11 位手机号、带区号的固定电话，或以 + 开头的境外号码。'


# --- the one form ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("typed", "canonical"), [
    *((way, MOBILE) for way in WAYS),
    ("0532-8612-3456", "053286123456"), ("+86 532 8612 3456", "053286123456"), ("053286123456", "053286123456"),
    ("86 (0532) 86123456", "053286123456"), ("010-1234 5678", "01012345678"), ("+86 10 1234 5678", "01012345678"),
    ("+852 9123 4567", "+85291234567"), ("00852 91234567", "+85291234567"), ("+82 10-1234-5678", "+821012345678"),
])
def test_a_number_typed_any_way_has_one_form_which_is_valid(typed, canonical):
    assert privacy.normalise_phone(typed) == canonical
    assert privacy.normalise_phone(canonical) == canonical
    assert privacy.is_valid_phone(typed) and privacy.is_valid_phone(canonical)


@pytest.mark.parametrize(("typed", "kept"), [
    ("12345", "12345"), ("1391234", "1391234"), ("abc", ""), ("", ""), (None, ""),
    ("85291234567", "85291234567"),   # a number abroad needs its + (or 00): these digits are no number in China
    ("+1 393 524 9848", "+13935249848"),  # not a number in North America, and not taken for one in China
    ("0532-8612-3456-123", "0532861234561" + "23"),  # an extension is not part of the number
    ("86123456", "86123456"),   # a landline without its area code
    ("400 123 4567", "4001234567"), ("95588", "95588"),  # hotlines and short numbers: no resident's
    ("1" * 40, "1" * 40),
])
def test_what_is_not_a_residents_number_keeps_its_digits_and_is_not_valid(typed, kept):
    assert privacy.normalise_phone(typed) == kept
    assert not privacy.is_valid_phone(typed) and not privacy.is_valid_phone(kept)


@pytest.mark.parametrize(("canonical", "masked"), [
    ("13912345678", "139****5678"), ("053286123456", "053****3456"), ("01012345678", "010****5678"),
    ("+85291234567", "+85****4567"), ("", ""),
])
def test_masks_show_the_canonical_number_partly(canonical, masked):
    assert privacy.mask_phone(canonical) == masked
    assert privacy.mask_phone(privacy.normalise_phone(canonical)) == masked


# --- intake: the form, the caller look-up, duplicates, reachability -----------------------------------------

def _log(client, household_id, phone, **override):
    data = {"requester_phone": phone, "household_id": household_id or "", "requester_name": "王大爷",
            "item_query": "dbsq", "channel": "counter", "description": "申请低保，材料齐全", **override}
    return client.post("/intake/", data=data)


def test_the_intake_form_stores_the_one_form_however_the_phone_is_typed(world, client, auth):
    auth.login("staff-p01")
    for way in ("+86 139 1234 5678", "8613912345678", "139-1234-5678"):
        assert _log(client, world.household.id, way).status_code == 303, way
    assert set(db.session.scalars(sa.select(Case.requester_phone))) == {MOBILE}


def test_the_caller_lookup_finds_the_household_and_its_cases_however_the_number_is_typed(world, client, auth):
    log(world)  # from 13912345678
    auth.login("staff-p01")
    for way in WAYS:
        html = client.get("/intake/caller", query_string={"requester_phone": way},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "东岙8号" in html and "该号码近期工单" in html, way
        caller = intake.caller_lookup(way, world.staff)
        assert caller.phone == MOBILE and [h.id for h in caller.households] == [world.household.id], way


def test_duplicates_are_offered_for_the_same_number_typed_another_way(world, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    ours = intake.log_case(world.staff, world.errand_item, Channel.PHONE, "需要办理", "王大爷", "+86 139 1234 5678",
                           place=world.h01, address="东岙8号")
    assert ours.requester_phone == MOBILE
    for way in WAYS:
        assert [c.number for c in intake.possible_duplicates(world.staff, phone=way)] == [ours.number], way


def test_a_household_is_reachable_at_its_number_typed_any_way(world):
    # staff of 西岙 may name 东岙's household only when the caller's number is the household's
    for way in WAYS:
        assert access.households.usable(world.staff_p02, world.household, way), way
        reachable = db.session.scalars(sa.select(Household.id).where(
            access.households.reachable(world.staff_p02, way), Household.id == world.household.id)).all()
        assert reachable == [world.household.id], way
    assert not access.households.usable(world.staff_p02, world.household, "+86 138 0000 0000")
    case = intake.log_case(world.staff_p02, world.errand_item, Channel.PHONE, "需要办理", "王大爷", "+86 139 1234 5678",
                           household=world.household)
    assert case.household_id == world.household.id and case.requester_phone == MOBILE


def test_a_landline_typed_any_way_is_one_number(world, make, client, auth):
    home = make.household(world.h01, address="东岙12号", phone="053286123456", residents=("刘奶奶",))
    auth.login("staff-p01")
    for way in ("0532-8612-3456", "+86 532 8612 3456", "(0532) 86123456", "8653286123456"):
        html = client.get("/intake/caller", query_string={"requester_phone": way},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
        assert "东岙12号" in html, way
    assert _log(client, home.id, "+86 532 8612 3456", requester_name="刘奶奶").status_code == 303
    assert db.session.scalars(sa.select(Case.requester_phone)).one() == "053286123456"


def test_a_number_abroad_is_kept_with_its_country_code(world, client, auth):
    auth.login("staff-p01")
    response = _log(client, "", "+852 9123 4567", requester_name="陈先生", place_id=str(world.h01.id),
                    address="东岙20号")
    assert response.status_code == 303
    case = db.session.scalars(sa.select(Case)).one()
    assert case.requester_phone == "+85291234567"
    assert "+85****4567" in client.get(f"/cases/{case.number}/receipt").get_data(as_text=True)
    assert [c.id for c in intake.caller_lookup("00852 9123 4567", world.staff).recent] == [case.id]


@pytest.mark.parametrize("garbage", ["12345", "139-1234-567", "85291234567", "电话号码", "0532-8612-3456-123"])
def test_garbage_is_refused_next_to_the_field_in_chinese(world, client, auth, garbage):
    auth.login("staff-p01")
    response = _log(client, world.household.id, garbage)
    assert response.status_code == 422
    assert PHONE_ERROR in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_the_domain_refuses_garbage_and_corrects_edits_to_the_one_form(world):
    with pytest.raises(DomainError) as raised:
        intake.log_case(world.staff, world.errand_item, Channel.PHONE, "x", "王", "+1 393 524 9848",
                        household=world.household)
    assert raised.value.field == "requester_phone" and "境外号码" in str(raised.value.message)
    db.session.rollback()
    case = log(world)
    lifecycle.edit(case, world.staff, {"requester_phone": "+86 139 1234 5679"}, version=case.version)
    assert case.requester_phone == "13912345679"
    with pytest.raises(DomainError):
        lifecycle.edit(case, world.staff, {"requester_phone": "12345"}, version=case.version)


# --- the queue's search ------------------------------------------------------------------------------------

def test_the_queue_search_finds_the_number_typed_any_way(world, client, auth):
    case = log(world)
    found = lambda q: db.session.scalars(sa.select(Case.id).where(queues.search_condition(q))).all()  # noqa: E731
    for way in (*WAYS, "139 1234", "5678"):
        assert found(way) == [case.id], way
    assert found("+86 138 0000 0000") == []
    auth.login("staff-p01")
    html = client.get("/cases/", query_string={"tab": "point", "q": "+86 139 1234 5678"}).get_data(as_text=True)
    assert case.number in html


# --- the other places numbers are typed --------------------------------------------------------------------

def test_the_heating_hotline_finds_and_stores_the_caller_in_the_one_form(app, district, client, auth):
    auth.login("butler-e01")
    found = client.get("/heating/caller", query_string={"requester_phone": "+86 137-0000-0001"},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "金色环海1号楼1单元101" in found
    response = client.post("/heating/hotline", data={"requester_phone": "8613700000001",
                                                     "household_id": district.flat.id, "item": "HT03"})
    assert response.status_code == 303
    assert db.session.scalars(sa.select(Case.requester_phone)).one() == "13700000001"


def test_an_open311_request_stores_the_phone_in_the_one_form(world, client):
    from portal.domain.credentials import apikeys

    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    _key, secret = apikeys.create(None, point, "kiosk-1", actor_name="test")
    response = client.post("/open311/v2/requests.json", data={
        "api_key": secret, "service_code": "CV05", "address_id": world.household.code, "description": "代购药品",
        "first_name": "大爷", "last_name": "王", "phone": "+86 139 1234 5678"})
    assert response.status_code == 201
    assert db.session.scalars(sa.select(Case.requester_phone)).one() == MOBILE


def test_the_directory_stores_users_and_points_phones_in_the_one_form(world, client, auth):
    auth.login("root")
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    response = client.post("/directory/users/new", data={
        "username": "li.na", "display_name": "李娜", "phone": "+86 138 0000 2222", "role": "staff",
        "service_point_id": str(point.id), "team_id": "", "password": "a-first-secret-9"})
    assert response.status_code == 303
    assert db.session.scalars(sa.select(User.phone).filter_by(username="li.na")).one() == "13800002222"
    refused = client.post("/directory/users/new", data={
        "username": "zhao.yi", "display_name": "赵一", "phone": "12345", "role": "staff",
        "service_point_id": str(point.id), "team_id": "", "password": "a-first-secret-9"})
    assert refused.status_code == 422 and 'id="phone-error">请填写 11 位手机号' in refused.get_data(as_text=True)


def test_a_roster_stores_phones_in_the_one_form_and_the_same_number_again_changes_nothing(world, client, auth):
    from tests.test_imports import confirm, csv_bytes, upload

    auth.login("root")
    rows = [["H01", "东岙100号", "", "+86 532 8680 1234", "王建国", "", "8613912340002", "", "", "", ""],
            ["H01", "东岙101号", "", "+852 9123 4567", "陈先生", "", "", "", "", "", ""]]
    assert "新增 2" in confirm(client, upload(client, csv_bytes(rows)).get_data(as_text=True)).get_data(as_text=True)
    home = db.session.scalars(sa.select(Household).filter_by(address="东岙100号")).one()
    assert (home.phone, home.residents[0].phone) == ("053286801234", "13912340002")
    assert db.session.scalars(sa.select(Household.phone).filter_by(address="东岙101号")).one() == "+85291234567"
    again = [["H01", "东岙100号", "", "0532-8680-1234", "王建国", "", "139 1234 0002", "", "", "", ""],
             ["H01", "东岙101号", "", "+85****4567", "陈先生", "", "", "", "", "", ""]]  # as the export masks it
    assert "未变 2 行" in upload(client, csv_bytes(again)).get_data(as_text=True)
    bad = [["H01", "东岙102号", "", "85291234567", "赵一", "", "", "", "", "", ""]]
    assert "不是电话号码：手机号为 11 位，固定电话需带区号，境外号码以 + 开头。" in upload(
        client, csv_bytes(bad)).get_data(as_text=True)


# --- the migration that rewrites the numbers stored before ---------------------------------------------------

def _migration():
    path = next(Path(__file__).resolve().parent.parent.glob("migrations/versions/*_phone_numbers_in_one_form.py"))
    spec = importlib.util.spec_from_file_location("phone_numbers_in_one_form", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_rewrites_stored_numbers_to_the_one_form_and_merges_opt_outs(world, make):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    ids = make.cases(1, world.errand_item, world.h01, point, requester_phone="8613935249848") + \
        make.cases(1, world.errand_item, world.h01, point, requester_phone="13935249848") + \
        make.cases(1, world.errand_item, world.h01, point, requester_phone="12345")
    home = make.household(world.h01, address="东岙30号", phone="8653286123456", residents=("孙六",))
    db.session.get(Household, home.id).phone2 = "0085291234567"
    db.session.scalars(sa.select(Resident).filter_by(household_id=home.id)).one().phone = "+86 139 3524 9848"
    world.staff.phone = "008613800002222"
    point.phone = "86053286801234"
    db.session.add_all([
        OutboxMessage(key="a", channel=MessageChannel.SMS, address="8613935249848", text="x", kind="receipt"),
        OutboxMessage(key="b", channel=MessageChannel.EMAIL, address="8613935249848", text="x", kind="reminder"),
        OutboxMessage(key="c", channel=MessageChannel.SMS, address="13935249848", text="x", kind="receipt"),
        OptOut(address="8613935249848", at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC)),
        OptOut(address="+86 139 3524 9848", at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC)),  # asked first
        OptOut(address="13935249848", at=datetime(2026, 11, 3, 9, 0, tzinfo=UTC)),
        OptOut(address="0532-8612-3456", at=datetime(2026, 11, 4, 9, 0, tzinfo=UTC)),
        OptOut(address="13800001111", at=datetime(2026, 11, 5, 9, 0, tzinfo=UTC)),
    ])
    db.session.commit()

    counts = _migration().rewrite(db.session.connection())
    db.session.commit()
    db.session.expire_all()

    assert counts == {"cases.requester_phone": 1, "households.phone": 1, "households.phone2": 1,
                      "residents.phone": 1, "users.phone": 1, "service_points.phone": 1, "outbox.address": 1,
                      "message_opt_outs.address": 3}
    assert [db.session.get(Case, i).requester_phone for i in ids] == ["13935249848", "13935249848", "12345"]
    home = db.session.get(Household, home.id)
    assert (home.phone, home.phone2, home.residents[0].phone) == ("053286123456", "+85291234567", "13935249848")
    assert (db.session.get(User, world.staff.id).phone, db.session.get(ServicePoint, point.id).phone) == \
        ("13800002222", "053286801234")
    assert dict(db.session.execute(sa.select(OutboxMessage.key, OutboxMessage.address)).all()) == {
        "a": "13935249848", "b": "8613935249848", "c": "13935249848"}  # an e-mail address is left alone
    assert {o.address: o.at.day for o in db.session.scalars(sa.select(OptOut))} == {
        "13935249848": 1, "053286123456": 4, "13800001111": 5}
    assert _migration().rewrite(db.session.connection()) == {}  # a second run finds nothing to do


def test_the_migration_rewrites_many_rows_in_one_statement_per_column(world, make):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    make.cases(1500, world.errand_item, world.h01, point, requester_phone="+86 139 3524 9848")
    counts = _migration().rewrite(db.session.connection())
    db.session.commit()
    assert counts == {"cases.requester_phone": 1500}
    assert set(db.session.scalars(sa.select(Case.requester_phone))) == {"13935249848"}
