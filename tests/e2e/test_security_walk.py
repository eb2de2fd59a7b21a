"""Every role walks its menus in Chromium with zero Content-Security-Policy violations and zero script
errors (the ``pages`` fixture fails on any), and text a resident typed renders inert."""
import pytest
import sqlalchemy as sa

from portal.domain.cases import intake
from portal.extensions import db
from portal.models import Channel, Household, Place, ServiceItem, User
from tests.e2e.conftest import OFFICE, PHONE

pytestmark = pytest.mark.e2e
WALKERS = [("staff-ls-p01", OFFICE), ("staff-ht-sqt", OFFICE), ("proxy-h01", PHONE), ("team1-lead", PHONE),
           ("team1-a", PHONE), ("butler-e01", PHONE), ("leader", OFFICE), ("admin", OFFICE)]


@pytest.mark.parametrize("username, viewport", WALKERS)
def test_each_role_walks_its_menus_without_a_csp_violation(pages, username, viewport):
    page = pages.open(viewport=viewport, username=username)
    links = page.eval_on_selector_all(".nav a", "links => links.map(a => a.getAttribute('href'))")
    assert links, "every role has a menu"
    for link in [*links, "/"]:
        response = page.goto(link)
        assert response.status < 500, link
        page.wait_for_function("() => !document.querySelector('.htmx-request')")  # the parts htmx loads with it


def test_html_and_htmx_attributes_in_a_description_stay_text(pages, live_server):
    payload = ('<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
               '<button hx-post="/auth/logout" hx-trigger="load">x</button>{{ 7*7 }}')
    with live_server.app.app_context():
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CV05")).one()
        household = db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01").limit(1)).one()
        number = intake.log_case(staff, item, Channel.COUNTER, payload, payload[:40], household.phone,
                                 household=household).number
    page = pages.open(username="staff-ls-p01")
    page.goto(f"/cases/{number}")
    page.wait_for_load_state("networkidle")
    description = page.locator(".description")
    assert description.inner_text() == payload  # shown as typed, every character
    assert description.locator("img, script, button").count() == 0
    assert page.evaluate("window.pwned") is None
    page.goto("/")
    assert page.url.endswith("/")  # still signed in: the hx-post in the text never fired
