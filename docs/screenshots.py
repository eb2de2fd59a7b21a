"""Take the screenshots under docs/ from a fresh demo database: `make screenshots`.

Serves the portal on a free local port (demo data in a temporary SQLite file) and drives Debian's
Chromium with Playwright. Each shot names the user, the page, the viewport and whether it is the
printed (print stylesheet) view.
"""
from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from portal import create_app  # noqa: E402
from portal.config import TestConfig  # noqa: E402

DOCS = ROOT / "docs"
OFFICE, PHONE, WALL, A4 = (1366, 768), (390, 844), (1920, 1080), (794, 1123)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

# (file, username or None, path, viewport, printed, full page)
SHOTS = [
    ("screenshot-login.png", None, "/auth/login", OFFICE, False, False),
    ("screenshot-case.png", "staff-ls-p01", "FIRST_OPEN_CASE", OFFICE, False, True),
    ("manifest-print.png", "staff-ls-c", "/errands/manifest", A4, True, True),
    ("cards-print.png", "staff-ht-sqt", "/heating/cards?estate=E01&building=1号楼", A4, True, False),
    ("board-wall.png", "leader", "/boards/wall", WALL, False, False),
    ("board-village.png", "leader", "/boards/place/V1", OFFICE, False, True),
    ("report-print.png", "leader", "/boards/report", A4, True, True),
    ("import-preview.png", "admin", "IMPORT_PREVIEW", OFFICE, False, True),
    ("queue-phone.png", "butler-e01", "/cases/?tab=claimable", PHONE, False, False),
    ("errands-phone.png", "proxy-h01", "/errands/", PHONE, False, False),
    ("working-calendar.png", "admin", "/directory/working-calendar/", OFFICE, False, True),
    ("offline-phone.png", "staff-ls-p01", "OFFLINE_OUTBOX", PHONE, False, True),
]
# A roster as offices make them: good rows, and the mistakes the preview explains cell by cell.
ROSTER = """地点编码,地址,楼栋,户联系电话,姓名,身份证号,本人电话,独居老人,残疾人,渔忙户,备注
H01,东岙村口3号,,13905321234,林阿婆,,,是,否,否,女儿在青岛
H01,东岙村口3号,,,林阿公,370211194805061233,,,,,
H02,沙嘴18号,,0532-8680123,吴海生,,,否,否,是,渔船鲁青渔01
H02,沙嘴19号,,139053212,吴大姐,,,否,否,否,
H99,某地1号,,,陈某,,,,,,
H01,东岙村口5号,,,赵某,370211195001011236,,也许,,,
H01,东岙村口3号,,,林阿公,370211194805061233,,,,,
"""


def first_open_case(app) -> str:
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import Case, CaseStatus, ServicePoint

    with app.app_context():
        return db.session.scalar(
            sa.select(Case.number).join(ServicePoint).where(ServicePoint.code == "LS-P01",
                                                            Case.status == CaseStatus.IN_PROGRESS).limit(1))


def offline_outbox(page, base: str, number: str) -> None:
    """Offline work turned on, the link cut, a note written on a kept case page: the outbox lists it."""
    page.goto(base + "/offline/")
    page.click("[data-offline-on]")
    page.wait_for_selector("#offline-status:has-text('已保存')")
    page.goto(f"{base}/cases/{number}")
    page.context.set_offline(True)
    page.goto(f"{base}/cases/{number}")
    page.fill("textarea[name=note]", "居民来电：材料下午送到驿站（断网时记下）")
    page.click("button:has-text('添加备注')")
    page.wait_for_selector("#offline-queue-items li.offline-queue-item")


def main() -> None:
    """Take every shot, or only those named on the command line (``python docs/screenshots.py offline-phone.png``)."""
    wanted = set(sys.argv[1:])
    folder = Path(tempfile.mkdtemp())
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'demo.sqlite3'}", DEMO_MODE=True,
                    WTF_CSRF_ENABLED=True, UPLOAD_FOLDER=str(folder / "uploads"))
    app = create_app(settings)
    with app.app_context():
        upgrade()
        from portal import demo

        demo.load()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, user, path, (width, height), printed, full in SHOTS:
            if wanted and name not in wanted:
                continue
            page = browser.new_page(viewport={"width": width, "height": height}, locale="zh-CN")
            if user:
                page.goto(base + "/auth/login")
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", "demo2026")
                page.click("#login-form button[type=submit]")
                page.wait_for_url(base + "/")
            if path == "FIRST_OPEN_CASE":
                path = "/cases/" + first_open_case(app)
            if path == "OFFLINE_OUTBOX":
                offline_outbox(page, base, first_open_case(app))
            elif path == "IMPORT_PREVIEW":
                page.goto(base + "/imports/")
                page.set_input_files("#file-households", files=[
                    {"name": "东岙沙嘴名册.csv", "mimeType": "text/csv", "buffer": ROSTER.encode("gb18030")}])
                page.click("form:has(#file-households) button[type=submit]")
            else:
                page.goto(base + path)
            if path != "OFFLINE_OUTBOX":
                page.wait_for_load_state("networkidle")
            if printed:
                page.emulate_media(media="print")
            page.screenshot(path=str(DOCS / name), full_page=full)
            page.close()
            print("wrote", DOCS / name)
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
