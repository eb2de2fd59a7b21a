"""Where scans and photos are kept: ``UPLOAD_FOLDER`` (default ``instance/uploads``), each file named by its
SHA-256, readable by the portal's own user only, and checked against its hash whenever it is read.

Files are recognised by their first bytes, never by their name or the type a browser claims; a photo is
measured from its header (never decoded here) and refused when it is larger than any phone camera makes.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image

from portal.domain import DomainError

MAX_BYTES = 5 * 1024 * 1024
# The largest photo accepted. Phone cameras make 12 to 50 million pixels in their normal mode (the 108 and
# 200 MP sensors save 12.5 MP binned unless asked otherwise, and their full-size photos, like panoramas, are
# larger than 5 MB anyway); scanners make less (A4 at 600 dpi is 35 million). What is larger is not a photo of
# a case but a file made to exhaust memory when decoded. The refusal message names these two numbers.
MAX_PIXELS = 50_000_000
MAX_SIDE = 12_000
# File types accepted for scans and photos, recognised by their first bytes.
SIGNATURES = [
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"%PDF-", "application/pdf", ".pdf"),
]
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG"}


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
            if mime.startswith("image/"):
                _check_camera_size(data, PILLOW_FORMATS[mime])
            return mime, extension
    raise DomainError(_l("Only photos (JPEG, PNG) and PDF files are accepted."), field="file")


def _check_camera_size(data: bytes, pillow_format: str) -> None:
    """DomainError for a photo larger than any phone camera makes. ``Image.open`` reads the header only: the
    size is known before a single pixel is decoded. A photo whose header cannot be read is let through: it is
    kept without a thumbnail (``attachments``), as before."""
    try:
        with Image.open(io.BytesIO(data), formats=[pillow_format]) as image:
            width, height = image.size
        too_large = width * height > MAX_PIXELS or max(width, height) > MAX_SIDE
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        too_large = True  # Pillow's own limit (90 million pixels; an error at twice that) is above ours
    except (OSError, SyntaxError, ValueError):
        return
    if too_large:
        raise DomainError(_l("The picture is larger than any phone camera makes (at most 50 megapixels and "
                             "12,000 pixels a side); send the photo as the phone took it, or a smaller copy."),
                          field="file")


def store(data: bytes) -> str:
    """Keep ``data`` (once, whoever sends it again) and return its SHA-256. The file (0600), its folder and
    the upload folder (0700) are private to the portal's user: these are residents' documents."""
    digest = hashlib.sha256(data).hexdigest()
    path = path_of(digest)
    private_folder(folder())
    private_folder(path.parent)
    if not path.exists():
        # One writer's own name (a process's threads may keep the same file at the same moment: the same signature)
        temporary = path.with_suffix(f".{os.getpid()}-{threading.get_ident()}.part")
        write_private(temporary, data)
        os.replace(temporary, path)
    return digest


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file only the portal's user may read (0600): residents' documents, rosters with full ID
    numbers."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)  # the mode given to open() is only what the umask lets through
        handle.write(data)


def private_folder(path: Path) -> None:
    """Make ``path`` (and its missing parents) a folder only the portal's user can enter. The mode given to
    makedirs is filtered by the umask, and the folder may have been made 0755 by an older version or by the
    roster imports (which keep their uploads in a subfolder): an explicit chmod is the only sure way."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if stat.S_IMODE(os.stat(path).st_mode) != 0o700:
        os.chmod(path, 0o700)


def verified(digest: str) -> Path:
    """Where the file is, after checking that it is still what was kept."""
    path = path_of(digest)
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
        raise DomainError(_l("The stored file is missing or damaged; ask an administrator to restore it."))
    return path


def delete(digest: str) -> None:
    """Remove a kept file, and what a worker that stopped while writing it left (``<digest>.<pid>-<thread>.part``)."""
    path = path_of(digest)
    path.unlink(missing_ok=True)
    if path.parent.is_dir():
        for leftover in path.parent.glob(f"{digest}.*.part"):
            leftover.unlink(missing_ok=True)
