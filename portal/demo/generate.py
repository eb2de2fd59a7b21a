"""District-scale data for benchmarks: ``flask --app portal generate --households 150000 --cases 1000000``.

On top of a loaded directory (``flask demo-data --cases 0``), adds households to the estates until there
are ``households`` in all, and ``cases`` cases spread over ``years`` years, places, items and states, each
with its timeline (logged, signed for, resolved, called back) and the callbacks. With ``districts`` above one it
makes a city: the directory's district copied that many times in all (``_copy_districts``), the households and
cases spread over every copy, so that each district has ``households / districts`` and ``cases / districts``. Rows are written with
bulk inserts (COPY on PostgreSQL, with the timeline's, the cases' and the callbacks' secondary indexes built
after the load) and ids assigned here, in batches, with a progress callback; the board counters are rebuilt
at the end. Everything is drawn from a seeded random generator, so two runs make the same data.
"""
from __future__ import annotations

import itertools
import random
import re
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from faker import Faker

from portal import clock
from portal.domain import DomainError
from portal.domain.access.errands import limit as errand_limit_of
from portal.domain.boards import counters
from portal.domain.platform import unit
from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    CallbackRecord,
    Case,
    CaseEvent,
    CaseNumberCounter,
    CaseStatus,
    Channel,
    EventKind,
    Household,
    Mode,
    Outcome,
    Place,
    PlaceKind,
    Priority,
    Resident,
    Role,
    Satisfaction,
    ServiceItem,
    ServicePoint,
    Team,
    User,
    team_places,
    user_places,
)

BATCH = 5_000
S, E = CaseStatus, EventKind
DESCRIPTION = {Mode.COUNTER: "窗口咨询办理", Mode.ERRAND: "委托党员代办", Mode.HOME: "预约上门服务"}


@dataclass
class Generated:
    households: int
    residents: int
    cases: int
    events: int


def _next_id(model) -> int:
    return (db.session.scalar(sa.select(sa.func.max(model.id))) or 0) + 1


def _insert(model, rows: list[dict]) -> None:
    """The rows into the table: on PostgreSQL one COPY (each value through its column type, as an INSERT would
    bind it), elsewhere one executemany (Core: no ORM bookkeeping per row)."""
    if not rows:
        return
    connection, table = db.session.connection(), model.__table__
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    names = list(rows[0])
    binds = [table.c[name].type.dialect_impl(connection.dialect).bind_processor(connection.dialect) for name in names]
    columns = ", ".join(f'"{name}"' for name in names)
    with connection.connection.driver_connection.cursor() as cursor, \
            cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([bind(row[name]) if bind else row[name] for name, bind in zip(names, binds, strict=True)])


@contextmanager
def _indexes_after(*models):
    """PostgreSQL: the tables' secondary indexes dropped for the load and built again after it (one sorted build
    each, instead of one insertion a row); the unique and primary keys stay."""
    if db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    tables = [model.__tablename__ for model in models]
    definitions = db.session.execute(sa.text(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = ANY(:tables) AND NOT x.indisunique "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"), {"tables": tables}).all()
    for name, _ in definitions:
        db.session.execute(sa.text(f'DROP INDEX "{name}"'))
    unit.end_step()

    def build() -> None:
        db.session.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for _, definition in definitions:
            db.session.execute(sa.text(definition))
        unit.end_step()

    try:
        yield
    except BaseException:
        unit.abandon()  # what the failed load left open; the indexes come back all the same
        build()
        raise
    build()


def _copy_districts(districts: int, rng: random.Random) -> None:
    """A city of ``districts`` districts: the directory's places (the island and the heating district), their
    service points, on-site teams, households and the people who work there, copied until there are
    ``districts`` of each. Copy k's codes and user names end in "-k" (H01-2, proxy-h01-2), its case numbers
    start with a prefix of its own (LS → LSB), its households have phones of their own. The admin and the leads
    without places of their own (who see every place, with the wall view and the monthly report, which only they
    open) stay one: the city's. Rosters, calendars and settings are not copied (the generator reads none of
    them). A copy already made is kept."""
    connection = db.session.connection()
    tables = {model: model.__table__ for model in (Place, ServicePoint, Team, User, Household)}

    def rows(model, *where, key: str = "code") -> list[dict]:
        """The model's rows of the first district (not a copy an earlier run made: "<code>-<k>" of a code)."""
        table = tables[model]
        found = [dict(row) for row in connection.execute(sa.select(table).where(*where).order_by(table.c.id)).mappings()]
        keys = {row[key] for row in found}
        return [row for row in found if not ((match := re.fullmatch(r"(.+)-\d+", row[key])) and match[1] in keys)]

    places, points, teams = rows(Place), rows(ServicePoint), rows(Team)
    people = rows(User, ~((User.role == Role.ADMIN) | ((User.role == Role.LEAD) & ~User.places.any())),
                  key="username")
    homes = rows(Household, Household.code.not_like("%-G%"))  # the directory's, not those generated
    memberships = connection.execute(sa.select(user_places)).all()
    coverage = connection.execute(sa.select(team_places)).all()
    root = next(place["code"] for place in places if place["parent_id"] is None)
    made = set(connection.execute(sa.select(Place.code)).scalars())
    for k in range(2, districts + 1):
        if f"{root}-{k}" in made:
            continue
        ids = {model: itertools.count(_next_id(model)) for model in tables}
        place_of = {place["id"]: next(ids[Place]) for place in places}
        point_of = {point["id"]: next(ids[ServicePoint]) for point in points}
        team_of = {team["id"]: next(ids[Team]) for team in teams}
        user_of = {user["id"]: next(ids[User]) for user in people}
        # Places first, without their points (the two tables refer to each other), parents before children.
        connection.execute(tables[Place].insert(), [
            {**place, "id": place_of[place["id"]], "code": f"{place['code']}-{k}", "name_zh": f"{place['name_zh']}（{k}）",
             "parent_id": place_of.get(place["parent_id"]), "service_point_id": None} for place in places])
        connection.execute(tables[ServicePoint].insert(), [
            {**point, "id": point_of[point["id"]], "code": f"{point['code']}-{k}", "place_id": place_of.get(point["place_id"]),
             "case_prefix": point["case_prefix"] + chr(ord("A") + k - 1)} for point in points])
        for place in places:
            if place["service_point_id"]:
                connection.execute(sa.update(tables[Place]).where(tables[Place].c.id == place_of[place["id"]])
                                   .values(service_point_id=point_of[place["service_point_id"]]))
        connection.execute(tables[Team].insert(), [
            {**team, "id": team_of[team["id"]], "code": f"{team['code']}-{k}", "calendar_token_hash": None,
             "service_point_id": point_of.get(team["service_point_id"])} for team in teams])
        connection.execute(tables[User].insert(), [
            {**user, "id": user_of[user["id"]], "username": f"{user['username']}-{k}", "office_id": None,
             "service_point_id": point_of.get(user["service_point_id"]), "team_id": team_of.get(user["team_id"])}
            for user in people])
        connection.execute(user_places.insert(), [
            {"user_id": user_of[user_id], "place_id": place_of[place_id]}
            for user_id, place_id in memberships if user_id in user_of])
        connection.execute(team_places.insert(), [
            {"team_id": team_of[team_id], "place_id": place_of[place_id]} for team_id, place_id in coverage
            if team_id in team_of])
        _insert(Household, [
            {**home, "id": next(ids[Household]), "code": f"{home['code']}-{k}", "place_id": place_of[home["place_id"]],
             "phone": _phone(rng), "phone2": None} for home in homes])
    _reset_sequences()
    unit.end_step()


def _phone(rng: random.Random) -> str:
    """A valid mobile number (``privacy.is_valid_phone``)."""
    return f"{rng.choice(('135', '138', '139', '186'))}{rng.randrange(10**8):08d}"


def _reset_sequences() -> None:
    """PostgreSQL: ids were given here, so move each sequence past them."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for model in (Place, ServicePoint, Team, User, Household, Resident, Case, CaseEvent, CallbackRecord):
        table = model.__tablename__
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT max(id) FROM {table}), 1))"))


def generate(households: int, cases: int, seed: int = 2026, years: int = 3, districts: int = 1,
             progress: Callable[[int], None] | None = None) -> Generated:
    """Add households and cases as described above; ``progress(n)`` is called as rows are written."""
    rng = random.Random(seed)
    if districts > 1:
        _copy_districts(districts, rng)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    names = [fake.name() for _ in range(3000)]
    progress = progress or (lambda n: None)
    places = db.session.scalars(sa.select(Place).where(Place.active)).all()
    estates = [p for p in places if p.kind is PlaceKind.ESTATE]
    hamlets = [p for p in places if p.kind is PlaceKind.HAMLET]
    items = db.session.scalars(sa.select(ServiceItem).where(ServiceItem.active).order_by(ServiceItem.code)).all()
    if not estates or not hamlets or not items:
        raise DomainError("Load the directory first: flask --app portal demo-data --cases 0")

    added, residents = _households(households, estates, rng, names, progress)
    with _indexes_after(Case, CaseEvent, CallbackRecord):
        count, events = _cases(cases, hamlets, estates, items, places, rng, names, years, progress)
    _reset_sequences()
    unit.end_step()
    if db.session.get_bind().dialect.name == "postgresql":
        # Planner statistics and the visibility map for the new rows, as after any bulk load (autovacuum would get
        # there later: until then no scan is index-only), before the counters are computed from them. Not on
        # SQLite: its planner does better on this schema without statistics.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE)")
    counters.rebuild()
    counters.compact()  # as the sweep leaves them: one change mark a key (the copies' writes left many)
    return Generated(added, residents, count, events)


def _households(total: int, estates: list[Place], rng: random.Random, names: list[str], progress):
    """Fill the estates (in proportion to their known sizes) until there are ``total`` households."""
    existing = db.session.scalar(sa.select(sa.func.count()).select_from(Household)) or 0
    wanted = max(total - existing, 0)
    if not wanted:
        return 0, 0
    weights = [p.household_count or 1 for p in estates]
    household_id, resident_id = _next_id(Household), _next_id(Resident)
    now = clock.now()
    rows, people, added, made = [], [], 0, 0
    serial: dict[int, int] = defaultdict(int)  # per estate, after the households an earlier run generated
    for place_id, code in db.session.execute(sa.select(Household.place_id, Household.code)
                                             .where(Household.code.like("%-G%"))):
        if match := re.fullmatch(r".+-G(\d+)", code):
            serial[place_id] = max(serial[place_id], int(match.group(1)))
    for place in rng.choices(estates, weights=weights, k=wanted):
        serial[place.id] += 1
        number = serial[place.id]
        building = f"G{(number - 1) // 48 + 1}号楼"
        floor, door = (number - 1) % 24 // 2 + 1, (number - 1) % 2 + 1
        phone = _phone(rng)
        rows.append(dict(id=household_id, code=f"{place.code}-G{number:06d}", place_id=place.id,
                         address=f"{place.name_zh}{building}{(number - 1) % 48 // 24 + 1}单元{floor}0{door}",
                         building=building, phone=phone, elderly_alone=rng.random() < 0.06,
                         disabled=rng.random() < 0.02, bedridden=False, busy_in_season=False, notes="",
                         active=True, created_at=now))
        for index in range(rng.choice((1, 2, 2, 3))):
            people.append(dict(id=resident_id, household_id=household_id, name=rng.choice(names),
                               phone=phone if index == 0 else None, id_number=None, created_at=now))
            resident_id += 1
        household_id += 1
        added += 1
        if len(rows) >= BATCH:
            _insert(Household, rows)
            _insert(Resident, people)
            made += len(people)
            progress(len(rows))
            rows, people = [], []
    _insert(Household, rows)
    _insert(Resident, people)
    progress(len(rows))
    return added, made + len(people)


def _cases(total: int, hamlets, estates, items, places, rng: random.Random, names, years: int, progress):
    now = clock.now()
    by_place = {p.id: p for p in places}
    points = {p.id: p for p in db.session.scalars(sa.select(ServicePoint))}
    homes: dict[bool, list[tuple]] = {True: [], False: []}  # heating? -> (id, place_id, phone, address)
    estate_ids = {p.id for p in estates}
    for row in db.session.execute(sa.select(Household.id, Household.place_id, Household.phone, Household.address)
                                  .where(Household.active)):
        homes[row.place_id in estate_ids].append(tuple(row))
    heating_items = [i for i in items if i.code.startswith("HT")]
    island_items = [i for i in items if not i.code.startswith("HT")]
    workers: dict[int, list[int]] = defaultdict(list)   # place -> proxies and butlers of it
    staff: dict[int, list[int]] = defaultdict(list)     # point -> staff
    for user in db.session.scalars(sa.select(User).options(sa.orm.selectinload(User.places)).where(User.active)):
        if user.role is Role.STAFF and user.service_point_id:
            staff[user.service_point_id].append(user.id)
        if user.role in (Role.PROXY, Role.BUTLER):
            for place in user.places:
                workers[place.id].append(user.id)
    team_of = dict(db.session.execute(sa.select(team_places.c.place_id, team_places.c.team_id)).all())
    counters: dict[tuple[str, object], int] = defaultdict(int)
    for prefix, day, last in db.session.execute(sa.select(CaseNumberCounter.prefix, CaseNumberCounter.day,
                                                          CaseNumberCounter.last)):
        counters[(prefix, day)] = last
    start = now - timedelta(days=365 * years)
    span = (now - start).total_seconds()
    case_id, callback_id = _next_id(Case), _next_id(CallbackRecord)
    event_ids = itertools.count(_next_id(CaseEvent))
    cases, events, callbacks, written_events = [], [], [], 0
    moments = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(total))
    # A proxy holds at most this many open errands; count those they already hold.
    errand_limit, held = errand_limit_of(), defaultdict(int)
    held.update(db.session.execute(
        sa.select(Case.owner_id, sa.func.count()).where(Case.mode == Mode.ERRAND, Case.status.in_(OPEN_STATUSES))
        .group_by(Case.owner_id)).all())
    for created in moments:
        heating = rng.random() < 0.45 and homes[True]
        home_id, place_id, phone, address = rng.choice(homes[bool(heating)] or homes[False])
        place = by_place[place_id]
        item = rng.choice(heating_items if heating else island_items)
        point = points.get(place.service_point_id) or next(iter(points.values()))
        local_day = clock.local(created).date()
        counters[(point.case_prefix, local_day)] += 1
        number = f"{point.case_prefix}-{local_day:%Y%m%d}-{counters[(point.case_prefix, local_day)]:04d}"
        owner = rng.choice(workers[place_id] or staff[point.id] or [None])
        desk = rng.choice(staff[point.id] or [None])
        team_id = team_of.get(place_id) if item.mode is Mode.HOME and not heating else None
        sla = timedelta(hours=item.sla_hours if item.urgent else item.sla_hours * 1.4)
        sign_due = created + (timedelta(minutes=30) if item.urgent else timedelta(hours=2))
        age = now - created
        on_spot = item.mode is Mode.COUNTER and rng.random() < 0.8
        case = dict(id=case_id, number=number, item_id=item.id, household_id=home_id, resident_id=None,
                    requester_name=rng.choice(names), requester_phone=phone or "13800000000", place_id=place_id,
                    address=address, service_point_id=point.id,
                    channel=Channel.PHONE if heating else rng.choice((Channel.COUNTER, Channel.COUNTER, Channel.PHONE,
                                                                      Channel.WECHAT, Channel.KIOSK)),
                    description=DESCRIPTION[item.mode], mode=item.mode, status=S.LOGGED,
                    priority=Priority.URGENT if item.urgent else Priority.NORMAL, due_at=created + sla,
                    sign_due_at=sign_due, remind_at=None, reminded_at=None, overdue_flagged_at=None,
                    sign_missed_at=None, callback_due_at=None, callback_retry_at=None, callback_attempts=0,
                    on_spot=False, trip_saved=False, proactive=False, rated_by_resident=False, owner_id=None,
                    team_id=team_id,
                    created_by_id=desk, created_at=created, updated_at=created, claimed_at=None,
                    resolved_at=None, closed_at=None, redo_count=0, transfer_count=0, merged_into_id=None,
                    origin_id=None, incident_id=None, outcome=None, satisfaction=None, callback_comment="",
                    version=1)
        event = _Timeline(events, event_ids, case["id"], {"scope": [place_id, point.id, team_id or 0]})

        event(created, E.LOGGED, None, S.LOGGED, desk, {"channel": case["channel"].value})
        if on_spot:
            done = created + timedelta(minutes=rng.uniform(5, 40))
            if done < now:
                case.update(status=S.RESOLVED, owner_id=desk, claimed_at=done, resolved_at=done, on_spot=True)
                event(done, E.FINISHED_ON_SPOT, S.LOGGED, S.RESOLVED, desk,
                      {"in_time": True, "on_time": True, "hours": round((done - created).total_seconds() / 3600, 2)})
        else:
            signed = created + (timedelta(minutes=rng.uniform(5, 110)) if rng.random() < 0.9
                                else timedelta(hours=rng.uniform(2, 30)))
            started = signed + timedelta(minutes=rng.uniform(5, 120))
            done = started + sla * rng.uniform(0.05, 1.0)
            if item.mode is Mode.ERRAND and done >= now and held[owner] >= errand_limit:
                # Still open today, and its proxy is full: another proxy of the place takes it, or it waits
                # in the pool (as the errand limit makes it in the portal).
                owner = next((p for p in workers[place_id] if held[p] < errand_limit), None)
            if signed < now and owner is not None:
                case.update(status=S.CLAIMED, owner_id=owner, claimed_at=signed, due_at=signed + sla)
                event(signed, E.CLAIMED, S.LOGGED, S.CLAIMED, owner, {"in_time": signed <= sign_due})
                if started < now:
                    case["status"] = S.IN_PROGRESS
                    event(started, E.STARTED, S.CLAIMED, S.IN_PROGRESS, owner)
                if done >= now and item.mode is Mode.ERRAND:
                    held[owner] += 1
                if done < now:
                    trip = item.saves_trip and not heating
                    case.update(status=S.RESOLVED, resolved_at=done, trip_saved=trip)
                    event(done, E.RESOLVED, S.IN_PROGRESS, S.RESOLVED, owner,
                          {"on_time": done <= case["due_at"], "hours": round((done - created).total_seconds() / 3600, 2),
                           "journeys": item.journeys if trip else 0, **({"trip": True} if trip else {})})
                elif now > case["due_at"]:
                    case["overdue_flagged_at"] = case["due_at"]
            elif now > sign_due:
                case["sign_missed_at"] = sign_due
                event(sign_due, E.SIGN_MISSED, None, None, None)
        if case["status"] is S.RESOLVED:
            called = case["resolved_at"] + timedelta(hours=rng.uniform(16, 60))
            case["callback_due_at"] = case["resolved_at"] + timedelta(days=3)
            if called < now and age > timedelta(days=1):
                outcome = rng.choices((Outcome.SOLVED, Outcome.PARTLY, Outcome.UNSOLVED), (90, 7, 3))[0]
                satisfaction = rng.choices((Satisfaction.SATISFIED, Satisfaction.BASICALLY,
                                            Satisfaction.DISSATISFIED), (82, 14, 4))[0]
                case.update(status=S.CLOSED, closed_at=called, outcome=outcome, satisfaction=satisfaction,
                            updated_at=called)
                event(called, E.CLOSED, S.RESOLVED, S.CLOSED, desk,
                      {"outcome": outcome.value, "satisfaction": satisfaction.value})
                callbacks.append(dict(id=callback_id, case_id=case["id"], at=called, actor_id=desk, outcome=outcome,
                                      satisfaction=satisfaction, comment="", by_resident=False, redo=False))
                callback_id += 1
        case["updated_at"] = max(case["updated_at"], case["resolved_at"] or created, case["claimed_at"] or created)
        cases.append(case)
        case_id += 1
        if len(cases) >= BATCH:
            written_events += _flush(cases, events, callbacks)
            progress(len(cases))
            cases, events, callbacks = [], [], []
    written_events += _flush(cases, events, callbacks)
    progress(len(cases))
    _save_counters(counters)
    return total, written_events


class _Timeline:
    """Adds the events of one case, each carrying where the case was (as the lifecycle's events do)."""

    def __init__(self, events: list[dict], ids, case_id: int, scope: dict):
        self.events, self.ids, self.case_id, self.scope = events, ids, case_id, scope

    def __call__(self, at, kind, status_from, status_to, actor, data=None) -> None:
        self.events.append(dict(id=next(self.ids), case_id=self.case_id, at=at, actor_id=actor, actor_label="",
                                kind=kind, from_status=status_from, to_status=status_to, note="", public=True,
                                data={**self.scope, **(data or {})}))


def _flush(cases: list[dict], events: list[dict], callbacks: list[dict]) -> int:
    _insert(Case, cases)
    _insert(CaseEvent, events)
    _insert(CallbackRecord, callbacks)
    unit.end_step()
    return len(events)


def _save_counters(counters: dict) -> None:
    """Case numbers logged from now on continue after the generated ones."""
    db.session.execute(sa.delete(CaseNumberCounter))
    rows = [dict(prefix=prefix, day=day, last=last) for (prefix, day), last in counters.items()]
    for start in range(0, len(rows), BATCH):
        _insert(CaseNumberCounter, rows[start:start + BATCH])
