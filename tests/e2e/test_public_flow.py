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
    from portal.domain.cases import answers

    with live_server.app.app_context():
        case = db.session.scalars(sa.select(Case).where(Case.status == CaseStatus.RESOLVED).limit(1)).one()
        case.answer_until = clock.now() + timedelta(days=3)
        db.session.commit()
        number, token = case.number, answers.token(case)
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
