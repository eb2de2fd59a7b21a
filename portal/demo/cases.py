"""Demo cases: about 2,000 cases over the last 90 days, in every state, with their timelines.

Each case is given a plausible story (logged, claimed, worked, sent off the island, resolved, called
back...) whose steps are spaced out over the item's time limit; the steps that would lie in the
future are cut off, so old cases are closed and recent ones are still open, as in a real portal.
The events written are the ones ``portal.domain.cases.lifecycle`` writes for the same steps.
"""
from __future__ import annotations

import functools
import random
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from faker import Faker

from portal import clock
from portal.domain.cases import attachments, timekeeping
from portal.domain.platform import files
from portal.extensions import db
from portal.models import (
    Attachment,
    CallbackRecord,
    Case,
    CaseEvent,
    CaseMaterial,
    CaseNumberCounter,
    CaseStatus,
    Channel,
    EventKind,
    Holder,
    Household,
    MaterialHandover,
    Mode,
    Outcome,
    Place,
    PlaceKind,
    PointKind,
    Priority,
    Resident,
    Role,
    Satisfaction,
    ServiceItem,
    ServicePoint,
    SignatureKind,
    Slot,
    User,
    Visit,
    VisitKind,
    VisitStatus,
    team_places,
)

DESCRIPTIONS = {
    Mode.COUNTER: ["居民到窗口咨询办理", "需要开具相关证明", "来电咨询办理流程", "帮老人查询打印材料"],
    Mode.ERRAND: ["老人行动不便，委托代办", "材料已备齐，请党员代办出岛递交", "渔忙季节无法出岛，申请代办",
                  "需要上级部门审批，委托代办"],
    Mode.HOME: ["独居老人申请上门办理", "残疾人行动不便，预约上门", "请上门查看处理", "渔忙时节家中无人外出，预约上门"],
}
HEATING_DESCRIPTIONS = {
    "HT01": ["卧室暖气片不热", "整屋暖气温度低，室温只有15度"],
    "HT02": ["客厅热卧室不热", "上面热下面凉"],
    "HT03": ["暖气片接口漏水", "阀门滴水，地面已湿"],
    "HT04": ["暖气有流水声，不热，可能气堵", "新开栓后不热，需要排气"],
    "HT05": ["咨询今年供暖费标准", "询问缴费方式"],
    "HT06": ["房屋空置，申请报停", "申请恢复供热"],
}
RESOLUTIONS = {
    Mode.COUNTER: "已当场办结",
    Mode.ERRAND: "审批结果已送达居民，材料原件已归还",
    Mode.HOME: "已上门办理完毕",
}


# Island cases are a fifth of the cases of the 90 days shown (the rest heating), and go back a year.
ISLAND_SHARE, SHOWN_DAYS, YEAR_DAYS = 0.2, 90, 365
# How often an island item is asked for, by the journeys it saves: the approval items (2) most.
JOURNEY_WEIGHT = {0: 1, 1: 2, 2: 4}


def _pick_weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


# When the steps of an errand that an office approves happen: handed in at the office in the morning of an off-island
# day, the answer brought back in the afternoon of a later one, the documents handed back on an island working day.
OFFICE_MORNING, OFFICE_AFTERNOON, ISLAND_DAY = (time(9), time(11, 30)), (time(13, 30), time(16, 30)), (time(9), time(17))


class _Story:
    """Collects the events of one case and keeps the case's fields in step with them."""

    def __init__(self, case: Case, now: datetime):
        self.case = case
        self.now = now
        self.events: list[CaseEvent] = []
        self.at = case.created_at
        self.cut = False
        self.callbacks: list[CallbackRecord] = []

    def restart_clock(self) -> None:
        """Fix the due time from now, as claiming (or a redo) does in the lifecycle."""
        case = self.case
        case.due_at = timekeeping.due_time(self.item, self.at, self.point, case.mode, self.calendar)
        case.remind_at = timekeeping.reminder_time(self.item, self.at, case.due_at, self.point, case.mode,
                                                   self.calendar)

    def until_a_day(self, rng: random.Random, fits: Callable[[date], bool], hours: tuple[time, time],
                    not_before: timedelta = timedelta()) -> timedelta:
        """How long from the last step to a moment within ``hours`` of the first day that ``fits`` (at least
        ``not_before`` later): the steps of the 3+2 week happen on its days, in office hours."""
        earliest = self.at + not_before
        day = clock.local(earliest).date()
        for _ in range(60):
            start = datetime.combine(day, hours[0], clock.LOCAL_TZ)
            end = datetime.combine(day, hours[1], clock.LOCAL_TZ)
            if fits(day) and end > earliest:
                start = max(start, earliest)
                return start + (end - start) * rng.random() - self.at
            day += timedelta(days=1)
        return self.now - self.at + timedelta(days=1)  # no such day in two months: the step is cut

    def resolved(self) -> None:
        self.case.resolved_at = self.at
        self.case.callback_due_at = timekeeping.callback_due(self.at, self.point, self.calendar)

    def step(self, after: timedelta, kind: EventKind, to_status: CaseStatus | None, actor: User | None,
             note: str = "", public: bool = False, data: dict | None = None) -> bool:
        """Add a step ``after`` the previous one, unless it would lie in the future."""
        if self.cut:
            return False
        at = self.at + after
        if at > self.now:
            self.cut = True
            return False
        self.at = at
        self.events.append(CaseEvent(at=at, actor_id=actor.id if actor else None, kind=kind,
                                     from_status=self.case.status, to_status=to_status, note=note,
                                     public=public, data=data))
        if to_status is not None:
            self.case.status = to_status
        self.case.updated_at = at
        return True


def load_cases(count: int = 2000, seed: int = 2026, progress: Callable[[int], None] = lambda n: None) -> int:
    """Create ``count`` cases with their timelines (the caller commits); ``progress(1)`` after each."""
    rng = random.Random(seed)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    now = clock.now()
    items = db.session.scalars(sa.select(ServiceItem).order_by(ServiceItem.code)).all()
    island_items = [i for i in items if not i.code.startswith("HT")]
    island_weights = [JOURNEY_WEIGHT[min(i.journeys, 2)] for i in island_items]
    # The faults the demo's calls are about (the catalog's later heating items, 温度不达标 and the others, come from
    # the demo's temperature readings and findings: the calls stay as they were).
    heating_items = [i for i in items if i.code in HEATING_DESCRIPTIONS]
    places = {p.id: p for p in db.session.scalars(sa.select(Place))}
    households = db.session.execute(
        sa.select(Household.id, Household.place_id, Household.phone, Household.address)
    ).all()
    island = [h for h in households if places[h.place_id].kind is PlaceKind.HAMLET]
    estates = [h for h in households if places[h.place_id].kind is PlaceKind.ESTATE]
    first_resident = dict(
        db.session.execute(
            sa.select(Resident.household_id, sa.func.min(Resident.id)).group_by(Resident.household_id)
        ).all()
    )
    resident_names = dict(db.session.execute(sa.select(Resident.id, Resident.name)).all())
    users = db.session.scalars(sa.select(User).options(sa.orm.selectinload(User.places))).all()
    by_place: dict[tuple[Role, int], list[User]] = defaultdict(list)
    by_team: dict[int, list[User]] = defaultdict(list)
    staff_by_point: dict[int, list[User]] = defaultdict(list)
    for user in users:
        for place in user.places:
            by_place[(user.role, place.id)].append(user)
        if user.team_id:
            by_team[user.team_id].append(user)
        if user.role is Role.STAFF and user.service_point_id:
            staff_by_point[user.service_point_id].append(user)
    team_of_place = dict(db.session.execute(sa.select(team_places.c.place_id, team_places.c.team_id)).all())
    centre = db.session.scalars(sa.select(ServicePoint).where(ServicePoint.kind == PointKind.SERVICE_CENTER)).first()
    counters: dict[tuple[str, object], int] = defaultdict(int)
    cases: list[Case] = []
    calendars: dict[int, timekeeping.WorkCalendar] = {}

    # The island's year before the 90 days shown: closed requests at the same pace, from a generator of their own
    # (the 90 days stay as they were for a seed), so that its year reads like the island's account: some 1,500
    # requests (docs/METRICS.md, "Requests, proactive work and journeys").
    history = round(count * ISLAND_SHARE * (YEAR_DAYS - SHOWN_DAYS) / SHOWN_DAYS)
    past_rng = random.Random(seed + 1)
    for index in range(count + history):
        past = index >= count
        rng_ = past_rng if past else rng
        # The seed's scale: about 1,500 items a year on the island (some 370 in the 90 days shown), the rest heating.
        heating = rng_.random() < 1 - ISLAND_SHARE and not past
        household = rng_.choice(estates if heating else island)
        place = places[household.place_id]
        # The island's items as its offices see them: mostly approval items, carried off the island and back.
        item = rng_.choice(heating_items) if heating else rng_.choices(island_items, island_weights)[0]
        point = place.service_point
        # A share of the island's counter work is done at the service centre, in the main village.
        if not heating and item.mode is Mode.COUNTER and centre is not None and rng_.random() < 0.3:
            point = centre
        if point.id not in calendars:
            calendars[point.id] = timekeeping.calendar_for(point)
        calendar = calendars[point.id]
        # Most cases spread over 90 days; a few from the last hours, so that the queues have new work.
        recent = rng_.random() < 0.07
        created = now - timedelta(seconds=rng_.uniform(0, (20 * 3600) if recent else (SHOWN_DAYS * 86400)))
        if past:
            created = now - timedelta(days=rng_.uniform(SHOWN_DAYS + 1, YEAR_DAYS))
        if not heating:  # the island's counters keep office hours, on the point's working days (its calendar)
            local = clock.local(created)
            created = created.replace(minute=rng_.randint(0, 59)) + timedelta(hours=(8 + rng_.randint(0, 8)) - local.hour)
            while created > now or calendar.kind_of(clock.local(created).date()) != "W":
                created -= timedelta(days=1)
        day = clock.local(created).date()
        counters[(point.case_prefix, day)] += 1
        number = f"{point.case_prefix}-{day:%Y%m%d}-{counters[(point.case_prefix, day)]:04d}"
        if heating:
            channel = _pick_weighted(rng, [(Channel.PHONE, 70), (Channel.WECHAT, 20), (Channel.VISIT, 10)])
            description = rng_.choice(HEATING_DESCRIPTIONS[item.code])
        else:
            channel = (Channel.COUNTER if item.mode is Mode.COUNTER and rng_.random() < 0.7 else
                       _pick_weighted(rng, [(Channel.COUNTER, 35), (Channel.PHONE, 30), (Channel.WECHAT, 15),
                                            (Channel.VISIT, 10), (Channel.KIOSK, 10)]))
            description = rng_.choice(DESCRIPTIONS[item.mode])
        resident_id = first_resident.get(household.id)
        staff = rng_.choice(staff_by_point[point.id])
        team_id = team_of_place.get(place.id) if item.mode is Mode.HOME and not heating else None
        case = Case(
            number=number, item_id=item.id, household_id=household.id, resident_id=resident_id,
            requester_name=resident_names.get(resident_id, fake.name()), requester_phone=household.phone,
            place_id=place.id, address=household.address, service_point_id=point.id, channel=channel,
            description=description, mode=item.mode, status=CaseStatus.LOGGED,
            priority=Priority.URGENT if item.urgent else Priority.NORMAL,
            due_at=timekeeping.due_time(item, created, point, item.mode, calendar), team_id=team_id,
            sign_due_at=timekeeping.sign_for_due(item, created, point, calendar),
            created_by_id=None if channel is Channel.KIOSK else staff.id, created_at=created, updated_at=created,
            redo_count=0, transfer_count=0,
        )
        if heating:
            worker_pool = by_place[(Role.BUTLER, place.id)]
        elif item.mode is Mode.ERRAND:
            worker_pool = by_place[(Role.PROXY, place.id)]
        elif item.mode is Mode.HOME:
            worker_pool = by_team.get(team_id, []) or [staff]
        else:
            worker_pool = [staff]
        worker = rng_.choice(worker_pool) if worker_pool else staff
        story = _Story(case, now)
        story.item, story.point, story.calendar = item, point, calendar
        logged_by = None if channel is Channel.KIOSK else staff
        story.events.append(CaseEvent(at=created, actor_id=logged_by.id if logged_by else None,
                                      actor_label="" if logged_by else "kiosk", kind=EventKind.LOGGED,
                                      to_status=CaseStatus.LOGGED, public=True, data={"channel": channel.value}))
        _tell(story, rng_, item, worker, staff)
        if case.mode is Mode.ERRAND:
            case.materials = _documents(case, item, story, rng_)
        case.trip_saved = (case.resolved_at is not None and point.on_island and item.saves_trip
                           and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED))
        case.events = story.events
        case.callbacks = story.callbacks
        cases.append(case)
        if not past:
            progress(1)

    # Proxies share the load (ERRAND_LIMIT): past six open errands each, the rest still wait to be claimed.
    held: dict[int, int] = defaultdict(int)
    for case in sorted(cases, key=lambda c: c.created_at):
        if case.mode is Mode.ERRAND and case.owner_id and case.status in (CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS, CaseStatus.AWAITING_OFFICE):
            held[case.owner_id] += 1
            if held[case.owner_id] > 6:
                case.events = case.events[:1]
                case.status, case.owner_id, case.claimed_at, case.remind_at = CaseStatus.LOGGED, None, None, None
                for document in case.materials:
                    document.holder, document.holder_user_id, document.since = Holder.RESIDENT, None, case.created_at
                    document.handovers = []
                case.attachments = []  # their signatures went with the handovers

    # A few duplicates, merged into the case they repeat.
    open_cases = [c for c in cases if c.status is CaseStatus.LOGGED]
    for duplicate in open_cases[: max(count // 100, 1)]:
        original = rng.choice([c for c in cases if c.item_id == duplicate.item_id and c is not duplicate] or cases)
        if original is duplicate or original.created_at > duplicate.created_at:
            continue
        duplicate.events.append(CaseEvent(at=duplicate.created_at + timedelta(minutes=20),
                                          actor_id=duplicate.created_by_id, kind=EventKind.MERGED,
                                          from_status=CaseStatus.LOGGED, to_status=CaseStatus.MERGED, public=True,
                                          data={"original": original.number}))
        duplicate.status = CaseStatus.MERGED
        duplicate.merged_into = original

    _book_visits(cases, calendars, now, rng)
    # A smaller demo (the tests') keeps the care history of the same share of the homes as of the default's cases.
    cases.extend(_care_history(now, random.Random(seed + 2), counters, calendars, by_team, staff_by_point,
                               team_of_place, first_resident, resident_names, share=min(1.0, count / 2000)))
    db.session.add_all(cases)
    for (prefix, day), last in counters.items():
        db.session.add(CaseNumberCounter(prefix=prefix, day=day, last=last))
    db.session.flush()
    return len(cases)


def _care_history(now: datetime, rng: random.Random, counters, calendars, by_team, staff_by_point, team_of_place,
                  first_resident, resident_names, share: float = 1.0) -> list[Case]:
    """The year's care visits of the island's elderly living alone, every ``CARE_INTERVAL_DAYS`` as the scheduler
    books them: proactive work (主动服务), done and closed, each with its visit. The scheduler books the next ones
    when the demo is loaded."""
    from portal.domain import visits

    item = visits.care_item()
    every = visits.interval_days()
    homes = db.session.execute(
        sa.select(Household.id, Household.place_id, Household.phone, Household.address).join(Place)
        .where(Household.active, Household.elderly_alone, Place.kind == PlaceKind.HAMLET).order_by(Household.id)).all()
    places = {p.id: p for p in db.session.scalars(sa.select(Place).where(Place.kind == PlaceKind.HAMLET))}
    made = []
    for index, home in enumerate(homes):
        if share < 1 and (share <= 0 or index % round(1 / share) != 0):  # no cases (a benchmark's directory): none
            continue
        place, team_id = places[home.place_id], team_of_place.get(home.place_id)
        members, point = by_team.get(team_id, []), places[home.place_id].service_point
        if team_id is None or not members or point is None or not staff_by_point[point.id]:
            continue
        if point.id not in calendars:
            calendars[point.id] = timekeeping.calendar_for(point)
        day = now - timedelta(days=YEAR_DAYS - rng.uniform(0, every))
        while day < now - timedelta(days=2):
            created = clock.local_midnight(clock.local(day).date()) + timedelta(hours=8)
            done = created + timedelta(days=rng.randint(1, 6), hours=rng.randint(1, 8))
            called = done + timedelta(hours=rng.uniform(16, 48))
            day += timedelta(days=every + rng.uniform(-2, 2))
            if called >= now:
                break
            local_day = clock.local(created).date()
            counters[(point.case_prefix, local_day)] += 1
            number = f"{point.case_prefix}-{local_day:%Y%m%d}-{counters[(point.case_prefix, local_day)]:04d}"
            member, staff = rng.choice(members), rng.choice(staff_by_point[point.id])
            resident_id = first_resident.get(home.id)
            case = Case(
                number=number, item_id=item.id, household_id=home.id, resident_id=resident_id,
                requester_name=resident_names.get(resident_id, home.address), requester_phone=home.phone or "",
                place_id=place.id, address=home.address, service_point_id=point.id, channel=Channel.VISIT,
                description="定期关爱探访", mode=Mode.HOME, status=CaseStatus.CLOSED, priority=Priority.NORMAL,
                proactive=True, team_id=team_id, owner_id=member.id, created_at=created, updated_at=called,
                sign_due_at=created + timedelta(hours=2), claimed_at=created + timedelta(minutes=5),
                due_at=timekeeping.due_time(item, created, point, Mode.HOME, calendars[point.id]),
                resolved_at=done, closed_at=called, outcome=Outcome.SOLVED, satisfaction=Satisfaction.SATISFIED,
                redo_count=0, transfer_count=0,
            )
            case.events = [
                CaseEvent(at=created, kind=EventKind.LOGGED, to_status=CaseStatus.LOGGED, public=True,
                          actor_label="care-schedule", data={"channel": Channel.VISIT.value}),
                CaseEvent(at=created + timedelta(minutes=5), actor_id=member.id, kind=EventKind.CLAIMED,
                          from_status=CaseStatus.LOGGED, to_status=CaseStatus.CLAIMED, public=True, data={"in_time": True}),
                CaseEvent(at=done, actor_id=member.id, kind=EventKind.RESOLVED, from_status=CaseStatus.CLAIMED,
                          to_status=CaseStatus.RESOLVED, note="已上门探访，老人身体状况良好", public=True),
                CaseEvent(at=called, actor_id=staff.id, kind=EventKind.CLOSED, from_status=CaseStatus.RESOLVED,
                          to_status=CaseStatus.CLOSED, public=True, data={"outcome": "solved", "satisfaction": "satisfied"}),
            ]
            case.callbacks = [CallbackRecord(at=called, actor_id=staff.id, outcome=Outcome.SOLVED,
                                             satisfaction=Satisfaction.SATISFIED)]
            local = clock.local(done)
            case.visits = [Visit(household_id=home.id, team_id=team_id, day=local.date(),
                                 slot=Slot.AM if local.hour < 13 else Slot.PM, kind=VisitKind.CARE,
                                 status=VisitStatus.DONE, booked_at=created, started_at=done, finished_at=done,
                                 done_by_id=member.id, work_done="定期探访，询问身体和生活情况",
                                 resident_confirmed="老人已签字确认")]
            made.append(case)
    return made


def _book_visits(cases: list[Case], calendars, now: datetime, rng: random.Random) -> None:
    """Home cases of the island's teams get their visit: done on the day they were resolved, or booked
    on the coming working days, as many per half-day as a team takes."""
    taken: dict[tuple[int, object, Slot], int] = defaultdict(int)
    for case in sorted(cases, key=lambda c: c.created_at):
        if case.mode is not Mode.HOME or case.team_id is None or case.status in (CaseStatus.CANCELLED, CaseStatus.MERGED):
            continue
        if case.resolved_at is not None:
            local = clock.local(case.resolved_at)
            case.visits = [Visit(household_id=case.household_id, team_id=case.team_id, day=local.date(),
                                 slot=Slot.AM if local.hour < 13 else Slot.PM, status=VisitStatus.DONE,
                                 booked_at=case.created_at, started_at=case.resolved_at, finished_at=case.resolved_at,
                                 done_by_id=case.owner_id, work_done="已上门办理完毕", resident_confirmed="居民已签字确认")]
            continue
        calendar = calendars[case.service_point_id]
        day = clock.local(now).date() + timedelta(days=1)
        while True:
            if calendar.counts(day, Mode.HOME):
                slot = rng.choice((Slot.AM, Slot.PM))  # evenings are the fishing season's (demo/island.py)
                if taken[(case.team_id, day, slot)] < 4:
                    taken[(case.team_id, day, slot)] += 1
                    break
            day += timedelta(days=1)
        case.visits = [Visit(household_id=case.household_id, team_id=case.team_id, day=day, slot=slot,
                             status=VisitStatus.BOOKED, booked_at=case.created_at)]


@functools.cache
def _signatures() -> tuple[tuple[str, str | None, int], ...]:
    """A few signatures drawn as the screen's pad makes them, each kept once (files are kept by checksum): their
    checksum, their thumbnail's and their size, for the handovers of the demo's history to carry."""
    from portal.demo.errands import drawn_signature

    kept = []
    for seed in range(11, 19):
        data = drawn_signature(seed).data
        thumbnail = attachments.thumbnail_of(data)
        kept.append((files.store(data), files.store(thumbnail) if thumbnail else None, len(data)))
    return tuple(kept)


def _documents(case: Case, item: ServiceItem, story: _Story, rng: random.Random) -> list[CaseMaterial]:
    """The errand's documents, held where its story left them, each with the handovers that took it there (at the
    story's steps, confirmed by the resident or the office's window), each step signed on the screen as the portal
    asks (a signature file of the case, shared by the documents that moved together)."""
    at = {e.kind: e.at for e in story.events}
    taken = at.get(EventKind.STARTED) or at.get(EventKind.CLAIMED)
    resident, office = case.requester_name, f"{item.approving_office or '上级部门'}窗口"
    moves = []  # (when, from, to, confirmed by), in order
    collected = case.status in (CaseStatus.AWAITING_OFFICE, CaseStatus.RESOLVED, CaseStatus.CLOSED) or (
        case.status is CaseStatus.IN_PROGRESS and (EventKind.OFFICE_ANSWERED in at or rng.random() < 0.6)) or (
        case.status is CaseStatus.CLAIMED and rng.random() < 0.3)
    if collected and taken is not None:
        moves.append((taken, Holder.RESIDENT, Holder.PROXY, resident))
        if EventKind.SENT_OFF in at:
            moves.append((at[EventKind.SENT_OFF], Holder.PROXY, Holder.OFFICE, office))
        if EventKind.OFFICE_ANSWERED in at:
            moves.append((at[EventKind.OFFICE_ANSWERED], Holder.OFFICE, Holder.PROXY, office))
        if EventKind.RESOLVED in at:
            moves.append((at[EventKind.RESOLVED], Holder.PROXY, Holder.RESIDENT, resident))
    holder, since = (moves[-1][2], moves[-1][0]) if moves else (Holder.RESIDENT, case.created_at)
    signed = []
    for when, _source, _to, _who in moves:
        digest, thumb, size = rng.choice(_signatures())
        signed.append(Attachment(case=case, filename=f"签名-{case.number}-{clock.local(when):%Y%m%d%H%M%S}.png",
                                 content_type="image/png", size=size, sha256=digest, thumb_sha256=thumb,
                                 uploaded_by_id=case.owner_id, uploaded_at=when))
    return [CaseMaterial(name=name, holder=holder, since=since,
                         holder_user_id=case.owner_id if holder is Holder.PROXY else None,
                         handovers=[MaterialHandover(at=when, from_holder=source, to_holder=to, by_id=case.owner_id,
                                                     confirmed_by=who, signature=signature,
                                                     signature_kind=SignatureKind.DRAWN)
                                    for (when, source, to, who), signature in zip(moves, signed, strict=True)])
            for name in item.material_list]


def _tell(story: _Story, rng: random.Random, item: ServiceItem, worker: User, staff: User) -> None:
    """Play out a case's story step by step until it reaches the present."""
    case = story.case
    sla = timedelta(hours=item.sla_hours)
    roll = rng.random()
    # Returns (退回) wait for the station to re-route them: only the last three days still have any, and
    # there they are common enough (one in six) that every demo data set, loaded at any hour, has some.
    recent = story.now - timedelta(days=3) < case.created_at < story.now - timedelta(hours=2)
    if recent and (roll < 0.08 or roll >= 0.92):
        if story.step(timedelta(hours=rng.uniform(0.2, 1.5)), EventKind.RETURNED, CaseStatus.RETURNED, worker,
                      "不属于本站办理范围，请改派", public=False):
            case.owner_id = None
        return
    if 0.08 <= roll < 0.09:
        story.step(timedelta(hours=rng.uniform(0.2, 6)), EventKind.CANCELLED, CaseStatus.CANCELLED, staff, "居民撤回申请", public=True)
        return

    if item.mode is Mode.COUNTER and rng.random() < 0.85:
        if not story.step(timedelta(minutes=rng.uniform(5, 40)), EventKind.FINISHED_ON_SPOT, CaseStatus.RESOLVED, staff,
                          RESOLUTIONS[Mode.COUNTER], public=True):
            return
        case.owner_id, case.claimed_at, case.resolved_at = staff.id, story.at, story.at
        story.events[-1].data = {"in_time": story.at <= case.sign_due_at}  # finishing it is signing for it
        case.on_spot = True
        story.resolved()
    else:
        # Most cases are signed for within the two working hours; some wait for the next day.
        wait = timedelta(minutes=rng.uniform(5, 100)) if rng.random() < 0.9 else timedelta(hours=rng.uniform(2, 30))
        if not story.step(wait, EventKind.CLAIMED, CaseStatus.CLAIMED, worker, public=True):
            return
        case.owner_id, case.claimed_at = worker.id, story.at
        story.events[-1].data = {"in_time": story.at <= case.sign_due_at}
        story.restart_clock()
        if not story.step(timedelta(hours=rng.uniform(0.1, 12)), EventKind.STARTED, CaseStatus.IN_PROGRESS, worker):
            return
        approval = item.needs_approval and item.mode is Mode.ERRAND
        if approval:
            # Handed in at the office on an off-island day, in its hours; the answer brought back on a later one;
            # the documents handed back to the resident on one of the island's working days (on the mainland,
            # working days throughout).
            off_island = story.calendar.is_off_island if story.point.on_island else (
                lambda day: story.calendar.kind_of(day) == "W")  # a mainland point's office: any working day
            if not story.step(story.until_a_day(rng, off_island, OFFICE_MORNING), EventKind.SENT_OFF,
                              CaseStatus.AWAITING_OFFICE, worker, public=True, data={"office": item.approving_office}):
                return
            if not story.step(story.until_a_day(rng, off_island, OFFICE_AFTERNOON, timedelta(days=1)),
                              EventKind.OFFICE_ANSWERED, CaseStatus.IN_PROGRESS, worker, public=True,
                              data={"answer": "approved"}):
                return
        back = (story.until_a_day(rng, lambda day: story.calendar.kind_of(day) == "W", ISLAND_DAY, timedelta(hours=12))
                if approval else sla * rng.uniform(0.05, 0.6))
        if not story.step(back, EventKind.RESOLVED, CaseStatus.RESOLVED, worker,
                          RESOLUTIONS[item.mode] if not item.code.startswith("HT") else "已上门维修，供热恢复正常",
                          public=True):
            return
        story.resolved()

    for attempt in range(2):
        if not story.step(timedelta(hours=rng.uniform(16, 60)), EventKind.CLOSED, CaseStatus.CLOSED, staff, public=True):
            return
        event = story.events[-1]
        case.closed_at = story.at
        if rng.random() < 0.03:  # three calls, nobody answered: closed without a rating
            event.data = {"unrated": True}
            case.satisfaction = Satisfaction.UNRATED
            case.callback_attempts = 3
            story.callbacks.append(CallbackRecord(at=story.at, actor_id=staff.id, satisfaction=Satisfaction.UNRATED))
            return
        outcome = _pick_weighted(rng, [(Outcome.SOLVED, 88), (Outcome.PARTLY, 8), (Outcome.UNSOLVED, 4)])
        satisfaction = _pick_weighted(rng, [(Satisfaction.SATISFIED, 80), (Satisfaction.BASICALLY, 14),
                                            (Satisfaction.DISSATISFIED, 6)])
        event.data = {"outcome": outcome.value, "satisfaction": satisfaction.value}
        event.note = rng.choice(["", "", "办得很快，谢谢", "工作人员态度很好"]) if satisfaction is not Satisfaction.DISSATISFIED \
            else "问题还没彻底解决"
        case.outcome, case.satisfaction, case.callback_comment = outcome, satisfaction, event.note
        redo = outcome is Outcome.UNSOLVED or satisfaction is Satisfaction.DISSATISFIED
        story.callbacks.append(CallbackRecord(at=story.at, actor_id=staff.id, outcome=outcome, satisfaction=satisfaction,
                                              comment=event.note, redo=redo and attempt == 0))
        if not redo or attempt == 1:
            return
        # An unsolved or dissatisfied callback reopens the case as a redo (重办), as lifecycle.close does.
        event.kind, event.to_status = EventKind.REOPENED, CaseStatus.IN_PROGRESS
        event.data["redo"] = True
        case.status = CaseStatus.IN_PROGRESS
        case.redo_count += 1
        case.closed_at = case.resolved_at = None
        story.restart_clock()
        if not story.step(sla * rng.uniform(0.1, 0.4), EventKind.RESOLVED, CaseStatus.RESOLVED, worker, "重办完成", public=True):
            return
        story.resolved()
