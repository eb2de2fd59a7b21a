"""A resident at a kiosk (or on a phone) follows a case without signing in, in a real Chromium."""
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Case, CaseStatus
from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e


def on_first_screen(locator) -> bool:
    """Whether the element is wholly within the phone's screen as the page stands (no scrolling needed)."""
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def test_a_resident_looks_up_a_case_on_a_phone(pages, live_server):
    with live_server.app.app_context():
        case = db.session.scalars(sa.select(Case).where(Case.status == CaseStatus.IN_PROGRESS).limit(1)).one()
        number, digits = case.number, case.requester_phone[-4:]
    page = pages.open(viewport=PHONE)
    page.goto("/lookup/?place=H01")
    page.fill("#number", number)
    page.fill("#last_four", "0000")
    page.click("button:has-text('查询')")
    assert page.locator(".error").first.inner_text().startswith("没有与该编号")
    page.fill("#last_four", digits)
    page.click("button:has-text('查询')")
    page.wait_for_selector(".receipt")
    assert number in page.locator(".receipt").inner_text() and "办理中" in page.locator(".receipt").inner_text()
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def test_a_resident_answers_by_the_link_of_the_result_on_a_phone(pages, live_server):
    from datetime import timedelta

    from portal import clock
    from portal.domain.cases import links

    with live_server.app.app_context():
        case = db.session.scalars(sa.select(Case).where(Case.status == CaseStatus.RESOLVED).limit(1)).one()
        case.answer_until = clock.now() + timedelta(days=3)
        db.session.commit()
        number, token = case.number, links.token(case, "answer")
    page = pages.open(viewport=PHONE)
    page.goto(f"/lookup/r/{token}")
    assert number in page.locator(".case-summary").inner_text()
    assert len(page.locator(".timeline li").all()) >= 2  # however long its story, the question comes first
    assert on_first_screen(page.locator("legend").first) and on_first_screen(page.locator("label:has-text('已解决')"))
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    phone = page.locator(".receipt a.tel")
    assert phone.get_attribute("href").startswith("tel:")  # the service point's phone calls it when tapped
    page.click("button:has-text('提交评价')")
    assert page.locator(".field.has-error .error").first.inner_text() == "请选择解决情况。"
    assert on_first_screen(page.locator(".field.has-error .error").first)  # the error where the resident looks
    page.click("label:has-text('已解决')")
    page.click("label:has-text('基本满意')")
    page.fill("textarea", "办得很快")
    page.click("button:has-text('提交评价')")
    assert "谢谢，您的评价已记录。" in page.locator("[role=status]").inner_text()
    assert "已办结回访" in page.locator(".case-summary").inner_text()
    page.goto(f"/lookup/r/{token}")  # the link again: answered once
    assert "无需再评价" in page.locator("main").inner_text()


def test_a_resident_books_the_home_visit_by_the_link_on_a_phone(pages, live_server):
    from portal.domain import visits
    from portal.domain.cases import links
    from portal.models import Channel, Household, Mode, Place, ServiceItem, User

    with live_server.app.app_context():  # a home-visit case logged at the post of 东岙 today
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(mode=Mode.HOME, active=True)).first()
        household = db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01")).first()
        team = visits.intake.team_for(household.place)
        team.capacity_per_slot += 5  # the demo's team is booked up before the due time: make room
        db.session.commit()
        case = visits.log_and_offer(staff, item, Channel.COUNTER, "请上门", "王大爷", household.phone,
                                    household=household)
        digits = household.phone[-4:]
        number, token = case.number, links.token(case, "book")
    page = pages.open(viewport=PHONE)
    page.goto(f"/lookup/v/{token}")
    assert number in page.locator(".receipt").inner_text()
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    assert on_first_screen(page.locator("label.big-check").first)
    page.click("button:has-text('预约这个时段')")
    assert "请选择上门的时段。" in page.locator("[role=alert]").inner_text()
    assert on_first_screen(page.locator("[role=alert]"))
    choice = page.locator("input[name=pick]").first.get_attribute("value")
    page.locator("label.big-check").first.click()
    page.click("button:has-text('预约这个时段')")
    day, slot = choice.split("|")
    half_day = f"{day} {'上午' if slot == 'am' else '下午'}"
    assert f"服务队将于 {half_day} 上门" in page.locator("[role=status]").inner_text()
    assert on_first_screen(page.locator("[role=status]"))
    page.goto(f"/lookup/v/{token}")  # again: the booking stands, nothing more to choose
    assert page.locator("input[name=pick]").count() == 0
    page.goto(f"/lookup/?number={number}")  # and the lookup says when the team comes
    page.fill("#last_four", digits)
    page.click("button:has-text('查询')")
    assert half_day in page.locator(".receipt").inner_text()
