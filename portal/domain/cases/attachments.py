"""Photos and files on any case (a heating fault's burst pipe, a repair, a home visit, an errand's receipt): kept
under the upload folder by their SHA-256 (``portal.domain.platform.files``: recognised by their first bytes,
at most 5 MB, a photo at most what a phone camera makes), with a small JPEG thumbnail of each photo for the case
page, made from a reduced decode so that a large photo costs a few megabytes, not hundreds.

Who may add one: whoever works or dispatches the case (``case.attach``); who may open one: whoever may see its
case (``attachment.view``).
"""
from __future__ import annotations

import io
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
# What decoding a photo for its thumbnail may hold in memory at once. A JPEG in one interleaved scan (what
# phones write) is decoded at 1/2 to 1/8 of its size and stays far below this; a progressive or multi-scan
# JPEG makes libjpeg keep all its coefficients (2 bytes a sample, whatever the scale), and a PNG is decoded
# whole (1 to 4 bytes a pixel): those are measured against it from their header, and one over it is kept
# without a thumbnail. 64 MB is a 16-megapixel screenshot or a 21-megapixel progressive photo.
DECODE_BUDGET = 64 * 1024 * 1024

# Start-of-frame markers: sequential DCT (baseline, extended; Huffman or arithmetic coded), which libjpeg
# decodes at a reduced scale; and progressive, lossless or hierarchical, which it does not.
SEQUENTIAL_FRAMES = {0xC0, 0xC1, 0xC9}
OTHER_FRAMES = {0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def attach(case: Case, actor: User, filename: str, data: bytes) -> Attachment:
    """Keep a photo or a file with the case: an image or a PDF, at most 5 MB, checked by its content."""
    access.require(actor, "case.attach", case, _l("You may not add files to this case."))
    content_type, extension = files.kind_of(data)
    digest = files.store(data)
    thumbnail = thumbnail_of(data) if content_type.startswith("image/") else None
    clean = "".join(ch for ch in Path(filename or "file").name if ch.isprintable() and ch not in '"\\/')[:90]
    stem = Path(clean).stem or "file"
    attachment = Attachment(case=case, filename=f"{stem}{extension}", content_type=content_type, size=len(data),
                            sha256=digest, thumb_sha256=files.store(thumbnail) if thumbnail else None,
                            uploaded_by=actor, uploaded_at=clock.now())
    db.session.add(attachment)
    record_event(case, actor, EventKind.NOTE, data={"attachment": attachment.filename})
    audit.record("attach", actor=actor, obj=case, reason=f"{attachment.filename} sha256={digest}")
    unit.end_step()
    return attachment


def thumbnail_of(data: bytes) -> bytes | None:
    """A JPEG of at most ``THUMBNAIL``, turned as the camera held it; None when the image cannot be decoded, or
    not within ``DECODE_BUDGET`` (it is kept all the same, and listed by its name).

    A JPEG is decoded at the smallest scale still at least twice the thumbnail (``draft``), and the EXIF
    orientation is applied to the thumbnail: turning the full photo first would decode all of it (620 MB for
    79 million pixels)."""
    try:
        image = Image.open(io.BytesIO(data), formats=["JPEG", "PNG"])
        if _decode_bytes(image, data) > DECODE_BUDGET:
            return None
        image.draft(None, (THUMBNAIL[0] * 2, THUMBNAIL[1] * 2))  # JPEG only; a PNG has no reduced decode
        image.thumbnail(THUMBNAIL)  # square, so turning after scaling gives the same picture
        image = ImageOps.exif_transpose(image)
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=80)
        return out.getvalue()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None


def _decode_bytes(image: Image.Image, data: bytes) -> int:
    """What decoding ``image`` for its thumbnail holds in memory, from its header: 0 for a JPEG that libjpeg
    can decode at a reduced scale."""
    width, height = image.size
    if image.format in ("JPEG", "MPO"):
        if _reduced_decode(data):
            return 0
        widest = max(h for _, h, _, _ in image.layer)
        tallest = max(v for _, _, v, _ in image.layer)
        return sum((width * h // widest) * (height * v // tallest) * 2 for _, h, v, _ in image.layer)
    bytes_per_pixel = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2}.get(image.mode, 4)
    return width * height * bytes_per_pixel


def _reduced_decode(data: bytes) -> bool:
    """Whether libjpeg decodes this JPEG row by row at a reduced scale: a sequential frame whose first scan
    holds every colour component (interleaved). Otherwise (progressive, or one component a scan) it first
    buffers the coefficients of the whole image. Read from the markers before the first scan, as libjpeg reads
    them; False when they cannot be read."""
    position, components = 2, 0
    while position + 4 <= len(data):
        if data[position] != 0xFF:  # bytes between markers, which libjpeg skips
            position = data.find(b"\xff", position)
            if position < 0:
                return False
            continue
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte before the marker
            position += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # a marker without a length
            position += 2
            continue
        if marker in SEQUENTIAL_FRAMES or marker in OTHER_FRAMES:
            if marker in OTHER_FRAMES or position + 9 >= len(data):
                return False
            components = data[position + 9]
        elif marker == 0xDA:  # start of scan
            return position + 4 < len(data) and components > 0 and data[position + 4] == components
        position += 2 + int.from_bytes(data[position + 2:position + 4], "big")
    return False

