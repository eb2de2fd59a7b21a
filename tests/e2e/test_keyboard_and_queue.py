"""What a clerk feels at the desk, in a real Chromium: the whole path from intake to the callback with the
keyboard alone, the intake form that shows only what applies, and a queue whose search keeps the cursor and
whose tab counts follow a case signed for in place."""
import re

import pytest
import sqlalchemy as sa

from portal.domain.cases import intake
from portal.extensions import db
from portal.models import Channel, Household, Place, Resident, ServiceItem, User
from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e


def _household(app):
    """A household of 东岙 (H01) with two residents: its phone, address and the second resident's name."""
    with app.app_context():
        for household in db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01")
                                            .order_by(Household.id)):
            residents = db.session.scalars(sa.select(Resident.name).filter_by(household_id=household.id)
                                           .order_by(Resident.id)).all()
            if len(residents) >= 2 and household.phone:
                return household.phone, household.address, residents[1]
    raise AssertionError("the demo has households of 东岙 with two residents")


def _tab_to(page, selector: str, most: int = 250) -> None:
    """Press Tab until the focus is on ``selector``, as a clerk would; fail if it is never reached."""
    for _ in range(most):
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reaches {selector}")


def test_intake_claim_resolve_and_callback_with_the_keyboard_alone(pages, live_server):
    phone, address, _name = _household(live_server.app)
    page = pages.open(username="staff-ls-p01")
    page.goto("/intake/")
    assert page.evaluate("document.activeElement.id") == "requester_phone"  # the cursor starts in the phone
    page.keyboard.type(phone)
    page.wait_for_selector(f"#caller >> text={address}")
    _tab_to(page, "#caller input[name=resident_id]")
    page.keyboard.press("Space")  # the first resident: the name is filled in
    assert page.input_value("#requester_name")
    _tab_to(page, "#item_query")
    page.keyboard.type("CV01")
    page.wait_for_selector("#item-results input[name=item_id]")
    _tab_to(page, "#item-results input[name=item_id]")
    page.keyboard.press("Space")
    page.wait_for_selector("#item-details .item-facts")
    _tab_to(page, "#description")
    page.keyboard.type("开具居住证明")
    _tab_to(page, "button.primary[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/cases/[A-Z]+-\d{8}-\d{4}\?logged=1"))
    number = re.search(r"/cases/([A-Z]+-\d{8}-\d{4})", page.url).group(1)

    _tab_to(page, ".actions-panel form.action button")  # 签收
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector(".flash-success")
    for step, fields in (("resolve", [("textarea", "药已送到家")]), ("close", [("input[type=radio]", None)])):
        _tab_to(page, f"details.action:has(form[action$='/act/{step}']) > summary")
        page.keyboard.press("Enter")  # opens the step
        for selector, text in fields:
            _tab_to(page, f"form[action$='/act/{step}'] {selector}")
            if text:
                page.keyboard.type(text)
        if step == "close":  # the first choice of each group: solved, satisfied
            _tab_to(page, f"form[action$='/act/{step}'] input[name='close-satisfaction']")
            page.keyboard.press("Space")
            _tab_to(page, f"form[action$='/act/{step}'] input[name='close-outcome']")
            page.keyboard.press("Space")
        _tab_to(page, f"form[action$='/act/{step}'] button[type=submit]")
        with page.expect_navigation():  # the form posts and the case page comes back
            page.keyboard.press("Enter")
        page.wait_for_load_state("networkidle")
    assert page.locator("h1 .badge").inner_text() == "已办结回访", number  # closed, with the callback recorded


def test_the_intake_shows_the_visit_only_for_home_cases_and_fills_the_name(pages, live_server):
    phone, address, name = _household(live_server.app)
    page = pages.open(username="staff-ls-p01")
    page.goto("/intake/")
    page.fill("#requester_phone", phone)
    page.wait_for_selector(f"#caller >> text={address}")
    page.check(f"#caller input[name=resident_id][data-name='{name}']")
    assert page.input_value("#requester_name") == name
    page.fill("#item_query", "CV01")
    page.click("#item-results label:has-text('CV01')")
    page.wait_for_selector("#item-details .item-facts")
    assert not page.locator("#visit_day").is_visible()  # a counter item: no visit to book
    page.select_option("#mode", "home")
    assert page.locator("#visit_day").is_visible()


def test_the_queue_search_keeps_the_cursor_and_signing_for_a_row_updates_the_counts(pages, live_server):
    with live_server.app.app_context():
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CV01")).one()
        household = db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01").limit(1)).one()
        number = intake.log_case(staff, item, Channel.PHONE, "开具居住证明", "王大爷", household.phone,
                                 household=household).number
    page = pages.open(viewport=PHONE, username="staff-ls-p01")
    page.goto("/cases/?tab=claimable")
    page.click("#queue-q")
    with page.expect_response(re.compile(r"/cases/\?")):
        page.keyboard.type(number[:-2], delay=60)
    page.wait_for_url(re.compile(r"[?&]q="))  # the results are swapped in (their address is pushed after)
    assert page.evaluate("document.activeElement.id") == "queue-q"  # the cursor stays in the box...
    assert page.input_value("#queue-q") == number[:-2]  # ...with every character typed

    def count(tab):
        return int(page.locator(f"#queue-tabs a[href$='tab={tab}'] .count").inner_text())

    before = count("claimable"), count("mine")
    row = page.locator(f"#queue-results tr:has-text('{number}')")
    with page.expect_response(re.compile(r"/cases/\?tab=claimable$")):  # the tabs ask for their counts again
        row.locator("button:has-text('签收')").click()
    page.wait_for_selector(f"tr:has-text('{number}') >> text=已签收")
    # The tabs are swapped in after their answer arrives (the load state says nothing about it): wait for the
    # swap to bring "to claim" down, then read both, so the test cannot read the counts of before.
    page.wait_for_function("n => document.querySelector(\"#queue-tabs a[href$='tab=claimable'] .count\")"
                           ".textContent.trim() !== String(n)", arg=before[0])
    assert (count("claimable"), count("mine")) == (before[0] - 1, before[1] + 1)


def test_a_butlers_queue_on_a_phone_is_cards_with_the_action_in_reach(pages):
    page = pages.open(viewport=PHONE, username="butler-e01")
    page.goto("/cases/?tab=claimable")
    buttons = page.locator("#queue-results button:has-text('签收')")
    assert buttons.count() > 0
    for box in (buttons.nth(i).bounding_box() for i in range(buttons.count())):
        assert 0 <= box["x"] and box["x"] + box["width"] <= PHONE["width"], box  # not off the screen's edge
    # An item's name reads on one line or two, never one character a line; the due time is on the screen.
    cells = page.eval_on_selector_all("#queue-results .case-item, #queue-results .case-due", """cells => cells.map(c => {
        const box = c.getBoundingClientRect(), line = parseFloat(getComputedStyle(c).lineHeight);
        return {text: c.textContent.trim(), lines: Math.round(box.height / line), right: box.right}; })""")
    assert cells and all(cell["lines"] <= 2 for cell in cells), cells
    assert all(cell["right"] <= PHONE["width"] for cell in cells), cells
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
