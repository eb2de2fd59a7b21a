"""Photos and files on any case (a heating fault's burst pipe, a repair, a home visit, an errand's receipt): kept
under the upload folder by their SHA-256 (``portal.domain.platform.files``: recognised by their first bytes,
at most 5 MB), with a small JPEG thumbnail of each photo for the case page.

Who may add one: whoever works or dispatches the case (``case.attach``); who may open one: whoever may see its
case (``attachment.view``).
"""
from __future__ import annotations

import io
import warnings
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from portal import clock
from portal.domain import access
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, files, unit
from portal.extensions import db
from portal.models import Attachment, Case, EventKind, User

THUMBNAIL = (320, 320)
# A photo larger than this (pixels) is not decoded for its thumbnail: a phone's photo has 12 to 50 million; a
# file made to exhaust memory when decoded (a "decompression bomb") has billions.
MAX_PIXELS = 80_000_000


def attach(case: Case, actor: User, filename: str, data: bytes) -> Attachment:
    """Keep a photo or a file with the case: an image or a PDF, at most 5 MB, checked by its content."""
    access.require(actor, "case.attach", case, _l("You may not add files to this case."))
    content_type, extension = files.kind_of(data)
    digest = files.store(data)
    thumbnail = _thumbnail(data) if content_type.startswith("image/") else None
    clean = "".join(ch for ch in Path(filename or "file").name if ch.isprintable() and ch not in '"\\/')[:90]
    stem = Path(clean).stem or "file"
    attachment = Attachment(case=case, filename=f"{stem}{extension}", content_type=content_type, size=len(data),
                            sha256=digest, thumb_sha256=files.store(thumbnail) if thumbnail else None,
                            uploaded_by=actor, uploaded_at=clock.now())
    db.session.add(attachment)
    record_event(case, actor, EventKind.NOTE, data={"attachment": attachment.filename})
    audit.record("attach", actor=actor, obj=case, reason=f"{attachment.filename} sha256={digest}")
    unit.commit()
    return attachment


def _thumbnail(data: bytes) -> bytes | None:
    """A JPEG of at most ``THUMBNAIL``, turned as the camera held it; None when the image cannot be decoded
    (it is kept all the same, and listed by its name)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_PIXELS:
                return None
            image = ImageOps.exif_transpose(image)
            image.thumbnail(THUMBNAIL)
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
