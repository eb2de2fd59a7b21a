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
