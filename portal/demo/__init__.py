"""Demo data: the directory from this package's CSV files, synthetic households, users and cases.

``flask --app portal demo-data`` calls ``load``. The CSV files under ``data/`` are the project's own
copy of the reference data (places, service points, teams, the 41-item catalog); names of people,
phones and addresses are made up with Faker's zh_CN locale from a fixed seed, so every load is alike.
"""
from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from faker import Faker

from portal import clock
from portal.demo.baselines import BASELINE_WORKING_DAYS
from portal.demo.cases import load_cases
from portal.demo.errands import load_signed_handover
from portal.demo.heating import load_heating
from portal.demo.island import load_island_programme
from portal.domain import visits
from portal.domain.boards import counters
from portal.domain.cases import calendar_years, supervision
from portal.domain.cases.timekeeping import default_schedule
from portal.domain.platform import accounts, audit, unit
from portal.domain.platform.directory import pinyin_index
from portal.domain.platform.privacy import id_check_digit
from portal.extensions import db
from portal.models import (
    CannedReply,
    CaseStatus,
    Household,
    Mode,
    Place,
    PlaceKind,
    PointKind,
    Resident,
    Role,
    ServiceItem,
    ServicePoint,
    Team,
    User,
)

DATA = Path(__file__).parent / "data"
DEMO_PASSWORD = "demo2026"

# Which office approves the errands of each category (the CSV leaves it out).
APPROVING_OFFICES = {
    "民政": "西海岸新区民政局",
    "社会保障": "西海岸新区人力资源和社会保障局",
    "退役军人服务": "西海岸新区退役军人事务局",
    "规划建设": "西海岸新区自然资源局",
    "党建服务": "西海岸新区党委组织部",
    "便民服务": "西海岸新区政务服务中心",
    "旅游咨询": "西海岸新区文化和旅游局",
    "供热": "供热公司客户服务中心",
}
URGENT_ITEMS = {"HT03", "HT08"}
# Stock phrases offered on the case page: (item code or None for all, status or None for all, the action whose text
# they are written in or None for all, text).
CANNED_REPLIES = [
    (None, None, "note", "已电话联系居民，告知所需材料"),
    (None, "in_progress", "note", "材料已收齐，将于出岛日报送上级部门"),
    (None, "in_progress", "resolve", "已办结，结果已告知居民"),
    (None, "logged", "return_case", "不属于本站办理范围，请改派"),
    (None, "resolved", "close", "居民对办理结果表示满意"),
    ("SS04", None, "resolve", "已上门完成养老金资格认证"),
    ("HT03", None, "resolve", "已上门更换阀门，漏水已止住"),
    ("HT04", None, "resolve", "已上门排气，暖气恢复正常"),
    ("HT01", None, "resolve", "已检查入户阀门和过滤网，清洗后温度恢复"),
]
POINT_PHONES = {"LS-C": "053286801234", "LS-OFF": "053286805678", "HT-SQT": "053286661234",
                "HT-HB": "053286662345", "HT-CN": "053286663456"}


def read_csv(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def database_is_empty() -> bool:
    """True when no directory rows exist yet (a freshly migrated database)."""
    return all(
        db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
        for model in (Place, ServicePoint, ServiceItem, User)
    )


def load_directory() -> None:
    """Load places, service points, teams and the service catalog from the CSV files."""
    points: dict[str, ServicePoint] = {}
    for index, row in enumerate(read_csv("service_points.csv")):
        week, hours, holidays = default_schedule(row["kind"], row["on_island"] == "yes")
        point = ServicePoint(
            week=week, hours=hours, observes_holidays=holidays,
            code=row["code"], kind=PointKind(row["kind"]), name_zh=row["name_zh"], name_en=row["name_en"],
            on_island=row["on_island"] == "yes",
            case_prefix="HT" if row["kind"] == "heating_station" else "LS",
            phone=POINT_PHONES.get(row["code"], f"05328680{1000 + index}"),
        )
        points[row["code"]] = point
        db.session.add(point)
    places: dict[str, Place] = {}
    point_place: dict[str, str] = {row["code"]: row["place_code"] for row in read_csv("service_points.csv")}
    for row in read_csv("places.csv"):
        place = Place(
            code=row["code"], kind=PlaceKind(row["kind"]), name_zh=row["name_zh"], name_en=row["name_en"],
            parent=places.get(row["parent_code"]), service_point=points.get(row["served_by"]),
            household_count=int(row["households"]) if row["households"] else None,
        )
        places[row["code"]] = place
        db.session.add(place)
    for code, place_code in point_place.items():
        points[code].place = places[place_code]
    for row in read_csv("service_catalog.csv"):
        db.session.add(
            ServiceItem(
                code=row["code"], category_zh=row["category_zh"], category_en=row["category_en"],
                name_zh=row["name_zh"], name_en=row["name_en"], keywords=row["keywords_zh"],
                pinyin=pinyin_index(row["name_zh"], row["keywords_zh"]), mode=Mode(row["mode"]),
                needs_approval=row["needs_approval"] == "yes", sla_hours=int(row["sla_hours"]),
                journeys=int(row.get("journeys") or 0),
                baseline_working_days=BASELINE_WORKING_DAYS.get(row["code"]),
                urgent=row["code"] in URGENT_ITEMS,
                materials="\n".join(m for m in row["materials_zh"].split(";") if m),
                approving_office=APPROVING_OFFICES.get(row["category_zh"], "") if row["needs_approval"] == "yes" else "",
            )
        )
    items = {i.code: i for i in db.session.new if isinstance(i, ServiceItem)}
    for code, status, action, text in CANNED_REPLIES:
        db.session.add(CannedReply(item=items.get(code), status=CaseStatus(status) if status else None, action=action,
                                   text=text))
    hamlets = sorted((p for p in places.values() if p.kind is PlaceKind.HAMLET), key=lambda p: p.code)
    for index, row in enumerate(read_csv("teams.csv")):
        db.session.add(
            Team(code=row["code"], name_zh=row["name_zh"], name_en=row["name_en"], service_point=points["LS-C"],
                 places=hamlets[index * 2:index * 2 + 2])
        )
    db.session.flush()


@dataclass
class Login:
    role: Role
    username: str
    description: str


def load_users(password: str = DEMO_PASSWORD) -> list[Login]:
    """Create users for every role; all share one demo password."""
    fake = Faker("zh_CN")
    fake.seed_instance(20261128)
    password_hash = accounts.hash_password(password)  # one hash for all: demo data only
    points = {p.code: p for p in db.session.scalars(sa.select(ServicePoint))}
    places = {p.code: p for p in db.session.scalars(sa.select(Place))}
    teams = list(db.session.scalars(sa.select(Team).order_by(Team.code)))
    logins: list[Login] = []

    def add(username, role, description, **fields):
        user = User(username=username, display_name=fields.pop("display_name", None) or fake.name(), role=role,
                    phone=_mobile(fake), password_hash=password_hash, **fields)
        db.session.add(user)
        logins.append(Login(role, username, description))
        return user

    add("admin", Role.ADMIN, "系统管理员 administrator", display_name="系统管理员")
    add("leader", Role.LEAD, "新区领导 district leader (all boards)")
    for code, point in points.items():
        served = [p for p in places.values() if p.service_point is point]
        if point.kind is PointKind.OFFSHORE_HALL:  # the off-island hall receives and chases the island's errands
            served = [places["LS"]]
        add(f"staff-{code.lower()}", Role.STAFF, f"{point.name_zh} 窗口人员", service_point=point, places=served)
        if point.kind is PointKind.HEATING_STATION:
            add(f"head-{code.lower()}", Role.LEAD, f"{point.name_zh} 站长", service_point=point, places=served)
    add("head-ls-c", Role.LEAD, "灵山岛便民服务中心 主任", service_point=points["LS-C"],
        places=[places["LS"]])
    for place in sorted(places.values(), key=lambda p: p.code):
        if place.kind is PlaceKind.HAMLET:
            add(f"proxy-{place.code.lower()}", Role.PROXY, f"{place.name_zh} 代办党员",
                service_point=place.service_point, places=[place])
        elif place.kind is PlaceKind.ESTATE:
            add(f"butler-{place.code.lower()}", Role.BUTLER, f"{place.name_zh} 片区管家",
                service_point=place.service_point, places=[place])
    for team in teams:
        number = team.code[1:]
        add(f"team{number}-lead", Role.TEAM, f"{team.name_zh} 队长", team=team, is_team_lead=True,
            service_point=team.service_point, places=list(team.places))
        for letter in "ab":
            add(f"team{number}-{letter}", Role.TEAM, f"{team.name_zh} 队员", team=team,
                service_point=team.service_point, places=list(team.places))
    db.session.flush()
    return logins


def _mobile(fake: Faker) -> str:
    return fake.random_element(["138", "139", "150", "151", "158", "186", "187", "135", "137", "188"]) + \
        str(fake.random_int(10_000_000, 99_999_999))


def _id_number(rng: random.Random, birth_year: int, taken: set[str]) -> str:
    """A valid ID number nobody in ``taken`` has (one person, one number)."""
    while True:
        region = rng.choice(["370211", "370285", "370282", "370203"])
        first17 = f"{region}{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(100, 999)}"
        if (number := first17 + id_check_digit(first17)) not in taken:
            taken.add(number)
            return number


def load_households(seed: int = 2026) -> int:
    """Create the households of every hamlet and estate (as many as places.csv says), with residents."""
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    created, taken = 0, set(db.session.scalars(sa.select(Resident.id_number).where(Resident.id_number.is_not(None))))
    places = db.session.scalars(
        sa.select(Place).where(Place.kind.in_([PlaceKind.HAMLET, PlaceKind.ESTATE])).order_by(Place.code)
    ).all()
    for place in places:
        island = place.kind is PlaceKind.HAMLET
        for number in range(1, (place.household_count or 0) + 1):
            if island:
                address = f"{place.name_zh}{number}号"
                building = None
            else:
                building = f"{(number - 1) // 48 + 1}号楼"
                floor, door = (number - 1) % 24 // 2 + 1, (number - 1) % 2 + 1
                address = f"{place.name_zh}{building}{(number - 1) % 48 // 24 + 1}单元{floor}0{door}"
            elderly = island and rng.random() < 0.12
            busy = island and not elderly and rng.random() < 0.10
            household = Household(
                code=f"{place.code}-{number:05d}", place=place, address=address, building=building,
                phone=_mobile(fake), elderly_alone=elderly, disabled=rng.random() < (0.05 if island else 0.02),
                bedridden=elderly and rng.random() < 0.15, busy_in_season=busy,
                season_months="4,5,9,10,11" if busy else None,
            )
            size = 1 if elderly else rng.choice([1, 2, 2, 3, 3, 4])
            surname = fake.last_name()
            for index in range(size):
                birth_year = rng.randint(1935, 1958) if elderly else rng.randint(1950, 2015)
                household.residents.append(
                    Resident(
                        name=surname + fake.first_name() if index < 2 or rng.random() < 0.8 else fake.name(),
                        phone=household.phone if index == 0 else (_mobile(fake) if birth_year < 2008 else None),
                        id_number=_id_number(rng, birth_year, taken) if rng.random() < 0.7 else None,
                    )
                )
            db.session.add(household)
            created += 1
        db.session.flush()
    return created


# What loading costs besides the cases, in units of one case, for the progress bar of `make run`.
STEP_COST = {"directory": 50, "households": 400, "heating": 100, "sweep": 200, "counters": 100}


def load(case_count: int = 2000, seed: int = 2026, progress: Callable[[int], None] = lambda n: None) -> list[Login]:
    """Load everything into an empty, migrated database and commit; ``progress(n)`` as work is done (in
    all, ``case_count + sum(STEP_COST.values())``)."""

    load_directory()
    logins = load_users()
    # The years that no notice has confirmed yet, before any due time is counted: provisional (and the
    # leads are warned until an administrator imports the notice).
    for year in (clock.today().year, clock.today().year + 1):
        if calendar_years.status(year) is None:
            calendar_years.fill_provisional(year, None)
    progress(STEP_COST["directory"])
    load_households(seed)
    progress(STEP_COST["households"])
    load_cases(case_count, seed, progress)
    audit.record("demo_data", actor_name="cli", reason=f"{case_count} cases")
    unit.end_step()
    # As cron would have: reminders, overdue flags and problem cases for the demo's open cases, and the
    # care visits of the elderly living alone; and each team's calendar feed address.

    load_heating(seed)
    load_signed_handover()  # one errand walked resident → proxy → office → hall, every handover signed
    load_island_programme()  # the offices' "3+2" weeks, and a fishing-season evening visit
    progress(STEP_COST["heating"])
    supervision.sweep(batch=5000)
    visits.schedule_care_visits()
    unit.end_step()
    progress(STEP_COST["sweep"])

    counters.rebuild()  # the cases above were written in bulk: count them for the boards
    progress(STEP_COST["counters"])
    return logins


# One login of each kind, as `make run` prints them and the login page lists them.
FEATURED = ["admin", "leader", "staff-ls-c", "staff-ls-p01", "staff-ls-off", "staff-ht-sqt", "head-ht-sqt", "proxy-h01",
            "team1-lead", "team1-a", "butler-e01"]


def logins_from_database(everyone: bool = False) -> list[Login]:
    """The demo logins as the database holds them: the featured ones, or ``everyone``."""
    query = sa.select(User).where(User.active).order_by(User.role, User.username)
    if not everyone:
        query = query.where(User.username.in_(FEATURED))
    users = sorted(db.session.scalars(query), key=lambda u: FEATURED.index(u.username) if u.username in FEATURED else 99)
    return [Login(u.role, u.username, u.display_name) for u in users]
