"""The Flask extensions, made once here and bound to the app in ``create_app``.

Also the database plumbing that every model shares: the declarative base with its naming
convention and type map, a UTC timestamp type, and the SQLite settings that keep concurrent
writers from ever seeing "database is locked" (WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for
every transaction that may write).
"""
from __future__ import annotations

import contextlib
import contextvars
import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase, registry


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored as naive UTC on every backend and always read back as aware UTC."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use portal.clock.now()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # Enums are stored as their lowercase values in a VARCHAR, so adding a member never needs
    # an ALTER TYPE and the database reads well in psql or sqlite3.
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime,
            enum.Enum: sa.Enum(
                enum.Enum,
                native_enum=False,
                length=24,
                values_callable=lambda members: [m.value for m in members],
                validate_strings=True,
            ),
        },
    )


db = SQLAlchemy(model_class=Base)
# The largest id an integer column holds (PostgreSQL's integer): a larger one in a URL or a form names nothing.
MAX_ID = 2**31 - 1
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


# --- SQLite: WAL, busy timeout, and BEGIN IMMEDIATE --------------------------------------------
#
# pysqlite's own transaction handling is switched off (isolation_level=None) so that we emit BEGIN
# ourselves. A deferred transaction that reads first and writes later can fail at once with
# SQLITE_BUSY when another writer got in between, whatever the busy timeout; taking the write
# lock up front makes writers queue instead. Reads (GET requests) stay deferred so that they run
# side by side with writers under WAL.

_begin_mode: contextvars.ContextVar[str] = contextvars.ContextVar("sqlite_begin_mode", default="IMMEDIATE")


@contextlib.contextmanager
def begin_mode(mode: str):
    """Within this block, new SQLite transactions begin ``mode`` (DEFERRED or IMMEDIATE)."""
    token = _begin_mode.set(mode)
    try:
        yield
    finally:
        _begin_mode.reset(token)


def current_begin_mode() -> str:
    return _begin_mode.get()


def set_begin_mode(mode: str) -> contextvars.Token:
    return _begin_mode.set(mode)


def reset_begin_mode(token: contextvars.Token) -> None:
    _begin_mode.reset(token)


def configure_sqlite(engine: sa.Engine, busy_timeout_ms: int) -> None:
    """Install the pragmas and the BEGIN handling on an SQLite engine."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql(f"BEGIN {_begin_mode.get()}")
