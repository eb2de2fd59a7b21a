"""What a worker keeps of the directory and the catalog (portal.domain.platform.snapshot): every writer marks
its change, a worker sees a change made elsewhere on its next request, and a transaction changing the
directory reads its own rows."""
import sqlalchemy as sa

from portal.domain import access
from portal.domain.access import heating, people
from portal.domain.platform import snapshot
from portal.extensions import db
from portal.models import ChangeMark, Place, PlaceKind, Role, ServicePoint, User


def marks() -> dict[str, int]:
    rows = db.session.execute(sa.select(ChangeMark.key, sa.func.count()).where(
        ChangeMark.key.in_(["directory", "catalog"])).group_by(ChangeMark.key))
    return dict(rows.all())


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

    other = sa.create_engine(db.engine.url)  # another worker, or a hand-written statement
    with other.begin() as connection:
        connection.execute(sa.text("INSERT INTO places (code, kind, name_zh, name_en, parent_id, active) "
                                   "VALUES ('H98', 'hamlet', '新村', '', :parent, true)"),
                           {"parent": village_id})
        new_id = connection.execute(sa.text("SELECT id FROM places WHERE code = 'H98'")).scalar_one()
        connection.execute(sa.text("INSERT INTO user_places (user_id, place_id) VALUES (:u, :p)"),
                           {"u": proxy_id, "p": new_id})
    other.dispose()

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
