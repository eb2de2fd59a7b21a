"""Every page of every role, on an office PC (1366×768) and a phone (390×844): nothing wider than the
screen, every id once per page, and no violation of WCAG 2.1 A and AA that axe-core finds (the level that
GB/T 37668 asks of government web sites). The pages are those of each role's menu and home page, and the
case, errand and visit pages one reaches from them, as the route × role matrix is built from the menu.
"""
from __future__ import annotations

from pathlib import Path

import axe_playwright_python
import pytest

from tests.e2e.conftest import OFFICE, PHONE

pytestmark = pytest.mark.e2e
# One login of each kind of user and menu (the service centre's clerk and a station head see the same pages
# as the post's clerk and the district leader).
ROLES = ["staff-ls-p01", "staff-ls-off", "staff-ht-sqt", "proxy-h01", "team1-lead", "team1-a", "butler-e01",
         "leader", "admin"]
AXE = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
WCAG_21_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
              "resultTypes": ["violations"]}
# Pages one reaches from a list rather than from the menu: the first link of each kind on the role's pages.
DETAILS = ["a[href^='/boards/report']", "a[href^='/cases/'][href*='-']", "a[href^='/errands/'][href*='-']", "a[href^='/visits/'][href$='0'], "
           "a[href^='/visits/'][href$='1'], a[href^='/visits/'][href$='2']"]


def _visit(page, link: str) -> None:
    response = page.goto(link)
    assert response.status < 400, (link, response.status)
    page.wait_for_load_state("networkidle")


def _walk_phone(page, found: dict) -> list[str]:
    """Visit the role's menu, home entries and one page of each kind listed on them, at phone width, noting
    what is wrong on each; return the pages, for the office-width pass."""
    page.goto("/")
    links = page.eval_on_selector_all(".nav a, main a.tile-link", "links => links.map(a => a.getAttribute('href'))")
    menu = ["/", *dict.fromkeys(link for link in links if link and link.startswith("/"))]
    seen = []
    for link in menu:
        _visit(page, link)
        seen.append(link)
        details = [page.locator(f"main {selector}").first for selector in DETAILS]
        hrefs = [d.get_attribute("href") for d in details if d.count()]
        _note(found, PHONE, link, _problems(page, PHONE))
        for href in hrefs:
            if href not in seen:
                _visit(page, href)
                seen.append(href)
                _note(found, PHONE, href, _problems(page, PHONE))
    return seen


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


def _axe(page) -> list[str]:
    page.evaluate(AXE)
    result = page.evaluate("options => axe.run(document, options)", WCAG_21_AA)
    return [f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
            for v in result["violations"]]


@pytest.mark.parametrize("username", ROLES)
def test_every_page_of_a_role_fits_the_screen_and_passes_axe(pages, username):
    found: dict[str, list[str]] = {}
    links = _walk_phone(pages.open(viewport=PHONE, username=username), found)
    office = pages.open(viewport=OFFICE, username=username)
    for link in links:  # the rules are the same at both sizes: contrast and labels once, at the office
        _visit(office, link)
        _note(found, OFFICE, link, _problems(office, OFFICE) + _axe(office))
    assert found == {}, found
