"""An errand's round trip on a proxy's phone, in a real Chromium: claim, collect the documents, find it
on the manifest, hand it in, record the approval, hand the result back."""
import re

import pytest
import sqlalchemy as sa

from portal.domain.cases import intake
from portal.extensions import db
from portal.models import Channel, Household, Place, ServiceItem, User
from tests.e2e.conftest import PHONE

pytestmark = pytest.mark.e2e


def _new_errand(app):
    with app.app_context():
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CA04")).one()
        household = db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01").limit(1)).one()
        case = intake.log_case(staff, item, Channel.PHONE, "高龄津贴申领，老人行动不便", household.residents[0].name,
                               household.phone, household=household, resident=household.residents[0])
        return case.number, household.residents[0].name


def _sign(page, form):
    """Sign on the screen's pad of ``form`` with a finger's stroke (a mouse's, here)."""
    pad = page.locator(f"{form} canvas")
    pad.scroll_into_view_if_needed()  # the mouse draws where the screen shows the pad
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 30)
    page.mouse.down()
    for x, y in ((60, 90), (110, 40), (170, 100), (230, 50)):
        page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
    page.mouse.up()
    assert page.locator(f"{form} input[name=signature]").input_value().startswith("data:image/png;base64,")


def test_proxy_runs_an_errand_round_trip_on_a_phone(pages, live_server):
    number, resident = _new_errand(live_server.app)
    page = pages.open(viewport=PHONE, username="proxy-h01")
    page.goto("/errands/")
    page.locator(f"li.errand-card:has-text('{number}') button:has-text('认领')").click()
    page.wait_for_url(f"**/errands/{number}")

    for box in page.locator("input[name=materials]").all():
        box.check()
    assert page.locator("input[name=confirmed_by]").first.input_value() == resident
    page.click("button:has-text('已收到材料')")  # not signed yet: refused, nothing moved
    page.wait_for_selector("text=请居民在屏幕上签名，或上传签字交接单的照片。")
    for box in page.locator("input[name=materials]").all():
        box.check()
    _sign(page, "form[action$='/collect']")
    page.click("button:has-text('已收到材料')")
    page.wait_for_selector("text=材料已全部收齐。")
    assert "材料现在的持有人：代办党员" in page.locator("#messages").inner_text()

    page.goto("/errands/manifest")
    assert number in page.locator(".office").first.inner_text() or number in page.locator("article").inner_text()

    page.goto(f"/errands/{number}")
    page.fill("form[action$='/submit'] input[name=confirmed_by]", "民政局窗口 刘")
    _sign(page, "form[action$='/submit']")
    page.click("button:has-text('已递交')")
    page.wait_for_selector("input[name=answer][value=approved]")
    page.check("input[name=answer][value=approved]")
    page.fill("form[action$='/answer'] input[name=confirmed_by]", "民政局窗口 刘")
    _sign(page, "form[action$='/answer']")
    page.click("button:has-text('登记答复')")
    page.wait_for_selector("text=把结果交还居民")
    page.fill("form[action$='/deliver'] textarea[name=note]", "津贴已批准，材料原件已交还")
    _sign(page, "form[action$='/deliver']")
    page.click("button:has-text('已交还，代办办结')")
    page.wait_for_selector("h1 >> text=已办结")

    page.goto(f"/cases/{number}")
    timeline = page.locator(".timeline").inner_text()
    for step in ("登记受理", "已签收", "材料交给代办党员", "材料交给上级部门", "材料已报送", "上级部门答复：审批通过",
                 "材料交给居民", "已办结"):
        assert step in timeline, step
    assert re.search(r"确认人：民政局窗口 刘", timeline)
