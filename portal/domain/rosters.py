"""Importing rosters from spreadsheets: households and residents, places, the service catalog.

A file (XLSX, or CSV in UTF-8 with or without BOM, or GBK/GB18030) is read into rows, every row is
checked cell by cell (``check``: nothing is written), and the valid rows are applied in one transaction
(``apply``): a household is matched by place and address, a resident by ID number or by household and
name, a place or service item by its code, and updated rather than duplicated, so importing the same
file twice changes nothing. Rows with errors are skipped; ``error_workbook`` gives them back with an
error column, to fix and upload again.
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from portal import spreadsheets
from portal.domain import DomainError, access
from portal.domain.platform import audit, privacy, unit
from portal.domain.platform.directory import pinyin_index
from portal.extensions import db
from portal.models import Household, Mode, Place, PlaceKind, Resident, ServiceItem, ServicePoint, User

if TYPE_CHECKING:
    from openpyxl import Workbook

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 200_000
YES, NO = {"是", "y", "yes", "true", "1", "√", "✓"}, {"否", "n", "no", "false", "0", ""}
FORMULA = "="  # a formula in a CSV cell; in XLSX, formula cells are read as "=..." too (_cell_text)
MASKED = re.compile(r"^[0-9A-Za-z +-]*\*+[0-9A-Za-z -]*$")  # 138****1234 (+85****4567), as the exports write them


@dataclass(frozen=True)
class Column:
    key: str
    header: str          # the Chinese header of the template
    required: bool = False
    check: str = "text"  # text, phone, id, yes/no, int, kind, mode
    width: int = 14
    note: str = ""
    max_len: int = 200   # as long as its database column


@dataclass
class Row:
    line: int                       # the line of the file (the header is line 1)
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)  # column key (or "") -> message
    action: str = ""                # what importing it does: new, update, same

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class Check:
    kind: str
    rows: list[Row]
    missing: list[str]              # required headers the file lacks
    last_line: int = 1              # the last line read

    @property
    def valid(self) -> list[Row]:
        return [row for row in self.rows if row.ok]

    @property
    def invalid(self) -> list[Row]:
        return [row for row in self.rows if not row.ok]

    def count(self, action: str) -> int:
        return sum(1 for row in self.valid if row.action == action)


@dataclass
class Result:
    created: int = 0
    updated: int = 0
    same: int = 0
    skipped: int = 0
    changes: list[tuple[str, object, dict]] = field(default_factory=list)  # (create/update, row, fields) to audit


# --- reading files ----------------------------------------------------------------------------------------

def read(filename: str, data: bytes | Path, limit: int | None = MAX_BYTES
         ) -> tuple[list[str], Lines]:
    """The header and the rows (line number, cells as text) of an XLSX or CSV file: its bytes (the web), or
    a path read as it goes (the command line: any size, in constant memory)."""
    size = data.stat().st_size if isinstance(data, Path) else len(data)
    if limit is not None and size > limit:
        raise DomainError(_l("The file is larger than 10 MB; split it, or use `flask import-households` on the "
                             "server."), field="file")
    start = _start(data)
    if not start.strip():
        raise DomainError(_l("The file is empty."), field="file")
    if start[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if b"\x00" in start:
        raise DomainError(_l("This is not a spreadsheet. Upload an Excel file (.xlsx) or a CSV file."), field="file")
    return _read_csv(data)


def _start(data: bytes | Path) -> bytes:
    if isinstance(data, Path):
        with data.open("rb") as handle:
            return handle.read(4096)
    return data[:4096]


def row_estimate(data: bytes | Path) -> int:
    """About how many rows a file holds, for a progress bar: the sheet's recorded size, or the lines."""
    if _start(data)[:4] == b"PK\x03\x04":
        try:
            book = spreadsheets.read(data if isinstance(data, Path) else io.BytesIO(data), read_only=True)
            rows = book.worksheets[0].max_row or 0
            book.close()
            return rows
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            return 0
    if isinstance(data, Path):
        return sum(block.count(b"\n") for block in _blocks(data))
    return data.count(b"\n")


def _blocks(path: Path) -> Iterator[bytes]:
    """A file's bytes a megabyte at a time."""
    with path.open("rb") as handle:
        yield from iter(lambda: handle.read(1 << 20), b"")


def _read_xlsx(data: bytes | Path):
    try:
        book = spreadsheets.read(data if isinstance(data, Path) else io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise DomainError(_l("This file cannot be read as Excel. Save it as .xlsx (not .xls) and upload again."),
                          field="file") from None
    rows = book.worksheets[0].iter_rows()
    header = next(rows, None)
    if header is None:
        raise DomainError(_l("The file is empty."), field="file")

    cells = ((line, [_cell_text(cell) for cell in row]) for line, row in enumerate(rows, start=2))
    return [_cell_text(cell).strip() for cell in header], Lines(cells, book)


class Lines:
    """The rows of a file, as (line number, cells), and the file they are read from: closed when the rows run out
    or when ``close`` is called (a check that stops early, at a missing column, leaves no file open)."""

    def __init__(self, rows: Iterator[tuple[int, list[str]]], source):
        self._rows, self._source = rows, source

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> tuple[int, list[str]]:
        try:
            return next(self._rows)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        self._source.close()


def _cell_text(cell) -> str:
    value = cell.value
    if value is None:
        return ""
    if getattr(cell, "data_type", "") == "f":
        return "=" + str(value).lstrip("=")  # a formula: flagged by the checks, never evaluated
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_csv(data: bytes | Path):
    for encoding in ("utf-8-sig", "gb18030"):
        if _decodes(data, encoding):
            break
    else:
        raise DomainError(_l("The file is neither UTF-8 nor GBK text. Save it from Excel as “CSV UTF-8” or as .xlsx."),
                          field="file")
    text = data.open(encoding=encoding, newline="") if isinstance(data, Path) else io.StringIO(data.decode(encoding))
    reader = csv.reader(text)
    header = next(reader, None)
    if not header:
        raise DomainError(_l("The file is empty."), field="file")

    cells = ((line, [cell.strip() for cell in row]) for line, row in enumerate(reader, start=2))
    return [cell.strip() for cell in header], Lines(cells, text)


def _decodes(data: bytes | Path, encoding: str) -> bool:
    """Whether the whole file is text in ``encoding`` (a path is read a megabyte at a time)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for block in _blocks(data) if isinstance(data, Path) else [data]:
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


# --- the kinds of roster ------------------------------------------------------------------------------------

@dataclass
class Kind:
    key: str
    title: object
    columns: list[Column]
    admin_only: bool
    prepare: Callable[[Check, User], None]     # looks up what exists; sets each row's action or errors
    write: Callable[[list[Row], User], Result]
    duplicate_key: Callable[[dict], tuple | None]


def _check_cells(kind: Kind, row: Row) -> None:
    for column in kind.columns:
        value = row.values.get(column.key, "")
        if value.startswith(FORMULA):
            row.errors[column.key] = str(_l("A formula is not accepted; paste the value instead."))
            continue
        if column.check in ("phone", "id") and MASKED.match(value):
            row.values[column.key] = value = ""  # masked by an export: keep what is stored
        if len(value) > column.max_len:
            row.errors[column.key] = str(_l("At most %(n)d characters, please (this has %(m)d).", n=column.max_len,
                                            m=len(value)))
            continue
        if not value:
            if column.required:
                row.errors[column.key] = str(_l("Required."))
            continue
        problem = _problem(column.check, value)
        if problem:
            row.errors[column.key] = str(problem)
            continue
        if column.check == "phone":
            row.values[column.key] = privacy.normalise_phone(value)
        elif column.check == "id":
            row.values[column.key] = value.upper()


def _problem(check: str, value: str):
    if check == "phone" and not privacy.is_valid_phone(privacy.normalise_phone(value)):
        return _l("Not a phone number: 11 digits for a mobile, a landline with its area code, or a number abroad "
                  "starting with +.")
    if check == "id" and not privacy.is_valid_id_number(value.upper()):
        return _l("Not a valid ID number (18 characters; check the last one).")
    if check == "yes/no" and value.strip().lower() not in YES | NO:
        return _l("Write 是 or 否.")
    if check == "int" and not re.fullmatch(r"[0-9]{1,7}", value):
        return _l("Write a whole number.")
    if check == "kind" and value not in PlaceKind._value2member_map_:
        return _l("Write one of: %(values)s.", values=", ".join(PlaceKind._value2member_map_))
    if check == "mode" and value not in Mode._value2member_map_:
        return _l("Write one of: %(values)s.", values=", ".join(Mode._value2member_map_))
    return None


def _yes(value: str) -> bool:
    return value.strip().lower() in YES


def check(kind: Kind, filename: str, data: bytes, user: User | None, limit: int | None = MAX_BYTES,
          progress: Callable[[int], None] | None = None) -> Check:
    """Read and check every row; write nothing. ``user`` None is the command line (every place)."""
    headers, lines = read(filename, data, limit)
    return _check(kind, headers, lines, user, limit, progress)


def check_in_chunks(kind: Kind, path: Path, rows: int = 2000, progress: Callable[[int], None] | None = None,
                    user: User | None = None) -> Iterator[Check]:
    """Read a file of any size from disk and check it ``rows`` at a time (the command line; the web's background
    jobs, for ``user``'s places): memory stays that of one chunk, whatever the file's size. Each chunk is checked
    against the database as it is when the chunk is checked (apply one before checking the next), and a row
    repeated in a later chunk is taken as an update of the earlier one."""
    headers, lines = read(path.name, path, None)
    last = 1
    try:
        while True:
            chunk = _check(kind, headers, itertools.islice(lines, rows), user, None, progress, last)
            if chunk.last_line == last and not chunk.missing:
                return
            yield chunk
            if chunk.missing:
                return
            last = chunk.last_line
    finally:
        lines.close()


def _check(kind: Kind, headers: list[str], lines, user: User | None, limit: int | None, progress,
           last_line: int = 1) -> Check:
    by_header = {column.header: column for column in kind.columns}
    positions = {by_header[h].key: i for i, h in enumerate(headers) if h in by_header}
    missing = [c.header for c in kind.columns if c.required and c.key not in positions]
    result = Check(kind.key, [], missing, last_line)
    if missing:
        return result
    try:
        _check_rows(kind, lines, positions, result, limit, progress)
    except (csv.Error, SyntaxError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        raise DomainError(_l("Line %(line)s of the file cannot be read; save it again from Excel and upload it.",
                             line=result.last_line + 1), field="file") from None
    kind.prepare(result, user)
    return result


def _check_rows(kind: Kind, lines, positions: dict[str, int], result: Check, limit: int | None, progress) -> None:
    seen: dict[tuple, int] = {}
    for line, cells in lines:
        result.last_line = line
        if not any(cells):
            continue  # an empty row
        if progress and len(result.rows) % 1000 == 0:
            progress(1000)
        if limit is not None and len(result.rows) >= MAX_ROWS:
            raise DomainError(_l("At most %(n)s rows a file.", n=f"{MAX_ROWS:,}"), field="file")
        values = {key: (cells[i] if i < len(cells) else "") for key, i in positions.items()}
        row = Row(line, values)
        _check_cells(kind, row)
        complete = all(row.values.get(c.key) for c in kind.columns if c.required)
        key = kind.duplicate_key(row.values) if complete else None
        if key is not None:
            if key in seen:
                row.errors[""] = str(_l("The same as line %(line)s of this file.", line=seen[key]))
            else:
                seen[key] = line
        result.rows.append(row)


IMPORT_LOCK = 5504  # the advisory lock that queues imports on PostgreSQL


def apply(kind: Kind, checked: Check, user: User | None, actor_name: str = "") -> Result:
    """Write the valid rows in one transaction, with an audit row for the import and one for each row
    created or changed (masked as every audit row is); skip the others."""
    if checked.missing:
        raise DomainError(_l("The file lacks the columns: %(columns)s.", columns="、".join(checked.missing)))
    # Imports queue, one at a time: each numbers new households and matches residents by ID number against
    # what the ones before it wrote (SQLite's write lock does the same), so two at once neither collide on a
    # household code nor store one resident twice.
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(IMPORT_LOCK)))
    try:
        result = kind.write(checked.valid, user)
        result.skipped = len(checked.invalid)
        audit.record("import", actor=user, actor_name=actor_name, object_type=kind.key,
                     reason=f"{result.created} new, {result.updated} updated, {result.same} unchanged, "
                            f"{result.skipped} skipped")
        audit.record_many([audit.entry(action, actor=user, actor_name=actor_name, obj=obj, changes=fields,
                                       reason="import") for action, obj, fields in result.changes])
        db.session.flush()
    except sa.exc.IntegrityError:  # a household code or an ID number written meanwhile by someone else
        unit.abandon()
        raise DomainError(_l("Someone else registered some of these households or residents at the same time; "
                             "nothing of this file was saved. Import it again."), field="file") from None
    unit.end_step()
    return result


# --- households and residents -------------------------------------------------------------------------------

HOUSEHOLD_COLUMNS = [
    Column("place", "地点编码", True, width=10, note="村（自然村）或小区的编码，如 H01、E01", max_len=20),
    Column("address", "地址", True, width=28),
    Column("building", "楼栋", width=10, max_len=40),
    Column("phone", "户联系电话", check="phone", note="导出文件中打码的号码（138****1234）表示保持不变", max_len=20),
    Column("name", "姓名", True, width=10, max_len=50),
    Column("id_number", "身份证号", check="id", width=22, note="打码的号码表示保持不变", max_len=18),
    Column("resident_phone", "本人电话", check="phone", max_len=20),
    Column("elderly_alone", "独居老人", check="yes/no", width=9, note="是 / 否", max_len=5),
    Column("disabled", "残疾人", check="yes/no", width=9, note="是 / 否", max_len=5),
    Column("busy_in_season", "渔忙户", check="yes/no", width=9, note="是 / 否", max_len=5),
    Column("notes", "备注", width=20, max_len=1000),
]


def _places_by_code(active_only: bool = True) -> dict[str, Place]:
    query = sa.select(Place).where(Place.active) if active_only else sa.select(Place)
    return {p.code: p for p in db.session.scalars(query)}


def _address(value: str) -> str:
    return re.sub(r"\s+", "", value)


def _homes(place_ids: set[int], rows: list[Row]) -> dict[tuple[int, str], Household]:
    """The households of ``place_ids`` at the addresses of ``rows`` (compared without spaces), by place and
    address: only those, so that a chunk of a big file does not load every household of its estate."""
    addresses = sorted({_address(row.values.get("address") or "") for row in rows} - {""})
    if not place_ids or not addresses:
        return {}
    squeezed = Household.address
    for space in (" ", "\u3000", "\u00a0", "\t", "\r", "\n"):  # what people and Excel put in addresses
        squeezed = sa.func.replace(squeezed, space, "")
    found = {}
    for start in range(0, len(addresses), 500):
        for home in db.session.scalars(sa.select(Household).where(Household.place_id.in_(place_ids),
                                                                  squeezed.in_(addresses[start:start + 500]))):
            found[(home.place_id, _address(home.address))] = home
    return found


def _household_prepare(checked: Check, user: User) -> None:
    places = _places_by_code()
    allowed = None if user is None or access.sees_everything(user) else access.place_ids(user)
    place_ids = {places[r.values["place"]].id for r in checked.rows if r.values.get("place") in places}
    homes = _homes(place_ids, checked.rows)
    people = _residents_of([h.id for h in homes.values()])
    by_id = _residents_by_id(checked.rows)
    for row in checked.rows:
        if not row.ok:
            continue
        place = places.get(row.values["place"])
        if place is None or place.kind not in (PlaceKind.HAMLET, PlaceKind.ESTATE, PlaceKind.VILLAGE):
            row.errors["place"] = str(_l("No hamlet or estate has the code %(code)s.", code=row.values["place"]))
            continue
        if allowed is not None and place.id not in allowed:
            row.errors["place"] = str(_l("%(place)s is not one of your places.", place=place.name_zh))
            continue
        known = by_id.get(row.values.get("id_number") or "")
        if known is not None and allowed is not None and known.household.place_id not in allowed:
            # Registered in a place the user does not cover: say no more than that it cannot be done here.
            row.errors["id_number"] = str(_l("This ID number cannot be registered from your places; ask the "
                                             "district administrator."))
            continue
        home = homes.get((place.id, _address(row.values["address"])))
        person = known or (people.get((home.id, row.values["name"])) if home is not None else None)
        if home is None or person is None:
            row.action = "new"
        else:
            row.action = "same" if _same(home, person, row.values) else "update"


def _residents_by_id(rows: list[Row]) -> dict[str, Resident]:
    ids = sorted({r.values["id_number"] for r in rows if r.values.get("id_number")})
    found: dict[str, Resident] = {}
    for start in range(0, len(ids), 5000):
        for person in db.session.scalars(sa.select(Resident).where(Resident.id_number.in_(ids[start:start + 5000]))
                                         .options(joinedload(Resident.household))):
            found[person.id_number] = person
    return found


def _residents_of(household_ids: list[int]) -> dict[tuple[int, str], Resident]:
    found: dict[tuple[int, str], Resident] = {}
    for start in range(0, len(household_ids), 5000):
        for person in db.session.scalars(sa.select(Resident).where(
                Resident.household_id.in_(household_ids[start:start + 5000]))):
            found.setdefault((person.household_id, person.name), person)
    return found


def _household_fields(values: dict) -> dict:
    """What a row says of its household; an empty cell leaves the field as it is (the rows of one
    household's residents need not repeat it)."""
    fields = {name: values[name] for name in ("building", "notes", "phone") if values.get(name)}
    for flag in ("elderly_alone", "disabled", "busy_in_season"):
        if values.get(flag, "") != "":
            fields[flag] = _yes(values[flag])
    return fields


def _resident_fields(values: dict, home: Household) -> dict:
    """What a row says of its resident: the household and name too, for one matched by ID number who
    moved house or whose name was corrected."""
    fields = {"household_id": home.id, "name": values["name"]}
    if values.get("id_number"):
        fields["id_number"] = values["id_number"]
    if values.get("resident_phone"):
        fields["phone"] = values["resident_phone"]
    return fields


def _same(home: Household, person: Resident, values: dict) -> bool:
    return all(getattr(home, k) == v for k, v in _household_fields(values).items()) and \
        all(getattr(person, k) == v for k, v in _resident_fields(values, home).items())


def _household_write(rows: list[Row], user: User) -> Result:
    """Households first (new ones inserted together), then their residents; one flush each; an audit
    row for each household and resident created or changed."""
    result = Result()
    places = _places_by_code()
    touched = {places[r.values["place"]].id for r in rows}
    homes = _homes(touched, rows)
    serial = _code_serials(touched)
    fresh: set[tuple] = set()
    home_changed: set[tuple] = set()
    changed: dict[object, dict] = {}  # household or resident -> {field: (old, new)}
    new_people: set[Resident] = set()
    for row in rows:
        place = places[row.values["place"]]
        key = (place.id, _address(row.values["address"]))
        if key not in homes:
            serial[place.id] += 1
            homes[key] = Household(code=f"{place.code}-{serial[place.id]:05d}", place_id=place.id,
                                   address=row.values["address"])
            db.session.add(homes[key])
            fresh.add(key)
        changes = audit.apply_changes(homes[key], _household_fields(row.values))
        if changes or key in fresh:
            home_changed.add(key)
            changed[homes[key]] = {**changed.get(homes[key], {}), **changes}
    db.session.flush()

    people = _residents_of([h.id for h in homes.values()])
    by_id = _residents_by_id(rows)
    for row in rows:
        values = row.values
        key = (places[values["place"]].id, _address(values["address"]))
        home = homes[key]
        person = by_id.get(values.get("id_number") or "") or people.get((home.id, values["name"]))
        new = person is None
        if new:
            person = Resident(household_id=home.id, name=values["name"])
            db.session.add(person)
            new_people.add(person)
        changes = audit.apply_changes(person, _resident_fields(values, home))
        people[(home.id, values["name"])] = person
        if values.get("id_number"):
            by_id[values["id_number"]] = person
        if changes or new:
            changed[person] = {**changed.get(person, {}), **changes}
        if new or key in fresh:
            result.created += 1
        elif changes or key in home_changed:
            result.updated += 1
        else:
            result.same += 1
        home_changed.discard(key)
    db.session.flush()
    created = {homes[k] for k in fresh} | new_people
    result.changes = [("create" if obj in created else "update", obj, fields) for obj, fields in changed.items()]
    return result


def _code_serials(place_ids: set[int]) -> dict[int, int]:
    """The highest number in the household codes of each place ("H01-00096" -> 96)."""
    serial: dict[int, int] = dict.fromkeys(place_ids, 0)
    for place_id, code in db.session.execute(sa.select(Household.place_id, Household.code)
                                             .where(Household.place_id.in_(place_ids))):
        match = re.search(r"(\d+)$", code)
        if match:
            serial[place_id] = max(serial[place_id], int(match.group(1)))
    return serial


HOUSEHOLDS = Kind("households", _l("Households and residents"), HOUSEHOLD_COLUMNS, False, _household_prepare,
                  _household_write,
                  lambda v: (v["place"], _address(v["address"]), v.get("id_number") or v["name"]))


# --- places and the catalog ----------------------------------------------------------------------------------

PLACE_COLUMNS = [
    Column("code", "编码", True, width=10, max_len=20),
    Column("kind", "类型", True, check="kind", note="island/village/hamlet/district/estate", max_len=20),
    Column("name_zh", "名称", True, width=16, max_len=60), Column("name_en", "英文名称", width=18, max_len=80),
    Column("parent", "上级编码", width=10, note="上级可以是本文件中的另一行", max_len=20),
    Column("households", "户数", check="int", width=8, max_len=7),
    Column("served_by", "服务点编码", width=10, max_len=20),
]
ITEM_COLUMNS = [
    Column("code", "编码", True, width=8, max_len=20), Column("category_zh", "类别", True, width=12, max_len=40),
    Column("category_en", "英文类别", width=14, max_len=60), Column("name_zh", "事项名称", True, width=24, max_len=80),
    Column("name_en", "英文名称", width=24, max_len=120),
    Column("mode", "办理方式", True, check="mode", note="counter/errand/home", max_len=20),
    Column("needs_approval", "需上级审批", check="yes/no", width=10, max_len=5),
    Column("sla_hours", "时限（小时）", True, check="int", max_len=7),
    Column("urgent", "紧急", check="yes/no", width=8, max_len=5),
    Column("materials", "所需材料", width=30, note="多项用“、”分隔", max_len=1000),
    Column("approving_office", "审批部门", width=20, max_len=80), Column("keywords", "别名", width=16),
]


def _by_code(model, rows: list[Row]) -> dict[str, object]:
    codes = [r.values["code"] for r in rows]
    return {o.code: o for o in db.session.scalars(sa.select(model).where(model.code.in_(codes)))} if codes else {}


def _place_fields(values: dict, places: dict[str, Place], points: dict[str, ServicePoint]) -> dict:
    return {"kind": PlaceKind(values["kind"]), "name_zh": values["name_zh"], "name_en": values.get("name_en", ""),
            "parent_id": places[values["parent"]].id if values.get("parent") else None,
            "household_count": int(values["households"]) if values.get("households") else None,
            "service_point_id": points[values["served_by"]].id if values.get("served_by") else None}


def _in_order(rows: list[Row], known: set[str]) -> tuple[list[Row], list[Row]]:
    """The rows with every parent before its children (a parent is a known place or an earlier row), and
    the rows whose parent is neither (missing, refused, or a loop)."""
    ordered, waiting, ready = [], list(rows), set(known)
    while waiting:
        placed = [r for r in waiting if not r.values.get("parent") or r.values["parent"] in ready]
        if not placed:
            break
        ordered += placed
        ready |= {r.values["code"] for r in placed}
        waiting = [r for r in waiting if r not in placed]
    return ordered, waiting


def _place_prepare(checked: Check, user: User) -> None:
    places = _places_by_code(active_only=False)  # a deactivated place keeps its code
    points = {p.code: p for p in db.session.scalars(sa.select(ServicePoint))}
    for row in checked.valid:
        point = row.values.get("served_by")
        if point and point not in points:
            row.errors["served_by"] = str(_l("No service point has the code %(code)s.", code=point))
    _ordered, orphans = _in_order(checked.valid, set(places))
    for row in orphans:
        row.errors["parent"] = str(_l("No place has the code %(code)s (nor a correct row of this file).",
                                      code=row.values["parent"]))
    for row in checked.valid:
        existing = places.get(row.values["code"])
        parent = row.values.get("parent")
        row.action = "new" if existing is None else (
            "same" if (not parent or parent in places) and all(
                getattr(existing, k) == v for k, v in _place_fields(row.values, places, points).items())
            else "update")


def _place_write(rows: list[Row], user: User) -> Result:
    result = Result()
    points = {p.code: p for p in db.session.scalars(sa.select(ServicePoint))}
    places = _places_by_code(active_only=False)
    ordered, _orphans = _in_order(rows, set(places))  # checked already: no orphans among valid rows
    for row in ordered:
        place = places.get(row.values["code"])
        new = place is None
        if new:
            place = Place(code=row.values["code"], kind=PlaceKind(row.values["kind"]), name_zh="")
            db.session.add(place)
        changes = audit.apply_changes(place, _place_fields(row.values, places, points))
        db.session.flush()  # its id, for the rows below it
        places[place.code] = place
        result.created += new
        result.updated += bool(changes) and not new
        result.same += not changes and not new
        if changes:
            result.changes.append(("create" if new else "update", place, changes))
    return result


def _item_fields(values: dict) -> dict:
    materials = "\n".join(m.strip() for m in re.split(r"[、,，\n]", values.get("materials", "")) if m.strip())
    return {"category_zh": values["category_zh"], "category_en": values.get("category_en", ""),
            "name_zh": values["name_zh"], "name_en": values.get("name_en", ""),
            "mode": Mode(values["mode"]), "needs_approval": _yes(values.get("needs_approval", "")),
            "sla_hours": int(values["sla_hours"]), "urgent": _yes(values.get("urgent", "")), "materials": materials,
            "approving_office": values.get("approving_office", ""), "keywords": values.get("keywords", "")}


def _item_prepare(checked: Check, user: User) -> None:
    items = _by_code(ServiceItem, checked.valid)
    for row in checked.valid:
        existing = items.get(row.values["code"])
        row.action = "new" if existing is None else (
            "same" if all(getattr(existing, k) == v for k, v in _item_fields(row.values).items()) else "update")


def _item_write(rows: list[Row], user: User) -> Result:
    result = Result()
    items = _by_code(ServiceItem, rows)
    for row in rows:
        fields = _item_fields(row.values)
        item = items.get(row.values["code"])
        new = item is None
        if new:
            item = items[row.values["code"]] = ServiceItem(code=row.values["code"])
            db.session.add(item)
        changes = audit.apply_changes(item, fields)
        if not changes:
            result.same += 1
            continue
        result.created += new
        result.updated += not new
        item.pinyin = pinyin_index(item.name_zh, item.keywords)
        result.changes.append(("create" if new else "update", item, changes))
    db.session.flush()
    return result


PLACES = Kind("places", _l("Places"), PLACE_COLUMNS, True, _place_prepare, _place_write, lambda v: (v["code"],))
CATALOG = Kind("catalog", _l("Service catalog"), ITEM_COLUMNS, True, _item_prepare, _item_write, lambda v: (v["code"],))
KINDS = {kind.key: kind for kind in (HOUSEHOLDS, PLACES, CATALOG)}


# --- workbooks: the template, the rows with errors ------------------------------------------------------------

def _sheet(book: Workbook, kind: Kind, title: str):
    sheet = book.active
    sheet.title = title
    sheet.append([column.header for column in kind.columns])
    for index, column in enumerate(kind.columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = spreadsheets.font(bold=True, color="B4232C" if column.required else "1F2933")
        cell.fill = spreadsheets.fill("F3F5F8")
        sheet.column_dimensions[cell.column_letter].width = column.width
    sheet.freeze_panes = "A2"
    return sheet


EXAMPLES = {
    "households": ["H01", "东岙1号", "", "13912345678", "王大爷", "", "", "是", "否", "否", ""],
    "places": ["H13", "hamlet", "新村", "Xincun", "V1", "60", "LS-P01"],
    "catalog": ["CV99", "便民服务", "Convenience", "代缴水电费", "Utility bills", "errand", "否", "48", "否",
                "缴费通知单、银行卡", "", "水电费"],
}


def template(kind: Kind) -> bytes:
    """An empty roster with the Chinese headers (red: required), an example row, and a sheet of notes."""
    book = spreadsheets.workbook()
    sheet = _sheet(book, kind, str(kind.title))
    sheet.append(EXAMPLES[kind.key])
    notes = book.create_sheet("说明")
    notes.append(["列", "必填", "说明"])
    for column in kind.columns:
        notes.append([column.header, "是" if column.required else "", column.note])
    if kind is HOUSEHOLDS:
        notes.append([])
        notes.append(["地点编码", "名称", "类型"])
        for place in sorted(_places_by_code().values(), key=lambda p: p.code):
            if place.kind in (PlaceKind.HAMLET, PlaceKind.ESTATE):
                notes.append([place.code, place.name_zh, str(place.kind.label)])
    return spreadsheets.xlsx_bytes(book)


def error_workbook(kind: Kind, checked: Check) -> bytes:
    """The rows with errors, as they were, with an error column: fix them and upload this file again."""
    book = spreadsheets.workbook()
    sheet = _sheet(book, kind, "有错误的行")
    sheet.cell(row=1, column=len(kind.columns) + 1, value="错误").font = spreadsheets.font(bold=True, color="B4232C")
    headers = {column.key: column.header for column in kind.columns}
    for row in checked.invalid:
        problems = "；".join(f"{headers.get(key, '本行')}：{message}" for key, message in row.errors.items())
        sheet.append(spreadsheets.cells(sheet, [row.values.get(column.key, "") for column in kind.columns] + [problems]))
    return spreadsheets.xlsx_bytes(book)
