"""The access policy (portal/domain/access): every rule's SQL form and one-object form agree on the demo data,
for every user; every route that names an object answers 404 to a user whose scope does not hold it
(generated from the URL map, so a new route without an object check fails here); and no template, route
or panel decides who may on its own."""
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal import clock
from portal.domain import access
from portal.domain.access.policy import RULES, VIEWS
from portal.extensions import db
from portal.models import (
    Attachment,
    Campaign,
    CampaignVisit,
    CannedReply,
    Case,
    CaseStatus,
    ExtensionRequest,
    Household,
    Incident,
    Job,
    JobStatus,
    Mode,
    Notice,
    Place,
    PlaceKind,
    Role,
    ServicePoint,
    Team,
    User,
    Visit,
    WallScreen,
)
from portal.web.guards import rule_of

ROOT = Path(__file__).resolve().parent.parent
MODELS = {Case, Household, ServicePoint, Campaign, Notice}


def _users():
    return db.session.scalars(sa.select(User).options(selectinload(User.places)).order_by(User.id)).all()


def test_every_rule_with_an_sql_form_agrees_with_its_one_object_form(demo_app):
    with demo_app.app_context():
        _scenery()
        users = _users()
        checked = set()
        for rule in RULES.values():
            if rule.sql is None:
                continue
            checked.add(rule.model)
            rows = db.session.scalars(sa.select(rule.model)).all()
            assert rows, rule.name
            for user in users:
                in_sql = set(db.session.scalars(sa.select(rule.model.id).where(rule.sql(user))))
                in_python = {row.id for row in rows if access.can(user, rule.name, row)}
                assert in_sql == in_python, (rule.name, user.username)
        assert checked >= MODELS


def test_the_two_halves_of_claimable_are_the_rule_and_never_hold_the_same_case(demo_app):
    """Lists read "to claim" as a UNION ALL of ``claimable_halves`` (each one index look-up), not as the OR of
    ``claimable``: the union must be exactly the rule's one-object form, and no case may be in both halves (it
    would be listed twice)."""
    with demo_app.app_context():
        _scenery()
        waiting = db.session.scalars(sa.select(Case).where(Case.status == CaseStatus.LOGGED).order_by(Case.id)).all()
        staff = db.session.scalars(sa.select(User).filter_by(username="staff-ls-p01")).one()
        assigned = next(c for c in waiting if c.owner_id is None and c.incident_id is None
                        and c.service_point_id != staff.service_point_id)
        assigned.owner_id = staff.id  # given to someone outside its point: only the first half holds it
        db.session.flush()
        try:
            found = [0, 0]
            for user in _users():
                halves = access.cases.claimable_halves(user)
                ids = [set(db.session.scalars(sa.select(Case.id).where(half))) for half in halves]
                union = db.session.scalars(sa.union_all(*(sa.select(Case.id).where(half) for half in halves))).all()
                in_python = {case.id for case in waiting if access.can(user, "case.claim", case)}
                assert not ids[0] & ids[1], user.username
                assert sorted(union) == sorted(in_python), user.username
                found = [found[0] + len(ids[0]), found[1] + len(ids[1])]
            assert found[0] and found[1]  # both halves were tried on cases they hold
            assert assigned.id in db.session.scalars(sa.select(Case.id).where(access.cases.claimable_halves(staff)[0])).all()
        finally:
            db.session.rollback()


def test_who_a_case_may_be_given_to_is_the_same_in_sql_and_python(demo_app):
    with demo_app.app_context():
        users = _users()
        for case in db.session.scalars(sa.select(Case).order_by(Case.id).limit(80)):
            in_sql = set(db.session.scalars(sa.select(User.id).where(access.cases.takers(case))))
            assert in_sql == {u.id for u in users if access.cases.may_be_given(u, case)}, case.number


def test_an_island_counter_case_is_entrusted_only_to_its_counter_and_leads(demo_app):
    """The 督办 list of a post's counter case: its clerks and the leads above it, no butler, proxy or team."""
    with demo_app.app_context():
        cases = db.session.scalars(sa.select(Case).join(Place, Place.id == Case.place_id)
                                   .where(Case.mode == Mode.COUNTER, Place.kind == PlaceKind.HAMLET).limit(20)).all()
        assert cases
        for case in cases:
            people = access.cases.who_may_take(case)
            assert {p.role for p in people} <= {Role.STAFF, Role.LEAD} and len(people) <= 8, case.number


def test_who_may_be_on_a_stations_duty_is_the_same_in_sql_and_python(demo_app):
    with demo_app.app_context():
        users = _users()
        stations = db.session.scalars(sa.select(ServicePoint).where(ServicePoint.kind == "heating_station")).all()
        for station in stations:
            in_sql = set(db.session.scalars(sa.select(User.id).where(access.heating.duty_candidates(station))))
            assert in_sql == {u.id for u in users if access.heating.may_be_on_duty(u, station)}, station.code
            assert in_sql and all(db.session.get(User, i).role is not Role.PROXY for i in in_sql)


def test_the_households_a_case_may_name_are_the_same_in_sql_and_python(demo_app):
    with demo_app.app_context():
        users = [u for u in _users() if access.can(u, "case.log")]
        samples = db.session.scalars(sa.select(Household).order_by(Household.id).limit(600)).all()
        phones = [h.phone for h in samples[::100] if h.phone]
        for user in users:
            for phone in phones:
                in_sql = set(db.session.scalars(sa.select(Household.id).where(
                    access.households.reachable(user, phone), Household.id.in_([h.id for h in samples]))))
                assert in_sql == {h.id for h in samples if access.households.usable(user, h, phone)}, user.username


def test_each_role_sees_what_the_rules_say(demo_app):
    with demo_app.app_context():
        def seen(username):
            user = db.session.scalars(sa.select(User).filter_by(username=username)).one()
            return db.session.scalars(sa.select(Case).where(access.case_scope(user))).all(), user

        everything = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
        assert len(seen("leader")[0]) == everything
        proxy_cases, proxy = seen("proxy-h01")
        assert proxy_cases and all(c.mode.value == "errand" and c.place.code == "H01" or c.owner_id == proxy.id
                                   for c in proxy_cases)
        butler_cases, _ = seen("butler-e01")
        assert butler_cases and {c.place.code for c in butler_cases} == {"E01"}
        team_cases, member = seen("team1-a")
        assert team_cases and all(c.team_id == member.team_id or c.owner_id == member.id for c in team_cases)
        post_cases, _ = seen("staff-ls-p01")
        assert post_cases and all(c.place.code == "H01" or c.service_point.code == "LS-P01" for c in post_cases)
        heating_cases, _ = seen("staff-ht-sqt")
        assert {c.place.code for c in heating_cases} <= {"E01", "E02", "E03", "E04"}
        # A station head answers for the station's estates, not for the island's residents.
        head_cases, _ = seen("head-ht-sqt")
        assert head_cases and {c.place.code for c in head_cases} <= {"E01", "E02", "E03", "E04"}
        admin = db.session.scalars(sa.select(User).filter_by(role=Role.ADMIN)).first()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(access.case_scope(admin))) \
            == everything


# --- the object matrix ------------------------------------------------------------------------------------

# What each id in a URL names. A route with a parameter not listed here fails the matrix: say what it names.
NAMES = {
    "number": Case, "visit_id": Visit, "incident_id": Incident, "campaign_id": Campaign,
    "household_id": Household, "attachment_id": Attachment, "request_id": ExtensionRequest,
    "screen_id": WallScreen, "notice_id": Notice, "reply_id": CannedReply, "job_id": Job,
}
OVERRIDES = {("heating.finding_case", "visit_id"): CampaignVisit, ("boards.board", "code"): Place,
             ("boards.export", "code"): Place, ("boards.choose_topic", "code"): Place, ("visits.renew_feed", "code"): Team,
             **{(f"boards.{name}", "code"): Place for name in ("results", "results_docx", "results_xlsx", "shares")}}
FIXED = {"kind": "place", "fmt": "csv", "name": "claim", "decision": "approve"}
# Parameters that are not objects of a scope: the administrator's directory (role-level), an importer's own
# upload (an unguessable token of its uploader), a roster kind, a year of the working calendar (the district's), a
# cancelled sailing (the island's one boat: rule ``sailing.cancel`` has no object).
NOT_OBJECTS = {"section_key", "row_id", "key_id", "key", "token", "year", "sailing_id"}
# One user of each role and of each kind of scope.
PEOPLE = ["staff-ls-p01", "staff-ls-c", "staff-ht-sqt", "proxy-h01", "team1-a", "team1-lead", "butler-e01",
          "head-ht-sqt", "head-ls-c", "leader", "admin"]


def _scenery():
    """Objects of every kind in several scopes: what the demo data does not hold yet."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Notice)):
        return
    place = lambda code: db.session.scalars(sa.select(Place).filter_by(code=code)).one()  # noqa: E731
    leader = db.session.scalars(sa.select(User).filter_by(username="leader")).one()
    today = clock.today()
    for code in ("E10", "H10", "E02", "H02"):
        db.session.add(Notice(title=f"停水通知 {code}", body="明天停水", place=place(code), valid_from=today,
                              valid_to=today + timedelta(days=3), created_by=leader))
    db.session.add(Notice(title="全区通知", body="", place=None, valid_from=today, valid_to=today, created_by=leader))
    db.session.add(Campaign(name="城南站走访", places=[place("E10")], starts_on=today, ends_on=today + timedelta(days=5),
                            created_by=leader))
    admin = db.session.scalars(sa.select(User).filter_by(username="admin")).one()
    for owner in (leader, admin):  # a roster check each: every person has one that is not theirs
        db.session.add(Job(kind="roster_check", params={"kind": "households", "token": "x", "filename": "名册.csv"},
                           user=owner, status=JobStatus.DONE, stage="done", done=1, total=1, error="", attempts=1,
                           worker="w", created_at=clock.now(), result={"missing": [], "rows": 0, "new": 0,
                                                                      "update": 0, "same": 0, "invalid": 0,
                                                                      "errors": []}))
    for code in ("V3", "E11"):
        db.session.add(WallScreen(name=f"屏 {code}", scope_kind="place", scope_code=code, token_hash=code * 8,
                                  created_by=leader, created_at=clock.now()))
    for code in ("H10", "E10", "H01", "E01"):
        case = db.session.scalars(sa.select(Case).where(Case.place_id == place(code).id, Case.owner_id.is_not(None),
                                                        Case.status.in_([CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS]))
                                  .order_by(Case.id)).first()
        if case is None:
            continue
        db.session.add(Attachment(case=case, filename="回执.png", content_type="image/png", size=3, sha256="0" * 64,
                                  uploaded_by=case.owner, uploaded_at=clock.now()))
        db.session.add(ExtensionRequest(case=case, requested_by=case.owner, reason="等待上级答复",
                                        old_due_at=case.due_at or clock.now(),
                                        new_due_at=(case.due_at or clock.now()) + timedelta(days=3)))
    db.session.commit()


def _object_routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or rule_of(view) is None or not rule.arguments:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _kind(rule, name):
    return OVERRIDES.get((rule.endpoint, name)) or NAMES.get(name)


def _value(obj):
    if isinstance(obj, Case):
        return obj.number
    if isinstance(obj, (Place, Team)):
        return obj.code
    return obj.id


def test_every_route_that_names_an_object_says_what_it_names(app):
    unknown = [(rule.endpoint, name) for rule, _method in _object_routes(app) for name in rule.arguments
               if name not in FIXED and name not in NOT_OBJECTS and _kind(rule, name) is None]
    assert unknown == []


# On SQLite only: every route asks the same rules, whose SQL forms are proven on both databases above; this walk
# proves each route asks them (some 500 requests).
@pytest.mark.parametrize("demo_app", ["sqlite"], indirect=True)
def test_an_object_of_another_scope_answers_404_on_every_route(demo_app):
    with demo_app.app_context():
        _scenery()
        people = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(PEOPLE)))}
        pools = {model: db.session.scalars(sa.select(model).order_by(model.id)).all()
                 for model in {*NAMES.values(), *OVERRIDES.values()}}
        clients = {}
        for username in PEOPLE:
            clients[username] = demo_app.test_client()
            assert clients[username].post("/auth/login", data={"username": username, "password": "demo2026"}
                                          ).status_code == 303
        outside = {(name, model): next((o for o in pools[model] if not access.can(people[name], VIEWS[model], o)),
                                       None)
                   for name in PEOPLE for model in pools if model in VIEWS}
        adapter = demo_app.url_map.bind("localhost")
        problems, tried, covered = [], 0, set()
        for rule, method in _object_routes(demo_app):
            if any(name in NOT_OBJECTS for name in rule.arguments):
                continue
            allowed = rule_of(demo_app.view_functions[rule.endpoint])
            for username in PEOPLE:
                user = people[username]
                if user.role not in allowed:
                    continue
                values, foreign = dict(FIXED), True
                for name in rule.arguments - FIXED.keys():
                    model = _kind(rule, name)
                    view = VIEWS.get(model)
                    if view is None:  # not a scoped object (a stock phrase): any will do
                        values[name] = _value(pools[model][0])
                        continue
                    if outside[username, model] is None:  # sees every object of the kind
                        foreign = False
                        break
                    values[name] = _value(outside[username, model])
                if not foreign:
                    continue
                url = adapter.build(rule.endpoint, {k: v for k, v in values.items() if k in rule.arguments},
                                    method=method)
                response = clients[username].open(url, method=method, data={} if method == "POST" else None)
                tried += 1
                covered.add(rule.endpoint)
                if response.status_code != 404:
                    problems.append(f"{method} {url} as {username}: {response.status_code}")
        scoped = {r.endpoint for r, _m in _object_routes(demo_app) if not r.arguments & NOT_OBJECTS}
        assert tried > 200 and covered == scoped
        assert problems == [], "\n".join(problems)


# --- nobody else decides -------------------------------------------------------------------------------

ROLE_TEST = re.compile(r"role(\.value)?\s*(==|!=|\bin\b|\bnot in\b|\bis\b)|is_team_lead")


def test_no_template_compares_roles():
    found = [f"{path.relative_to(ROOT)}:{n}" for path in (ROOT / "templates").rglob("*.html")
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if ROLE_TEST.search(line)]
    assert found == []


def test_no_route_or_panel_holds_an_access_rule():
    """Routes declare which roles may call them (``@allow``) and ask the policy about objects; they never test
    a role or a scope themselves."""
    files = [*(ROOT / "portal").glob("*/routes.py"), *(ROOT / "portal").glob("*/panel.py"),
             ROOT / "portal/web/navigation.py"]
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}" for path in files
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if ROLE_TEST.search(line) and "register(" not in line]
    assert found == []


def test_leads_see_only_what_their_places_hold(demo_app):
    with demo_app.app_context():
        head = db.session.scalars(sa.select(User).filter_by(username="head-ht-sqt")).one()
        island_case = db.session.scalars(sa.select(Case).join(Place, Place.id == Case.place_id)
                                         .where(Place.code == "H01")).first()
        assert not access.can(head, "case.view", island_case) and access.sees_everything(head) is False
        leader = db.session.scalars(sa.select(User).filter_by(username="leader")).one()
        assert access.can(leader, "case.view", island_case) and access.sees_everything(leader)


def test_asking_a_user_for_a_rule_that_does_not_exist_is_a_mistake_of_the_code():
    with pytest.raises(KeyError):
        access.can(object(), "case.fly", None)


def test_the_policy_knows_every_kind_a_route_names():
    assert {m for m in NAMES.values() if m is not CannedReply} <= set(VIEWS)
    assert {CampaignVisit, Team} <= set(VIEWS)
