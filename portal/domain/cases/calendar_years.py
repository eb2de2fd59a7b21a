"""The district's working calendar as data that an administrator keeps: each year's public holidays and
make-up working days (调休).

A year is **confirmed** when its days come from the State Council's notice (imported from the CSV or
iCalendar file in which the notice is usually republished, after a preview), **provisional** when they come
from the ``holidays`` library (which knows China's statutory holidays for coming years, and the make-up days
only once they are announced), and **missing** otherwise. From 1 November, while next year is missing or
provisional, leads and administrators are warned (``warning``) and ``flask calendar status`` fails, for cron.

Every clock of the portal (due times, the sweep, callbacks, visits, the heating hotline's office hours)
reads these rows through ``timekeeping.calendar_for``; nothing keeps a calendar of its own.

An imported year is checked against the statutory holidays the library knows: a file without some of them (a
one-line CSV of 国庆 would otherwise remove the Spring Festival) is imported only when the administrator
confirms the year without them, by name (``missing_statutory``). When a year's days change, the open cases whose
time limit runs across a changed day get their due time counted again (``recompute_limits``: said on each
timeline, audited); the visits booked on a day that became a holiday are listed for rebooking
(``visits.to_rebook``).
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import icalendar
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain import DomainError, access
from portal.domain.cases import messages, timekeeping
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, unit
from portal.extensions import db
from portal.models import (
    ACTIVE_VISITS,
    OPEN_STATUSES,
    CalendarDay,
    CalendarYear,
    Case,
    CaseEvent,
    CaseStatus,
    DayKind,
    EventKind,
    User,
    Visit,
    VisitKind,
    YearStatus,
)

WARN_FROM = (11, 1)  # month and day from which next year's calendar is asked for
MAX_BYTES = 1_000_000
MAX_DAYS = 366  # a year is at most its days: no file is read or expanded beyond them
WORKDAY_WORDS = ("班", "上班", "补班", "调休上班", "workday", "work")
HOLIDAY_WORDS = ("休", "放假", "假", "holiday", "rest")
_DATE = re.compile(r"^\s*(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*$")
_MOVED = re.compile(r"由\s*(\d{4}-\d{2}-\d{2})\s*调休")
_EVENT = re.compile(rb"^BEGIN:VEVENT\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Entry:
    day: date
    kind: DayKind
    name: str


@dataclass
class Parsed:
    """A file's days, or what is wrong with it (every bad line or event, in the reader's words)."""

    entries: list[Entry] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        return sorted({e.day.year for e in self.entries})

    @property
    def holidays(self) -> int:
        return sum(e.kind is DayKind.HOLIDAY for e in self.entries)

    @property
    def workdays(self) -> int:
        return sum(e.kind is DayKind.WORKDAY for e in self.entries)

    def as_csv(self) -> str:
        """The entries as the CSV this module reads, quoted where a name needs it: the preview posts it back,
        and ``parse`` reads it into the very same entries (``digest`` proves it)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows((e.day.isoformat(), "班" if e.kind is DayKind.WORKDAY else "休", e.name) for e in self.entries)
        return out.getvalue()

    def digest(self) -> str:
        """A fingerprint of the entries: the preview shows it with its days, the import compares it."""
        return hashlib.sha256(self.as_csv().encode("utf-8")).hexdigest()


def _kind(text: str) -> DayKind | None:
    word = (text or "").strip().lower()
    if any(w in word for w in WORKDAY_WORDS):
        return DayKind.WORKDAY
    if not word or any(w in word for w in HOLIDAY_WORDS):
        return DayKind.HOLIDAY
    return None


def _date(text: str) -> date | None:
    match = _DATE.match(text or "")
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _name(text: str) -> str:
    """A day's name as it is kept (40 characters), the same whichever file it comes from."""
    return text.strip()[:40].strip()


def parse(filename: str, data: bytes) -> Parsed:
    """Read a year's calendar from a CSV (date, kind, name; a header line is allowed) or an iCalendar file
    (each event a holiday, or a make-up working day when its title says 班). The one reader of the preview,
    the import and the command line."""
    if len(data) > MAX_BYTES:
        return Parsed(errors=[str(_l("The file is larger than 1 MB; a year's calendar is a few lines."))])
    if filename.lower().endswith(".ics") or data.lstrip().startswith(b"BEGIN:VCALENDAR"):
        parsed = _parse_ics(data)
    else:
        parsed = _parse_csv(data)
    _check(parsed)
    return parsed


def _text(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _parse_csv(data: bytes) -> Parsed:
    """Every line's problems are told, each with the line its row starts on (a quoted value may span lines)."""
    parsed = Parsed()
    reader = csv.reader(io.StringIO(_text(data)))
    rows = 0
    while True:
        number = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error:
            parsed.errors.append(str(_l("Line %(n)d cannot be read: is a double quote left open?", n=number)))
            break
        if not row or not "".join(row).strip() or row[0].strip().startswith("#"):
            continue
        if number == 1 and not any(ch.isdigit() for ch in row[0]):  # a header
            continue
        rows += 1
        if rows > MAX_DAYS:
            parsed.errors.append(str(_l("The file holds more than %(n)d days; a year has at most %(n)d.",
                                        n=MAX_DAYS)))
            break
        parsed.errors.extend(_row_errors(number, row))
        day, kind = _date(row[0]), _kind(row[1] if len(row) > 1 else "")
        if day is not None and kind is not None:
            parsed.entries.append(Entry(day, kind, _name(row[2] if len(row) > 2 else "")))
    return parsed


def _row_errors(number: int, row: list[str]) -> list[str]:
    """What is wrong with one line of a CSV, all of it."""
    errors = []
    if any("\n" in value or "\r" in value for value in row):
        errors.append(str(_l("Line %(n)d: a value in quotes runs over several lines; write each day on one line.",
                             n=number)))
    if _date(row[0]) is None:
        errors.append(str(_l("Line %(n)d: “%(value)s” is not a date like 2027-01-01.", n=number,
                             value=row[0].strip()[:20])))
    if _kind(row[1] if len(row) > 1 else "") is None:
        errors.append(str(_l("Line %(n)d: say 休 (a holiday) or 班 (a make-up working day), not “%(value)s”.",
                             n=number, value=row[1].strip()[:20])))
    if any(value.strip() for value in row[3:]):
        errors.append(str(_l("Line %(n)d: more than three columns; put a name with a comma in double quotes.",
                             n=number)))
    return errors


def _parse_ics(data: bytes) -> Parsed:
    """Each event's days, expanded only while all of them together stay within the days of a year."""
    parsed = Parsed()
    if len(_EVENT.findall(data)) > MAX_DAYS:  # each event is a day at least: refused before it is all read
        return Parsed(errors=[str(_l("The events add up to more than %(n)d days; a year has at most %(n)d.",
                                     n=MAX_DAYS))])
    try:
        calendar = icalendar.Calendar.from_ical(_text(data))
    except ValueError:
        return Parsed(errors=[str(_l("The file is not an iCalendar (.ics) file."))])
    total = 0
    for event in calendar.walk("VEVENT"):
        summary = " ".join(str(event.get("SUMMARY", "")).split())
        if event.get("DTSTART") is None:
            continue
        try:
            start = _day_of(event.decoded("DTSTART"))
            end = _day_of(event.decoded("DTEND")) if event.get("DTEND") is not None else start + timedelta(days=1)
        except (TypeError, ValueError, AttributeError):
            parsed.errors.append(str(_l("The event “%(name)s” has a date that cannot be read.", name=summary[:40])))
            continue
        if event.get("RRULE") is not None or event.get("RDATE") is not None:
            parsed.errors.append(str(_l("The event “%(name)s” repeats; give each holiday as an event of its own.",
                                        name=summary[:40])))
            continue
        days = max((end - start).days, 1)
        if start < date(1900, 1, 1) or not 0 <= (end - start).days <= MAX_DAYS:
            parsed.errors.append(str(_l("The event “%(name)s” does not fall within one year.", name=summary[:40])))
            continue
        total += days
        if total > MAX_DAYS:  # checked before the days are made: never more than a year's days in memory
            parsed.errors.append(str(_l("The events add up to more than %(n)d days; a year has at most %(n)d.",
                                        n=MAX_DAYS)))
            break
        kind = DayKind.WORKDAY if _kind(summary) is DayKind.WORKDAY else DayKind.HOLIDAY
        parsed.entries.extend(Entry(start + timedelta(days=i), kind, _name(summary)) for i in range(days))
    return parsed


def _day_of(value: date | datetime) -> date:
    """An all-day event's date; a timed event's local date."""
    if isinstance(value, datetime):
        return clock.local(value).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"not a date: {value!r}")


def _check(parsed: Parsed) -> None:
    """The whole file's problems, told with every line's; the entries become the year's days, in order."""
    if not parsed.entries:
        if not parsed.errors:
            parsed.errors.append(str(_l("The file holds no dates.")))
        return
    if len(parsed.years) > 1:
        parsed.errors.append(str(_l("The file holds days of %(years)s; import one year at a time.",
                                    years="、".join(map(str, parsed.years)))))
    seen: dict[date, DayKind] = {}
    told: set[date] = set()
    for entry in parsed.entries:
        if seen.get(entry.day, entry.kind) is not entry.kind and entry.day not in told:
            parsed.errors.append(str(_l("%(day)s is both a holiday and a working day.", day=entry.day.isoformat())))
            told.add(entry.day)
        seen[entry.day] = entry.kind
    if not parsed.holidays and not parsed.errors:
        parsed.errors.append(str(_l("The file holds no holiday.")))
    parsed.entries = sorted({e.day: e for e in parsed.entries}.values(), key=lambda e: e.day)


# --- keeping the years -------------------------------------------------------------------------------------

def status(year: int) -> YearStatus | None:
    """Confirmed, provisional, or None: missing."""
    row = db.session.get(CalendarYear, year)
    return row.status if row else None


def years(around: int | None = None) -> list[tuple[int, YearStatus | None, CalendarYear | None]]:
    """This year, the next, and every year kept, with their status."""
    this = around or clock.today().year
    kept = {row.year: row for row in db.session.scalars(sa.select(CalendarYear))}
    return [(year, kept[year].status if year in kept else None, kept.get(year))
            for year in sorted(set(kept) | {this, this + 1})]


def _district_days(year: int) -> dict[date, DayKind]:
    return dict(db.session.execute(sa.select(CalendarDay.day, CalendarDay.kind).where(
        CalendarDay.service_point_id.is_(None), CalendarDay.active,
        CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))).all())


def _replace(year: int, entries: list[Entry], status_: YearStatus, source: str, actor: User | None) -> int:
    """Put ``entries`` in place of the district's days of ``year`` (a point's own closures stay), and count
    again the time limits of the open cases that run across a day that changed."""
    before = _district_days(year)
    db.session.execute(sa.delete(CalendarDay).where(
        CalendarDay.service_point_id.is_(None), CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31)))
    db.session.add_all(CalendarDay(day=e.day, kind=e.kind, name=e.name) for e in entries)
    after = {e.day: e.kind for e in entries}
    db.session.flush()
    recompute_limits({day for day in before.keys() | after.keys() if before.get(day) is not after.get(day)},
                     actor, year)
    row = db.session.get(CalendarYear, year) or CalendarYear(year=year)
    row.status, row.source, row.changed_at, row.changed_by_id = status_, source[:120], clock.now(), actor.id if actor else None
    db.session.add(row)
    audit.record("calendar", actor=actor, actor_name="" if actor else "cli", object_type="calendar_years",
                 object_id=str(year), changes={"status": (None, status_.value)},
                 reason=f"{len(entries)} days from {source[:80]}")
    unit.end_step()
    return len(entries)


@dataclass(frozen=True)
class Difference:
    """What importing a file would change of the days kept now for its year: days it adds, days it drops, days whose
    kind it turns (a holiday becoming a working day, or the other way)."""

    kept: bool  # the year has days kept now (else everything is added)
    added: list[Entry]
    dropped: list[date]
    turned: list[Entry]

    @property
    def none(self) -> bool:
        return self.kept and not (self.added or self.dropped or self.turned)


def difference(parsed: Parsed) -> Difference | None:
    """The preview's comparison with the days kept now (the district's, for the file's one year); None for a file
    that cannot be imported as it is."""
    if parsed.errors or len(parsed.years) != 1:
        return None
    before = _district_days(parsed.years[0])
    after = {e.day: e for e in parsed.entries}
    return Difference(bool(before), [e for day, e in sorted(after.items()) if day not in before],
                      sorted(day for day in before if day not in after),
                      [e for day, e in sorted(after.items()) if day in before and before[day] is not e.kind])


@dataclass(frozen=True)
class Missing:
    """A statutory holiday the library knows for the year, none of whose days the file gives as a holiday."""

    name: str
    days: tuple[date, ...]

    def __str__(self) -> str:
        first, last = self.days[0], self.days[-1]
        span = first.strftime("%m-%d") if first == last else f"{first:%m-%d}–{last:%m-%d}"
        return f"{self.name}（{span}）"


def missing_statutory(parsed: Parsed) -> list[Missing]:
    """The statutory holidays of the file's year (from the ``holidays`` library: their own days, not the days
    it guesses are given in lieu, 补假) of which the file holds no day as a holiday."""
    if len(parsed.years) != 1:
        return []
    given = {e.day for e in parsed.entries if e.kind is DayKind.HOLIDAY}
    found: dict[str, list[date]] = {}
    for day, name in sorted(_statutory(parsed.years[0]).items()):
        name = str(name)
        if "（" in name or "(" in name:  # 补假, 由 … 调休: the library's guess of the days in lieu
            continue
        found.setdefault(name, []).append(day)
    return [Missing(name, tuple(days)) for name, days in found.items() if not given.intersection(days)]


def missing_names(missing: list[Missing]) -> str:
    """What the administrator confirms: the missing holidays' names, in the year's order."""
    return "、".join(m.name for m in missing)


def import_year(parsed: Parsed, actor: User | None, source: str, digest: str | None = None,
                without: str | None = None) -> int:
    """Import a checked file's year as confirmed (the State Council's notice): its days replace the year's.
    Nothing is imported while any line is bad. ``digest`` is the preview's (``Parsed.digest``): the days must be
    exactly those previewed. A file without some statutory holidays (``missing_statutory``) is imported only
    when ``without`` names exactly those (``missing_names``): the administrator confirmed the year without
    them. ``actor`` None is the command line."""
    if actor is not None:
        access.require(actor, "calendar.manage")
    if parsed.errors:
        raise DomainError(parsed.errors[0] if len(parsed.errors) == 1 else
                          _l("Nothing is imported: the file has %(n)d problems.", n=len(parsed.errors)), field="file")
    if digest is not None and not hmac.compare_digest(digest.encode(), parsed.digest().encode()):
        raise DomainError(_l("These are not the days of the preview; check the file again."), field="file")
    missing = missing_statutory(parsed)
    if missing and (without or "").strip() != missing_names(missing):
        raise DomainError(_l("The file has none of the days of %(names)s, which the statutory holidays of %(year)d "
                             "include: they would be working days. Add them to the file, or confirm %(year)d "
                             "without them.", names="、".join(map(str, missing)), year=parsed.years[0]),
                          field="without")
    return _replace(parsed.years[0], parsed.entries, YearStatus.CONFIRMED, source or "import", actor)


def provisional_entries(year: int) -> list[Entry]:
    """The statutory holidays of ``year`` from the ``holidays`` library, with the make-up working days it
    knows (those it names as moved, 由 … 调休); the rest of the make-up days come with the notice."""
    found = _statutory(year)
    entries = {day: Entry(day, DayKind.HOLIDAY, str(name)[:40]) for day, name in found.items()}
    for name in found.values():
        for moved in _MOVED.findall(str(name)):
            workday = date.fromisoformat(moved)
            if workday.year == year and workday not in entries:
                entries[workday] = Entry(workday, DayKind.WORKDAY, "调休上班")
    return sorted(entries.values(), key=lambda e: e.day)


def fill_provisional(year: int, actor: User | None) -> int:
    """Fill a missing year from the library, marked provisional until an administrator confirms it. A year
    already kept is left alone."""
    if actor is not None:
        access.require(actor, "calendar.manage")
    if status(year) is not None:
        raise DomainError(_l("%(year)d is kept already (%(status)s).", year=year, status=status(year).label))
    entries = provisional_entries(year)
    if not entries:
        raise DomainError(_l("The holidays library knows no holidays of %(year)d.", year=year))
    return _replace(year, entries, YearStatus.PROVISIONAL, f"holidays {_library_version()}", actor)


def confirm(year: int, actor: User) -> None:
    """An administrator checked a provisional year against the notice (adding any make-up days by hand in the
    directory's holidays): it is confirmed as it stands."""
    access.require(actor, "calendar.manage")
    row = db.session.get(CalendarYear, year)
    if row is None or row.status is not YearStatus.PROVISIONAL:
        raise DomainError(_l("Only a provisional year is confirmed."))
    row.status, row.changed_at, row.changed_by_id = YearStatus.CONFIRMED, clock.now(), actor.id
    audit.record("calendar", actor=actor, object_type="calendar_years", object_id=str(year),
                 changes={"status": (YearStatus.PROVISIONAL.value, YearStatus.CONFIRMED.value)})
    unit.end_step()


def warning(today: date | None = None, manages: bool = True) -> str | None:
    """What leads and administrators are told while a calendar they depend on is missing or provisional:
    this year always, next year from 1 November; what to do about it, for one who imports the days (``manages``)
    or one who asks an administrator to."""
    today = today or clock.today()
    asked = [today.year] + ([today.year + 1] if (today.month, today.day) >= WARN_FROM else [])
    for year in asked:
        state = status(year)
        if state is None:
            problem = _l("The working calendar of %(year)d is missing: due times count its holidays as working days.",
                         year=year)
        elif state is YearStatus.PROVISIONAL:
            problem = _l("The working calendar of %(year)d is provisional (statutory holidays, make-up days not yet "
                         "known).", year=year)
        else:
            continue
        action = (_l("Import or confirm the State Council's notice (Directory › Working calendar).") if manages else
                  _l("Ask an administrator to import the State Council's notice."))
        return str(_l("%(problem)s %(action)s", problem=problem, action=action))  # zh: no space between
    return None


# --- when a year's days change ------------------------------------------------------------------------------

def _starts(cases: list[Case]) -> dict[int, tuple[datetime, bool]]:
    """Each case's limit start (``timekeeping.limit_start`` of its first signature, or of logging while it waits
    to be signed for; the last reopening or redo, which starts the limit again) and whether an approved extension
    named its due time since (a due time a lead named is not counted again)."""
    last: dict[tuple[int, EventKind], datetime] = {}
    ids = [case.id for case in cases]
    for start in range(0, len(ids), 500):
        for row in db.session.execute(
                sa.select(CaseEvent.case_id, CaseEvent.kind, sa.func.max(CaseEvent.at)).where(
                    CaseEvent.case_id.in_(ids[start:start + 500]),
                    CaseEvent.kind.in_([EventKind.REOPENED, EventKind.EXTENDED]))
                .group_by(CaseEvent.case_id, CaseEvent.kind)):
            last[(row[0], row[1])] = row[2]
    starts = {}
    for case in cases:
        begun = (timekeeping.limit_start(case.item, case.created_at, case.claimed_at) if case.claimed_at
                 else case.created_at)
        reopened = last.get((case.id, EventKind.REOPENED))
        if reopened is not None and reopened > begun:
            begun = reopened
        extended = last.get((case.id, EventKind.EXTENDED))
        starts[case.id] = (begun, extended is not None and extended >= begun)
    return starts


def recompute_limits(changed: set[date], actor: User | None, year: int | None = None,
                     cause: dict | None = None) -> list[Case]:
    """Count again the due time of every open case whose limit runs across a day in ``changed`` (a holiday now
    a working day, or the other way; an off-island day whose sailing was cancelled or restored), on the calendar
    as it now is: the new due time (and the 75 % reminder) is said on the case's timeline and audited. Urgent
    items count calendar hours and never move; a due time a lead named by an extension stays. ``cause`` is what
    changed when it is not a year's days (``{"sailing": "2026-12-10", ...}``, domain/sailings.py): kept in the
    event for its sentence. Returns the cases whose due time moved."""
    if not changed:
        return []
    first, last = min(changed), max(changed)
    cases = list(db.session.scalars(
        sa.select(Case).where(Case.status.in_(OPEN_STATUSES), Case.due_at.is_not(None),
                              Case.due_at >= clock.local_midnight(first))
        .options(sa.orm.joinedload(Case.item), sa.orm.joinedload(Case.service_point)).order_by(Case.id)))
    # Urgent items count calendar hours; a care visit not yet signed for is due on its half-day (moved with it).
    scheduled = set(db.session.scalars(sa.select(Visit.case_id).where(
        Visit.kind == VisitKind.CARE, Visit.status.in_(ACTIVE_VISITS),
        Visit.case_id.in_([case.id for case in cases if case.status is CaseStatus.LOGGED])))) if cases else set()
    cases = [case for case in cases if not case.item.urgent and case.id not in scheduled]
    starts = _starts(cases)
    now = clock.now()
    moved = []
    calendars: dict[tuple[int, date], timekeeping.WorkCalendar] = {}
    for case in cases:
        start, named = starts[case.id]
        if named or clock.local(start).date() > last:
            continue
        key = (case.service_point_id, clock.local(start).date())
        if key not in calendars:
            calendars[key] = timekeeping.calendar_for(case.service_point)
        calendar = calendars[key]
        due = timekeeping.due_time(case.item, start, case.service_point, case.mode, calendar)
        if due == case.due_at:
            continue
        old = case.due_at
        days = sorted(d for d in changed if clock.local(start).date() <= d <= clock.local(max(old, due)).date())
        case.due_at = due
        case.remind_at = timekeeping.reminder_time(case.item, start, due, case.service_point, case.mode, calendar)
        if case.status.value == "logged" and case.sign_due_at is not None:
            case.sign_due_at = timekeeping.sign_for_due(case.item, case.created_at, case.service_point, calendar)
        if due > now:
            case.overdue_flagged_at = None
        if case.remind_at > now:
            case.reminded_at = None
        record_event(case, actor, EventKind.DUE_RECOMPUTED, public=True, actor_label="" if actor else "system",
                     data={**(cause or {"year": year}), "old": old.isoformat(), "due": due.isoformat(),
                           "days": [d.isoformat() for d in days]})
        audit.record("recompute_due", actor=actor, obj=case, actor_name="" if actor else "cli",
                     changes={"due_at": (old, due)},
                     reason=f"sailing {cause['sailing']}" if cause else f"calendar {year}")
        messages.due_moved(case, cause)  # the receipt told them the old one
        moved.append(case)
    return moved


def _statutory(year: int) -> dict:
    """China's statutory holidays of ``year`` as the ``holidays`` library knows them (day → name, in Chinese). The
    library (some 10 MB) is loaded when a calendar year is checked or drafted, not by every worker at start."""
    import holidays

    return holidays.China(years=[year], language="zh_CN")


def _library_version() -> str:
    import holidays

    return holidays.__version__
