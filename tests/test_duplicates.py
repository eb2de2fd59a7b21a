"""Possible duplicates at intake (portal.domain.cases.intake.possible_duplicates): open cases of the same
household or number, or of the same place and category in the last few days, shown while a case is logged,
with one click to note the call on one of them instead of logging a second case."""
import sqlalchemy as sa

from portal.domain.cases import intake
from portal.extensions import db
from portal.models import Case, CaseEvent, Channel, EventKind
from tests.stories import at, log


def test_open_cases_of_the_household_number_or_place_and_category_are_offered(world, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    ours = log(world)  # the household's, from 13912345678
    neighbour = intake.log_case(world.staff, world.errand_item, Channel.PHONE, "同一件事", "李四", "13800000002",
                                place=world.h01, address="东岙9号")
    elsewhere = intake.log_case(world.staff_p02, world.errand_item, Channel.PHONE, "别处", "赵五", "13800000003",
                                place=world.h02, address="西岙1号")
    found = lambda **kw: [c.number for c in intake.possible_duplicates(world.staff, **kw)]  # noqa: E731
    assert found(phone="139 1234 5678") == [ours.number]
    assert found(household_id=world.household.id) == [ours.number]
    assert found(place_id=world.h01.id, item_id=world.errand_item.id) == [neighbour.number, ours.number]
    assert elsewhere.number not in found(place_id=world.h02.id, item_id=world.errand_item.id)  # another point's
    assert found() == []
    at(monkeypatch, 2026, 12, 1, 10, 0)  # four days on: the place's cases are no longer "the same matter"...
    assert found(place_id=world.h01.id, item_id=world.errand_item.id) == []
    assert found(household_id=world.household.id) == [ours.number]  # ...the household's still are


def test_the_clerk_notes_the_call_on_the_open_case_and_logs_nothing(world, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    ours = log(world)
    auth.login("staff-p01")
    panel = client.get(f"/intake/duplicates?requester_phone=13912345678&household_id={world.household.id}")
    assert ours.number in panel.get_data(as_text=True) and "同一件事：记入此工单" in panel.get_data(as_text=True)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
    response = client.post(f"/intake/add-to/{ours.number}", data={
        "requester_phone": "13912345678", "requester_name": "王大爷", "description": "又来问进度"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{ours.number}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == before
    event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == ours.id,
                                                          CaseEvent.kind == EventKind.NOTE)).one()
    assert event.note == "又来问进度" and event.data["again"] == "王大爷 13912345678" and not event.public
    page = client.get(f"/cases/{ours.number}").get_data(as_text=True)
    assert "再次来电反映此事（王大爷 13912345678）" in page


def test_a_case_the_clerk_may_not_see_is_neither_offered_nor_noted(world, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    theirs = intake.log_case(world.staff_p02, world.errand_item, Channel.PHONE, "别处", "赵五", "13800000003",
                             place=world.h02, address="西岙1号")
    auth.login("staff-p01")
    assert theirs.number not in client.get("/intake/duplicates?requester_phone=13800000003").get_data(as_text=True)
    assert client.post(f"/intake/add-to/{theirs.number}", data={"description": "x"}).status_code == 404
