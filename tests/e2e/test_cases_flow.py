"""A day at the post in a real Chromium: staff log two cases from a phone lookup, one finished on
the spot; the hamlet's proxy claims the other on a phone; the lead sees both on the timelines."""
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Household, Place
from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e


def _h01_household(app):
    with app.app_context():
        household = db.session.scalars(
            sa.select(Household).join(Place).where(Place.code == "H01").order_by(Household.id).limit(1)
        ).one()
        return household.phone, household.address


def _log_case(page, phone, address, query, code, description, finish=False):
    page.goto("/intake/")
    page.fill("#requester_phone", phone)
    page.wait_for_selector(f"#caller >> text={address}")
    page.fill("#item_query", query)
    page.click(f"#item-results label:has-text('{code}')")
    page.wait_for_selector("#item-details .item-facts")
    page.fill("#description", description)
    page.click("button[name=finish]" if finish else "button:has-text('登记'):not([name=finish])")
    page.wait_for_url(re.compile(r".*/cases/[A-Z]+-\d{8}-\d{4}\?logged=1"))
    return re.search(r"/cases/([A-Z]+-\d{8}-\d{4})", page.url).group(1)


def test_staff_log_proxy_claims_lead_sees_the_timelines(pages, live_server):
    phone, address = _h01_household(live_server.app)

    staff = pages.open(username="staff-ls-p01")
    errand = _log_case(staff, phone, address, "dbsq", "CA01", "申请低保，老人行动不便")
    assert staff.locator(".logged-banner").inner_text().count(errand) == 1
    counter = _log_case(staff, phone, address, "CV01", "CV01", "开具居住证明", finish=True)
    assert "已办结" in staff.locator("h1").inner_text()

    proxy = pages.open(viewport=PHONE, username="proxy-h01")
    proxy.goto("/cases/?tab=claimable")
    row = proxy.locator(f"tr:has-text('{errand}')")
    row.locator("button:has-text('签收')").click()
    proxy.wait_for_selector(f"tr:has-text('{errand}') >> text=已签收")

    lead = pages.open(username="leader")
    lead.goto(f"/cases/{errand}")
    timeline = lead.locator(".timeline").inner_text()
    assert "已签收" in timeline and "登记受理（窗口）" in timeline
    lead.goto(f"/cases/{counter}")
    assert "当场办结" in lead.locator(".timeline").inner_text()


def test_a_repeat_call_is_noted_on_the_open_case_instead_of_logged_again(pages, live_server):
    phone, address = _h01_household(live_server.app)
    staff = pages.open(username="staff-ls-p01")
    first = _log_case(staff, phone, address, "dbsq", "CA01", "申请低保")
    staff.goto("/intake/")
    staff.fill("#requester_phone", phone)
    staff.wait_for_selector(f"#duplicates >> text={first}")  # offered while the number is typed
    staff.fill("#description", "又来电问进度")
    staff.click(f"#duplicates li:has-text('{first}') button")
    staff.wait_for_url(re.compile(rf".*/cases/{first}$"))
    assert f"本次来电已记入工单 {first}，未新建工单。" in staff.locator("#messages").inner_text()
    assert "又来电问进度" in staff.locator(".timeline").first.inner_text()
