"""The heating pages: the hotline with one-tap faults, incidents, the roster, campaigns, cards."""
import re
from datetime import timedelta

import sqlalchemy as sa

from portal import clock
from portal.domain import heating
from portal.extensions import db
from portal.models import CampaignVisit, Case, DutyShift, Incident
from tests.stories import at as _at


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def test_the_hotline_finds_the_caller_and_one_tap_logs_and_routes(app, district, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 10, 0)
    butler = _client(app, "butler-e01")
    found = butler.get("/heating/caller", query_string={"requester_phone": "13700000001"},
                       headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "金色环海1号楼1单元101" in found and district.butler.display_name in found
    response = butler.post("/heating/hotline", data={"requester_phone": "13700000001",
                                                     "household_id": district.flat.id, "item": "HT03"})
    assert response.status_code == 303
    case = db.session.scalars(sa.select(Case)).one()
    assert case.item.code == "HT03" and case.owner_id == district.butler.id


def test_the_hotline_explains_a_missing_fault_or_address(app, district):
    desk = _client(app, "desk-sqt")
    no_fault = desk.post("/heating/hotline", data={"requester_phone": "13700000001"})
    assert no_fault.status_code == 422 and "请选择供热故障类型。" in no_fault.get_data(as_text=True)
    no_address = desk.post("/heating/hotline", data={"requester_phone": "13911112222", "item": "HT01",
                                                     "station": district.station.id})
    assert no_address.status_code == 422 and 'id="address-error">来电人未登记' in no_address.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0


def test_staff_see_the_incident_while_taking_the_call_and_close_it(app, district, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 10, 0)
    desk = _client(app, "desk-sqt")
    declared = desk.post("/heating/incidents", data={
        "station": district.station.id, "title": "主管网抢修", "places": [district.e01.id],
        "notice": "18:00 前恢复供热", "expected_end_at": "2026-11-27T18:00"})
    assert declared.status_code == 303
    banner = desk.get("/heating/caller", query_string={"requester_phone": "13700000001"},
                      headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "本小区有片区事件" in banner and "18:00 前恢复供热" in banner
    desk.post("/heating/hotline", data={"requester_phone": "13700000001", "household_id": district.flat.id,
                                        "item": "HT01"})
    incident = db.session.scalars(sa.select(Incident)).one()
    closed = desk.post(f"/heating/incidents/{incident.id}/close", data={"note": "已恢复供热"}, follow_redirects=True)
    assert "事件已结束，1 个来电已办结。" in closed.get_data(as_text=True)
    assert _client(app, "butler-e01").post(f"/heating/incidents/{incident.id}/close", data={"note": "x"}).status_code == 403


def test_the_duty_roster_is_kept_by_the_station(app, district):
    desk = _client(app, "desk-sqt")
    day = clock.today() + timedelta(days=1)
    saved = desk.post("/heating/duty", data={"station": district.station.id, "day": day.isoformat(),
                                             "user": district.butler2.id})
    assert saved.status_code == 303
    assert db.session.scalars(sa.select(DutyShift.user_id)).one() == district.butler2.id
    assert district.butler2.display_name in desk.get("/heating/duty").get_data(as_text=True)


def test_a_butler_walks_a_campaign_and_makes_a_finding_a_case(app, district):
    campaign = heating.create_campaign(district.desk, "入户走访", [district.e01], clock.today(),
                                       clock.today() + timedelta(days=7))
    butler = _client(app, "butler-e01")
    page = butler.get(f"/heating/campaigns/{campaign.id}/walk").get_data(as_text=True)
    assert "金色环海1号楼1单元101" in page
    butler.post(f"/heating/campaigns/{campaign.id}/households/{district.flat.id}",
                data={"result": "finding", "finding": "air_lock", "note": "有流水声"})
    visit = db.session.scalars(sa.select(CampaignVisit)).one()
    assert visit.finding.value == "air_lock"
    butler.post(f"/heating/campaigns/visits/{visit.id}/case")
    db.session.expire_all()
    assert db.session.get(CampaignVisit, visit.id).case.item.code == "HT04"
    board = butler.get(f"/heating/campaigns/{campaign.id}").get_data(as_text=True)
    assert "100.0%" in board


def test_a_big_estate_prints_its_cards_in_parts(app, district, make, monkeypatch):
    from portal.heating import cards

    monkeypatch.setattr(cards, "PART", 8)  # one sheet a part
    for n in range(9):
        make.household(district.e01, address=f"金色环海{n + 1}号楼", phone=f"1391111{n:04d}")
    total = cards.count(district.e01)
    desk = _client(app, "desk-sqt")
    chooser = desk.get("/heating/cards?estate=E01").get_data(as_text=True)
    parts = (total + 7) // 8
    assert parts >= 2 and chooser.count("part=") == parts and "<svg" not in chooser
    printed = []
    for part in range(1, parts + 1):
        with desk.get(f"/heating/cards?estate=E01&part={part}") as response:
            html = response.get_data(as_text=True)
        printed += re.findall(r'class="card-address">([^<]+)<', html)
        assert html.count('class="card-sheet"') == 1
    assert len(printed) == total and len(set(printed)) == total  # every household once, in its part


def test_the_card_sheets_stream_for_an_estate(app, district):
    desk = _client(app, "desk-sqt")
    with desk.get("/heating/cards?estate=E01") as response:
        html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'class="card-sheet"' in html and "<svg" in html
    assert district.butler.phone in html and district.station.phone in html


def test_no_card_is_printed_while_the_portal_has_no_public_address(app, district, tmp_path):
    app.config["PUBLIC_BASE_URL"] = ""
    desk = _client(app, "desk-sqt")
    refused = desk.get("/heating/cards?estate=E01")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "公网地址（PUBLIC_BASE_URL）尚未设置" in page and 'class="card-sheet"' not in page
    result = app.test_cli_runner().invoke(args=["cards", "--estate", "E01", "--out", str(tmp_path / "c.html")])
    assert result.exit_code != 0 and "PUBLIC_BASE_URL" in result.output and not (tmp_path / "c.html").exists()
