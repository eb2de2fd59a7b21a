"""The district-scale generator behind `make bench`: realistic, consistent with the domain's rules, and
its board counters agreeing with its timelines."""
import collections

import sqlalchemy as sa

from portal.domain import access
from portal.domain.boards import counters
from portal.extensions import db
from portal.models import (
    OPEN_STATUSES,
    Case,
    CaseCount,
    CaseEvent,
    CaseStatus,
    ChangeMark,
    EventKind,
    Household,
    Mode,
    Place,
    PlaceKind,
    Resident,
    Role,
    ServicePoint,
    User,
)


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _open_errands() -> list[tuple[str, int]]:
    return db.session.execute(
        sa.select(User.username, sa.func.count()).join(Case, Case.owner_id == User.id)
        .where(User.role == Role.PROXY, Case.mode == Mode.ERRAND, Case.status.in_(OPEN_STATUSES))
        .group_by(User.username)).all()


def test_generate_adds_households_and_cases_spread_over_states_with_their_timelines(demo_app):
    demo_app.config["ERRAND_LIMIT"] = 2  # tight, so that the generator must share errands out or pool them
    runner = demo_app.test_cli_runner()
    with demo_app.app_context():
        households, cases = _count(Household), _count(Case)
        before = dict(_open_errands())
    result = runner.invoke(args=["generate", "--households", str(households + 300), "--cases", "4000",
                                 "--years", "1", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "added 300 households" in result.output and "4000 cases" in result.output
    with demo_app.app_context():
        assert _count(Household) == households + 300
        assert _count(Case) == cases + 4000
        states = dict(db.session.execute(sa.select(Case.status, sa.func.count()).group_by(Case.status)).all())
        assert states[CaseStatus.CLOSED] > 3000  # a year of history: most cases are long closed
        assert sum(states.get(s, 0) for s in OPEN_STATUSES) > 0 and states.get(CaseStatus.RESOLVED, 0) > 0
        assert len(set(db.session.scalars(sa.select(Case.item_id)))) > 10
        # Every generated case has its timeline, starting with the logging.
        assert _count(Case, ~sa.exists().where(CaseEvent.case_id == Case.id)) == 0
        # No proxy holds more open errands than the limit the portal enforces.
        held = _open_errands()
        assert held and all(n <= max(before.get(name, 0), 2) for name, n in held), (before, held)
        # The board counters were rebuilt from the timelines: a second rebuild changes nothing.
        logged = db.session.scalar(sa.select(sa.func.sum(CaseCount.logged)))
        resolved = db.session.scalar(sa.select(sa.func.sum(CaseCount.resolved)))
        assert logged == _count(Case)
        counters.rebuild()
        assert db.session.scalar(sa.select(sa.func.sum(CaseCount.logged))) == logged
        assert db.session.scalar(sa.select(sa.func.sum(CaseCount.resolved))) == resolved


def test_generate_runs_again_on_its_own_data_and_the_portal_goes_on_numbering(demo_app):
    runner = demo_app.test_cli_runner()
    with demo_app.app_context():
        households = _count(Household)
    for total in (households + 50, households + 120):
        result = runner.invoke(args=["generate", "--households", str(total), "--cases", "100", "--seed", "3"])
        assert result.exit_code == 0, result.output
    with demo_app.app_context():
        assert _count(Household) == households + 120
        # The ids were set by the generator; on PostgreSQL the sequences were moved past them.
        place = db.session.scalars(sa.select(Household.place_id).limit(1)).one()
        home = Household(code="T-NEW-1", place_id=place, address="新楼1号")
        db.session.add(home)
        db.session.flush()
        db.session.add(Resident(household_id=home.id, name="新住户"))
        db.session.add(CaseEvent(case_id=db.session.scalars(sa.select(Case.id).limit(1)).one(), kind=EventKind.NOTE,
                                 note="after generating"))
        db.session.commit()


def test_generate_refuses_a_database_without_the_directory(app):
    result = app.test_cli_runner().invoke(args=["generate", "--households", "10", "--cases", "10"])
    assert result.exit_code != 0 and "demo-data --cases 0" in result.output


def test_generate_makes_a_city_of_districts_each_with_its_share_and_people_who_see_their_own(demo_app):
    runner = demo_app.test_cli_runner()
    with demo_app.app_context():
        households, places = _count(Household), _count(Place)
        demo_cases = dict(db.session.execute(sa.select(Place.code, sa.func.count()).join(Case, Case.place_id == Place.id)
                                             .group_by(Place.code)).all())
    for districts in (2, 3, 3):  # a later run keeps the copies it finds and copies the first district alone
        result = runner.invoke(args=["generate", "--households", str(households * 3), "--cases", "600",
                                     "--years", "1", "--districts", str(districts), "--seed", "5"])
        assert result.exit_code == 0, result.output
    with demo_app.app_context():
        assert _count(Place) == places * 3 and not _count(Place, Place.code.like("%-2-3"))
        assert {code for code in db.session.scalars(sa.select(ServicePoint.case_prefix))} == {
            "LS", "HT", "LSB", "HTB", "LSC", "HTC"}

        def district(case_place_code: str) -> str:
            return case_place_code.rsplit("-", 1)[1] if "-" in case_place_code else "1"

        shares = collections.Counter()
        for code, count in db.session.execute(sa.select(Place.code, sa.func.count()).join(Case, Case.place_id == Place.id)
                                              .group_by(Place.code)).all():
            shares[district(code)] += count - demo_cases.get(code, 0)
        # 600 over two districts, then twice 600 over three: about 700, 700 and 400.
        assert sum(shares.values()) == 1800 and shares["1"] > 550 and shares["2"] > 550 and shares["3"] > 280, shares
        # A copy's case numbers carry its prefix, its households their own phones, its people its places.
        copy = db.session.scalars(sa.select(Case).join(Place, Case.place_id == Place.id)
                                  .where(Place.code == "H01-2").limit(1)).one()
        assert copy.number.startswith("LSB-")
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(Household).where(
            Household.code.like("%-2"), Household.phone.in_(sa.select(Household.phone).where(
                Household.code.not_like("%-2"), Household.code.not_like("%-3")))))
        # The leader who sees every place (the wall view, the monthly report) is the city's, one.
        assert db.session.scalars(sa.select(User.username).where(User.username.like("leader%"))).all() == ["leader"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ChangeMark).where(
            ChangeMark.key == "directory")) == 1  # compacted, as the sweep leaves them
        proxy = db.session.scalars(sa.select(User).filter_by(username="proxy-h01-2")).one()
        assert [p.code for p in proxy.places] == ["H01-2"] and proxy.service_point.code == "LS-P01-2"
        # What the copy's proxy may see is its own district's: no case of the first.
        seen = db.session.scalars(sa.select(Place.code).join(Case, Case.place_id == Place.id)
                                  .where(access.case_scope(proxy)).distinct()).all()
        assert seen and all(code.endswith("-2") for code in seen), seen
        # Ids were given by the generator: on PostgreSQL the sequences were moved past them.
        db.session.add(Place(code="NEW-1", kind=PlaceKind.HAMLET, name_zh="新村"))
        db.session.commit()
