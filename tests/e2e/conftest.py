"""End-to-end fixtures: the portal served on a free local port, and Debian's Chromium via Playwright.

The browser is never downloaded (no `playwright install`): Playwright drives /usr/bin/chromium.
Every page a test opens is watched for Content-Security-Policy violations and script errors; a test
that caused one fails.
"""
from __future__ import annotations

import os
import re
import shutil

import pytest

from portal import create_app
from tests.conftest import config_for, copy_demo_uploads
from tests.live import LiveServer

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PHONE = {"width": 390, "height": 844}
EXPECTED_STATUS = re.compile(r"^Failed to load resource: the server responded with a status of (409|422|429) ")
OFFICE = {"width": 1366, "height": 768}


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium fonts-wqy-microhei")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def live_server(demo_sqlite, demo_uploads, tmp_path):
    """The portal on a fresh copy of the demo data and its files, with CSRF on, as in production."""
    path = tmp_path / "portal.sqlite3"
    shutil.copy(demo_sqlite, path)
    app = create_app(config_for(f"sqlite:///{path}", WTF_CSRF_ENABLED=True,
                                UPLOAD_FOLDER=copy_demo_uploads(demo_uploads, tmp_path / "up")))
    with LiveServer(app) as server:
        yield server
    from portal.extensions import db

    with app.app_context():
        db.engine.dispose()


class Pages:
    """Opens browser pages and remembers every CSP violation or script error they report."""

    def __init__(self, browser, base_url):
        self.browser = browser
        self.base_url = base_url
        self.problems: list[str] = []
        self.failed: list[str] = []  # what answered 400 or more, to name in a failure (a console error names no URL)
        self.contexts = []

    def open(self, viewport=OFFICE, username: str | None = None, password: str = "demo2026"):
        context = self.browser.new_context(viewport=viewport, base_url=self.base_url, locale="zh-CN")
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.request.method} {r.url}"))
        if username:
            page.goto("/auth/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("#login-form button[type=submit]")
            page.wait_for_url(f"{self.base_url}/")
        return page

    def _console(self, message):
        text = message.text
        if EXPECTED_STATUS.search(text):  # a form answered with its errors (422), a conflict, a throttle
            return
        if message.type == "error" or "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"console {message.type}: {text}")

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, live_server):
    pages = Pages(browser, live_server.url)
    yield pages
    pages.close()
    assert pages.problems == [], (pages.problems, pages.failed)
