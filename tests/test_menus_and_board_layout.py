"""Issue 36.7 and 36.8: each role's top menu follows the access rules (heating staff get the hotline, not the island's
care register and manifest), the hotline knows the caller's station, and the boards lead to villages, the monthly
report and the hotspots without a long scroll; an estate's wall fills the screen."""
import re

from tests.stories import at, log


def _nav(html: str) -> str:
    return html[html.index('<nav class="nav"'):html.index("</nav>")]


def test_each_role_s_menu_offers_what_it_uses(world, district, client, auth):
    auth.login("desk-sqt")  # a heating station's staff
    menu = _nav(client.get("/").get_data(as_text=True))
    assert "供热热线" in menu and "关爱台账" not in menu and "出岛清单" not in menu
    auth.logout()
    auth.login("staff-p01")  # an island post's staff: the island's pages, no heating hotline
    menu = _nav(client.get("/").get_data(as_text=True))
    assert "关爱台账" in menu and "出岛清单" in menu and "供热热线" not in menu
    for who in ("butler-e01", "leader"):
        auth.logout()
        auth.login(who)
        assert "供热热线" in _nav(client.get("/").get_data(as_text=True)), who


def test_the_hotline_preselects_the_station_of_the_caller_s_estate(world, district, client, auth):
    auth.login("desk-sqt")
    page = client.get("/heating/hotline").get_data(as_text=True)
    assert re.search(rf'<option selected value="{district.station.id}">', page)  # the desk's only station
    auth.logout()
    auth.login("leader")  # every station: none chosen until the caller is known
    page = client.get("/heating/hotline").get_data(as_text=True)
    assert '<option selected value="">' in page
    found = client.get("/heating/caller?requester_phone=13700000001", headers={"HX-Request": "true"})
    html = found.get_data(as_text=True)
    assert 'id="station-field" hx-swap-oob="true"' in html
    assert re.search(rf'<option selected value="{district.station.id}">', html)
    unknown = client.get("/heating/caller?requester_phone=13700009999", headers={"HX-Request": "true"})
    assert "hx-swap-oob" not in unknown.get_data(as_text=True)  # not in the register: the choice is left alone


def test_the_district_board_leads_to_villages_and_boards_to_their_report(world, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    for _ in range(3):  # a hotspot of 东岙
        log(world)
    auth.login("leader")
    board = client.get("/boards/district/all").get_data(as_text=True)
    places = board[board.index('id="places"'):]
    assert 'href="/boards/place/V1' in places and "东岙村" in places and 'href="/boards/place/H01' not in places
    assert 'href="/boards/report"' in board
    estate = client.get("/boards/place/E01").get_data(as_text=True)
    assert 'href="/boards/report?point=HT-SQT"' in estate  # the station serving the estate
    village = client.get("/boards/place/V1").get_data(as_text=True)
    # The hotspots come before the long lists, and a link near the top leads to them.
    assert village.index('id="hotspots"') < village.index("更多指标") < village.index('id="places"')
    assert village.index('href="#hotspots"') < village.index('class="kpis"')
    auth.logout()
    auth.login("staff-p01")  # a post's staff: their own point's report, from the board of their hamlet
    assert 'href="/boards/report?point=LS-P01"' in client.get("/boards/place/H01").get_data(as_text=True)


def test_an_estate_s_wall_fills_the_screen_with_its_figures(world, client, auth):
    auth.login("leader")
    wall = client.get("/boards/wall?place=E01").get_data(as_text=True)
    assert "wall-body-single" in wall and "wall-kpis-large" in wall and 'class="wall-tile ' not in wall
    district = client.get("/boards/wall").get_data(as_text=True)
    assert "wall-body-single" not in district and district.count('class="wall-tile ') == 15  # 3 villages, 12 estates
