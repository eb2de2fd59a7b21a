"""The results report (issue 34.4) and everyone's share (34.5) on a hand-built set, with the figures written out as
docs/METRICS.md ("The results report", "Everyone's share") works them: the period, the same days a year before, an
empty period (无对比); the Word and Excel files read back; who may see them."""
import io
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from docx import Document
from openpyxl import load_workbook

from portal import clock
from portal.domain.boards import counters, metrics, results, scopes, shares
from portal.domain.boards.periods import Period
from portal.domain.cases import timekeeping
from portal.extensions import db
from portal.models import (
    CallbackRecord,
    Case,
    CaseEvent,
    CaseMaterial,
    CaseStatus,
    Channel,
    EventKind,
    Holder,
    Mode,
    Outcome,
    Place,
    Role,
    Satisfaction,
    ServiceItem,
    ServicePoint,
    Slot,
    Visit,
    VisitStatus,
)

TZ = clock.LOCAL_TZ
PERIOD = Period("custom", date(2026, 1, 1), date(2026, 11, 27))
EMPTY = Period("custom", date(2024, 1, 1), date(2024, 3, 31))


def at(year, month, day, hour=9, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def island(world, monkeypatch):
    """Five resolutions in 2026 and one in 2025, as the table in docs/METRICS.md ("The results report"):

    A  CV01 at the post LS-P01, logged Mon 2 Nov 09:00, finished on the spot 09:10; the resident rated it satisfied
    B  CA01 errand at LS-P01 by the proxy, logged Mon 2 Nov 09:00, resolved Wed 4 Nov 09:00 (a trip saved); a clerk's
       callback: dissatisfied
    C  CV02 (no baseline) at LS-P01 for team 1, logged Tue 3 Nov 09:00, resolved 14:00; a visit of team 1 done
    D  CV01 at the off-island hall, logged Mon 2 Nov 09:00, resolved Tue 3 Nov 09:00
    E  HT01 at the heating station by the butler, logged 16 Nov 09:00, resolved 17 Nov; the resident: basically
    F  CA01 errand at LS-P01 in 2025, logged Mon 3 Nov 2025 09:00, resolved Wed 5 Nov 09:00 (a trip saved); clerk:
       satisfied
    G  CA01 errand still open, two documents in the proxy's hands
    H  a care visit of team 1 (proactive work, not a request), logged 9 Nov, done 10 Nov
    """
    monkeypatch.setattr(clock, "today", lambda: date(2026, 11, 27))
    monkeypatch.setattr(clock, "now", lambda: at(2026, 11, 27, 10))
    point = lambda code: db.session.scalars(sa.select(ServicePoint).filter_by(code=code)).one()  # noqa: E731
    item = lambda code: db.session.scalars(sa.select(ServiceItem).filter_by(code=code)).one()  # noqa: E731
    item("CV01").baseline_working_days = 2
    item("CA01").baseline_working_days = 40
    item("CA01").journeys = 2  # an approval: hand in, then collect
    item("CV02").baseline_working_days = None
    item("HT01").baseline_working_days = None
    p01, hall, station = point("LS-P01"), point("LS-OFF"), point("HT-SQT")
    cases = {}

    def case(name, code, where, mode, logged, resolved, kind=EventKind.RESOLVED, actor=None, team=None,
             place=None, trip=False, status=CaseStatus.CLOSED, **fields):
        row = Case(number=f"LS-R-{name}", item=item(code), place=place or world.h01, service_point=where,
                   requester_name="居民", requester_phone="13900000000", channel=Channel.COUNTER, description=name,
                   mode=mode, status=status, created_at=logged, updated_at=logged, claimed_at=logged,
                   due_at=at(2027, 1, 1), resolved_at=resolved, redo_count=0, transfer_count=0, team=team,
                   trip_saved=trip, owner=actor, **fields)
        cases[name] = row
        db.session.add(row)
        db.session.add(CaseEvent(case=row, at=logged, kind=EventKind.LOGGED))
        if resolved is not None:
            db.session.add(CaseEvent(case=row, at=resolved, kind=kind, actor=actor, data={
                "on_time": True, "trip": trip,
                "scope": [row.place.id, where.id, team.id if team else 0]}))
        return row

    case("A", "CV01", p01, Mode.COUNTER, at(2026, 11, 2), at(2026, 11, 2, 9, 10), EventKind.FINISHED_ON_SPOT,
         world.staff, on_spot=True)
    case("B", "CA01", p01, Mode.ERRAND, at(2026, 11, 2), at(2026, 11, 4), actor=world.proxy, trip=True)
    case("C", "CV02", p01, Mode.COUNTER, at(2026, 11, 3), at(2026, 11, 3, 14), actor=world.staff, team=world.t1)
    case("D", "CV01", hall, Mode.COUNTER, at(2026, 11, 2), at(2026, 11, 3), actor=world.staff)
    case("E", "HT01", station, Mode.HOME, at(2026, 11, 16), at(2026, 11, 17), actor=world.butler, place=world.e01)
    case("F", "CA01", p01, Mode.ERRAND, at(2025, 11, 3), at(2025, 11, 5), actor=world.proxy, trip=True)
    case("H", "SS04", p01, Mode.HOME, at(2026, 11, 9), at(2026, 11, 10), actor=world.member, team=world.t1,
         proactive=True)
    g = case("G", "CA01", p01, Mode.ERRAND, at(2026, 11, 20), None, status=CaseStatus.IN_PROGRESS, actor=world.proxy)
    db.session.add_all([
        CaseMaterial(case=g, name="身份证", holder=Holder.PROXY, holder_user_id=world.proxy.id),
        CaseMaterial(case=g, name="户口簿", holder=Holder.PROXY, holder_user_id=world.proxy.id),
        CaseMaterial(case=g, name="银行卡", holder=Holder.RESIDENT),
        CallbackRecord(case=cases["A"], at=at(2026, 11, 3), outcome=Outcome.SOLVED,
                       satisfaction=Satisfaction.SATISFIED, by_resident=True),
        CallbackRecord(case=cases["B"], at=at(2026, 11, 5), outcome=Outcome.PARTLY,
                       satisfaction=Satisfaction.DISSATISFIED, actor=world.staff),
        CallbackRecord(case=cases["E"], at=at(2026, 11, 18), outcome=Outcome.SOLVED,
                       satisfaction=Satisfaction.BASICALLY, by_resident=True),
        CallbackRecord(case=cases["F"], at=at(2025, 11, 6), outcome=Outcome.SOLVED,
                       satisfaction=Satisfaction.SATISFIED, actor=world.staff),
        Visit(case=cases["C"], team=world.t1, day=date(2026, 11, 3), slot=Slot.PM, status=VisitStatus.DONE,
              booked_at=at(2026, 11, 3), finished_at=at(2026, 11, 3, 14), done_by=world.member),
    ])
    db.session.commit()
    counters.rebuild()
    world.cases = cases
    return world


def district():
    return scopes.scope_for("district", "all")


def test_the_report_of_the_year_to_date_beside_the_year_before(island):
    report = results.results(district(), PERIOD, timekeeping.calendar_for)
    assert report.before == Period("custom", date(2025, 1, 1), date(2025, 11, 27))
    f, p = report.figures, report.previous
    assert (f.logged, f.resolved, p.logged, p.resolved) == (6, 5, 1, 1)   # G is logged and open; H is not a request
    assert (f.proactive, f.proactive_resolved) == (1, 1)                   # H
    assert report.change("resolved") == 4
    # On the island: A, B, C at the post of A, B, C, D (D at the off-island hall; E's station is not counted)
    assert report.island == metrics.Rate(3, 4) and report.previous_island == metrics.Rate(1, 1)
    assert report.change("island") == -25.0
    assert {line.label: (line.now, line.before) for line in report.modes} == {
        str(results.MODES["on_spot"]): (1, 0), str(results.MODES["counter"]): (2, 0),
        str(results.MODES["errand"]): (1, 1), str(results.MODES["heating"]): (1, 0)}
    assert sum(line.now for line in report.modes) == f.resolved  # every request's resolution in exactly one mode
    assert (report.proactive.now, report.proactive.before) == (1, 0)  # H, apart
    assert {line.label: (line.now, line.before) for line in report.categories} == {
        "便民服务": (3, 0), "民政": (1, 1), "供热": (1, 0)}
    # Satisfaction by who answered: A (the resident, satisfied), B (a clerk, dissatisfied), E (the resident, basically)
    assert (f.satisfaction, f.resident_satisfaction, f.called_satisfaction) == (
        metrics.Rate(2, 3), metrics.Rate(2, 2), metrics.Rate(0, 1))
    assert (p.satisfaction, p.resident_satisfaction, p.called_satisfaction) == (
        metrics.Rate(1, 1), metrics.Rate(0, 0), metrics.Rate(1, 1))
    assert report.change("resident_satisfaction") is None  # nothing answered by residents a year before: 无对比
    assert report.change("called_satisfaction") == -100.0


def test_the_efficiency_gain_is_measured_against_the_baselines(island):
    report = results.results(district(), PERIOD, timekeeping.calendar_for)
    e = report.efficiency
    # A: 10 minutes of a 7.5-hour day; B: 2 working days (Mon 09:00 to Wed 09:00); D: 1 working day at the hall.
    # C (CV02) and E (HT01) have no baseline: left out, and the report says so.
    assert (e.counted, e.left_out, e.items_left_out) == (3, 2, 2)
    assert report.baselines_missing == ["CV02", "HT01"]
    assert e.actual_days == pytest.approx(10 / 450 + 2 + 1)
    assert e.baseline_days == 2 + 40 + 2
    assert e.gain == pytest.approx(1 - (10 / 450 + 3) / 44)          # 93.1 %
    assert report.previous_efficiency.gain == pytest.approx(1 - 2 / 40)  # F: 2 working days of 40: 95.0 %
    assert report.change("gain") == -1.9


def test_trips_hours_and_money_are_the_boards_own(island):
    report = results.results(district(), PERIOD, timekeeping.calendar_for)
    board_figures = metrics.figures(sa.true(), PERIOD.first, PERIOD.last)
    trip = metrics.TripCost.configured()
    assert report.trips == board_figures.trips_saved == 2   # B: an approval saves two journeys
    assert report.cost_saved == pytest.approx(2 * trip.yuan) == trip.cost(board_figures.trips_saved)
    assert report.hours_saved == pytest.approx(2 * trip.hours) == trip.time(board_figures.trips_saved)
    assert report.previous_trips == 2 and report.change("trips") == 0  # F


def test_an_empty_period_compares_with_nothing(island):
    report = results.results(district(), EMPTY, timekeeping.calendar_for)
    assert report.figures.resolved == 0 and report.previous.resolved == 0
    for name in ("logged", "resolved", "trips", "cost_saved", "hours_saved", "island", "gain", "average_days",
                 "satisfaction", "on_the_spot"):
        assert report.change(name) is None, name
    assert report.modes == [] and report.categories == []


def test_the_page_the_word_document_and_the_workbook_say_the_same(island, client, auth):
    auth.login("leader")
    args = "?first=2026-01-01&last=2026-11-27"
    page = client.get(f"/boards/district/all/results{args}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "93.1%" in text and "75.0% (3/4)" in text and "无对比" in text
    assert "CV02、HT01" in text  # the items left out of the gain, named

    word = client.get(f"/boards/district/all/results.docx{args}")
    assert word.status_code == 200 and word.mimetype.endswith("wordprocessingml.document")
    document = Document(io.BytesIO(word.data))
    cells = [[cell.text for cell in row.cells] for table in document.tables for row in table.rows]
    assert any(row[1:] == ["5", "1", "▲ +4"] for row in cells)  # items handled
    assert any(row[1:3] == ["93.1%", "95.0%"] and row[3] == "▼ -1.9 个百分点" for row in cells)
    assert any(row[1:] == ["100.0% (2/2)", "—", "无对比"] for row in cells)  # residents' own answers
    paragraphs = "\n".join(p.text for p in document.paragraphs)
    assert "CV02、HT01" in paragraphs and "方法" in paragraphs

    book = client.get(f"/boards/district/all/results.xlsx{args}")
    assert book.status_code == 200
    sheet = load_workbook(io.BytesIO(book.data)).active
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    assert [row[1:4] for row in rows if row and row[1] == "93.1%"] == [("93.1%", "95.0%", "▼ -1.9 个百分点")]
    assert any(row[1:4] == ("75.0% (3/4)", "100.0% (1/1)", "▼ -25.0 个百分点") for row in rows)


def test_the_empty_period_prints_no_comparison_in_the_files(island, client, auth):
    auth.login("leader")
    book = client.get("/boards/district/all/results.xlsx?first=2024-01-01&last=2024-03-31")
    rows = [row for row in load_workbook(io.BytesIO(book.data)).active.iter_rows(values_only=True)]
    changes = [row[3] for row in rows if row and len(row) > 3 and row[3]]
    assert changes and set(changes) - {"同比"} == {"无对比"}


def test_only_the_leads_of_a_scope_see_its_report_and_shares(island, client, auth, make):
    h02_lead = make.user(Role.LEAD, username="head-h02", places=[island.h02])
    h01_lead = make.user(Role.LEAD, username="head-h01", places=[island.h01])
    auth.login(h02_lead.username)
    for path in ("results", "results.docx", "results.xlsx", "shares"):
        assert client.get(f"/boards/place/H01/{path}").status_code == 404
        assert client.get(f"/boards/district/all/{path}").status_code == 404
    assert client.get("/boards/place/H02/results").status_code == 200
    auth.logout()
    auth.login(h01_lead.username)
    assert client.get("/boards/place/H01/results").status_code == 200
    board = client.get("/boards/place/H01").get_data(as_text=True)
    assert "/boards/place/H01/results" in board and "/boards/place/H01/shares" in board
    auth.logout()
    auth.login(island.staff.username)  # sees the board of H01, but is no lead
    assert client.get("/boards/place/H01/results").status_code == 403
    assert "/boards/place/H01/results" not in client.get("/boards/place/H01").get_data(as_text=True)


def test_a_wrong_period_is_explained_beside_its_field(island, client, auth):
    auth.login("leader")
    response = client.get("/boards/district/all/results?first=2026-11-27&last=2026-11-01")
    assert response.status_code == 422
    assert "截止日期不能早于起始日期" in response.get_data(as_text=True) or "不能早于" in response.get_data(as_text=True)


def test_everyones_share_matches_a_count_by_hand(island):
    found = shares.shares(district(), PERIOD)
    proxy = next(s for s in found.proxies if s.who.id == island.proxy.id)
    # B is the proxy's one errand resolved in 2026 (F was 2025), on time, its callback dissatisfied; G's two documents
    assert (proxy.resolved, proxy.on_time, proxy.satisfaction, proxy.documents) == (1, 1, metrics.Rate(0, 1), 2)
    other = next(s for s in found.proxies if s.who.id == island.proxy_h02.id)
    assert (other.resolved, other.documents) == (0, 0)
    butler = next(s for s in found.butlers if s.who.id == island.butler.id)
    assert (butler.resolved, butler.on_time, butler.satisfaction) == (1, 1, metrics.Rate(1, 1))  # E
    team = next(s for s in found.teams if s.who.id == island.t1.id)
    assert (team.resolved, team.visits, team.satisfaction.denominator) == (1, 1, 0)  # C, its visit, not rated
    # a team's resolutions are its board's
    assert team.resolved == metrics.figures(sa.and_(metrics.CaseCount.team_id == island.t1.id),
                                            PERIOD.first, PERIOD.last).resolved
    year_before = shares.shares(district(), results.year_before(PERIOD))
    proxy = next(s for s in year_before.proxies if s.who.id == island.proxy.id)
    assert (proxy.resolved, proxy.satisfaction) == (1, metrics.Rate(1, 1))  # F


def test_the_shares_of_a_place_count_only_its_cases(island):
    e01 = scopes.scope_for("place", island.e01.code)
    found = shares.shares(e01, PERIOD)
    assert [s.who.id for s in found.proxies] == []
    assert [(s.who.id, s.resolved) for s in found.butlers] == [(island.butler.id, 1)]
    h01 = shares.shares(scopes.scope_for("place", "H01"), PERIOD)
    assert all(s.who.id != island.butler.id for s in h01.butlers)
    assert next(s for s in h01.proxies if s.who.id == island.proxy.id).resolved == 1


def test_the_shares_page_lists_everyone_with_their_figures(island, client, auth):
    auth.login("leader")
    page = client.get("/boards/district/all/shares?first=2026-01-01&last=2026-11-27")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert island.proxy.display_name in text and island.butler.display_name in text
    assert db.session.get(Place, island.h01.id) is not None


# --- the baselines, kept by the administrator where the catalog is edited -----------------------------------------

def _item_form(item, **changes):
    data = {"code": item.code, "category_zh": item.category_zh, "name_zh": item.name_zh, "mode": item.mode.value,
            "sla_hours": str(item.sla_hours), "journeys": str(item.journeys)}
    return {**data, **changes}


def test_the_admin_records_an_items_baseline_and_may_clear_it(world, client, auth):
    auth.login(world.admin.username)
    item = world.counter_item
    response = client.post(f"/directory/items/{item.id}", data=_item_form(item, baseline_working_days="2.5"))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(ServiceItem, item.id).baseline_working_days == 2.5
    client.post(f"/directory/items/{item.id}", data=_item_form(item, baseline_working_days=""))
    db.session.expire_all()
    assert db.session.get(ServiceItem, item.id).baseline_working_days is None  # left out of the gain again


@pytest.mark.parametrize(("value", "message"), [
    ("abc", "请填写工作日数，例如 5 或 2.5。"),
    ("nan", "请填写工作日数，例如 5 或 2.5。"),
    ("0", "请填写 0.1 到 500 之间的工作日数。"),
    ("9999", "请填写 0.1 到 500 之间的工作日数。"),
])
def test_a_wrong_baseline_is_explained_next_to_the_field_and_nothing_changes(world, client, auth, value, message):
    auth.login(world.admin.username)
    item = world.counter_item
    before = item.baseline_working_days  # the demo catalog's: 2 working days
    response = client.post(f"/directory/items/{item.id}", data=_item_form(item, baseline_working_days=value))
    assert response.status_code == 422
    assert f'id="baseline_working_days-error">{message}' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ServiceItem, item.id).baseline_working_days == before == 2


def test_the_demo_catalog_sets_baselines_for_the_items_that_used_to_need_the_mainland(world):
    items = {i.code: i for i in db.session.scalars(sa.select(ServiceItem))}
    assert items["CA01"].baseline_working_days == 40 and items["CV01"].baseline_working_days == 2
    assert items["HT01"].baseline_working_days is None and items["PB03"].baseline_working_days is None
    assert all(items[code].baseline_working_days for code in items if items[code].journeys > 0)


def test_the_demo_reports_its_year_with_every_request_in_one_mode(demo_app):
    """On the demo: the report and the shares of the district answer, the modes add up to the board's 办结量 and the
    gain is measured on the items with a baseline."""
    with demo_app.app_context():
        report = results.results(district(), results.year_to_date(), timekeeping.calendar_for)
        assert sum(line.now for line in report.modes) == report.figures.resolved > 0
        assert report.proactive.now == report.figures.proactive_resolved
        assert report.efficiency.counted > 0 and 0 < report.efficiency.gain < 1
        found = shares.shares(district(), results.year_to_date())
        # each request's resolution counted for at most one team: the teams' resolved add up to no more than 办结量
        assert sum(s.resolved for s in found.teams) <= report.figures.resolved
        client = demo_app.test_client()
        client.post("/auth/login", data={"username": "leader", "password": "demo2026"})
        assert client.get("/boards/district/all/results").status_code == 200
        assert client.get("/boards/district/all/shares").status_code == 200
        print("\nDEMO", report.figures.resolved, report.efficiency, report.trips, report.cost_saved, report.island)


def test_an_estates_report_has_no_island_nor_journeys(island):
    from portal.boards import results_view

    report = results.results(scopes.scope_for("place", island.e01.code), PERIOD, timekeeping.calendar_for)
    assert report.figures.resolved == 1  # E
    titles = [section.title for section in results_view.sections(report)]
    assert "节省的往返、时间和费用" not in titles
    assert all(row.label != "岛内办结、免出岛占比" for section in results_view.sections(report) for row in section.rows)
