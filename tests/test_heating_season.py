"""Issue 35, the heating district: the season's phases, the company's fault words, room temperatures against the
standard, findings made cases in bulk, and the convenience cards as PDF sheets made by a background job."""
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader
from sqlalchemy.orm.attributes import set_committed_value

from portal import clock
from portal.cases import timeline
from portal.domain import Conflict, DomainError, Forbidden, access, card_jobs, heating
from portal.domain.cases import intake
from portal.domain.platform import jobs
from portal.extensions import db
from portal.models import (
    CampaignVisit,
    Case,
    CaseEvent,
    Channel,
    DutyShift,
    EventKind,
    Finding,
    Job,
    JobStatus,
    Role,
    SeasonPhase,
    TemperatureReading,
    VisitResult,
)
from tests.stories import at as _at


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def _season(w, name="2026—2027", trial=date(2026, 11, 7), proper=date(2026, 11, 15), last=date(2027, 3, 31)):
    return heating.set_season(w.admin, name, trial, proper, last)


# --- 6. the season's phases and the company's words ----------------------------------------------------------

def test_the_phase_of_a_day_follows_the_season_the_admin_set(district):
    assert heating.phase_on(date(2026, 11, 10)).phase is SeasonPhase.NOT_SET
    _season(district)
    assert heating.phase_on(date(2026, 11, 6)).phase is SeasonPhase.NOT_SET
    trial = heating.phase_on(date(2026, 11, 7))
    assert trial.phase is SeasonPhase.TRIAL and (trial.first, trial.last) == (date(2026, 11, 7), date(2026, 11, 14))
    assert heating.phase_on(date(2026, 11, 15)).phase is SeasonPhase.SEASON
    assert heating.phase_on(date(2027, 3, 31)).phase is SeasonPhase.SEASON
    assert heating.phase_on(date(2027, 4, 1)).phase is SeasonPhase.ENDED


def test_only_an_admin_sets_a_season_and_seasons_do_not_overlap(district):
    with pytest.raises(Forbidden):
        heating.set_season(district.lead, "2026—2027", date(2026, 11, 7), date(2026, 11, 15), date(2027, 3, 31))
    with pytest.raises(DomainError) as backwards:
        heating.set_season(district.admin, "2026—2027", date(2026, 11, 15), date(2026, 11, 7), date(2027, 3, 31))
    assert backwards.value.field == "season_from"
    _season(district)
    with pytest.raises(DomainError) as overlap:
        heating.set_season(district.admin, "又一季", date(2027, 3, 1), date(2027, 3, 10), date(2027, 4, 30))
    assert overlap.value.field == "trial_from"


def test_the_admin_sets_the_season_on_a_page_and_the_hotline_and_campaigns_say_the_phase(app, district, monkeypatch):
    _at(monkeypatch, 2026, 11, 10, 10, 0)
    admin = _client(app, "root")
    saved = admin.post("/heating/seasons", data={"name": "2026—2027", "trial_from": "2026-11-07",
                                                 "season_from": "2026-11-15", "ends_on": "2027-03-31"})
    assert saved.status_code == 303
    refused = admin.post("/heating/seasons", data={"name": "x", "trial_from": "2026-11-20",
                                                   "season_from": "2026-11-10", "ends_on": "2027-03-31"})
    assert refused.status_code == 422 and "正式供暖不能早于试供暖的第一天" in refused.get_data(as_text=True)
    assert _client(app, "leader").get("/heating/seasons").status_code == 403
    desk = _client(app, "desk-sqt")
    for page in ("/heating/hotline", "/heating/campaigns", "/heating/"):
        assert "试供暖（低温运行）" in desk.get(page).get_data(as_text=True), page
    _at(monkeypatch, 2026, 11, 20, 10, 0)
    assert 'data-phase="season"' in _client(app, "desk-sqt").get("/heating/hotline").get_data(as_text=True)


def test_the_hotline_offers_the_faults_in_the_heating_companys_words(app, district):
    assert [i.name_zh for i in heating.fault_items()] == ["暖气不热", "冷热不均", "气堵", "跑冒滴漏", "温度不达标",
                                                          "运行不安全", "服务不到位"]
    page = _client(app, "desk-sqt").get("/heating/hotline").get_data(as_text=True)
    assert 'value="HT07"' in page and "服务不到位" in page


# --- 7. room temperatures -------------------------------------------------------------------------------------

def test_a_reading_below_the_standard_opens_one_case_and_later_ones_add_to_it(district):
    campaign = heating.create_campaign(district.desk, "入户测温", [district.e01], clock.today(), clock.today())
    warm = heating.record_temperature(district.butler, district.flat, "19", campaign=campaign)
    assert warm.case is None and warm.standard == 18 and warm.meets_standard
    cold = heating.record_temperature(district.butler, district.flat, "16.5", campaign=campaign)
    case = cold.case
    assert case.item.code == "HT07" and case.household_id == district.flat.id and case.owner_id == district.butler.id
    colder = heating.record_temperature(district.butler, district.flat, "15.8")
    assert colder.case_id == case.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    notes = [e.data for e in case.events if e.kind is EventKind.NOTE]
    assert notes == [{"temperature": 15.8, "standard": 18.0}]


def test_a_cold_room_found_on_a_fault_is_a_case_of_its_own_and_each_timeline_names_the_other(district):
    fault = intake.log_case(district.desk, district.item("HT01"), Channel.PHONE, "暖气不热", "赵先生", "13700000001",
                            household=district.flat)
    cold = heating.record_temperature(district.butler, district.flat, "16", case=fault).case
    assert cold.id != fault.id and cold.item.code == "HT07" and cold.origin_id == fault.id
    assert not cold.proactive  # it came out of the resident's own call
    said = [timeline.describe(e) for e in fault.events if e.kind is EventKind.NOTE]
    assert said == [f"测量室温：16 ℃（标准 18 ℃），低于标准，已记入工单 {cold.number}"]


def test_a_cold_room_found_at_a_door_is_proactive_work_and_the_door_counts_as_visited(district, make):
    campaign = heating.create_campaign(district.desk, "入户测温", [district.e01], clock.today(), clock.today())
    neighbour = make.household(district.e01, address="金色环海1号楼1单元102")
    cold = heating.record_temperature(district.butler, district.flat, "16", campaign=campaign)
    heating.record_temperature(district.butler, neighbour, "20", campaign=campaign)
    assert cold.case.proactive  # found by the butler, not asked for: counted apart from residents' requests
    doors = {v.household_id: (v.result, v.finding, v.case_id) for v in db.session.scalars(sa.select(CampaignVisit))}
    assert doors == {district.flat.id: (VisitResult.FINDING, Finding.BELOW_STANDARD, cold.case_id),
                     neighbour.id: (VisitResult.VISITED, Finding.FINE, None)}
    made = heating.findings_to_cases(campaign, list(db.session.scalars(sa.select(CampaignVisit).where(
        CampaignVisit.household_id == district.flat.id))), district.butler)
    assert made.cases == [] and len(made.already) == 1  # the reading's case is the finding's: no second case


def test_a_finding_of_a_cold_room_joins_the_households_open_case_instead_of_opening_a_second(district):
    fault = intake.log_case(district.desk, district.item("HT01"), Channel.PHONE, "暖气不热", "赵先生", "13700000001",
                            household=district.flat)
    cold = heating.record_temperature(district.butler, district.flat, "16", case=fault).case
    campaign = heating.create_campaign(district.desk, "入户走访", [district.e01], clock.today(), clock.today())
    found = heating.record_visit(campaign, district.flat, district.butler, VisitResult.FINDING, Finding.BELOW_STANDARD)
    made = heating.findings_to_cases(campaign, [found], district.butler)
    assert [c.id for c in made.cases] == [cold.id]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.item_id == cold.item_id)) == 1
    [again] = [timeline.describe(e) for e in cold.events if e.kind is EventKind.NOTE and e.data.get("found_again")]
    assert again == "走访活动“入户走访”再次发现：温度不达标"


def test_after_the_season_a_cold_room_is_recorded_and_opens_no_case(app, district):
    today = clock.today()
    _season(district, "上季", today - timedelta(days=150), today - timedelta(days=140), today - timedelta(days=1))
    campaign = heating.create_campaign(district.desk, "回访", [district.e01], today, today)
    page = _client(app, "butler-e01").post(f"/heating/campaigns/{campaign.id}/households/{district.flat.id}/temperature",
                                           data={"celsius": "12"}, follow_redirects=True).get_data(as_text=True)
    assert "已记录 12 ℃，低于标准 18 ℃；采暖季已结束，不开温度不达标工单。" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    assert db.session.scalars(sa.select(TemperatureReading)).one().phase is SeasonPhase.ENDED


def test_the_standard_is_a_setting_and_each_reading_keeps_the_one_it_was_taken_against(app, district):
    app.config["HEATING_STANDARD_CELSIUS"] = 20
    reading = heating.record_temperature(district.butler, district.flat, "19")
    assert reading.standard == 20 and reading.case is not None and not reading.meets_standard


@pytest.mark.parametrize("typed", ["abc", "60", ""])
def test_a_typing_error_is_not_a_reading(district, typed):
    with pytest.raises(DomainError) as refused:
        heating.record_temperature(district.butler, district.flat, typed)
    assert refused.value.field == "celsius"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TemperatureReading)) == 0


def test_a_butler_records_a_temperature_at_a_door_and_on_a_fault(app, district):
    campaign = heating.create_campaign(district.desk, "入户测温", [district.e01], clock.today(), clock.today())
    butler = _client(app, "butler-e01")
    walk = butler.get(f"/heating/campaigns/{campaign.id}/walk").get_data(as_text=True)
    assert "标准 18 ℃" in walk
    butler.post(f"/heating/campaigns/{campaign.id}/households/{district.flat.id}/temperature",
                data={"celsius": "16"})
    case = db.session.scalars(sa.select(Case)).one()
    assert case.item.code == "HT07"
    page = butler.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "<strong>16 ℃</strong>" in page and "低于标准 18 ℃" in page and "室温 16 ℃，低于标准 18 ℃，已派给" in page
    bad = butler.post(f"/heating/cases/{case.number}/temperature", data={"celsius": "热"})
    assert bad.status_code == 422 and "请填写室温（℃），例如 17.5。" in bad.get_data(as_text=True)
    met = butler.post(f"/heating/cases/{case.number}/temperature", data={"celsius": "18.5"}, follow_redirects=True)
    said = met.get_data(as_text=True)
    assert "已记录 18.5 ℃，达到标准 18 ℃。" in said and "18.5 ℃ 低于标准" not in said  # a fault's reading that meets it
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TemperatureReading)) == 2
    walk = butler.post(f"/heating/campaigns/{campaign.id}/households/{district.flat.id}/temperature",
                       data={"celsius": "15"}, follow_redirects=True).get_data(as_text=True)
    assert f"15 ℃ 低于标准 18 ℃：工单 {case.number}。" in walk  # added to the open case, said so


def test_the_estate_board_shows_each_estates_readings_and_the_share_meeting_the_standard(app, district, make):
    other = make.household(district.e01, address="金色环海2号楼1单元202", phone="13700000002")
    heating.record_temperature(district.butler, district.flat, "16")
    heating.record_temperature(district.butler, district.flat, "19")  # the latest counts: now warm enough
    heating.record_temperature(district.butler, other, "17")
    row = heating.estate_temperatures([district.e01.id], clock.local_midnight(clock.today()))[0]
    assert (row.households, row.meeting, row.lowest) == (2, 1, 17.0) and row.share == 0.5
    board = _client(app, "leader").get("/boards/place/E01").get_data(as_text=True)
    assert "达标率" in board and "50.0%" in board


# --- 8. findings made cases in bulk ----------------------------------------------------------------------------

def _findings(district, make, n=3):
    campaign = heating.create_campaign(district.desk, "入户走访", [district.e01], clock.today(), clock.today())
    kinds = [Finding.AIR_LOCK, Finding.LEAK, Finding.BELOW_STANDARD, Finding.UNSAFE]
    visits = []
    for index in range(n):
        household = district.flat if index == 0 else make.household(district.e01, address=f"金色环海3号楼{index}号")
        visits.append(heating.record_visit(campaign, household, district.butler, VisitResult.FINDING, kinds[index],
                                           note=f"发现{index}"))
    return campaign, visits


def test_several_findings_become_cases_in_one_step_and_none_twice(district, make):
    campaign, visits = _findings(district, make)
    first = heating.finding_to_case(visits[0], district.butler)
    made = heating.findings_to_cases(campaign, visits, district.butler)
    assert [v.id for v in made.already] == [visits[0].id]
    assert [(c.household_id, c.item.code) for c in made.cases] == [(visits[1].household_id, "HT03"),
                                                                   (visits[2].household_id, "HT07")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 3 and first.id not in [c.id for c in made.cases]
    routed = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == made.cases[0].id,
                                                           CaseEvent.kind == EventKind.ROUTED)).one()
    assert routed.data["campaign"] == "入户走访" and routed.data["finding"] == "leak"


def test_a_finding_made_a_case_by_someone_else_meanwhile_is_not_made_again(district, make):
    campaign, visits = _findings(district, make, n=1)
    visit = visits[0]
    heating.finding_to_case(visit, district.desk)  # a colleague's click
    set_committed_value(visit, "case_id", None)  # what this page read before it landed
    set_committed_value(visit, "case", None)
    with pytest.raises(Conflict):
        heating.findings_to_cases(campaign, [visit], district.butler)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


def test_a_butler_ticks_findings_on_the_campaign_and_the_timeline_says_where_each_came_from(app, district, make):
    campaign, visits = _findings(district, make)
    butler = _client(app, "butler-e01")
    page = butler.get(f"/heating/campaigns/{campaign.id}").get_data(as_text=True)
    assert "3 条尚未转为工单" in page
    none = butler.post(f"/heating/campaigns/{campaign.id}/findings/cases", data={})
    assert none.status_code == 422 and "请选择要转为工单的发现。" in none.get_data(as_text=True)
    done = butler.post(f"/heating/campaigns/{campaign.id}/findings/cases",
                       data={"visits": [visits[0].id, visits[2].id]})
    assert done.status_code == 303
    cases = db.session.scalars(sa.select(Case).order_by(Case.id)).all()
    said = butler.get(done.headers["Location"]).get_data(as_text=True)
    assert f"已登记 2 个工单：{cases[0].number}、{cases[1].number}。" in said
    assert [c.household_id for c in cases] == [visits[0].household_id, visits[2].household_id]
    timeline = butler.get(f"/cases/{cases[0].number}").get_data(as_text=True)
    assert "来自入户走访“入户走访”中发现的“气堵”" in timeline
    again = butler.post(f"/heating/campaigns/{campaign.id}/findings/cases", data={"visits": [visits[0].id]},
                        follow_redirects=True).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 2
    assert f"已是工单，未重复登记：{cases[0].number}。" in again and "已登记 0" not in again


# --- 9. the cards as PDF sheets, a background job ------------------------------------------------------------------

def _text(path) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(path.read_bytes()))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_the_cards_job_makes_a_sheet_per_building_with_the_public_address(app, district, make):
    for n in range(3):
        make.household(district.e01, address=f"金色环海9号楼{n}01", building="9号楼")
    job = card_jobs.start(district.lead, [district.e01])
    assert jobs.work() == 1
    job = db.session.get(Job, job.id)
    assert job.status is JobStatus.DONE, job.error
    assert job.result["cards"] == 4 and job.done == 4 and job.total == 4
    path, name = card_jobs.download(job, district.lead)
    pages, text = _text(path)
    assert pages == 2 and job.result["pages"] == 2  # 金色环海1号楼's one card, then 9号楼's three on a sheet of their own
    assert "金色环海9号楼201" in text and "便民服务卡" in text and name.endswith(".pdf")
    assert "24 小时" not in text  # nobody on duty any night, and the butlers are not on call
    with pytest.raises(DomainError):
        card_jobs.download(job, district.desk)


def test_the_cards_say_24_hours_only_beside_a_number_that_answers_at_night(app, district):
    today = clock.today()
    assert heating.round_the_clock(district.station, True) is None  # no season set: no card is kept for one
    _season(district, "本季", today - timedelta(days=10), today - timedelta(days=3), today + timedelta(days=20))
    shifts = [DutyShift(service_point=district.station, day=today + timedelta(days=offset), user=district.butler2)
              for offset in range(21)]
    db.session.add_all(shifts)
    db.session.commit()
    assert heating.round_the_clock(district.station, True) == "hotline"  # every night to the season's end
    # A card is kept the whole season: one night without anyone, two weeks ahead, is enough to say no "24 小时".
    db.session.delete(shifts[15])
    db.session.commit()
    assert heating.nights_without_duty(district.station) == []  # the coming week's warning has nothing to say...
    assert heating.round_the_clock(district.station, True) is None  # ...but the card would promise that night
    district.station.butlers_on_call = True
    district.butler.phone = "13600000001"
    db.session.commit()
    assert heating.round_the_clock(district.station, True) == "butler"
    job = card_jobs.start(district.lead, [district.e01])
    jobs.work()
    job = db.session.get(Job, job.id)
    _pages, text = _text(card_jobs.download(job, district.lead)[0])
    assert "管家电话（24 小时）\n13600000001" in text and "服务站热线（24 小时）" not in text
    assert job.result["estates"][0]["round_the_clock"] == "butler"


def test_a_lead_starts_the_cards_and_downloads_them_later(app, district):
    lead = _client(app, "leader")
    started = lead.post("/heating/cards/jobs", data={"estate": "E01", "building": ""})
    assert started.status_code == 303
    job_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    assert "打印便民服务卡" in lead.get(f"/jobs/{job_id}").get_data(as_text=True)
    jobs.work()
    page = lead.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "共 1 张服务卡" in page
    assert "不标注：值班表未显示供暖季每个夜间都有人值班" in page  # no season set, no one rostered: no "24 小时" said why
    listed = lead.get("/heating/cards").get_data(as_text=True)
    assert f"/heating/cards/jobs/{job_id}/file" in listed and "生成 PDF" in listed
    file = lead.get(f"/heating/cards/jobs/{job_id}/file")
    assert file.status_code == 200 and file.data.startswith(b"%PDF")
    file.close()
    assert _client(app, "desk-sqt").get(f"/heating/cards/jobs/{job_id}/file").status_code == 404


def test_no_card_job_without_the_public_address(app, district):
    app.config["PUBLIC_BASE_URL"] = ""
    with pytest.raises(DomainError):
        card_jobs.start(district.lead, [district.e01])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_the_duty_page_warns_a_week_ahead_of_nights_without_anyone_on_duty(app, district):
    desk = _client(app, "desk-sqt")
    page = desk.get("/heating/duty").get_data(as_text=True)
    assert "未来一周有 7 个夜间无人值班" in page
    for offset in range(heating.DUTY_WARNING_DAYS):
        if offset != 3:
            db.session.add(DutyShift(service_point=district.station, day=clock.today() + timedelta(days=offset),
                                     user=district.butler2))
    db.session.commit()
    page = desk.get("/heating/duty").get_data(as_text=True)
    gap = clock.today() + timedelta(days=3)
    assert "未来一周有 1 个夜间无人值班" in page and gap.isoformat() in page
    assert heating.nights_without_duty(district.station) == [gap]


def test_the_printed_html_cards_say_24_hours_only_where_someone_answers_at_night(app, district):
    lead = _client(app, "leader")
    page = lead.get("/heating/cards?estate=E01").get_data(as_text=True)
    assert "金色环海1号楼1单元101" in page and "24 小时" not in page
    district.station.butlers_on_call = True
    district.butler.phone = "13600000001"
    db.session.commit()
    printed = lead.get("/heating/cards?estate=E01").get_data(as_text=True)
    assert "24 小时电话：" in printed and "片区服务管家：" in printed  # as the PDF has them, full-width


@pytest.mark.slow  # the migrations' chain, twice
def test_the_migration_gives_a_running_catalog_the_companys_fault_words(tmp_path):
    from flask_migrate import upgrade

    from portal import create_app
    from tests.conftest import config_for

    app = create_app(config_for(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    with app.app_context():
        upgrade(revision="f3b5d7f9a1c4")
        for code, name in (("HT01", "暖气不热"), ("HT04", "气堵排气")):
            db.session.execute(sa.text("INSERT INTO service_items (code, category_zh, category_en, name_zh, name_en, "
                                       "keywords, pinyin, mode, needs_approval, sla_hours, urgent, materials, "
                                       "approving_office, active) VALUES (:code, '供热', 'Heating', :name, '', '', '', "
                                       "'home', false, 24, false, '', '', true)"), {"code": code, "name": name})
        db.session.commit()
        upgrade(revision="a4c6e8a0b2d5")
        names = dict(db.session.execute(sa.text("SELECT code, name_zh FROM service_items")).all())
        db.engine.dispose()
    assert names == {"HT01": "暖气不热", "HT04": "气堵", "HT07": "温度不达标", "HT08": "运行不安全", "HT09": "服务不到位"}


def test_buildings_are_counted_as_numbers_and_a_card_job_for_one_the_estate_lacks_is_refused(district, make):
    for building in ("10号楼", "2号楼", "1号楼"):
        make.household(district.e01, address=f"金色环海{building}101", building=building)
    assert heating.buildings(district.e01) == ["1号楼", "2号楼", "10号楼"]
    with pytest.raises(DomainError) as refused:
        card_jobs.start(district.lead, [district.e01], "99号楼")
    assert refused.value.field == "building" and "金色环海没有“99号楼”" in str(refused.value.message)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0  # no job that makes "0 张服务卡"


def test_the_heating_districts_people_are_not_offered_the_off_island_manifest(app, district, make):
    head = make.user(Role.LEAD, username="head-sqt", service_point=district.station, places=[district.e01])
    for who in (district.butler, district.desk, head):
        assert not access.can(who, "errands.manifest"), who.username
    assert access.can(district.lead, "errands.manifest") and access.can(district.proxy, "errands.manifest")
    assert 'href="/errands/manifest"' not in _client(app, "butler-e01").get("/").get_data(as_text=True)


def test_the_walk_opens_the_first_building_and_a_finding_made_a_case_comes_back_to_it(app, district, make):
    campaign = heating.create_campaign(district.desk, "入户走访", [district.e01], clock.today(), clock.today())
    doors = {b: make.household(district.e01, address=f"金色环海{b}101", building=b) for b in ("2号楼", "10号楼")}
    butler = _client(app, "butler-e01")
    walk = butler.get(f"/heating/campaigns/{campaign.id}/walk").get_data(as_text=True)
    assert doors["2号楼"].address in walk and doors["10号楼"].address not in walk  # one building, not the estate
    everything = butler.get(f"/heating/campaigns/{campaign.id}/walk?building=").get_data(as_text=True)
    assert doors["2号楼"].address in everything and doors["10号楼"].address in everything  # "All" asked for
    found = heating.record_visit(campaign, doors["10号楼"], district.butler, VisitResult.FINDING, Finding.LEAK)
    back = butler.post(f"/heating/campaigns/visits/{found.id}/case", data={"building": "10号楼"})
    assert back.status_code == 303 and "building=10" in back.headers["Location"]


def test_a_second_call_about_the_same_fault_is_noted_on_the_households_open_case(app, district):
    first = heating.take_call(district.desk, district.item("HT07"), "13700000001", "赵先生", household=district.flat)
    desk = _client(app, "desk-sqt")
    again = desk.post("/heating/hotline", data={"requester_phone": "13700000001", "household_id": district.flat.id,
                                                "item": "HT07", "description": "还是冷"}, follow_redirects=True)
    said = again.get_data(as_text=True)
    assert f"该户已有此故障的未办结工单 {first.number}：本次来电已记入该工单，未新建工单。" in said
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1
    noted = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == first.id,
                                                          CaseEvent.kind == EventKind.NOTE)).one()
    assert noted.note == "还是冷" and "again" in noted.data
    other = heating.take_call(district.desk, district.item("HT03"), "13700000001", "赵先生", household=district.flat)
    assert other.id != first.id  # another fault is a case of its own


def test_cards_printed_before_the_season_ask_for_duty_from_its_trial_heating_on(app, district):
    today = clock.today()
    trial = today + timedelta(days=20)
    _season(district, "下季", trial, trial + timedelta(days=7), trial + timedelta(days=30))
    db.session.add_all([DutyShift(service_point=district.station, day=trial + timedelta(days=offset),
                                  user=district.butler2) for offset in range(31)])
    db.session.commit()
    assert heating.round_the_clock(district.station, True) == "hotline"  # the nights before the heating don't count


def test_an_out_of_season_door_reading_is_a_visit_with_nothing_to_make_a_case_of(district):
    today = clock.today()
    _season(district, "上季", today - timedelta(days=150), today - timedelta(days=140), today - timedelta(days=1))
    campaign = heating.create_campaign(district.desk, "回访", [district.e01], today, today)
    heating.record_temperature(district.butler, district.flat, "12", campaign=campaign)
    door = db.session.scalars(sa.select(CampaignVisit)).one()
    assert (door.result, door.finding, door.case_id) == (VisitResult.VISITED, None, None)


def test_the_walk_keeps_the_whole_estate_after_a_door_when_all_was_chosen(app, district, make):
    campaign = heating.create_campaign(district.desk, "入户走访", [district.e01], clock.today(), clock.today())
    for b in ("2号楼", "10号楼"):
        make.household(district.e01, address=f"金色环海{b}101", building=b)
    back = _client(app, "butler-e01").post(
        f"/heating/campaigns/{campaign.id}/households/{district.flat.id}/temperature",
        data={"celsius": "19", "building": ""})
    assert back.status_code == 303 and "&building=#door-" in back.headers["Location"]  # "All", not the first


def test_the_estate_board_counts_its_coverage_from_1_september_and_says_so(app, district, make, monkeypatch):
    _at(monkeypatch, 2026, 8, 20, 10, 0)  # last season's summer round: not this season's
    summer = heating.create_campaign(district.desk, "夏季回访", [district.e01], clock.today(), clock.today())
    heating.record_visit(summer, district.flat, district.butler, VisitResult.VISITED)
    _at(monkeypatch, 2026, 9, 15, 10, 0)  # before the heating: this season's
    neighbour = make.household(district.e01, address="金色环海1号楼1单元102")
    autumn = heating.create_campaign(district.desk, "供暖前走访", [district.e01], clock.today(), clock.today())
    heating.record_visit(autumn, neighbour, district.butler, VisitResult.VISITED)
    _at(monkeypatch, 2026, 12, 7, 10, 0)
    page = _client(app, "leader").get("/boards/place/E01").get_data(as_text=True)
    assert "自 9 月 1 日起（本供暖季的走访，含供暖前）已走访 1 户" in page
