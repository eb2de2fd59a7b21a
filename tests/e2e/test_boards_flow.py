"""Boards in a real Chromium: the wall view holds 30 places on a 1920 x 1080 screen without
scrolling, and a board's poll is answered 304 until something happens in its scope."""
import pytest
import sqlalchemy as sa

from portal.domain.cases import intake
from portal.extensions import db
from portal.models import Channel, Household, Place, PlaceKind, ServiceItem, User

pytestmark = pytest.mark.e2e
WALL = {"width": 1920, "height": 1080}


def _add_estates(app, count):
    """``count`` estates more beside 金色环海 (E01); the district's tiles are its villages and estates."""
    with app.app_context():
        estate = db.session.scalars(sa.select(Place).filter_by(code="E01")).one()
        for n in range(count):
            db.session.add(Place(code=f"EX{n}", kind=PlaceKind.ESTATE, name_zh=f"新小区{n}", parent=estate.parent,
                                 service_point_id=estate.service_point_id))
        db.session.commit()
        return db.session.scalar(sa.select(sa.func.count()).select_from(Place).where(
            Place.kind.in_([PlaceKind.VILLAGE, PlaceKind.ESTATE])))


def test_the_wall_shows_thirty_places_on_one_screen(pages, live_server):
    assert _add_estates(live_server.app, 15) == 30
    page = pages.open(viewport=WALL, username="leader")
    page.goto("/boards/wall")
    tiles = page.locator(".wall-tile")
    assert tiles.count() == 30
    assert page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight")
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    for index in (0, 29):
        box = tiles.nth(index).bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= 1080 and box["height"] > 80
    assert page.locator(".topbar").is_hidden()


def test_a_board_poll_is_304_until_a_case_is_logged_in_its_village(pages, live_server):
    page = pages.open(username="leader")
    page.clock.install()
    page.goto("/boards/place/V1")
    before = page.locator(".kpi strong").first.inner_text()

    with page.expect_response(lambda r: "/boards/place/V1" in r.url and r.request.headers.get("hx-request")) as poll:
        page.clock.run_for(31_000)
    assert poll.value.status == 304
    assert page.locator(".kpi strong").first.inner_text() == before

    with live_server.app.app_context():
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CV05")).one()
        household = db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01").limit(1)).one()
        intake.log_case(staff, item, Channel.PHONE, "代办", "王大爷", household.phone, household=household)

    with page.expect_response(lambda r: "/boards/place/V1" in r.url and r.request.headers.get("hx-request")) as poll:
        page.clock.run_for(31_000)
    assert poll.value.status == 200
    page.wait_for_function(f"document.querySelector('.kpi strong').innerText != '{before}'")
    assert int(page.locator(".kpi strong").first.inner_text()) == int(before) + 1
