"""A resident at a kiosk (or on a phone) follows a case without signing in, in a real Chromium."""
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Case, CaseStatus
from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e


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
    assert number in page.locator(".receipt").inner_text()
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    page.click("button:has-text('提交评价')")
    assert page.locator(".field.has-error .error").first.inner_text() == "请选择解决情况。"
    page.click("label:has-text('已解决')")
    page.click("label:has-text('基本满意')")
    page.fill("textarea", "办得很快")
    page.click("button:has-text('提交评价')")
    assert "谢谢，您的评价已记录。" in page.locator("[role=status]").inner_text()
    assert "已办结回访" in page.locator(".receipt").inner_text()
    page.goto(f"/lookup/r/{token}")  # the link again: answered once
    assert "无需再评价" in page.locator("main").inner_text()


def test_a_resident_books_the_home_visit_by_the_link_on_a_phone(pages, live_server):
    from portal.domain.cases import intake, links
    from portal.models import Channel, Household, Mode, Place, ServiceItem, User

    with live_server.app.app_context():  # a home-visit case logged at the post of 东岙 today
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(mode=Mode.HOME, active=True)).first()
        household = db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01")).first()
        case = intake.log_case(staff, item, Channel.COUNTER, "请上门", "王大爷", household.phone, household=household)
        case.team.capacity_per_slot += 5  # the demo's team is booked up before the due time: make room
        db.session.commit()
        number, token = case.number, links.token(case, "book")
    page = pages.open(viewport=PHONE)
    page.goto(f"/lookup/v/{token}")
    assert number in page.locator(".receipt").inner_text()
    assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
    page.click("button:has-text('预约这个时段')")
    assert "请选择上门的时段。" in page.locator("[role=alert]").inner_text()
    choice = page.locator("input[name=pick]").first.get_attribute("value")
    page.locator("label.big-check").first.click()
    page.click("button:has-text('预约这个时段')")
    day, slot = choice.split("|")
    assert f"服务队将于 {day} {'上午' if slot == 'am' else '下午'} 上门" in page.locator("[role=status]").inner_text()
    page.goto(f"/lookup/v/{token}")  # again: the booking stands, nothing more to choose
    assert page.locator("input[name=pick]").count() == 0
