"""Roster imports: files in every shape offices make them (GBK CSV, UTF-8 with BOM, XLSX with formulas,
missing columns, empty rows, too large, not a spreadsheet), the preview that writes nothing, errors per
row and cell, the idempotent re-import, the file of rows with errors, the command line, and exports."""
import gc
import io
import re
import tracemalloc
import warnings

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from portal.domain import rosters
from portal.domain.platform import jobs
from portal.extensions import db
from portal.models import AuditEntry, Household, Place, Resident, ServiceItem

HEADER = ["地点编码", "地址", "楼栋", "户联系电话", "姓名", "身份证号", "本人电话", "独居老人", "残疾人", "渔忙户", "备注"]
GOOD = [
    ["H01", "东岙100号", "", "13912340001", "王建国", "370211195001011235", "", "是", "否", "否", ""],
    ["H01", "东岙100号", "", "13912340001", "李秀英", "", "13912340002", "", "", "", "老伴"],
    ["H02", "沙嘴7号", "", "0532-86801234", "张海生", "", "", "否", "否", "是", "渔民"],
]


def csv_bytes(rows, encoding="utf-8-sig", header=HEADER) -> bytes:
    text = "\n".join(",".join(row) for row in [header, *rows]) + "\n"
    return text.encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def finished(client, response):
    """A check or an import is a background job: run what waits, as a worker would, and open the job's page."""
    if response.status_code != 303:
        return response
    jobs.work()
    return client.get(response.headers["Location"])


def upload(client, data: bytes, name="名册.csv", kind="households"):
    with warnings.catch_warnings():  # the test client spools big bodies to files it leaves to the collector
        warnings.simplefilter("ignore", ResourceWarning)
        response = client.post(f"/imports/{kind}/check", data={"file": (io.BytesIO(data), name)},
                               content_type="multipart/form-data")
        gc.collect()
    return finished(client, response)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def admin_client(client, auth, world):
    auth.login("root")
    return client


def confirm(client, page: str, kind: str = "households"):
    action = page.split(f'action="/imports/{kind}/')[1].split('"')[0]
    return finished(client, client.post(f"/imports/{kind}/{action}"))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_csv_in_utf8_or_gbk_is_read_and_checked_without_writing(admin_client, encoding):
    before = (count(Household), count(Resident))
    response = upload(admin_client, csv_bytes(GOOD, encoding))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "3 行：新增 3 行" in page and "尚未保存任何数据" in page
    assert (count(Household), count(Resident)) == before  # the preview writes nothing
    assert count(AuditEntry) == db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def test_import_then_the_same_file_again_changes_nothing(admin_client):
    data = xlsx_bytes(GOOD)
    done = confirm(admin_client, upload(admin_client, data, "名册.xlsx").get_data(as_text=True))
    assert "新增 3" in done.get_data(as_text=True)
    home = db.session.scalars(sa.select(Household).filter_by(address="东岙100号")).one()
    assert home.elderly_alone and home.code.startswith("H01-") and [r.name for r in home.residents] == ["王建国", "李秀英"]
    assert home.residents[0].id_number == "370211195001011235" and home.residents[1].phone == "13912340002"
    before = (count(Household), count(Resident))
    again = upload(admin_client, data, "名册.xlsx").get_data(as_text=True)
    assert "3 行：新增 0 行，更新 0 行，未变 3 行" in again
    assert "未变 3" in confirm(admin_client, again).get_data(as_text=True)
    assert (count(Household), count(Resident)) == before
    changed = [GOOD[0][:3] + ["13800000000"] + GOOD[0][4:]]
    assert "更新 1 行" in upload(admin_client, xlsx_bytes(changed), "名册.xlsx").get_data(as_text=True)


def test_each_bad_cell_is_explained_on_its_row(admin_client):
    rows = [
        ["H01", "东岙101号", "", "", "", "", "", "", "", "", ""],                       # no name
        ["H01", "东岙102号", "", "12345", "赵一", "", "", "", "", "", ""],              # bad phone
        ["ZZ9", "某地1号", "", "", "钱二", "", "", "", "", "", ""],                    # unknown place
        ["H01", "东岙103号", "", "", "孙三", "370211195001011236", "", "", "", "", ""],  # bad check digit
        ["H01", "东岙104号", "", "", "周四", "", "", "也许", "", "", ""],                # not 是/否
        ["H01", "东岙104号", "", "", "周四", "", "", "", "", "", ""],                    # same as the line above
        ["", "", "", "", "", "", "", "", "", "", ""],                                   # empty: skipped
        GOOD[2],
    ]
    response = upload(admin_client, csv_bytes(rows))
    page = response.get_data(as_text=True)
    assert "7 行：新增 1 行，更新 0 行，未变 0 行，6 行有错误" in page
    for message in ("必填", "不是电话号码", "没有编码为 ZZ9 的自然村或小区", "身份证号不正确", "请填写“是”或“否”",
                    "与本文件第 6 行相同"):
        assert message in page, message
    assert 'class="cell-error"' in page
    token = re.search(r"/imports/households/([^/\"]+)/errors\.xlsx", page).group(1)
    errors = admin_client.get(f"/imports/households/{token}/errors.xlsx")
    sheet = load_workbook(io.BytesIO(errors.data)).active
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][-1] == "错误" and len(table) == 7
    assert table[2][3] == "12345" and "户联系电话" in table[2][-1]


def test_a_formula_in_a_cell_is_refused_not_evaluated(admin_client):
    rows = [["H01", "东岙105号", "", "", "=HYPERLINK(\"http://x\",\"点我\")", "", "", "", "", "", ""]]
    page = upload(admin_client, xlsx_bytes(rows), "名册.xlsx").get_data(as_text=True)
    assert "不接受公式" in page and "1 行有错误" in page


def test_a_missing_column_is_named(admin_client):
    header = [h for h in HEADER if h != "姓名"]
    response = upload(admin_client, csv_bytes([row[:4] + row[5:] for row in GOOD], header=header))
    assert "缺少以下列：姓名" in response.get_data(as_text=True) and "导入有效" not in response.get_data(as_text=True)


@pytest.mark.parametrize("data, name, message", [
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "名册.xlsx", "不是电子表格"),
    (b"PK\x03\x04" + b"\x00" * 200, "名册.xlsx", "无法作为 Excel 文件读取"),
    (b"", "名册.csv", "文件为空"),
    (b"x" * (10 * 1024 * 1024 + 10), "名册.csv", "大于 10 MB"),
])
def test_files_that_are_not_rosters_get_a_clear_message(admin_client, data, name, message):
    response = upload(admin_client, data, name)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_a_20_mb_file_is_refused_before_it_is_read(admin_client):
    response = upload(admin_client, b"x" * (20 * 1024 * 1024), "名册.csv")
    assert response.status_code == 413 and "请返回并选择较小的文件" in response.get_data(as_text=True)


def test_staff_import_only_for_their_places(client, auth, world):
    auth.login("staff-p01")
    page = upload(client, csv_bytes(GOOD)).get_data(as_text=True)
    assert "3 行：新增 2 行" in page and "沙嘴 不是您负责的地点" in page
    assert client.post("/imports/places/check").status_code == 404  # places and the catalog: admins only


def test_places_and_the_catalog_import_the_same_way(admin_client):
    places = xlsx_bytes([["H13", "hamlet", "新村", "Xincun", "V1", "60", "LS-P01"]],
                        header=[c.header for c in rosters.PLACE_COLUMNS])
    page = upload(admin_client, places, "地点.xlsx", kind="places").get_data(as_text=True)
    confirm(admin_client, page, "places")
    place = db.session.scalars(sa.select(Place).filter_by(code="H13")).one()
    assert place.parent.code == "V1" and place.service_point.code == "LS-P01" and place.household_count == 60
    items = xlsx_bytes([["CV99", "便民服务", "", "代缴水电费", "", "errand", "否", "48", "否", "缴费通知单、银行卡", "", "水电费"]],
                       header=[c.header for c in rosters.ITEM_COLUMNS])
    page = upload(admin_client, items, "事项.xlsx", kind="catalog").get_data(as_text=True)
    confirm(admin_client, page, "catalog")
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CV99")).one()
    assert item.material_list == ["缴费通知单", "银行卡"] and "djsdf" in item.pinyin


def test_the_template_has_chinese_headers_and_the_place_codes(admin_client):
    book = load_workbook(io.BytesIO(admin_client.get("/imports/households/template.xlsx").data))
    assert [c.value for c in book.worksheets[0][1]] == HEADER
    codes = [row[0] for row in book["说明"].iter_rows(values_only=True)]
    assert "H01" in codes and "E01" in codes


def test_the_command_line_imports_a_big_file_with_the_same_checks(app, world, tmp_path):
    path = tmp_path / "roster.csv"
    rows = [["H01", f"东岙{200 + n}号", "", "", f"居民{n}", "", "", "", "", "", ""] for n in range(2500)]
    path.write_bytes(csv_bytes([*rows, ["ZZ9", "x", "", "", "y", "", "", "", "", "", ""]], "gbk"))
    result = app.test_cli_runner().invoke(args=["import-households", str(path), "--errors", str(tmp_path / "e.xlsx")])
    assert result.exit_code == 0, result.output
    assert "imported: 2500 new, 0 updated, 0 unchanged, 1 skipped" in result.output
    assert (tmp_path / "e.xlsx").exists()
    again = app.test_cli_runner().invoke(args=["import-households", str(path), "--dry-run"])
    assert "0 new, 0 to update, 2500 unchanged, 1 with errors" in again.output


def test_the_command_line_reads_a_file_in_chunks_in_constant_memory(app, world, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_bytes([["H01", f"东岙{n}号", "", "", f"居民{n}", "", "", "", "", "", "备" * 900]
                                for n in range(20000)]))  # 20,000 rows, 55 MB held as rows at once
    tracemalloc.start()
    lines = []
    for chunk in rosters.check_in_chunks(rosters.HOUSEHOLDS, path, rows=500):
        assert len(chunk.rows) <= 500 and not chunk.invalid  # notes of 900 characters fit their column
        lines += [chunk.rows[0].line, chunk.rows[-1].line]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert lines[0] == 2 and lines[-1] == 20001 and len(lines) == 80
    assert peak < 10 * 1024 * 1024, f"{peak / 1e6:.0f} MB"


def test_households_and_directory_tables_export_to_xlsx(admin_client, world):
    sheet = load_workbook(io.BytesIO(admin_client.get("/imports/households/export.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADER and any(row[1] == "东岙8号" for row in rows[1:])
    users = load_workbook(io.BytesIO(admin_client.get("/directory/users/export.xlsx").data)).active
    assert [c.value for c in users[1]][:2] == ["用户名", "名称"]
    assert db.session.scalars(sa.select(AuditEntry).filter_by(action="export", object_type="users")).one()


def test_the_command_line_progress_bar_knows_the_size_of_xlsx_and_csv_files():
    rows = GOOD * 40
    assert rosters.row_estimate(xlsx_bytes(rows)) == len(rows) + 1  # the sheet's recorded size, with the header
    assert rosters.row_estimate(csv_bytes(rows)) == len(rows) + 1
    assert rosters.row_estimate(b"PK\x03\x04 not really a zip") == 0


# --- what a review found: scope of ID numbers, moved residents, exports, unreadable files, places -------------

def test_staff_cannot_reach_a_resident_of_another_place_by_id_number(client, auth, world, make):
    other = make.household(world.h02, address="沙嘴9号", phone="13900000009", residents=("张海生",))
    db.session.get(Resident, other.residents[0].id).id_number = "370211195001011235"
    db.session.commit()
    auth.login("staff-p01")
    row = ["H01", "东岙120号", "", "", "王建国", "370211195001011235", "13912349999", "", "", "", ""]
    page = upload(client, csv_bytes([row])).get_data(as_text=True)
    assert "不能在您负责的地点登记" in page and "沙嘴" not in page  # refused, without saying where it is
    action = re.search(r'action="/imports/households/([^"]+)"', page)
    if action:
        finished(client, client.post(f"/imports/households/{action.group(1)}"))
    db.session.expire_all()
    person = db.session.scalars(sa.select(Resident).filter_by(id_number="370211195001011235")).one()
    assert person.household_id == other.id and person.phone != "13912349999" and person.name == "张海生"


def test_a_resident_matched_by_id_number_moves_with_the_roster(admin_client):
    confirm(admin_client, upload(admin_client, csv_bytes(GOOD[:1])).get_data(as_text=True))
    moved = ["H02", "沙嘴8号", "", "", "王建国", "370211195001011235", "", "", "", "", ""]
    page = upload(admin_client, csv_bytes([moved])).get_data(as_text=True)
    assert "1 行：新增 1 行" in page  # a new household, for a resident who is already known
    confirm(admin_client, page)
    people = db.session.scalars(sa.select(Resident).filter_by(id_number="370211195001011235")).all()
    assert len(people) == 1 and people[0].household.address == "沙嘴8号"


def test_an_id_number_registered_meanwhile_is_explained_and_nothing_is_saved(admin_client, monkeypatch):
    confirm(admin_client, upload(admin_client, csv_bytes(GOOD[:1])).get_data(as_text=True))
    households, residents = count(Household), count(Resident)
    moved = ["H02", "沙嘴8号", "", "", "王建国", "370211195001011235", "", "", "", "", ""]
    page = upload(admin_client, csv_bytes([moved])).get_data(as_text=True)
    # As if the resident had been written by someone else after this import looked: the database refuses a
    # second resident with the same ID number, and the import says so.
    monkeypatch.setattr(rosters, "_residents_by_id", lambda rows: {})
    answer = confirm(admin_client, page).get_data(as_text=True)
    assert "有人同时登记了其中的住户或居民" in answer
    assert (count(Household), count(Resident)) == (households, residents)


def test_each_row_written_has_its_own_masked_audit_entry(admin_client):
    before = count(AuditEntry)
    confirm(admin_client, upload(admin_client, csv_bytes(GOOD)).get_data(as_text=True))
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.id > before)
                                 .where(AuditEntry.reason == "import")).all()
    kinds = sorted((e.object_type, e.action) for e in entries)
    assert kinds == [("households", "create")] * 2 + [("residents", "create")] * 3
    wang = next(e for e in entries if e.object_type == "residents" and e.changes.get("id_number"))
    assert wang.changes["id_number"][1] == "370211********1235" and wang.object_id.isdigit()


def test_the_export_masks_phones_keeps_formulas_as_text_and_imports_again_unchanged(admin_client, world):
    world.household.notes = '=HYPERLINK("http://evil.example","点我")'
    db.session.commit()
    data = admin_client.get("/imports/households/export.xlsx").data
    sheet = load_workbook(io.BytesIO(data)).active
    row = next(r for r in sheet.iter_rows() if r[1].value == "东岙8号")
    assert row[3].value == "139****5678" and "13912345678" not in str([c.value for c in row])
    assert row[-1].data_type == "s" and row[-1].value.startswith("=HYPERLINK")  # text, never a formula
    users = load_workbook(io.BytesIO(admin_client.get("/directory/users/export.xlsx").data)).active
    assert all(c.data_type != "f" for r in users.iter_rows() for c in r)
    # Corrected and imported again, masked cells keep what is stored (the formula note is refused).
    page = upload(admin_client, data, "住户.xlsx").get_data(as_text=True)
    assert "不接受公式" in page
    world.household.notes = "腿脚不便"
    db.session.commit()
    again = upload(admin_client, admin_client.get("/imports/households/export.xlsx").data, "住户.xlsx")
    assert "新增 0 行，更新 0 行" in again.get_data(as_text=True)
    assert db.session.get(Household, world.household.id).phone == "13912345678"


@pytest.mark.parametrize("data, message", [
    (b"\xff\xfe\xfa" * 10 + b"\n", "既不是 UTF-8 也不是 GBK"),
    (",".join(HEADER).encode() + b"\nH01," + b"x" * 200_000 + b"\n", "无法读取"),
])
def test_unreadable_text_is_explained_not_a_server_error(admin_client, data, message):
    response = upload(admin_client, data)
    assert response.status_code in (200, 422) and message in response.get_data(as_text=True)


def test_places_import_children_before_their_parents_and_inactive_codes(admin_client, world):
    world.h02.active = False
    db.session.commit()
    header = [c.header for c in rosters.PLACE_COLUMNS]
    rows = [["H21", "hamlet", "新村一", "", "V9", "10", ""],      # its village is the next row
            ["V9", "village", "新村", "", "", "", ""],
            ["H02", "hamlet", "沙嘴（旧）", "", "V1", "", ""],     # deactivated: updated, not a second H02
            ["H22", "hamlet", "孤村", "", "V404", "", ""]]        # no such parent anywhere
    page = upload(admin_client, xlsx_bytes(rows, header=header), "地点.xlsx", kind="places").get_data(as_text=True)
    assert "没有编码为 V404 的地点" in page
    response = confirm(admin_client, page, "places")
    assert response.status_code == 200
    codes = {p.code: p for p in db.session.scalars(sa.select(Place))}
    assert codes["H21"].parent.code == "V9" and codes["H02"].name_zh == "沙嘴（旧）" and "H22" not in codes


def test_a_cell_longer_than_its_column_is_refused(admin_client):
    row = ["H01", "东岙130号", "", "", "王" * 51, "", "", "", "", "", ""]
    assert "最多 50 个字" in upload(admin_client, csv_bytes([row])).get_data(as_text=True)


def test_an_upload_is_only_for_the_one_who_made_it_and_leads_do_not_import(client, auth, world):
    auth.login("root")
    page = upload(client, csv_bytes(GOOD)).get_data(as_text=True)
    token = re.search(r'action="/imports/households/([^/"]+)/import"', page).group(1)
    auth.logout()
    auth.login("staff-p01")
    assert client.post(f"/imports/households/{token}/import").status_code == 404
    assert client.get(f"/imports/households/{token}/errors.xlsx").status_code == 404
    auth.logout()
    auth.login("leader")
    assert client.get("/imports/").status_code in (403, 404)
