"""Issue 36.3, 36.8 and 36.10 on the screen, in a real Chromium: the intake form's actions on the first screen of an
office PC and of a phone, its free half-days shown as the household and the item are chosen, a refused submit that
starts at its error summary; a started visit's badge below the sticky bar; an estate's wall that fills 1920 x 1080."""
import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain.cases import intake
from portal.extensions import db
from portal.models import Channel, Household, Place, ServiceItem, Slot, Team, User, Visit
from tests.e2e.conftest import OFFICE, PHONE

pytestmark = pytest.mark.e2e


def _h01(app):
    """A household of 东岙, and a visit of team 1 booked for today (written directly: today may be a rest day)."""
    with app.app_context():
        household = db.session.scalars(
            sa.select(Household).join(Place).where(Place.code == "H01").order_by(Household.id).limit(1)).one()
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(code="SS04")).one()
        case = intake.log_case(staff, item, Channel.PHONE, "上门认证", household.residents[0].name, household.phone,
                               household=household)
        team = db.session.scalars(sa.select(Team).filter_by(code="T1")).one()
        visit = Visit(case=case, household_id=household.id, team_id=team.id, day=clock.today(), slot=Slot.PM)
        db.session.add(visit)
        db.session.commit()
        return household.phone, household.address, visit.id


def _inside(page, selector, viewport) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


@pytest.mark.slow
def test_intake_visit_and_wall_positions(pages, live_server):
    phone_number, address, visit_id = _h01(live_server.app)

    office = pages.open(viewport=OFFICE, username="staff-ls-p01")
    office.goto("/intake/")
    assert _inside(office, "button[name=finish]", OFFICE)  # 登记并当场办结 on the first screen (was y = 908)
    office.fill("#requester_phone", phone_number)
    office.wait_for_selector(f"#caller >> text={address}")
    office.fill("#item_query", "SS04")
    office.click("#item-results label:has-text('SS04')")
    office.wait_for_selector("#free-slots input[name=pick][value*='|']")  # before any submit
    assert "第一上门服务队" in office.locator("#free-slots legend").inner_text()

    phone = office  # the same clerk, the screen of a phone
    phone.set_viewport_size(PHONE)
    phone.goto("/intake/")
    assert _inside(phone, "button.primary:has-text('登记')", PHONE)
    phone.click("button.primary:has-text('登记')")
    phone.wait_for_selector("#error-summary")
    # The page's script moves the focus once the page has loaded: wait for it, never read it at once.
    phone.wait_for_function("document.activeElement && document.activeElement.id === 'error-summary'", timeout=5000)
    assert _inside(phone, "#error-summary", PHONE) and _inside(phone, "button.primary:has-text('登记')", PHONE)
    phone.locator("#error-summary a[href='#description']").click()
    assert _inside(phone, "#description", PHONE)  # the field, not hidden under the bars

    member = pages.open(viewport=PHONE, username="team1-a")
    member.goto("/visits/")
    member.locator(f"#visit-{visit_id} button:has-text('开始上门')").click()
    member.wait_for_selector("text=上门已开始，状态为进行中")
    badge = member.locator(f"#visit-{visit_id} .badge").first.bounding_box()
    bar = member.locator("header.topbar").bounding_box()
    assert badge["y"] >= bar["y"] + bar["height"]  # not under the sticky bar

    wall = pages.open(viewport={"width": 1920, "height": 1080}, username="leader")
    wall.goto("/boards/wall?place=E01")
    figures = wall.locator(".wall-kpis-large").bounding_box()
    assert figures["width"] * figures["height"] > 1920 * 1080 * 0.4  # the figures fill the screen, not a quarter
