"""The convenience-service case portal (便民服务工单平台).

``create_app`` builds the Flask application: configuration, extensions, the web areas (one
blueprint each), error pages and the ``flask`` commands.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.config import Config, from_environment, normalise_database_url
from portal.extensions import configure_sqlite, csrf, db, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type | dict | None = None) -> Flask:
    """Create and configure an instance of the portal.

    Without ``config`` the settings come from ``Config``, then ``instance/config.py``, then the
    environment. With ``config`` (a class or a mapping, as tests pass) they come from ``Config`` and
    then from it alone, so that nothing in the environment can point a test at a real database.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object(Config)
    if config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.update(from_environment())
    elif isinstance(config, dict):
        app.config.update(config)
    else:
        app.config.from_object(config)

    from portal.web import ChunkedBodies, IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.wsgi_app = ChunkedBodies(app.wsgi_app, lambda: app.config["MAX_CONTENT_LENGTH"])
    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        # X-Forwarded-Host is never read: the hosts a request may name are the configured ones (TRUSTED_HOSTS)
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)
    os.makedirs(app.instance_path, exist_ok=True)
    _settle_database_url(app)
    _settle_secret_key(app)
    _settle_public_address(app)

    from portal import models  # noqa: F401  (the tables, for Alembic and the app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    from portal.web import i18n

    i18n.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])

    from portal import (
        attendance,
        auth,
        boards,
        cases,
        directory,
        errands,
        errors,
        heating,
        imports,
        intake,
        jobs,
        lookup,
        main,
        messages,
        notices,
        offline,
        open311,
        supervision,
        visits,
        web,
    )
    from portal.web import guards, replay

    web.init_app(app)
    auth.init_app(app)
    guards.init_app(app)
    replay.init_app(app)  # after the session's and the route's checks: a saved key is answered only to those
    for area in (auth, main, intake, cases, supervision, errands, visits, heating, boards, open311, lookup, notices,
                 imports, jobs, directory, messages, offline, attendance):
        app.register_blueprint(area.bp)
    errors.init_app(app)
    app.before_request(web.begin_the_view_afresh)  # the last hook before the view (portal/web/__init__.py)

    from portal import cli
    from portal.domain.platform import shelves

    cli.init_app(app)
    shelves.forget_all()  # what the process kept belongs to the database of the app before (tests make many)
    return app


def _settle_database_url(app: Flask) -> None:
    url = app.config.get("SQLALCHEMY_DATABASE_URI")
    if not url:
        url = "sqlite:///" + os.path.join(app.instance_path, "portal.sqlite3")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url)


def _settle_public_address(app: Flask) -> None:
    """Check the one public address, and answer only for its host (``portal.domain.platform.public_address``)."""
    from portal.domain.platform import public_address

    if app.config.get("PUBLIC_URL"):
        raise RuntimeError("PUBLIC_URL was replaced by PUBLIC_BASE_URL, the one address residents reach the portal "
                           "at: set PORTAL_PUBLIC_BASE_URL instead (docs/DEPLOY.md)")
    app.config["PUBLIC_BASE_URL"] = public_address.validate(app.config["PUBLIC_BASE_URL"])
    app.config["TRUSTED_HOSTS"] = public_address.trusted_hosts(app.config["PUBLIC_BASE_URL"],
                                                               app.config["TRUSTED_HOSTS"])


def _settle_secret_key(app: Flask) -> None:
    """Use the configured key, or one kept in ``instance/secret_key`` (made on first start).

    Several servers behind one address must share a key: set SECRET_KEY for them (docs/DEPLOY.md).
    """
    if app.config.get("SECRET_KEY"):
        return
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        # Written aside and linked into place, so that workers starting together agree on one key.
        draft = path.with_name(f"secret_key.{os.getpid()}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    app.config["SECRET_KEY"] = path.read_text().strip()
