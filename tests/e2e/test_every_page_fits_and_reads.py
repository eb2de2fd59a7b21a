"""Every page of every role, the admin's and the public's included, on a phone (390×844) and an office PC
(1366×768): nothing wider than the screen, every id once per page, and no violation of WCAG 2.1 A and AA that
axe-core finds (the level that GB/T 37668 asks of government web sites), at both sizes (a phone's layout hides
and moves things: the logo's name, a table that scrolls). The pages are those of each role's menu and home
page, the directory's sections, and the case, errand, visit and report pages one reaches from them, as the
route × role matrix is built from the menu. Each page is loaded once, at phone width, then checked again
after the window is widened to the office's size: one browser context per role.
"""
from __future__ import annotations

from pathlib import Path

import axe_playwright_python
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Household, Place
from tests.e2e.conftest import OFFICE, PHONE

pytestmark = pytest.mark.e2e
# One login of each kind of user and menu (the service centre's clerk and a station head see the same pages
# as the post's clerk and the district leader).
ROLES = ["staff-ls-p01", "staff-ls-off", "staff-ht-sqt", "proxy-h01", "team1-lead", "team1-a", "butler-e01",
         "leader", "admin", None]  # None: someone not signed in, on the public pages
# The public's pages: the sign-in page, the residents' lookup, a post's kiosk and a convenience card's page.
PUBLIC = ["/auth/login", "/lookup/", "/lookup/?place=H01"]
AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}
# Colours do not change with the width, and their check is nine tenths of axe's time: contrast is checked once,
# at the office's width, where every element shows (a phone hides some); every other rule at both widths.
WCAG_21_AA_BUT_CONTRAST = {**WCAG_21_AA, "rules": {"color-contrast": {"enabled": False}}}
# Pages one reaches from a list rather than from the menu: the first link of each kind on the role's pages.
DETAILS = ["a[href^='/boards/report']", "a[href^='/cases/'][href*='-']", "a[href^='/errands/'][href*='-']", "a[href^='/visits/'][href$='0'], "
           "a[href^='/visits/'][href$='1'], a[href^='/visits/'][href$='2']"]
# Pages one reaches from a page's tiles rather than from the menu: every section of the directory (the admin's).
SECTIONS = "main a.tile-link[href^='/directory/']"


def _visit(page, link: str) -> None:
    response = page.goto(link)  # its load event: the page, its styles, scripts and images
    assert response.status < 400, (link, response.status)
    page.wait_for_function("() => !document.querySelector('.htmx-request')")  # and the parts htmx loads with it


def _walk(page, found: dict, start: list[str]) -> None:
    """Visit the role's menu and home entries, the directory's sections they lead to, and one page of each
    kind listed on either; check each at phone width, then at the office's, noting what is wrong."""
    page.goto(start[-1])
    links = page.eval_on_selector_all(".nav a, main a.tile-link", "links => links.map(a => a.getAttribute('href'))")
    menu = [*start, *(link for link in links if link and link.startswith("/"))]
    queue = [(link, True) for link in dict.fromkeys(menu)]  # (page, whether to follow its links)
    seen = {link for link, _follow in queue}
    while queue:
        link, follow = queue.pop(0)
        _visit(page, link)
        hrefs = []
        if follow:
            details = [page.locator(f"main {selector}").first for selector in DETAILS]
            hrefs = [(d.get_attribute("href"), False) for d in details if d.count()]
            hrefs += [(href, True) for href in page.eval_on_selector_all(
                SECTIONS, "links => links.map(a => a.getAttribute('href'))")]
        for viewport in (PHONE, OFFICE):
            page.set_viewport_size(viewport)
            _note(found, viewport, link, _problems(page, viewport)
                  + _axe(page, WCAG_21_AA if viewport is OFFICE else WCAG_21_AA_BUT_CONTRAST))
        page.set_viewport_size(PHONE)
        for href, follow_on in hrefs:
            if href not in seen:
                seen.add(href)
                queue.append((href, follow_on))


def _note(found: dict, viewport, link: str, problems: list[str]) -> None:
    if problems:
        found[f"{viewport['width']} {link}"] = problems


def _problems(page, viewport) -> list[str]:
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        wide = page.evaluate("""limit => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > limit + 1 && !e.closest('.table-wrap'))
            .slice(0, 3).map(e => e.tagName + '.' + e.className)""", viewport["width"])
        problems.append(f"{width} px wide ({', '.join(wide)})")
    hidden = page.evaluate("() => { const nav = document.querySelector('.nav'); "
                           "return nav ? nav.scrollWidth - nav.clientWidth : 0; }")
    if hidden > 1:
        problems.append(f"the menu hides {hidden} px off the screen")
    duplicates = page.evaluate("""() => { const seen = {}; document.querySelectorAll('[id]')
        .forEach(e => seen[e.id] = (seen[e.id] || 0) + 1);
        return Object.keys(seen).filter(id => seen[id] > 1); }""")
    if duplicates:
        problems.append(f"ids twice: {duplicates}")
    return problems


def _axe(page, options: dict) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(AXE)
    result = page.evaluate("options => axe.run(document, options)", options)
    return [f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
            for v in result["violations"]]


@pytest.mark.parametrize("username", ROLES)
def test_every_page_of_a_role_fits_the_screen_and_passes_axe(pages, live_server, username):
    found: dict[str, list[str]] = {}
    start = ["/"] if username else [*PUBLIC, f"/lookup/h/{_a_card(live_server.app)}"]
    _walk(pages.open(viewport=PHONE, username=username), found, start)
    assert found == {}, found


def _a_card(app) -> str:
    """The code on the convenience card of a household of 金色环海 (E01)."""
    with app.app_context():
        return db.session.scalars(sa.select(Household.code).join(Place).where(Place.code == "E01", Household.active)
                                  .order_by(Household.id).limit(1)).one()
