"""Demo data: loads into an empty database only, covers every role and every case state."""
import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import Case, CaseStatus, Household, Role, User


# On SQLite only: the command's own work (the empty check, the progress bar, the logins) is the same on both
# databases, and loading the demo into PostgreSQL is done, and proven, by the PostgreSQL demo every [postgresql]
# test of the demo data copies (tests/conftest.py, demo_postgres). This load is most of a demo's (the households).
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_data_command_loads_an_empty_database_and_prints_the_logins(app, runner, monkeypatch):
    import click

    bars = []

    class Bar:  # click's bar draws nothing without a terminal: count what it is told instead
        def __init__(self, length, label):
            self.length, self.label, self.done = length, label, 0
            bars.append(self)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            self.done += n

    monkeypatch.setattr(click, "progressbar", Bar)
    result = runner.invoke(args=["demo-data", "--cases", "50"])
    assert result.exit_code == 0, result.output
    assert "staff-ls-c" in result.output and "demo2026" in result.output
    # A progress bar from the first case to the last step, not minutes of silence.
    assert [(b.label, b.done == b.length) for b in bars] == [("demo data", True)] and bars[0].length > 50
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) >= 50


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_data_without_cases_loads_the_directory_and_no_history(app, runner):
    """Where the benchmark starts (`demo-data --cases 0`, then `generate`): the people and places, and none of
    the demo's history (its closed cases, the care visits among them)."""
    result = runner.invoke(args=["demo-data", "--cases", "0"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) > 10_000
        assert db.session.scalar(sa.select(sa.func.count()).where(Case.status == CaseStatus.CLOSED)) == 0


def test_demo_data_fills_directory_people_and_cases(demo_app):
    with demo_app.app_context():
        roles = set(db.session.scalars(sa.select(User.role).distinct()))
        households = db.session.scalar(sa.select(sa.func.count()).select_from(Household))
        states = set(db.session.scalars(sa.select(Case.status).distinct()))
        proxies = db.session.scalar(sa.select(sa.func.count()).where(User.role == Role.PROXY))
        butlers = db.session.scalar(sa.select(sa.func.count()).where(User.role == Role.BUTLER))
        team_members = db.session.scalar(sa.select(sa.func.count()).where(User.role == Role.TEAM))
    assert roles == set(Role)
    assert households > 10_000  # 907 on the island and 9,540 in the estates
    assert proxies == 12 and butlers == 12 and team_members == 18
    assert states >= {CaseStatus.LOGGED, CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS, CaseStatus.AWAITING_OFFICE,
                      CaseStatus.RESOLVED, CaseStatus.CLOSED, CaseStatus.RETURNED, CaseStatus.MERGED}


def test_every_demo_case_has_a_timeline_that_ends_in_its_state(demo_app):
    with demo_app.app_context():
        cases = db.session.scalars(sa.select(Case).options(sa.orm.selectinload(Case.events))).all()
        for case in cases:
            assert case.events, case.number
            last_status_change = [e for e in case.events if e.to_status is not None][-1]
            assert last_status_change.to_status == case.status, case.number


def test_demo_data_refuses_a_database_that_holds_data(demo_app):
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code != 0
    assert "--force" in result.output
    quiet = runner.invoke(args=["demo-data", "--if-empty"])
    assert quiet.exit_code == 0 and "already holds data" in quiet.output


@pytest.mark.parametrize("username", ["admin", "leader", "staff-ls-c", "proxy-h01", "team1-lead", "butler-e01"])
def test_each_demo_login_reaches_its_home_page(demo_app, username):
    client = demo_app.test_client()
    response = client.post("/auth/login", data={"username": username, "password": "demo2026"})
    assert response.status_code == 303
    home = client.get("/")
    assert home.status_code == 200
    assert "您好" in home.get_data(as_text=True)


def test_the_sign_in_page_of_the_demo_lists_every_login_the_readme_lists(demo_app):
    import re
    from pathlib import Path

    readme = Path(__file__).parents[1].joinpath("README.md").read_text(encoding="utf-8")
    table = readme.split("## Demo logins", 1)[1].split("## ", 1)[0]
    listed = {name for row in table.splitlines() if row.startswith("| ")
              for name in re.findall(r"`([a-z0-9-]+)`", row.split("|")[2])}
    assert {"admin", "leader", "head-ht-sqt", "staff-ls-p01", "team1-a"} <= listed
    demo_app.config["DEMO_MODE"] = True
    page = demo_app.test_client().get("/auth/login").get_data(as_text=True)
    shown = set(re.findall(r"<li><code>([a-z0-9-]+)</code>", page))
    assert listed <= shown, listed - shown


def test_the_demo_has_an_errand_signed_at_every_handover_and_waiting_at_the_hall(demo_app):
    from portal.domain import errands
    from portal.models import CaseMaterial, Holder, MaterialHandover, SignatureKind

    with demo_app.app_context():
        case = db.session.scalars(sa.select(Case).join(CaseMaterial).where(CaseMaterial.holder == Holder.HALL)).first()
        assert case is not None and errands.stage(case) == "at_hall"
        steps = errands.handover_slip(case)
        assert len(steps) == 3 and all(s.signature is not None and s.signature_kind is SignatureKind.DRAWN
                                       for s in steps)
        assert steps[-1].receiver.startswith("出岛服务厅 · ")
        unsigned = db.session.scalar(sa.select(sa.func.count()).select_from(MaterialHandover)
                                     .where(MaterialHandover.signature_id.is_(None)))
        assert unsigned == 0


def test_the_demo_has_offices_with_a_week_someone_fell_short_and_a_fishing_season_evening_visit(demo_app):
    from datetime import timedelta

    from portal import clock
    from portal.domain import attendance, visits
    from portal.models import Slot, Visit, VisitKind

    with demo_app.app_context():
        last_week = attendance.week(attendance.monday_of(clock.today()) - timedelta(days=7))
        assert len(last_week.offices) == 6 and all(o.office is not None for o in last_week.offices)
        assert {p.user.office.name_zh for o in last_week.offices for p in o.fell_short} == {"社保所", "文体站"}
        assert [o.office.name_zh for o in last_week.offices if o.short] == ["文体站"]
        # (the scheduler may book a care visit into an evening too: the resident's own is the one requested)
        evening = db.session.scalars(sa.select(Visit).filter_by(slot=Slot.EVENING, kind=VisitKind.REQUEST)).one()
        assert visits.in_season(evening.day) and visits.offered(evening.team, evening.day, Slot.EVENING)
