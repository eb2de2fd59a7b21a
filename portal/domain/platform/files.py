"""Where scans and photos are kept: ``UPLOAD_FOLDER`` (default ``instance/uploads``), each file named by its
SHA-256, readable by the portal's own user only, and checked against its hash whenever it is read.

Files are recognised by their first bytes, never by their name or the type a browser claims.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal.domain import DomainError

MAX_BYTES = 5 * 1024 * 1024
# File types accepted for scans and photos, recognised by their first bytes.
SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
]


def folder() -> Path:
    return Path(current_app.config.get("UPLOAD_FOLDER") or os.path.join(current_app.instance_path, "uploads"))


def path_of(digest: str) -> Path:
    return folder() / digest[:2] / digest


def kind_of(data: bytes) -> tuple[str, str]:
    """The content type and extension of a scan or photo; DomainError for anything else."""
    if not data:
        raise DomainError(_l("The file is empty."), field="file")
    if len(data) > MAX_BYTES:
        raise DomainError(_l("The file is larger than 5 MB; scan it at a lower resolution."), field="file")
    for magic, mime, extension in SIGNATURES:
        if data.startswith(magic):
            return mime, extension
    raise DomainError(_l("Only photos (JPEG, PNG) and PDF files are accepted."), field="file")


def store(data: bytes) -> str:
    """Keep ``data`` (once, whoever sends it again) and return its SHA-256. The file and its folder are
    private to the portal's user: these are residents' documents."""
    digest = hashlib.sha256(data).hexdigest()
    path = path_of(digest)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        temporary = path.with_suffix(f".{os.getpid()}.part")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    return digest


def verified(digest: str) -> Path:
    """Where the file is, after checking that it is still what was kept."""
    path = path_of(digest)
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        raise DomainError(_l("The stored file is missing or damaged; ask an administrator to restore it."))
    return path


def delete(digest: str) -> None:
    path_of(digest).unlink(missing_ok=True)
