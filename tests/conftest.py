"""Fixtures: an app on SQLite and on PostgreSQL, a client, a signed-in ``auth`` helper, factories.

Every test that takes ``app`` runs twice, once per database; its id says which (``[sqlite]`` or
``[postgresql]``), so ``-k sqlite`` or ``-k postgresql`` runs one kind alone. The schema is built
once per run by the Alembic migrations (never ``create_all``): an SQLite template file that each
test copies, and on PostgreSQL a template database of this run's own (``PORTAL_TEST_DATABASE_URL``, default the
local server's ``test`` database, is only used to create and drop it), copied once for each worker and emptied
after each test. The demo data set is loaded once per run on each database, whatever the number of workers:
the first worker to need it loads it under a lock of the run's folder, the others wait and copy it. The run
drops the databases it created when it ends (under xdist, the controller, once the workers are done).
"""
from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask_migrate import upgrade

from portal import create_app
from portal.config import TestConfig, normalise_database_url
from portal.extensions import db
from portal.models import Place, Role, ServiceItem, ServicePoint, Team

POSTGRES_ADMIN_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
PASSWORD = "correct-horse-7"


def _build_each_url_builder_once() -> None:
    """Most tests make an app of their own (``create_app``), and two thirds of the time that takes is werkzeug
    writing, for each of its ~150 routes, the Python source of the function that builds its URLs and compiling
    it. That function is the same for the same rule (its parts, defaults and converters; it finds the rule and
    its converters through its first argument when it runs): compiled once per test process, it is shared by
    every app after. The servers the tests start in other processes (gunicorn) build their own, as in production.
    """
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "__wrapped_by_tests__", False):
        return  # a werkzeug that builds its URLs otherwise: each app compiles its own, as before
    built: dict[tuple, object] = {}

    def compiled_once(self, append_unknown: bool = True):
        key = (self.rule, self.subdomain, self.host, tuple(self._trace), append_unknown,
               repr(sorted((self.defaults or {}).items())),
               tuple((name, type(converter)) for name, converter in self._converters.items()))
        if key not in built:
            built[key] = compile_builder(self, append_unknown)
        return built[key]

    compiled_once.__wrapped_by_tests__ = True
    Rule._compile_builder = compiled_once


_build_each_url_builder_once()


def pytest_sessionstart(session):
    """Compile the translations when they are missing or older than their catalogs (as `make` does)."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in Path(__file__).resolve().parent.parent.glob("portal/translations/*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with open(po, "rb") as source, open(mo, "wb") as target:
                write_mo(target, read_po(source))


def config_for(url: str, **overrides) -> dict:
    settings = {key: getattr(TestConfig, key) for key in dir(TestConfig) if key.isupper()}
    settings["SQLALCHEMY_DATABASE_URI"] = url
    settings.update(overrides)
    return settings


def migrate(url: str) -> None:
    app = create_app(config_for(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _run_folder(tmp_path_factory) -> Path:
    """A folder the whole run shares: under xdist each worker has a base folder of its own, in the run's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def run_lock(shared: Path, name: str):
    """Held by one worker of the run at a time: what the first builds under it, the others find built."""
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """The migrated, empty SQLite database, built once for the whole run."""
    shared = _run_folder(tmp_path_factory)
    path = shared / "template.sqlite3"
    with run_lock(shared, "template.sqlite3"):
        if not path.exists():
            building = shared / "template.building.sqlite3"
            migrate(f"sqlite:///{building}")
            building.rename(path)
    return path


# The databases of one run on the PostgreSQL server are named after it (xdist gives its workers the run's id);
# its folder lists them, for the end.
RUN = os.environ.get("PYTEST_XDIST_TESTRUNUID", uuid.uuid4().hex)[:10]
POSTGRES_CREATED = "postgres-databases"


class PostgresRun:
    """The run's databases on the PostgreSQL server: created from templates built once per run."""

    def __init__(self, admin, shared: Path):
        self.admin, self.shared = admin, shared

    def url(self, name: str) -> str:
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def exists(self, name: str) -> bool:
        with self.admin.connect() as connection:
            return bool(connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}))

    def create(self, name: str, template: str | None = None) -> str:
        with open(self.shared / POSTGRES_CREATED, "a") as created:  # noted first: dropped even if half made
            created.write(name + "\n")
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        return self.url(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def template(self, name: str, build, source: str | None = None) -> str:
        """The run's database ``name``, built by ``build(url)`` from a copy of ``source`` (or empty) by the
        first worker that asks; renamed to its name only once built, so a half-built one is never copied."""
        with run_lock(self.shared, name):
            if not self.exists(name):
                building = f"{name}_building"
                self.drop(building)
                build(self.create(building, source))
                with self.admin.connect() as connection:
                    connection.execute(sa.text(f'ALTER DATABASE "{building}" RENAME TO "{name}"'))
                with open(self.shared / POSTGRES_CREATED, "a") as created:
                    created.write(name + "\n")
        return name


def drop_run_databases(shared: Path) -> None:
    """Drop every database the run created on the PostgreSQL server (its list is in the run's folder)."""
    listed = shared / POSTGRES_CREATED
    if not listed.exists():
        return
    admin = sa.create_engine(normalise_database_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in dict.fromkeys(listed.read_text().split()):
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
    listed.unlink()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    factory = session.config._tmp_path_factory
    # The controller, or a run without workers (nobody uses them now), and only if the run made its folder.
    if not hasattr(session.config, "workerinput") and factory._basetemp is not None:
        drop_run_databases(_run_folder(factory))


@pytest.fixture(scope="session")
def postgres_run(tmp_path_factory):
    """The run's :class:`PostgresRun`, or None and the reason when no PostgreSQL server is reachable."""
    admin_url = normalise_database_url(POSTGRES_ADMIN_URL)
    try:
        admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means: no PostgreSQL here
        yield None, f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({type(error).__name__}); set PORTAL_TEST_DATABASE_URL"
        return
    yield PostgresRun(admin, _run_folder(tmp_path_factory)), None
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url(postgres_run):
    """A database of this worker's own on the PostgreSQL server (a copy of the run's migrated template), or None
    and the reason when none is reachable."""
    run, reason = postgres_run
    if run is None:
        yield None, reason
        return
    template = run.template(f"portal_test_{RUN}_schema", migrate)
    name = f"portal_test_{RUN}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:6]}"
    url = run.create(name, template)
    try:
        remember_seed_rows(url)
        yield url, None
    finally:
        run.drop(name)


_SEED: dict[str, list[dict]] = {}


def remember_seed_rows(url: str) -> None:
    """Keep the rows the migrations themselves insert (the holiday calendar), to put back after each test."""
    engine = sa.create_engine(normalise_database_url(url))
    with engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            rows = [dict(row._mapping) for row in connection.execute(table.select())]
            if rows:
                _SEED[table.name] = rows
    engine.dispose()


def empty_postgres(app) -> None:
    """Remove every row the test wrote, then put back the migrations' own rows (the audit log's guard
    triggers are bypassed for this)."""
    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as connection:
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            for name, rows in _SEED.items():
                table = db.metadata.tables[name]
                connection.execute(table.insert(), rows)
                if "id" in table.c:
                    connection.execute(sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"))
        db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "portal.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url, reason = request.getfixturevalue("postgres_url")
    if url is None:
        pytest.skip(reason)
    return url


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(config_for(database_url, UPLOAD_FOLDER=str(tmp_path / "uploads")))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if database_url.startswith("postgresql"):
        empty_postgres(app)


# --- the demo data set, loaded once per run and copied for each test that uses it ---------------

DEMO_CASES = 600


def load_demo(url: str, uploads) -> None:
    from portal import demo

    app = create_app(config_for(url, UPLOAD_FOLDER=str(uploads)))
    with app.app_context():
        demo.load(case_count=DEMO_CASES)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def demo_uploads(tmp_path_factory):
    """The files the demo keeps (its signed handovers' signatures), copied for each test of the demo data."""
    folder = _run_folder(tmp_path_factory) / "demo-uploads"
    folder.mkdir(exist_ok=True)
    return folder


def copy_demo_uploads(demo_uploads, folder) -> str:
    shutil.copytree(demo_uploads, folder, dirs_exist_ok=True)
    return str(folder)


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory, sqlite_template, demo_uploads):
    """The demo data set in SQLite, loaded once for the whole run (the first worker to need it loads it; the
    others wait for it), and copied for each test."""
    shared = _run_folder(tmp_path_factory)
    path = shared / "demo.sqlite3"
    with run_lock(shared, "demo.sqlite3"):
        if not path.exists():
            loading = shared / "demo.loading.sqlite3"
            shutil.copy(sqlite_template, loading)
            load_demo(f"sqlite:///{loading}", demo_uploads)
            loading.rename(path)
    return path


@pytest.fixture(scope="session")
def demo_postgres(postgres_run, demo_uploads):
    """A PostgreSQL database with the demo data, loaded once for the whole run (as :func:`demo_sqlite`), used as
    the TEMPLATE of each test's copy."""
    run, reason = postgres_run
    if run is None:
        return None, reason

    def load(url):
        own = run.shared / "demo-uploads.postgresql"
        load_demo(url, own)
        add_files(own, demo_uploads)

    schema = run.template(f"portal_test_{RUN}_schema", migrate)
    return (run.admin, run.template(f"portal_test_{RUN}_demo", load, schema)), None


def add_files(source: Path, target: Path) -> None:
    """Move to ``target`` the files of ``source`` it lacks, each appearing whole at once (other workers may be
    copying ``target`` meanwhile: they see no partial file, and none vanishes under them)."""
    for path in sorted(source.rglob("*")):
        destination = target / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(mode=0o700, exist_ok=True)
        elif not destination.exists():
            os.replace(path, destination)


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_app(request, tmp_path):
    """An app on a fresh copy of the demo data set (about 10,000 households, 600 cases)."""
    if request.param == "sqlite":
        path = tmp_path / "demo.sqlite3"
        shutil.copy(request.getfixturevalue("demo_sqlite"), path)
        url, cleanup = f"sqlite:///{path}", None
    else:
        template, reason = request.getfixturevalue("demo_postgres")
        if template is None:
            pytest.skip(reason)
        admin, template_name = template
        run = request.getfixturevalue("postgres_run")[0]
        name = f"{template_name}_{uuid.uuid4().hex[:6]}"
        url = run.create(name, template_name)

        def cleanup():
            run.drop(name)
    uploads = copy_demo_uploads(request.getfixturevalue("demo_uploads"), tmp_path / "uploads")
    app = create_app(config_for(url, UPLOAD_FOLDER=uploads))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if cleanup:
        cleanup()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    """An application context for tests that call the domain directly."""
    with app.app_context():
        yield
        db.session.remove()


class Auth:
    """Signs a test client in and out."""

    def __init__(self, client):
        self.client = client

    def login(self, username: str, password: str = PASSWORD, follow: bool = False):
        return self.client.post("/auth/login", data={"username": username, "password": password},
                                follow_redirects=follow)

    def logout(self):
        return self.client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def make(app):
    from tests.factories import Factory

    return Factory(app)


@contextmanager
def context_of(app):
    """Use the pushed application context when there is one, else push one for the block."""
    if has_app_context():
        yield
    else:
        with app.app_context():
            yield


@pytest.fixture
def world(ctx, make):
    """The demo directory and one person of each kind around the hamlet 东岙 (H01)."""
    make.directory()
    point = lambda code: db.session.scalars(sa.select(ServicePoint).filter_by(code=code)).one()  # noqa: E731
    place = lambda code: db.session.scalars(sa.select(Place).filter_by(code=code)).one()  # noqa: E731
    item = lambda code: db.session.scalars(sa.select(ServiceItem).filter_by(code=code)).one()  # noqa: E731
    team1 = db.session.scalars(sa.select(Team).filter_by(code="T1")).one()
    w = SimpleNamespace(
        h01=place("H01"), h02=place("H02"), e01=place("E01"), t1=team1,
        staff=make.user(Role.STAFF, username="staff-p01", service_point=point("LS-P01"), places=[place("H01")]),
        staff_p02=make.user(Role.STAFF, username="staff-p02", service_point=point("LS-P02"), places=[place("H02")]),
        proxy=make.user(Role.PROXY, username="proxy-h01", places=[place("H01")]),
        proxy_h02=make.user(Role.PROXY, username="proxy-h02", places=[place("H02")]),
        member=make.user(Role.TEAM, username="team1-a", team=team1),
        butler=make.user(Role.BUTLER, username="butler-e01", places=[place("E01")]),
        lead=make.user(Role.LEAD, username="leader"),
        admin=make.user(Role.ADMIN, username="root"),
        counter_item=item("CV01"), errand_item=item("CA01"), home_item=item("SS04"), plain_errand=item("CV05"),
        leak=item("HT03"),
    )
    w.household = make.household(w.h01, address="东岙8号", phone="13912345678", residents=("王大爷",))
    return w


@pytest.fixture
def home(world, monkeypatch, make):
    """The world on Friday 27 November 2026; team 1 covers 东岙 and takes two visits per half-day."""
    from datetime import date, timedelta

    from portal import clock

    monkeypatch.setattr(clock, "today", lambda: date(2026, 11, 27))
    monkeypatch.setattr(clock, "now", lambda: clock.local_midnight(date(2026, 11, 27)) + timedelta(hours=10))
    world.t1.capacity_per_slot = 2
    db.session.commit()
    world.lead_member = make.user(Role.TEAM, username="team1-lead", team=world.t1, is_team_lead=True)
    return world


@pytest.fixture
def district(world, make, monkeypatch):
    """The heating station 石雀滩 with its desk, the butlers of 金色环海 (E01) and 海之韵 (E02), a night
    duty, and a household in E01."""
    station = db.session.scalars(sa.select(ServicePoint).filter_by(code="HT-SQT")).one()
    e02 = db.session.scalars(sa.select(Place).filter_by(code="E02")).one()
    world.station, world.e02 = station, e02
    world.desk = make.user(Role.STAFF, username="desk-sqt", service_point=station, places=[world.e01, e02])
    world.butler2 = make.user(Role.BUTLER, username="butler-e02", places=[e02], service_point=station)
    world.flat = make.household(world.e01, address="金色环海1号楼1单元101", phone="13700000001", residents=("赵先生",))
    world.item = lambda code: db.session.scalars(sa.select(ServiceItem).filter_by(code=code)).one()  # noqa: E731
    return world
