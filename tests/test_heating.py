"""The heating district: routing calls, duty at night and on holidays, incidents, campaigns, cards."""
from datetime import date, timedelta

import pytest

from portal import clock
from portal.domain import DomainError, NotFound, access, heating
from portal.domain.boards import board
from portal.extensions import db
from portal.heating import cards
from portal.models import (
    CaseStatus,
    DutyShift,
    Finding,
    Priority,
    VisitResult,
)
from tests.stories import at as _at

TZ = clock.LOCAL_TZ


def test_by_day_a_call_goes_to_the_estates_butler(district, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 10, 0)
    case = heating.take_call(district.desk, district.item("HT01"), "13700000001", "", household=district.flat)
    assert case.owner_id == district.butler.id and case.status is CaseStatus.LOGGED
    assert case.place_id == district.e01.id and case.service_point_id == district.station.id


def test_at_night_it_goes_to_the_one_on_duty(district, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 23, 30)
    db.session.add(DutyShift(service_point=district.station, day=date(2026, 11, 27), user=district.butler2))
    db.session.commit()
    case = heating.take_call(district.desk, district.item("HT01"), "13700000001", "", household=district.flat)
    assert case.owner_id == district.butler2.id


def test_on_a_public_holiday_it_goes_to_the_one_on_duty(district, monkeypatch):
    _at(monkeypatch, 2026, 10, 2, 10, 0)  # National Day, mid-morning
    db.session.add(DutyShift(service_point=district.station, day=date(2026, 10, 2), user=district.butler2))
    db.session.commit()
    case = heating.take_call(district.desk, district.item("HT02"), "13700000001", "", household=district.flat)
    assert case.owner_id == district.butler2.id


def test_at_night_without_anyone_on_duty_the_butler_still_gets_it(district, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 2, 0)
    case = heating.take_call(district.desk, district.item("HT01"), "13700000001", "", household=district.flat)
    assert case.owner_id == district.butler.id


def test_an_unknown_address_goes_to_the_stations_queue_marked(district, app, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 10, 0)
    case = heating.take_call(district.desk, district.item("HT01"), "13911110000", "钱女士",
                             station=district.station, address="海之韵某号楼，具体门牌不详")
    assert case.owner_id is None and case.place_id is None and case.service_point_id == district.station.id
    client = app.test_client()
    client.post("/auth/login", data={"username": "desk-sqt", "password": "correct-horse-7"})
    html = client.get("/cases/?tab=claimable").get_data(as_text=True)
    assert case.number in html and "地址待核实" in html
    with pytest.raises(DomainError):
        heating.take_call(district.desk, district.item("HT01"), "13911110000", "钱女士", station=district.station)


def test_leaks_are_urgent_with_four_hours_and_sort_first(district, app, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 10, 0)
    radiator = heating.take_call(district.desk, district.item("HT01"), "13700000001", "", household=district.flat)
    leak = heating.take_call(district.desk, district.item("HT03"), "13700000001", "", household=district.flat)
    assert leak.priority is Priority.URGENT and leak.due_at == leak.created_at + timedelta(hours=4)
    client = app.test_client()
    client.post("/auth/login", data={"username": "butler-e01", "password": "correct-horse-7"})
    html = client.get("/cases/?tab=claimable").get_data(as_text=True)
    assert html.index(leak.number) < html.index(radiator.number)


def test_calls_from_an_estate_with_an_incident_are_linked_and_resolved_together(district, make, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 10, 0)
    incident = heating.declare_incident(district.desk, district.station, "主管网抢修", "18:00 前恢复供热",
                                        [district.e01], clock.now() + timedelta(hours=6))
    upstairs = make.household(district.e01, address="金色环海1号楼1单元201", phone="13700000003")
    calls = [heating.take_call(district.desk, district.item("HT01"), household.phone, "", household=household)
             for household in (district.flat, upstairs)]
    assert all(c.incident_id == incident.id and c.owner_id is None for c in calls)
    neighbour = make.household(district.e02, address="海之韵1号楼101", phone="13700000002")
    elsewhere = heating.take_call(district.desk, district.item("HT01"), "13700000002", "", household=neighbour)
    assert elsewhere.incident_id is None and elsewhere.owner_id == district.butler2.id
    with pytest.raises(DomainError):
        heating.close_incident(incident, district.desk, "")
    assert heating.close_incident(incident, district.desk, "抢修完成，已恢复供热") == 2
    for case in calls:
        db.session.refresh(case)
        assert case.status is CaseStatus.RESOLVED
        assert case.events[-1].public and case.events[-1].note == "抢修完成，已恢复供热"
    assert heating.take_call(district.desk, district.item("HT01"), "13700000001", "",
                             household=district.flat).incident_id is None


def test_incident_calls_are_not_claimable_one_by_one(district, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 10, 0)

    heating.declare_incident(district.desk, district.station, "抢修", "", [district.e01], None)
    case = heating.take_call(district.desk, district.item("HT01"), "13700000001", "", household=district.flat)
    assert not access.can(district.butler, "case.claim", case)


def test_campaign_coverage_findings_and_cases(district, make, monkeypatch):
    _at(monkeypatch, 2026, 11, 27, 10, 0)
    second = make.household(district.e01, address="金色环海1号楼1单元102", phone="13700000002")
    third = make.household(district.e01, address="金色环海1号楼1单元201", phone="13700000003")
    campaign = heating.create_campaign(district.desk, "入户走访", [district.e01], clock.today(),
                                       clock.today() + timedelta(days=30))
    heating.record_visit(campaign, district.flat, district.butler, VisitResult.VISITED)
    heating.record_visit(campaign, second, district.butler, VisitResult.NOT_HOME)
    leak = heating.record_visit(campaign, third, district.butler, VisitResult.FINDING, Finding.LEAK, "阀门滴水")
    with pytest.raises(DomainError):
        heating.record_visit(campaign, second, district.butler, VisitResult.FINDING)  # a finding needs its kind
    case = heating.finding_to_case(leak, district.butler)
    assert case.item.code == "HT03" and case.priority is Priority.URGENT and case.owner_id == district.butler.id
    [row] = heating.campaign_board(campaign)
    assert (row.households, row.visited, row.not_home, row.cases, row.resolved) == (3, 2, 1, 1, 0)
    assert row.findings == {Finding.LEAK: 1} and row.coverage == pytest.approx(2 / 3)
    assert board.coverage([district.e01.id], clock.today()) == (2, 3)
    again = heating.record_visit(campaign, second, district.butler, VisitResult.VISITED)
    assert again.attempts == 2 and heating.campaign_board(campaign)[0].visited == 3


def test_a_monthly_campaign_visits_each_household_once_a_month(district, make, app, monkeypatch):
    second = make.household(district.e01, address="金色环海1号楼1单元102", phone="13700000002")
    _at(monkeypatch, 2026, 11, 20, 10, 0)
    campaign = heating.create_campaign(district.desk, "访问暖", [district.e01], date(2026, 11, 15), date(2027, 1, 31),
                                       monthly=True)
    heating.record_visit(campaign, district.flat, district.butler, VisitResult.VISITED)
    heating.record_visit(campaign, second, district.butler, VisitResult.VISITED)
    _at(monkeypatch, 2026, 12, 2, 10, 0)
    assert heating.walk(campaign, district.e01)[0][1] is None  # December's round: every door to knock on again
    again = heating.record_visit(campaign, district.flat, district.butler, VisitResult.VISITED)
    assert again.attempts == 1 and again.round == date(2026, 12, 1)
    assert heating.campaign_board(campaign)[0].visited == 1  # this month's round
    [(place, months)] = heating.monthly_coverage(campaign).items()
    assert months == [(date(2026, 11, 1), 2, 2), (date(2026, 12, 1), 1, 2)]
    client = app.test_client()
    client.post("/auth/login", data={"username": "desk-sqt", "password": "correct-horse-7"})
    page = client.get(f"/heating/campaigns/{campaign.id}").get_data(as_text=True)
    assert "2026-11" in page and "2/2" in page and "1/2" in page


def test_a_butler_records_only_doors_of_their_estates(district, make):
    household = make.household(district.e02, address="海之韵1号楼101", phone="13700000009")
    campaign = heating.create_campaign(district.desk, "走访", [district.e01, district.e02], clock.today(),
                                       clock.today())

    with pytest.raises(NotFound):  # not theirs to see at all
        heating.record_visit(campaign, household, district.butler, VisitResult.VISITED)


def test_each_estate_has_one_butler(district, app):
    from portal.domain.platform import directory

    with pytest.raises(DomainError) as raised:
        directory.save(type(district.butler2), district.butler2, {"places": [district.e01, district.e02]},
                       district.admin)
    assert raised.value.field == "place_ids"


def test_card_sheets_hold_eight_cards_with_the_butler_and_a_qr_code(district, make):
    for n in range(9):
        make.household(district.e01, address=f"金色环海2号楼{n}", phone="13700000010")
    sheets = list(cards.sheets(district.e01, None, "http://portal.example"))
    assert [len(s) for s in sheets] == [8, 2]
    card = sheets[0][0]
    assert card.butler_name == district.butler.display_name and card.hotline == district.station.phone
    assert card.qr.startswith("<svg") and "style=" not in card.qr


def test_cards_command_writes_every_card_with_a_progress_bar(district, make, runner, tmp_path):
    out = tmp_path / "cards.html"
    result = runner.invoke(args=["cards", "--estate", "E01", "--out", str(out)])
    assert result.exit_code == 0 and "1 cards written" in result.output
    html = out.read_text(encoding="utf-8")
    assert html.count('class="service-card"') == 1 and "金色环海1号楼1单元101" in html and "<style>" in html
    assert runner.invoke(args=["cards", "--out", str(out)]).exit_code != 0
