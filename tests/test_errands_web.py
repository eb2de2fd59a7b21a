"""The errand pages as a proxy uses them on a phone, and the printable manifest."""
import base64
import io
import re
from datetime import date, timedelta

import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import Case, Holder
from tests.stories import claimed, log, signed

DRAWN = "data:image/png;base64," + base64.b64encode(signed().data).decode()


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
    unsigned = proxy.post(f"/errands/{case.number}/collect", data={"materials": ids, "confirmed_by": "王大爷"})
    assert unsigned.status_code == 422 and "请居民在屏幕上签名，或上传签字交接单的照片。" in unsigned.get_data(as_text=True)
    assert proxy.post(f"/errands/{case.number}/collect", data={"materials": ids, "confirmed_by": "王大爷",
                                                                "signature": DRAWN}).status_code == 303
    db.session.expire_all()
    assert {m.holder for m in db.session.get(Case, case.id).materials} == {Holder.PROXY}


def test_the_manifest_masks_residents_and_prints_by_office(app, world):
    ready = claimed(world)
    from portal.domain import errands

    errands.collect(ready, world.proxy, [m.id for m in ready.materials], "王大爷", signature=signed())
    partial = claimed(world)
    staff = _client(app, "staff-p01")
    html = staff.get("/errands/manifest?day=2026-12-03").get_data(as_text=True)
    assert ready.number in html and partial.number in html
    assert "王**" in html and "139****5678" in html
    assert "王大爷" not in html and "13912345678" not in html
    assert world.errand_item.approving_office in html and "尚缺材料" in html
    assert "data-print" in html


def test_hand_in_everything_ready_at_once(app, world, monkeypatch):
    from portal.domain import errands

    _on(monkeypatch, date(2026, 12, 3))  # a Thursday: an off-island day of the 3+2 week
    cases = [claimed(world) for _ in range(2)]
    for case in cases:
        errands.collect(case, world.proxy, [m.id for m in case.materials], "王大爷", signature=signed())
    proxy = _client(app, "proxy-h01")
    unnamed = proxy.post("/errands/manifest/submit", data={"day": "2026-12-03", "confirmed_by": "", "signature": DRAWN})
    page = unnamed.get_data(as_text=True)
    assert unnamed.status_code == 422 and 'id="confirmed_by-error"' in page  # beside the field, on the manifest
    assert {db.session.get(Case, c.id).status.value for c in cases} == {"in_progress"}  # nothing handed in
    response = proxy.post("/errands/manifest/submit", data={"day": "2026-12-03", "confirmed_by": "民政局窗口",
                                                            "signature": DRAWN}, follow_redirects=True)
    assert "已递交 2 件代办，材料现由各上级部门持有：" in response.get_data(as_text=True)
    db.session.expire_all()
    assert {db.session.get(Case, c.id).status.value for c in cases} == {"awaiting_office"}


def _on(monkeypatch, day: date) -> None:
    monkeypatch.setattr(clock, "today", lambda: day)
    monkeypatch.setattr(clock, "now", lambda: clock.local_midnight(day) + timedelta(hours=10))


def test_a_manifest_is_handed_in_only_on_its_own_off_island_day(app, world, monkeypatch):
    from portal.domain import errands

    _on(monkeypatch, date(2026, 12, 7))  # a Monday: the proxies are on the island
    case = claimed(world)
    errands.collect(case, world.proxy, [m.id for m in case.materials], "王大爷", signature=signed())
    proxy = _client(app, "proxy-h01")
    ahead = proxy.get("/errands/manifest?day=2026-12-10").get_data(as_text=True)
    assert "代办在出岛日当天到各部门递交：请在 2026-12-10 打开本清单登记递交。" in ahead and "递交我已备齐的全部代办" not in ahead
    for day, said in (("2026-12-10", "只能递交今天的清单（今天是 2026-12-07）"), ("2026-12-07", "2026-12-07 不是出岛日")):
        refused = proxy.post("/errands/manifest/submit", data={"day": day, "confirmed_by": "民政局窗口", "signature": DRAWN},
                             follow_redirects=True)
        assert said in refused.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(Case, case.id).status.value == "in_progress"  # nothing handed in
    _on(monkeypatch, date(2026, 12, 14))  # the next Monday: 12-10's list is what stands now, not what was carried
    past = _client(app, "proxy-h01").get("/errands/manifest?day=2026-12-10").get_data(as_text=True)  # a new session
    assert "这是当前的清单，并非 2026-12-10 实际带出的" in past


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


def _hall(make):
    from portal.models import Place, Role, ServicePoint

    hall_point = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-OFF")).one()
    island = db.session.scalars(sa.select(Place).filter_by(code="LS")).one()
    return make.user(Role.STAFF, username="staff-hall", display_name="厅员李", service_point=hall_point,
                     places=[island])


def test_the_whole_chain_says_who_holds_what_at_every_step(app, world, make):
    """Resident → proxy → office → hall → proxy → resident, through the pages: after the hall's clerk records the
    office's answer, the documents are at the hall (not "with the resident", not with a proxy named after the
    clerk), and the proxy's next step is to collect them there, signed by the clerk."""
    _hall(make)
    case = claimed(world)
    number, names = case.number, "、".join(world.errand_item.material_list)
    ids = [m.id for m in case.materials]
    proxy, clerk = _client(app, "proxy-h01"), _client(app, "staff-hall")
    me = world.proxy.display_name

    said = proxy.post(f"/errands/{number}/collect", data={"materials": ids, "confirmed_by": "王大爷", "signature": DRAWN},
                      follow_redirects=True).get_data(as_text=True)
    assert f"已收到材料。材料现在的持有人：代办党员 · {me}：{names}。" in said
    said = proxy.post(f"/errands/{number}/submit", data={
        "confirmed_by": "民政局窗口 刘", "signature_photo": (io.BytesIO(signed("photo").data), "交接单.jpg")},
        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    office = f"上级部门 · {world.errand_item.approving_office}"
    assert f"已递交，等待上级部门答复。材料现在的持有人：{office}：{names}。" in said

    # The hall's clerk records the answer on the case page itself.
    page = clerk.get(f"/cases/{number}").get_data(as_text=True)
    assert 'action="/errands/' + number + '/answer"' in page and "登记上级答复" in page
    on_page = re.findall(r'\sid="([^"]+)"', page)
    assert len(on_page) == len(set(on_page)), [i for i in on_page if on_page.count(i) > 1]  # beside its note form
    said = clerk.post(f"/errands/{number}/answer", data={"answer": "approved", "confirmed_by": "民政局窗口 刘",
                                                         "signature": DRAWN}, follow_redirects=True)
    assert f"材料现在的持有人：出岛服务厅 · 厅员李：{names}。" in said.get_data(as_text=True)

    page = proxy.get(f"/errands/{number}").get_data(as_text=True)
    assert "仍在居民手中" not in page and "代办党员 · 厅员李" not in page
    assert "出岛服务厅 · 厅员李" in page
    steps = page[page.index("下一步"):]
    assert "到出岛服务厅取回材料" in steps and "从居民处收取材料" not in steps
    assert 'name="confirmed_by" type="text" value="厅员李"' in steps or 'value="厅员李"' in steps
    assert "把结果交还居民" not in steps  # not before the documents are back with the proxy
    said = proxy.post(f"/errands/{number}/collect", data={"materials": ids, "confirmed_by": "厅员李", "signature": DRAWN},
                      follow_redirects=True).get_data(as_text=True)
    assert f"材料现在的持有人：代办党员 · {me}：{names}。" in said and "把结果交还居民" in said
    said = proxy.post(f"/errands/{number}/deliver", data={"note": "低保已批准，原件已交还", "confirmed_by": "王大爷",
                                                          "signature": DRAWN}, follow_redirects=True)
    assert f"已交还居民，代办办结。材料现在的持有人：居民 · 王大爷：{names}。" in said.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Case, case.id).status.value == "resolved"

    slip = proxy.get(f"/errands/{number}/handover-slip").get_data(as_text=True)
    steps = slip[slip.index('id="slip-steps"'):]
    assert steps.count("<tr><td>") == 5 and "未签名" not in steps
    assert steps.count('<img src="/cases/files/') == 5  # four drawn, one photo of the slip
    assert "出岛服务厅 · 厅员李" in steps and "民政局窗口 刘" in steps
    assert "居民 · 王大爷" in slip[slip.index('id="slip-custody"'):slip.index('id="slip-steps"')]
    timeline = proxy.get(f"/cases/{number}").get_data(as_text=True)
    assert "材料交给出岛服务厅" in timeline and "（确认人：民政局窗口 刘，签字交接单照片）" in timeline
    assert "（确认人：王大爷，手机屏幕签名）" in timeline


def test_the_authorisation_prints_the_resident_the_proxy_and_the_documents(app, world):
    case = claimed(world)
    html = _client(app, "proxy-h01").get(f"/errands/{case.number}/authorisation").get_data(as_text=True)
    assert "党员代办委托书" in html and case.number in html and "王大爷" in html and world.proxy.display_name in html
    for name in world.errand_item.material_list:
        assert f"<td>{name}</td><td>居民 · 王大爷</td>" in html
    assert "委托人（签字）" in html and "受托人（签字）" in html and "data-print" in html
    assert world.errand_item.approving_office in html and "材料原件" in html
    assert _client(app, "proxy-h02").get(f"/errands/{case.number}/authorisation").status_code == 404


def test_the_authorisation_of_an_errand_no_office_approves_names_no_office_and_no_hand_in(app, world):
    case = claimed(world, item=world.plain_errand)
    html = _client(app, "proxy-h01").get(f"/errands/{case.number}/authorisation").get_data(as_text=True)
    assert "递交部门" not in html and "材料原件" not in html and "递交办理" not in html
    assert "持下列物品代为办理上述事项" in html and "交付物品" in html


def test_the_halls_clerk_sees_the_next_off_island_day_as_proxies_do(app, world, make, monkeypatch):
    from portal import clock

    monkeypatch.setattr(clock, "today", lambda: date(2026, 11, 30))
    _hall(make)
    proxy = _client(app, "proxy-h01").get("/errands/manifest").get_data(as_text=True)
    clerk = _client(app, "staff-hall").get("/errands/manifest").get_data(as_text=True)
    assert "<strong>2026-12-03</strong>" in proxy and "<strong>2026-12-03</strong>" in clerk
    assert "暂无安排" not in clerk


def test_the_errand_page_says_what_the_office_answered_where_the_proxy_works_it(app, world):
    from portal.domain import errands

    case = claimed(world)
    errands.collect(case, world.proxy, [m.id for m in case.materials], "王大爷", signature=signed())
    errands.submit(case, world.proxy, "民政局窗口", signature=signed())
    proxy = _client(app, "proxy-h01")
    assert 'id="office-answer"' not in proxy.get(f"/errands/{case.number}").get_data(as_text=True)  # none yet
    errands.record_answer(case, world.proxy, "more_materials", note="需补充家庭收入证明", more=["家庭收入证明"],
                          confirmed_by="民政局窗口", signature=signed())
    page = proxy.get(f"/errands/{case.number}").get_data(as_text=True)
    answer = re.search(r'<p class="flash flash-warning" id="office-answer">(.*?)</p>', page).group(1)
    assert answer.startswith("上级部门答复：需补充材料") and answer.endswith("：需补充家庭收入证明")


def test_a_proxy_at_the_limit_is_told_so_and_offered_no_claim_that_would_be_refused(app, world):
    app.config["ERRAND_LIMIT"] = 1
    waiting = log(world)
    proxy = _client(app, "proxy-h01")
    page = proxy.get("/errands/").get_data(as_text=True)
    assert f'action="/errands/{waiting.number}/claim"' in page and 'id="at-the-limit"' not in page
    claimed(world)
    page = proxy.get("/errands/").get_data(as_text=True)
    assert "您已持有 1 件未办结的代办，已达上限" in page and f'action="/errands/{waiting.number}/claim"' not in page


def test_the_heating_districts_errands_page_links_to_no_manifest(app, world):
    page = _client(app, "butler-e01").get("/errands/").get_data(as_text=True)
    assert 'href="/errands/manifest"' not in page


def test_the_errand_page_says_when_the_documents_go_to_the_office_on_a_day_without_a_sailing(app, world, monkeypatch):
    from portal.domain import errands

    _on(monkeypatch, date(2026, 12, 7))  # a Monday
    case = claimed(world)
    errands.collect(case, world.proxy, [m.id for m in case.materials], "王大爷", signature=signed())
    page = _client(app, "proxy-h01").get(f"/errands/{case.number}").get_data(as_text=True)
    assert "今天不是出岛日：材料将于 2026-12-10 送交上级部门。" in page
    _on(monkeypatch, date(2026, 12, 10))  # the Thursday: no such line
    assert "今天不是出岛日" not in _client(app, "proxy-h01").get(f"/errands/{case.number}").get_data(as_text=True)
