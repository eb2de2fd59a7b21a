"""Boards: every figure of a village board on a hand-built week, periods, the 304 of a poll with nothing
new, a constant number of queries whatever the number of cases, exports, the monthly report and the
wall screens."""
import ast
import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal import clock
from portal.boards import charts
from portal.domain import DomainError, NotFound, access
from portal.domain.boards import counters, metrics
from portal.domain.boards.board import Tile, build, cases_behind
from portal.domain.boards.periods import change, period_for
from portal.domain.boards.report import monthly_report
from portal.domain.boards.scopes import KINDS, boards_of, scope_for
from portal.domain.cases import intake, lifecycle, supervision
from portal.extensions import db
from portal.models import AuditEntry, Channel, Outcome, Place, Satisfaction, ServiceItem, ServicePoint, WallScreen
from tests.query_count import counting_queries
from tests.stories import at

Rate = metrics.Rate
ROOT = Path(__file__).resolve().parent.parent


def place(code):
    return db.session.scalars(sa.select(Place).filter_by(code=code)).one()


@pytest.fixture
def village(world, make, monkeypatch):
    """The village 东岙村 (V1) in the week of Monday 23 November 2026, Friday 10:00 now; its hamlets
    东岙 (H01) and 沙嘴 (H02), and one case in another village:

    A  H01  Mon 09:00 logged, 09:30 signed for, Tue 10:00 resolved, called back solved and satisfied
    B  H01  Wed 09:00 logged, Thu 09:00 signed for (late); its due time passed: flagged overdue by the sweep
    C  H02  Fri 09:00 logged, waiting
    D  H02  Thu 09:00 logged, 09:20 signed for, 10:00 resolved, called back unsolved and dissatisfied: a redo
    X  H05  Fri 09:00 logged (village V2)
    """
    w = world
    w.h02_home = make.household(w.h02, address="沙嘴3号", phone="13911112222", residents=("李阿姨",))
    w.h05_home = make.household(place("H05"), address="北崖1号", phone="13933334444", residents=("陈大叔",))

    def log(actor, household, name, phone):
        return intake.log_case(actor, w.plain_errand, Channel.COUNTER, "代办", name, phone, household=household)

    at(monkeypatch, 2026, 11, 23, 9)
    a = log(w.staff, w.household, "王大爷", "13912345678")
    at(monkeypatch, 2026, 11, 23, 9, 30)
    lifecycle.claim(a, w.proxy)
    at(monkeypatch, 2026, 11, 24, 10)
    lifecycle.resolve(a, w.proxy, "办好了")
    at(monkeypatch, 2026, 11, 25, 9)
    lifecycle.close(a, w.staff, Outcome.SOLVED, Satisfaction.SATISFIED)
    b = log(w.staff, w.household, "王大爷", "13912345678")
    at(monkeypatch, 2026, 11, 26, 9)
    lifecycle.claim(b, w.proxy)
    b.due_at = clock.now() + timedelta(hours=1)
    db.session.commit()
    d = log(w.staff_p02, w.h02_home, "李阿姨", "13911112222")
    at(monkeypatch, 2026, 11, 26, 9, 20)
    lifecycle.claim(d, w.proxy_h02)
    at(monkeypatch, 2026, 11, 26, 10)
    lifecycle.resolve(d, w.proxy_h02, "办好了")
    lifecycle.close(d, w.staff_p02, Outcome.UNSOLVED, Satisfaction.DISSATISFIED)
    at(monkeypatch, 2026, 11, 27, 9)
    c = log(w.staff_p02, w.h02_home, "李阿姨", "13911112222")
    x = log(w.lead, w.h05_home, "陈大叔", "13933334444")
    at(monkeypatch, 2026, 11, 27, 10)
    supervision.sweep()
    w.cases = dict(a=a, b=b, c=c, d=d, x=x)
    w.v1 = place("V1")
    return w


def week_board(viewer=None):
    scope = scope_for("place", "V1")
    return build(scope, period_for("week"), viewer)


def test_a_village_board_shows_each_figure_of_its_week(village):
    board = week_board(village.lead)
    f = board.figures
    assert (board.open, board.overdue) == (3, 1)              # B, C, D (reopened); B overdue
    assert (board.logged_today, board.logged_week) == (1, 4)  # C; A, B, C, D (X is in another village)
    assert (f.logged, f.resolved) == (4, 2)                   # A and D resolved
    assert f.timely_sign_for == Rate(2, 3)                    # A and D in time, B late; C not yet due
    assert f.resolution == Rate(1, 2)                         # A solved, D not
    assert f.satisfaction == Rate(1, 2)
    assert f.redo == Rate(1, 2)                               # D redone
    assert f.on_time_resolution == Rate(2, 2)
    assert board.previous.logged == 0 and board.change("logged") is None  # nothing the week before: no comparison
    assert [c.number for c in board.top_overdue] == [village.cases["b"].number]
    assert board.coverage is None                             # no estates in a village


def test_the_tiles_rankings_and_categories_of_a_village(village):
    board = week_board(village.lead)
    tiles = {t.place.code: t for t in board.tiles}
    assert [t.place.code for t in board.tiles] == ["H01", "H02", "H03", "H04"]
    assert (tiles["H01"].open, tiles["H01"].overdue, tiles["H01"].figures.satisfaction) == (1, 1, Rate(1, 1))
    assert (tiles["H02"].open, tiles["H02"].overdue, tiles["H02"].figures.satisfaction) == (2, 0, Rate(0, 1))
    assert (tiles["H01"].level, tiles["H02"].level, tiles["H03"].level) == ("warn", "bad", "ok")
    assert [t.place.code for t in board.rankings["satisfaction"]][:2] == ["H01", "H02"]
    assert [t.place.code for t in board.rankings["timely_sign_for"]][:2] == ["H02", "H01"]  # 1/1 before 1/2
    (category,) = board.categories
    assert (category.name_zh, category.open, category.logged, category.resolved) == ("便民服务", 3, 4, 2)


def test_the_district_counts_every_village_and_a_hamlet_only_itself(village):
    district = build(scope_for("district", "all"), period_for("week"), village.lead)
    assert (district.open, district.figures.logged) == (4, 5)
    # Its tiles are the island's villages and the heating district's estates (issue 36.8): a hamlet is one click on.
    codes = [t.place.code for t in district.tiles]
    assert codes[:3] == ["V1", "V2", "V3"] and "E01" in codes and "H05" not in codes and "LS" not in codes
    tiles = {t.place.code: t for t in district.tiles}
    assert (tiles["V1"].open, tiles["V2"].open, tiles["V1"].figures.logged) == (3, 1, 4)
    hamlet = build(scope_for("place", "H02"), period_for("week"), village.lead)
    assert (hamlet.open, hamlet.figures.logged, hamlet.tiles) == (2, 2, [])


def test_trends_are_twelve_weeks_ending_this_week(village):
    board = week_board(village.lead)
    assert len(board.weeks) == 12 and board.weeks[-1] == date(2026, 11, 23)
    assert board.trends["logged"] == [0] * 11 + [4]
    assert board.trends["satisfaction"] == [None] * 11 + [0.5]


def test_a_viewer_sees_only_the_overdue_cases_they_may_see(village):
    assert week_board(village.proxy_h02).top_overdue == []       # B is an errand of H01
    assert len(week_board(village.proxy).top_overdue) == 1


def test_trips_saved_count_the_residents_cost(village, monkeypatch):
    case = village.cases["b"]
    lifecycle.start(case, village.proxy)
    lifecycle.resolve(case, village.proxy, "办好了")  # 药品代购: it used to take a trip to the mainland
    kept = counters.as_rows()
    counters.rebuild()
    assert counters.as_rows() == kept
    board = week_board(village.lead)
    assert board.figures.trips_saved == 3  # A and D (medicine bought on the mainland before), and now B
    # boat + transport on the mainland + meals + a day's income (portal/config.py), and the hours, per journey
    assert board.cost_saved == 3 * (60 + 40 + 30 + 300) and board.hours_saved == 3 * 6


def test_a_trip_saved_follows_the_item_not_the_mode(world):
    """A counter registration finished on the island spares a journey; a harbour repair visit does not."""
    from portal.domain.cases import intake

    items = {code: db.session.scalars(sa.select(ServiceItem).filter_by(code=code)).one() for code in ("SS01", "PB03")}
    counter = intake.log_case(world.staff, items["SS01"], Channel.COUNTER, "参保登记", "王大爷", "13912345678",
                              household=world.household)
    lifecycle.finish_on_spot(counter, world.staff)
    repair = intake.log_case(world.staff, items["PB03"], Channel.PHONE, "码头护栏松动", "王大爷", "13912345678",
                             household=world.household)
    lifecycle.claim(repair, world.member)  # the team's case: its member signs for it
    lifecycle.resolve(repair, world.member, "已修好")
    assert (counter.trip_saved, repair.trip_saved) == (True, False)


def test_an_estate_board_shows_the_campaign_coverage(district, monkeypatch):
    from portal.domain import heating
    from portal.models import VisitResult

    campaign = heating.create_campaign(district.lead, "入户走访", [district.e01], clock.today(),
                                       clock.today() + timedelta(days=30))
    heating.record_visit(campaign, district.flat, district.butler, VisitResult.VISITED)
    board = build(scope_for("place", "E01"), period_for("month"), district.lead)
    visited, households = board.coverage
    assert visited == 1 and households >= 1


# --- periods ----------------------------------------------------------------------------------------

def test_periods_and_the_ones_they_compare_with():
    friday = date(2026, 11, 27)
    week = period_for("week", today=friday)
    assert (week.first, week.last) == (date(2026, 11, 23), friday)
    assert (week.previous().first, week.previous().last) == (date(2026, 11, 16), date(2026, 11, 20))
    month = period_for("month", today=date(2026, 3, 31))
    assert (month.previous().first, month.previous().last) == (date(2026, 2, 1), date(2026, 2, 28))
    today = period_for("today", today=friday)
    assert today.previous().first == date(2026, 11, 26)
    custom = period_for("custom", date(2026, 11, 1), date(2026, 11, 10), today=friday)
    assert (custom.previous().first, custom.previous().last) == (date(2026, 10, 22), date(2026, 10, 31))


@pytest.mark.parametrize("first, last, field", [
    (None, date(2026, 11, 2), "first"),
    (date(2026, 11, 2), None, "last"),
    (date(2026, 11, 5), date(2026, 11, 2), "last"),
    (date(2026, 11, 5), date(2026, 12, 2), "last"),
    (date(2025, 1, 1), date(2026, 11, 2), "first"),
])
def test_a_wrong_custom_period_names_its_field(first, last, field):
    with pytest.raises(DomainError) as raised:
        period_for("custom", first, last, today=date(2026, 11, 27))
    assert raised.value.field == field


def test_a_wrong_period_on_the_page_is_explained_in_chinese_beside_its_field(village, client, auth):
    auth.login("leader")
    response = client.get("/boards/place/V1?period=custom&first=2026-11-20&last=2026-11-10")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="last-error"' in page and "结束日期不能早于开始日期" in page
    assert "2026-11-01 至 2026-11-27" in page  # the month meanwhile


def test_a_change_is_in_points_for_rates_and_units_for_counts():
    assert change(Rate(9, 10), Rate(8, 10)) == 10.0
    assert change(Rate(1, 3), Rate(0, 0)) is None
    assert change(12, 9) == 3
    assert change(0, 9) == -9


@pytest.mark.parametrize("previous", [0, None])
def test_a_count_against_a_previous_period_with_nothing_is_no_comparison(previous):
    """Issue 34.7: 490 cases against an empty month read "▲ +490" while the rates said "无对比"."""
    assert change(490, previous) is None
    assert change(0, previous) is None


def test_the_board_and_report_print_no_comparison_against_an_empty_period(village, client, auth):
    auth.login("leader")
    board = client.get("/boards/place/V1?period=week").get_data(as_text=True)  # nothing the week before
    assert "▲ +4" not in board and "无对比" in board
    report = client.get("/boards/report?month=2026-11").get_data(as_text=True)  # nothing in October
    assert "▲" not in report and "无对比" in report



def _august_culture_case(village, make, monkeypatch):
    """A 文体 case logged and finished on the spot on 10 August, nothing of 文体 open today (27 November)."""
    item = make.item("WT01", category_zh="文体", category_en="Culture and sport")
    at(monkeypatch, 2026, 8, 10, 9)
    case = intake.log_case(village.staff, item, Channel.COUNTER, "借书", "王大爷", "13912345678",
                           household=village.household)
    lifecycle.finish_on_spot(case, village.staff)
    at(monkeypatch, 2026, 11, 27, 10)
    return case


def test_a_past_months_categories_are_its_own_not_todays_open_cases(village, make, monkeypatch):
    """Issue 34.7: August lists the categories with cases in August (文体, with no open case today), and not
    便民服务, which had nothing in August but has open cases today."""
    _august_culture_case(village, make, monkeypatch)
    report = monthly_report(date(2026, 8, 1))
    assert [(c.name_zh, c.logged, c.resolved) for c in report.categories] == [("文体", 1, 1)]
    august = build(scope_for("place", "V1"), period_for("custom", date(2026, 8, 1), date(2026, 8, 31)), village.lead)
    assert [(c.name_zh, c.open, c.logged, c.resolved) for c in august.categories] == [("文体", None, 1, 1)]
    assert monthly_report(date(2026, 9, 1)).categories == []  # nothing in September, whatever is open today
    week = week_board(village.lead)  # a period running to today still lists what is open now
    assert [(c.name_zh, c.open) for c in week.categories] == [("便民服务", 3)]


def test_a_past_months_category_shows_on_its_report_page(village, make, monkeypatch, client, auth):
    _august_culture_case(village, make, monkeypatch)
    auth.login("leader")
    page = client.get("/boards/report?month=2026-08").get_data(as_text=True)
    categories = page.split("按类别")[-1]
    assert "文体" in categories and "便民服务" not in categories
    board = client.get("/boards/place/V1?period=custom&first=2026-08-01&last=2026-08-31").get_data(as_text=True)
    assert "文体" in board


# --- pages, polling and access -----------------------------------------------------------------------

def test_a_poll_with_nothing_new_is_answered_304_and_a_new_case_changes_the_etag(village, client, auth, monkeypatch):
    auth.login("leader")
    first = client.get("/boards/place/V1", headers={"HX-Request": "true"})
    assert first.status_code == 200 and first.headers["Cache-Control"] == "private, no-cache"
    etag = first.headers["ETag"]
    again = client.get("/boards/place/V1", headers={"HX-Request": "true", "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    # A case in another village does not touch this board...
    intake.log_case(village.lead, village.plain_errand, Channel.PHONE, "代办", "陈大叔", "13933334444",
                    household=village.h05_home)
    assert client.get("/boards/place/V1", headers={"HX-Request": "true", "If-None-Match": etag}).status_code == 304
    # ...one in this village does.
    at(monkeypatch, 2026, 11, 27, 10, 5)
    intake.log_case(village.staff, village.plain_errand, Channel.PHONE, "代办", "王大爷", "13912345678",
                    household=village.household)
    changed = client.get("/boards/place/V1", headers={"HX-Request": "true", "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert 'id="board"' in changed.get_data(as_text=True) and "<html" not in changed.get_data(as_text=True)


def test_every_kept_board_shows_a_change_on_its_next_request(village, client, auth, monkeypatch):
    auth.login("leader")
    boards = ["/boards/district/all", "/boards/place/V1", "/boards/place/H01", "/boards/point/LS-P01",
              "/boards/wall", "/boards/wall?place=V1"]

    def open_counts() -> dict[str, int]:
        counts = {}
        for url in boards:
            page = client.get(url).get_data(as_text=True)
            counts[url] = int(re.search(r'kpi-label">在办</span><strong>(\d+)</strong>', page).group(1))
        return counts

    before = open_counts()
    assert open_counts() == before  # answered from the kept boards: the same
    at(monkeypatch, 2026, 11, 27, 10, 5)
    intake.log_case(village.staff, village.plain_errand, Channel.PHONE, "代办", "王大爷", "13912345678",
                    household=village.household)
    assert open_counts() == {url: n + 1 for url, n in before.items()}


def _sparklines_drawn(monkeypatch) -> list:
    """Every sparkline drawn from now on: they are only in a board's kept parts, so none is drawn when they are kept."""
    drawn, draw = [], charts.sparkline
    monkeypatch.setattr(charts, "sparkline", lambda values: drawn.append(values) or draw(values))
    return drawn


def test_a_kept_board_renders_its_time_relative_text_fresh(village, client, auth, monkeypatch):
    auth.login("leader")
    first = client.get("/boards/place/V1").get_data(as_text=True)
    assert "超期 24 小时" in first  # B was due yesterday at 10:00
    drawn = _sparklines_drawn(monkeypatch)
    for minute in (20, 40, 60, 80):  # nothing changed, later the same day (a request every 20 minutes: signed in)
        at(monkeypatch, 2026, 11, 27, 10 + minute // 60, minute % 60)
        later = client.get("/boards/place/V1").get_data(as_text=True)
    assert drawn == []  # the figures, trends and tiles came from the kept parts...
    assert "超期 25 小时" in later and "超期 24 小时" not in later  # ...and how late B is, from now
    fresh = r'data-checked>[^<]*|超期 \d+ 小时|"X-CSRFToken": "[^"]*"|name="csrf_token" value="[^"]*"'
    assert re.sub(fresh, "", later) == re.sub(fresh, "", first)


def test_a_kept_board_part_is_in_the_readers_language(village, client, auth, monkeypatch):
    auth.login("leader")
    assert "满意率" in client.get("/boards/wall?place=V1").get_data(as_text=True)
    assert "受理件数" in client.get("/boards/report").get_data(as_text=True)
    chinese = client.get("/boards/place/V1").get_data(as_text=True)
    open_now = re.search(r'kpi-label">在办</span><strong>(\d+)</strong>', chinese).group(1)
    drawn = _sparklines_drawn(monkeypatch)
    client.post("/language", data={"lang": "en"})
    board = client.get("/boards/place/V1").get_data(as_text=True)
    assert drawn  # rendered again, in English
    assert f'kpi-label">Open cases</span><strong>{open_now}</strong>' in board and "在办" not in board
    assert "Satisfaction rate" in client.get("/boards/wall?place=V1").get_data(as_text=True)
    report = client.get("/boards/report").get_data(as_text=True)
    assert "Items logged" in report and "受理件数" not in report
    client.post("/language", data={"lang": "zh_CN"})
    assert f'kpi-label">在办</span><strong>{open_now}</strong>' in client.get("/boards/place/V1").get_data(as_text=True)


def _links_to_boards(page: str) -> set[str]:
    return set(re.findall(r'href="/boards/place/([A-Z0-9]+)[?"]', page.split('id="board"', 1)[1]))


def test_a_kept_board_part_shows_each_reader_only_their_own_links_and_actions(village, client, auth, app, make):
    from portal.models import Role

    category = village.plain_errand.category_zh
    intake.log_case(village.staff, village.plain_errand, Channel.PHONE, "代办", "王大爷", "13912345678",
                    household=village.household)  # a third case in 东岙: a hotspot of 东岙村
    centre = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-C")).one()  # serves the three villages
    make.user(Role.STAFF, username="staff-c-v1", service_point=centre, places=[village.v1])
    auth.login("leader")
    lead = client.get("/boards/point/LS-C").get_data(as_text=True)
    village_board = client.get("/boards/place/V1").get_data(as_text=True)
    assert "设为本月一题" in village_board and f'value="{village.h01.id}|{category}"' in village_board
    lead_wall = client.get("/boards/wall?place=V1").get_data(as_text=True)
    assert village.plain_errand.name_zh in lead_wall  # a lead's wall names the overdue case's item
    auth.logout()
    auth.login("staff-c-v1")  # of the same point, covering only 东岙村
    staff = client.get("/boards/point/LS-C").get_data(as_text=True)
    assert _links_to_boards(lead) == {"V1", "V2", "V3"} and _links_to_boards(staff) == {"V1"}
    auth.logout()
    auth.login("root")  # sees every board but chooses no topic
    other = client.get("/boards/place/V1").get_data(as_text=True)
    assert "近90天热点" in other and "设为本月一题" not in other and f"{village.h01.id}|{category}" not in other
    auth.logout()
    auth.login("leader")
    created = client.post("/boards/screens", data={"name": "中心大厅", "place": "V1"}).get_data(as_text=True)
    token = created.split('<code class="feed">')[1].split("</code>")[0].rsplit("/", 1)[1]
    shown = app.test_client().get(f"/boards/screen/{token}").get_data(as_text=True)
    assert village.plain_errand.name_zh not in shown and category in shown  # a screen in a hall: the category only
    assert "退出大屏" in lead_wall and "退出大屏" not in shown


def test_a_kept_hotspot_list_carries_each_sessions_own_csrf_token(village, app):
    from flask import g

    from tests.conftest import Auth

    intake.log_case(village.staff, village.plain_errand, Channel.PHONE, "代办", "王大爷", "13912345678",
                    household=village.household)
    tokens = []
    for _ in range(2):  # two sessions of the lead: the second page comes from the kept parts
        g.pop("csrf_token", None)  # the tests' application context outlives a request, and Flask-WTF keeps it there
        other = app.test_client()
        assert Auth(other).login("leader").status_code == 303
        page = other.get("/boards/place/V1").get_data(as_text=True)
        form = page.split('id="hotspots"', 1)[1].split("</form>", 1)[0]
        tokens.append(re.search(r'name="csrf_token" value="([^"]+)"', form).group(1))
        assert tokens[-1] == re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)  # the page's own session's
    assert tokens[0] != tokens[1]


def test_a_kept_board_names_a_place_as_it_is_now(village, client, auth):
    auth.login("leader")
    assert "东岙" in client.get("/boards/place/V1").get_data(as_text=True)
    village.h01.name_zh = "东岙新村"
    db.session.commit()
    tiles = client.get("/boards/place/V1").get_data(as_text=True).split('id="places"', 1)[1].split("</section>", 1)[0]
    assert "东岙新村" in tiles


def test_a_kept_monthly_report_page_shows_a_change_and_who_printed_it(village, client, auth, monkeypatch):
    auth.login("leader")

    def logged(page: str) -> int:
        return int(re.search(r"<td>受理件数</td><td class=\"num\">(\d+)</td>", page).group(1))

    first = client.get("/boards/report").get_data(as_text=True)
    assert logged(client.get("/boards/report").get_data(as_text=True)) == logged(first)  # from the kept report
    at(monkeypatch, 2026, 11, 27, 10, 5)
    intake.log_case(village.staff, village.plain_errand, Channel.PHONE, "代办", "王大爷", "13912345678",
                    household=village.household)
    assert logged(client.get("/boards/report").get_data(as_text=True)) == logged(first) + 1
    auth.logout()
    auth.login("root")
    page = client.get("/boards/report").get_data(as_text=True)
    assert village.admin.display_name in page.split("report-foot", 1)[1]
    assert village.lead.display_name not in page.split("report-foot", 1)[1]


def test_kept_parts_stay_within_their_budget():
    from portal.domain.platform import shelves

    kept = shelves.Shelf(size=10, budget=10, weigh=len)
    kept.put(("a",), "1234")
    kept.put(("b",), "1234")
    assert kept.get(("a",)) == "1234"  # now the most recently used
    kept.put(("c",), "1234")  # 12 characters: the least recently used goes
    assert (kept.get(("b",)), kept.get(("a",)), kept.get(("c",)), kept.weight) == (None, "1234", "1234", 8)
    kept.put(("d",), "x" * 11)  # heavier than the whole budget: kept by no one
    assert (len(kept.entries), kept.weight) == (0, 0)


def test_a_kept_monthly_report_shows_a_change_and_its_points_as_they_are_now(village, monkeypatch):
    from portal.domain.boards.report import report_for

    month = date(2026, 11, 1)
    point = village.staff.service_point
    first, first_of_point = report_for(month), report_for(month, point)
    assert report_for(month).total.sums == first.total.sums  # the second from the kept numbers
    point.name_zh = "东岙便民服务站（新）"
    db.session.commit()
    assert any(row.point.name_zh == "东岙便民服务站（新）" for row in report_for(month).points)
    at(monkeypatch, 2026, 11, 27, 10, 5)
    intake.log_case(village.staff, village.plain_errand, Channel.PHONE, "代办", "王大爷", "13912345678",
                    household=village.household)
    assert report_for(month).total.sums["logged"] == first.total.sums["logged"] + 1
    assert report_for(month, point).total.sums["logged"] == first_of_point.total.sums["logged"] + 1


def test_the_etag_differs_by_language_and_period(village, client, auth):
    auth.login("leader")
    month = client.get("/boards/place/V1").headers["ETag"]
    week = client.get("/boards/place/V1?period=week").headers["ETag"]
    client.post("/language", data={"lang": "en"})
    english = client.get("/boards/place/V1").headers["ETag"]
    assert len({month, week, english}) == 3


def test_a_board_runs_the_same_queries_with_10_and_with_2000_cases(village, client, auth, make, app):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    auth.login("leader")

    def queries() -> int:
        counters.rebuild()
        with counting_queries(app) as statements:
            assert client.get("/boards/place/V1").status_code == 200
        return len(statements)

    make.cases(10, village.plain_errand, village.h01, point)
    few = queries()
    make.cases(1990, village.plain_errand, village.h01, point, overdue_flagged_at=clock.now())
    assert queries() == few


def test_boards_are_for_the_people_of_their_scope(village, client, auth):
    auth.login("staff-p01")
    assert client.get("/boards/point/LS-P01").status_code == 200
    assert client.get("/boards/place/H01").status_code == 200
    assert client.get("/boards/point/LS-P02").status_code == 404
    assert client.get("/boards/district/all").status_code == 404
    assert client.get("/boards/wall").status_code == 404
    assert client.get("/boards/place/NOPE").status_code == 404
    auth.logout()
    auth.login("proxy-h01")
    assert client.get("/boards/").headers["Location"].endswith("/boards/place/H01")
    auth.logout()
    auth.login("leader")
    assert client.get("/boards/").headers["Location"].endswith("/boards/district/all")
    for url in ("/boards/district/all", "/boards/team/T1", "/boards/point/LS-P02", "/boards/wall", "/boards/wall?place=V1"):
        assert client.get(url).status_code == 200, url


def test_the_wall_view_fits_its_tiles_and_polls(village, client, auth):
    auth.login("leader")
    page = client.get("/boards/wall").get_data(as_text=True)
    assert 'hx-trigger="every 30s"' in page and "data-etag=" in page and "wall-page" in page
    assert page.count('class="wall-tile ') == len(scope_for("district", "all").tile_ids) >= 3 + 12
    assert "王大爷" not in page and "13912345678" not in page


# --- exports ---------------------------------------------------------------------------------------

def test_the_cases_behind_a_figure_as_xlsx_cell_by_cell(village, client, auth):
    auth.login("leader")
    response = client.get("/boards/place/V1/cases.xlsx?period=week&figure=logged")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "已登记 2026-11-23—2026-11-27"
    assert rows[1][:4] == ("工单编号", "服务事项", "类别", "地点")
    a = village.cases["a"]
    first = rows[2]
    assert first[0] == a.number and first[3] == "东岙" and first[4] == "东岙便民驿站"
    assert first[7] == clock.local(a.created_at).replace(tzinfo=None, microsecond=0)  # a real date cell
    assert (first[11], first[12]) == ("王**", "139****5678")
    assert first[13] == "满意"
    assert [row[0] for row in rows[2:]] == [village.cases[k].number for k in "abdc"]  # oldest first
    assert sheet.cell(row=3, column=8).number_format == "yyyy-mm-dd hh:mm"


def test_the_csv_export_opens_in_excel_and_runs_no_formulas(village, client, auth):
    village.cases["c"].requester_name = "=HYPERLINK(\"x\")"
    db.session.commit()
    auth.login("leader")
    response = client.get("/boards/place/V1/cases.csv?period=week&figure=open")
    assert response.data.startswith("\ufeff".encode())
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "工单编号" and len(rows) == 4
    assert all(not cell.startswith("=") for row in rows for cell in row)
    assert rows[3][11].startswith("'=")
    audit = db.session.scalars(sa.select(AuditEntry).filter_by(action="export")).one()
    assert audit.object_id == "place:V1:open" and audit.reason.endswith(": 3")


def test_an_export_holds_only_cases_the_viewer_may_see(village, client, auth):
    auth.login("proxy-h01")
    rows = list(csv.reader(io.StringIO(client.get("/boards/place/H01/cases.csv?figure=logged&period=week")
                                       .data.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [village.cases["a"].number, village.cases["b"].number]
    assert client.get("/boards/place/V1/cases.csv?figure=logged").status_code == 404
    assert client.get("/boards/place/H01/cases.csv?figure=nonsense").status_code == 404


def test_a_case_redone_and_resolved_again_is_two_resolutions_in_the_figure_and_its_export(village, monkeypatch):
    d = village.cases["d"]
    at(monkeypatch, 2026, 11, 27, 11)
    lifecycle.resolve(d, village.proxy_h02, "重办完成")  # the redo, resolved again in the same week
    board = week_board(village.lead)
    rows = db.session.scalars(cases_behind(scope_for("place", "V1"), "resolved", period_for("week"), village.lead)).all()
    assert board.figures.resolved == 3 and [c.number for c in rows] == [village.cases[k].number for k in "add"]


def test_a_case_returned_before_anyone_signed_for_it_is_answered_for_the_response_rate(village, monkeypatch):
    c = village.cases["c"]  # logged Friday 09:00, due to be signed for by 11:00
    at(monkeypatch, 2026, 11, 27, 10, 30)
    lifecycle.return_case(c, village.staff_p02, "不属于本站")
    assert week_board(village.lead).figures.timely_sign_for == Rate(3, 4)  # A, D and now C in time; B late
    kept = counters.as_rows()
    counters.rebuild()
    assert counters.as_rows() == kept
    at(monkeypatch, 2026, 11, 27, 14)
    supervision.sweep()  # its sign-for time has passed, but it was answered: not counted again as missed
    assert week_board(village.lead).figures.timely_sign_for == Rate(3, 4)


@pytest.mark.parametrize("figure, expected", [
    ("overdue", "b"), ("resolved", "ad"), ("dissatisfied", "d"), ("sign_late", "b"), ("late", ""),
])
def test_each_figure_exports_the_cases_it_counts(village, figure, expected):
    scope = scope_for("place", "V1")
    numbers = db.session.scalars(cases_behind(scope, figure, period_for("week"), village.lead)).all()
    assert [c.number for c in numbers] == [village.cases[k].number for k in expected]


# --- the monthly report --------------------------------------------------------------------------------

def test_the_monthly_report_of_a_point_and_its_change_from_last_month(village, monkeypatch):
    point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P01")).one()
    report = monthly_report(date(2026, 11, 1), point)
    total = report.total
    assert (total.figures.logged, total.figures.resolved) == (2, 1)  # A and B; A resolved after 25 hours
    assert total.average_days == pytest.approx(25 / 24, abs=0.01)
    assert total.previous.logged == 0 and total.change("logged") is None and total.change("average_days") is None
    assert report.points == []
    district = monthly_report(date(2026, 11, 1))
    assert {row.point.code: row.figures.logged for row in district.points} == {"LS-P01": 2, "LS-P02": 2, "LS-P05": 1}
    assert district.total.figures.satisfaction == Rate(1, 2)


def test_the_report_page_prints_and_refuses_a_month_to_come(village, client, auth):
    auth.login("leader")
    page = client.get("/boards/report?month=2026-11").get_data(as_text=True)
    assert "便民服务月报（2026 年 11 月）" in page and "data-print" in page and "东岙便民驿站" in page
    future = client.get("/boards/report?month=2027-01")
    assert future.status_code == 422 and "不能生成未来月份的月报" in future.get_data(as_text=True)
    auth.logout()
    auth.login("staff-p02")
    assert client.get("/boards/report?point=LS-P01").status_code == 404  # staff: their own point only
    page = client.get("/boards/report").get_data(as_text=True)
    assert "沙嘴便民驿站" in page and "东岙便民驿站" not in page


def test_on_the_first_of_a_month_the_board_and_report_say_what_they_compare_with(village, client, auth, monkeypatch):
    from portal.domain.boards.periods import Period

    at(monkeypatch, 2026, 12, 1, 10)
    month = period_for("month")
    assert (month.previous().first, month.previous().last) == (date(2026, 11, 1), date(2026, 11, 1))
    assert month.comparison == "上月同期"
    whole = Period("month", date(2026, 11, 1), date(2026, 11, 30))
    assert whole.comparison == "上月整月" and whole.previous().last == date(2026, 10, 31)
    auth.login("leader")
    board = client.get("/boards/district/all?period=month").get_data(as_text=True)
    assert "与 2026-11-01 至 2026-11-01（上月同期）相比" in board
    report = client.get("/boards/report?month=2026-12").get_data(as_text=True)
    assert "上月同期<br><small>11-01–11-01</small>" in report and ">上月</th>" not in report
    assert ">上月</th>" in client.get("/boards/report?month=2026-11").get_data(as_text=True)


# --- wall screens -----------------------------------------------------------------------------------------

def test_a_wall_screen_shows_its_board_until_revoked(village, client, auth, app):
    auth.login("leader")
    created = client.post("/boards/screens", data={"name": "中心大厅", "place": "V1"})
    page = created.get_data(as_text=True)
    address = page.split('<code class="feed">')[1].split("</code>")[0]
    token = address.rsplit("/", 1)[1]
    listing = client.get("/boards/screens").get_data(as_text=True)
    assert token not in listing and "中心大厅" in listing
    screen = db.session.scalars(sa.select(WallScreen)).one()
    assert screen.token_hash != token and len(screen.token_hash) == 64
    auth.logout()
    stranger = app.test_client()
    shown = stranger.get(f"/boards/screen/{token}")
    assert shown.status_code == 200 and "东岙村" in shown.get_data(as_text=True)
    assert stranger.get(f"/boards/screen/{token}", headers={"If-None-Match": shown.headers["ETag"]}).status_code == 304
    assert stranger.get("/boards/screen/not-a-token").status_code == 404
    auth.login("leader")
    client.post(f"/boards/screens/{screen.id}/revoke")
    gone = stranger.get(f"/boards/screen/{token}")
    assert gone.status_code == 404 and "已停止显示看板" in gone.get_data(as_text=True)
    actions = db.session.scalars(sa.select(AuditEntry.action).filter_by(object_type="wall_screens")).all()
    assert sorted(actions) == ["create", "revoke"]


def test_a_screen_needs_a_name_and_is_only_for_leads(village, client, auth):
    auth.login("leader")
    response = client.post("/boards/screens", data={"name": " ", "place": ""})
    assert response.status_code == 422 and "请为大屏命名" in response.get_data(as_text=True)
    auth.logout()
    auth.login("staff-p01")
    assert client.post("/boards/screens", data={"name": "x", "place": ""}).status_code == 403


# --- pieces ---------------------------------------------------------------------------------------------------

def test_a_sparkline_scales_to_its_box_and_leaves_gaps():
    line = charts.sparkline([0, 10, None, 5])
    assert line.path.startswith("M3.0 29.0 L") and line.path.count("M") == 2
    assert line.last == (117.0, 16.0)
    assert charts.sparkline([None, None]).path == ""


def test_a_tile_turns_red_at_three_overdue_cases_or_low_satisfaction():
    empty = metrics.from_sums(dict.fromkeys(counters.COUNTERS, 0))
    unhappy = metrics.from_sums({**dict.fromkeys(counters.COUNTERS, 0), "rated": 10, "satisfied": 7})
    h = Place(code="H", name_zh="h")
    assert Tile(h, empty, 5, 3).level == "bad"
    assert Tile(h, empty, 5, 1).level == "warn"
    assert Tile(h, unhappy, 5, 0).level == "bad"
    assert Tile(h, empty, 5, 0).level == "ok"


def test_a_tile_coloured_by_satisfaction_says_so(app):
    empty = metrics.from_sums(dict.fromkeys(counters.COUNTERS, 0))
    unhappy = metrics.from_sums({**dict.fromkeys(counters.COUNTERS, 0), "rated": 10, "satisfied": 7})
    h = Place(code="H", name_zh="h")
    with app.test_request_context():
        assert Tile(h, unhappy, 5, 0).why == "满意率低于 80 %"  # red with no overdue case: this is why
        assert Tile(h, empty, 5, 3).why == ""  # the overdue count on the tile says it already


def test_rebuilding_the_counters_keeps_the_board(village):
    figures = week_board(village.lead).figures
    counters.rebuild()
    assert week_board(village.lead).figures == figures


def test_a_case_without_a_place_counts_for_the_district_only(village):
    intake.log_case(village.staff, village.plain_errand, Channel.COUNTER, "代办", "游客", "13800000000",
                    address="码头候船室")
    district = build(scope_for("district", "all"), period_for("week"), village.lead)
    assert district.figures.logged == 6 and week_board(village.lead).figures.logged == 4


# --- the kinds of board -----------------------------------------------------------------------------------

def test_every_kind_of_board_is_described_once(world):
    """Each kind finds its boards by code, names an access rule that exists, and one's own boards come from it."""
    codes = {"district": "all", "place": "H01", "point": "LS-P01", "team": "T1"}
    assert set(KINDS) == set(codes)
    for key, kind in KINDS.items():
        scope = scope_for(key, codes[key])
        assert (scope.kind, kind.key, scope.code) == (kind, key, codes[key]) and str(kind.label)
        assert kind.seen_by in access.RULES and access.can(world.admin, "board.view", scope)
        assert scope.mark in scope.marks and (kind.title is None) == (scope.subject is not None)
        assert kind.subjects is None or isinstance(scope.subject, kind.subjects)
    assert [(kind.key, subject.code) for kind, subject in boards_of(world.staff)] == [("point", "LS-P01"),
                                                                                       ("place", "H01")]
    assert [(kind.key, subject.code) for kind, subject in boards_of(world.member)] == [("team", "T1")]
    with pytest.raises(NotFound):
        scope_for("village", "V1")


def test_each_board_offers_what_its_kind_has(village, client, auth):
    """The district's and a place's boards have a wall view (and wall screens); the district's, a point's and a place's a
    monthly report (a place's: its service point's)."""
    auth.login("leader")
    page = lambda url: client.get(url).get_data(as_text=True)  # noqa: E731
    district, village_board, point, team = (page("/boards/district/all"), page("/boards/place/V1"),
                                            page("/boards/point/LS-P01"), page("/boards/team/T1"))
    assert 'href="/boards/wall"' in district and 'href="/boards/report"' in district and "全域总览" in district
    assert 'href="/boards/wall?place=V1"' in village_board and 'href="/boards/report?point=LS-C"' in village_board
    assert "行政村" in village_board
    assert 'href="/boards/report?point=LS-P01"' in point and "/boards/wall" not in point and "服务点看板" in point
    assert "/boards/report" not in team and "/boards/wall" not in team and "服务队看板" in team
    client.post("/boards/screens", data={"name": "中心大厅", "place": ""})
    client.post("/boards/screens", data={"name": "村委会", "place": "V1"})
    listing = page("/boards/screens")
    assert "<td>中心大厅</td><td>全域</td>" in listing and "<td>村委会</td><td>东岙村</td>" in listing


KIND_TEST = re.compile(rf"kind\s*(==|!=|\bin\b|\bnot in\b)\s*[(\[]?\s*['\"]({'|'.join(KINDS)})['\"]")
KIND_TABLE = re.compile(rf"['\"]({'|'.join(KINDS)})['\"]\s*:")


def _names_a_kind(node: ast.expr | None) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in KINDS
    return isinstance(node, (ast.Tuple, ast.List, ast.Set)) and any(_names_a_kind(e) for e in node.elts)


def test_no_module_or_template_but_the_scopes_compares_a_kind_of_board_to_its_key():
    """What a kind of board has is asked of its ``ScopeKind`` (portal/domain/boards/scopes.py), never decided by
    comparing ``kind`` with "place" or by a table keyed by the kinds' names."""
    found = []
    for path in ROOT.joinpath("portal").rglob("*.py"):
        if path == ROOT / "portal/domain/boards/scopes.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                compared = any(_names_a_kind(side) for side in sides) and any(
                    "kind" in ast.unparse(side) for side in sides if not _names_a_kind(side))
            else:
                compared = isinstance(node, ast.Dict) and sum(map(_names_a_kind, node.keys)) >= 2
            if compared:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    found += [f"{path.relative_to(ROOT)}:{n}" for path in ROOT.joinpath("templates").rglob("*.html")
              for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
              if KIND_TEST.search(line) or len(KIND_TABLE.findall(line)) >= 2]
    assert found == []


@pytest.mark.parametrize("value, printed", [(-0.0, "＝ 0.0"), (-0.04, "＝ 0.0"), (0.04, "＝ 0.0"), (-0.06, "▼ -0.1"),
                                            (0.06, "▲ +0.1"), (2.5, "▲ +2.5")])
def test_a_rate_change_reads_as_it_is_printed(app, value, printed):
    """A change of a rate is rounded before its arrow is chosen: never "＝ -0.0 个百分点"."""
    with app.test_request_context("/"):
        html = str(app.jinja_env.get_template("boards/_macros.html").module.delta(value, "rate"))
    assert printed in " ".join(html.split()) and "-0.0" not in html
