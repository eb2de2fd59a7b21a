"""A home visit on a team member's phone, in a real Chromium, and the lead's calendar."""
import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain.cases import intake
from portal.extensions import db
from portal.models import Channel, Household, Place, ServiceItem, Slot, Team, User, Visit
from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e


def _visit_today(app):
    """A visit booked for today with team 1 (written directly: today may be a rest day)."""
    with app.app_context():
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(code="SS04")).one()
        household = db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01").limit(1)).one()
        case = intake.log_case(staff, item, Channel.PHONE, "养老金资格认证，老人卧床", household.residents[0].name,
                               household.phone, household=household)
        team = db.session.scalars(sa.select(Team).filter_by(code="T1")).one()
        db.session.add(Visit(case=case, household_id=household.id, team_id=team.id, day=clock.today(), slot=Slot.PM))
        db.session.commit()
        return case.number, household.address


def test_team_member_completes_todays_visit_and_the_lead_sees_it_done(pages, live_server):
    number, address = _visit_today(live_server.app)
    phone = pages.open(viewport=PHONE, username="team1-a")
    phone.goto("/visits/")
    card = phone.locator(f"li.errand-card:has-text('{address}')").first
    card.locator("button:has-text('开始上门')").click()
    phone.wait_for_selector(f"li.errand-card:has-text('{address}') a:has-text('完成上门')")
    phone.locator(f"li.errand-card:has-text('{address}') a:has-text('完成上门')").first.click()
    phone.fill("textarea[name=work_done]", "已上门完成养老金资格认证")
    phone.fill("textarea[name=resident_confirmed]", "老人本人确认，家属代签")
    phone.click("button:has-text('完成上门，工单办结')")
    phone.wait_for_selector("text=上门完成，工单已办结。")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    lead = pages.open(username="leader")
    lead.goto("/visits/calendar")
    team_row = lead.locator("table.week tr:has-text('第一上门服务队')")
    assert team_row.locator("a.visit-done").count() >= 1
    lead.goto(f"/cases/{number}")
    assert "已办结" in lead.locator("h1").inner_text()
