"""Backups that are safe while the portal runs, and restoring them.

SQLite: the online backup API copies a consistent snapshot while writers go on (WAL); the copy is a
single file in rollback-journal mode, checked with ``PRAGMA integrity_check``. PostgreSQL: ``pg_dump``
in its custom format, restored with ``pg_restore`` in one transaction. Either file is created readable
and writable by its owner only (0600): it holds every resident's personal data.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from portal.extensions import db


class BackupError(Exception):
    pass


def _private(path: Path) -> None:
    """Create (or empty) ``path`` with mode 0600 before anything is written to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(descriptor)
    os.chmod(path, 0o600)


def _check(connection: sqlite3.Connection, what: str) -> None:
    result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{what} failed its integrity check: {result}")


def _postgres_url() -> str:
    return db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return found


def backup(path: str | os.PathLike) -> int:
    """Write a backup of the database to ``path``; return its size in bytes."""
    target = Path(path)
    _private(target)
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(url.database, timeout=60)
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            _check(copy, "the backup")
        finally:
            copy.close()
            source.close()
    else:
        subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={target}",
                        _postgres_url()], check=True, capture_output=True)
        os.chmod(target, 0o600)
    return target.stat().st_size


def restore(path: str | os.PathLike) -> None:
    """Replace the database's content with the backup at ``path`` (stop the portal first)."""
    source_path = Path(path)
    url = db.engine.url
    db.session.remove()
    db.engine.dispose()
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(source_path)
        try:
            _check(source, "the backup")
            target = sqlite3.connect(url.database, timeout=60)
            try:
                source.backup(target)
                _check(target, "the restored database")
            finally:
                target.close()
        finally:
            source.close()
    else:
        subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                        "--single-transaction", f"--dbname={_postgres_url()}", str(source_path)],
                       check=True, capture_output=True)
