"""What a worker keeps of the directory, the catalog and the working calendar (portal.domain.platform.snapshot):
every writer marks its change, a worker sees a change made elsewhere on its next request, and a transaction
changing one reads its own rows."""
import contextlib
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from portal import clock
from portal.domain import access
from portal.domain.access import heating, people
from portal.domain.cases import timekeeping
from portal.domain.platform import snapshot
from portal.extensions import db
from portal.models import CalendarDay, ChangeMark, DayKind, Place, PlaceKind, Role, ServiceItem, ServicePoint, User


def marks() -> dict[str, int]:
    rows = db.session.execute(sa.select(ChangeMark.key, sa.func.count()).where(
        ChangeMark.key.in_(["directory", "catalog", "calendar"])).group_by(ChangeMark.key))
    return dict(rows.all())


@contextlib.contextmanager
def elsewhere():
    """A connection of another worker (or a hand-written statement), committed at the end."""
    other = sa.create_engine(db.engine.url)
    try:
        with other.begin() as connection:
            yield connection
    finally:
        other.dispose()


def next_request() -> None:
    """What the end of one request and the start of the next do to the session."""
    db.session.remove()
    snapshot.forget()


def test_every_writer_of_the_directory_and_the_catalog_leaves_a_mark(world):
    """Triggers, not the application, write the marks: a statement typed by hand counts as much as a page."""
    writes = {
        "directory": [
            "INSERT INTO places (code, kind, name_zh, name_en, active) VALUES ('H99', 'hamlet', '新村', '', true)",
            "UPDATE service_points SET phone = '0580-1' WHERE code = 'LS-P01'",
            "UPDATE teams SET name_zh = '一组' WHERE code = 'T1'",
            f"DELETE FROM user_places WHERE user_id = {world.proxy.id}",
            f"DELETE FROM team_places WHERE team_id = {world.t1.id}",
            "DELETE FROM places WHERE code = 'H99'",
        ],
        "catalog": ["UPDATE service_items SET name_en = 'x' WHERE code = 'CV01'"],
        "calendar": [
            "INSERT INTO calendar_days (day, kind, name, active) VALUES ('2031-05-06', 'holiday', '试', true)",
            "UPDATE calendar_days SET name = '试二' WHERE day = '2031-05-06'",
            "INSERT INTO cancelled_sailings (day, reason, note, cancelled_at, active, undo_reason) "
            "VALUES ('2031-05-07', 'fog', '', '2031-05-01 08:00:00', true, '')",
            "UPDATE cancelled_sailings SET active = false WHERE day = '2031-05-07'",
            "DELETE FROM calendar_days WHERE day = '2031-05-06'",
        ],
    }
    db.session.commit()
    for key, statements in writes.items():
        for statement in statements:
            before = marks()
            db.session.execute(sa.text(statement))
            db.session.commit()
            after = marks()
            assert after[key] > before.get(key, 0), statement
            assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in before.items() if k != key}


def test_a_worker_keeps_the_directory_until_another_process_changes_it(app, world):
    proxy_id, village_id = world.proxy.id, world.h01.parent_id
    db.session.commit()
    next_request()
    kept = snapshot.directory()
    next_request()
    assert snapshot.directory() is kept  # nothing changed: not loaded again
    next_request()

    with elsewhere() as connection:
        connection.execute(sa.text("INSERT INTO places (code, kind, name_zh, name_en, parent_id, active) "
                                   "VALUES ('H98', 'hamlet', '新村', '', :parent, true)"),
                           {"parent": village_id})
        new_id = connection.execute(sa.text("SELECT id FROM places WHERE code = 'H98'")).scalar_one()
        connection.execute(sa.text("INSERT INTO user_places (user_id, place_id) VALUES (:u, :p)"),
                           {"u": proxy_id, "p": new_id})

    next_request()
    assert snapshot.directory() is not kept
    assert people.place_by_code()["H98"] == new_id
    assert new_id in access.place_ids(db.session.get(User, proxy_id))


def test_a_transaction_changing_the_directory_reads_its_own_rows_and_no_one_else_does(app, world):
    village_id = world.h01.parent_id
    db.session.commit()
    next_request()
    kept = snapshot.directory()
    db.session.add(Place(code="H97", kind=PlaceKind.HAMLET, name_zh="试村", name_en="", parent_id=village_id))
    assert "H97" in people.place_by_code()  # not yet flushed: seen
    assert "H97" not in kept.codes          # and not in what the worker keeps
    db.session.rollback()
    next_request()
    assert "H97" not in people.place_by_code()
    assert snapshot.directory() is kept


def test_a_user_given_a_place_covers_it_on_the_next_request(app, world):
    proxy_id, h02_id = world.proxy.id, world.h02.id
    db.session.commit()
    next_request()
    proxy = db.session.get(User, proxy_id)
    assert h02_id not in access.place_ids(proxy)
    proxy.places.append(db.session.get(Place, h02_id))
    db.session.commit()
    next_request()
    assert h02_id in access.place_ids(db.session.get(User, proxy_id))


def _due(point: ServicePoint, item) -> datetime:
    return timekeeping.due_time(item, clock.local_midnight(NEXT_MONDAY) + timedelta(hours=9), point)


NEXT_MONDAY = date(2031, 3, 3)  # a Monday without holidays in the demo calendar


def test_a_worker_keeps_the_calendar_until_a_day_changes_anywhere(app, world):
    """The holidays are read once per change, not by every time limit; a holiday written by another process,
    or a cancelled sailing, moves the next limit counted."""
    point_id, item_id = world.h01.service_point_id, world.counter_item.id
    db.session.commit()
    next_request()
    kept = snapshot.calendars()
    point, item = db.session.get(ServicePoint, point_id), db.session.get(ServiceItem, item_id)
    before = _due(point, item)
    next_request()
    assert snapshot.calendars() is kept  # nothing changed: not read again
    next_request()

    with elsewhere() as connection:
        connection.execute(sa.text("INSERT INTO calendar_days (day, kind, name, active) "
                                   "VALUES (:day, 'holiday', '试', true)"), {"day": NEXT_MONDAY})
        connection.execute(sa.text("INSERT INTO cancelled_sailings (day, reason, note, cancelled_at, active, "
                                   "undo_reason) VALUES (:day, 'fog', '', :at, true, '')"),
                           {"day": NEXT_MONDAY + timedelta(days=3), "at": clock.now()})
    next_request()
    assert snapshot.calendars() is not kept
    point, item = db.session.get(ServicePoint, point_id), db.session.get(ServiceItem, item_id)
    assert snapshot.calendars().district[NEXT_MONDAY] is DayKind.HOLIDAY
    assert snapshot.calendars().no_sailing == {NEXT_MONDAY + timedelta(days=3)}
    assert _due(point, item) > before  # the Monday no longer counts


def test_a_transaction_changing_the_calendar_counts_with_its_own_days(app, world):
    """A calendar import counts the open cases' limits again in the transaction that changes the days: it must
    count with the new days, written by the ORM or by a statement, before they are committed."""
    point_id, item_id = world.h01.service_point_id, world.counter_item.id
    db.session.commit()
    next_request()
    point, item = db.session.get(ServicePoint, point_id), db.session.get(ServiceItem, item_id)
    before = _due(point, item)
    kept = snapshot.calendars()
    db.session.add(CalendarDay(day=NEXT_MONDAY, kind=DayKind.HOLIDAY, name="试"))
    later = _due(point, item)
    assert later > before and NEXT_MONDAY not in kept.district  # its own day, not in what the worker keeps
    db.session.execute(sa.delete(CalendarDay).where(CalendarDay.day == NEXT_MONDAY))
    assert _due(point, item) == before  # a statement through the session: read again, without the day
    db.session.rollback()
    next_request()
    assert snapshot.calendars() is kept and _due(db.session.get(ServicePoint, point_id),
                                                  db.session.get(ServiceItem, item_id)) == before


def test_the_heating_desk_rule_agrees_with_the_stations_in_sql(demo_app):
    """``heating.desk`` is worked out from the kept directory; the SQL form of the stations a user sees says
    the same for every user."""
    with demo_app.app_context():
        for user in db.session.scalars(sa.select(User)):
            if user.role not in (Role.STAFF, Role.LEAD) or (user.role is Role.LEAD and access.sees_everything(user)):
                continue
            in_sql = db.session.scalar(sa.select(sa.func.count()).select_from(ServicePoint)
                                       .where(heating.station_scope(user))) > 0
            assert heating.works_in_heating(user) is in_sql, user.username
