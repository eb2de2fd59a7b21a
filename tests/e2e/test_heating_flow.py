"""A butler's campaign round on a phone, in a real Chromium: a leak found at a door becomes an urgent
case, and it comes first in the butler's queue."""
import re

import pytest

from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e


def test_butler_records_a_leak_and_the_urgent_case_comes_first(pages):
    page = pages.open(viewport=PHONE, username="butler-e01")
    page.goto("/heating/campaigns")
    page.locator("a:has-text('入户走访')").first.click()
    door = page.locator("li.door:not(.done)").first
    address = door.locator("strong").first.inner_text()
    door.locator("select[name=finding]").select_option("leak")
    door.locator("input[name=note]").fill("暖气片接口滴水")
    door.locator("button:has-text('记录问题')").click()
    door = page.locator(f"li.door:has-text('{address}')")
    door.locator("button:has-text('生成工单')").click()
    page.wait_for_selector("text=已登记")
    number = re.search(r"工单 ([A-Z]+-\d{8}-\d{4}) 已登记", page.locator("#messages").inner_text()).group(1)

    page.goto("/cases/?tab=mine")
    first_row = page.locator("table.cases tbody tr").first.inner_text()
    assert number in first_row and "紧急" in first_row
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
