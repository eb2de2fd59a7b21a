"""The errand pages as a proxy uses them on a phone, and the printable manifest."""
import io
import re
from datetime import date

import sqlalchemy as sa

from portal.extensions import db
from portal.models import Case, Holder
from tests.stories import claimed, log


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def test_proxy_page_shows_the_pool_and_claims_in_one_tap(app, world):
    case = log(world)
    proxy = _client(app, "proxy-h01")
    page = proxy.get("/errands/").get_data(as_text=True)
    assert case.number in page and "您手上有 0 件代办（上限 8 件）" in page
    response = proxy.post(f"/errands/{case.number}/claim", headers={"HX-Request": "true"})
    assert response.status_code == 204 and response.headers["HX-Location"] == f"/errands/{case.number}"
    db.session.expire_all()
    assert db.session.get(Case, case.id).owner_id == world.proxy.id


def test_the_pool_pages_at_twenty_urgent_and_oldest_first(app, world, make):
    make.cases(25, world.plain_errand, world.h01, world.staff.service_point)
    proxy = _client(app, "proxy-h01")
    first = proxy.get("/errands/").get_data(as_text=True)
    assert first.count('class="errand-card" id="pool-') == 20 and "1 / 2" in first and "?page=2" in first
    second = proxy.get("/errands/?page=2").get_data(as_text=True)
    assert second.count('class="errand-card" id="pool-') == 5 and "2 / 2" in second
    numbers = re.findall(r'id="pool-(\d+)"', first) + re.findall(r'id="pool-(\d+)"', second)
    assert len(set(numbers)) == 25  # every waiting errand on one page or the other, none twice
    assert proxy.get("/errands/?page=999999").status_code == 200  # a page past the end shows the last rows


def test_a_claim_refused_by_the_limit_explains_itself_in_the_card(app, world):
    app.config["ERRAND_LIMIT"] = 1
    claimed(world)
    second = log(world)
    proxy = _client(app, "proxy-h01")
    response = proxy.post(f"/errands/{second.number}/claim", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "您已有 1 件未办结的代办" in html and f"pool-{second.id}" in html


def test_collecting_needs_ticks_and_a_confirmation(app, world):
    case = claimed(world)
    proxy = _client(app, "proxy-h01")
    empty = proxy.post(f"/errands/{case.number}/collect", data={"confirmed_by": "王大爷"})
    assert empty.status_code == 422 and "请勾选交接的材料。" in empty.get_data(as_text=True)
    ids = [m.id for m in case.materials]
    assert proxy.post(f"/errands/{case.number}/collect", data={"materials": ids, "confirmed_by": "王大爷"}).status_code == 303
    db.session.expire_all()
    assert {m.holder for m in db.session.get(Case, case.id).materials} == {Holder.PROXY}


def test_the_manifest_masks_residents_and_prints_by_office(app, world):
    ready = claimed(world)
    from portal.domain import errands

    errands.collect(ready, world.proxy, [m.id for m in ready.materials], "王大爷")
    partial = claimed(world)
    staff = _client(app, "staff-p01")
    html = staff.get("/errands/manifest?day=2026-12-03").get_data(as_text=True)
    assert ready.number in html and partial.number in html
    assert "王**" in html and "139****5678" in html
    assert "王大爷" not in html and "13912345678" not in html
    assert world.errand_item.approving_office in html and "尚缺材料" in html
    assert "data-print" in html


def test_hand_in_everything_ready_at_once(app, world):
    from portal.domain import errands

    cases = [claimed(world) for _ in range(2)]
    for case in cases:
        errands.collect(case, world.proxy, [m.id for m in case.materials], "王大爷")
    proxy = _client(app, "proxy-h01")
    response = proxy.post("/errands/manifest/submit", data={"day": "2026-12-03", "confirmed_by": "民政局窗口"},
                          follow_redirects=True)
    assert "已递交 2 件代办。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert {db.session.get(Case, c.id).status.value for c in cases} == {"awaiting_office"}


def test_upload_checks_the_file_and_download_checks_access(app, world, make):
    case = claimed(world)
    proxy = _client(app, "proxy-h01")
    bad = proxy.post(f"/errands/{case.number}/attachments",
                     data={"file": (io.BytesIO(b"MZ\x90\x00 not a picture"), "photo.jpg")},
                     content_type="multipart/form-data")
    assert bad.status_code == 422 and "只接受照片（JPEG、PNG）和 PDF 文件。" in bad.get_data(as_text=True)
    good = proxy.post(f"/errands/{case.number}/attachments",
                      data={"file": (io.BytesIO(b"%PDF-1.4 receipt"), "回执.pdf")}, content_type="multipart/form-data")
    assert good.status_code == 303
    assert "· 16 B</span>" in proxy.get(f"/errands/{case.number}").get_data(as_text=True)  # not "0 KB"
    from portal.models import Attachment

    attachment_id = db.session.scalar(sa.select(Attachment.id))
    with proxy.get(f"/cases/files/{attachment_id}") as download:
        assert download.status_code == 200 and download.data == b"%PDF-1.4 receipt"
        assert download.headers["Content-Type"] == "application/pdf"
        assert "sandbox" in download.headers["Content-Security-Policy"]
    stranger = _client(app, "proxy-h02")
    assert stranger.get(f"/cases/files/{attachment_id}").status_code == 404


def test_next_off_island_day_is_shown(app, world, monkeypatch):
    from portal import clock

    monkeypatch.setattr(clock, "today", lambda: date(2026, 11, 30))
    proxy = _client(app, "proxy-h01")
    assert "下一个出岛日：2026-12-03" in proxy.get("/errands/").get_data(as_text=True)
