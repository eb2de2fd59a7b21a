"""Photos and files on any case (portal.domain.cases.attachments): from a phone's camera on a heating fault, a
repair or a visit, with the errand scans' content checks, size limit and access rules, and a thumbnail on the
case page."""
import io

import pytest
import sqlalchemy as sa
from PIL import Image

from portal.domain import DomainError
from portal.domain.cases import attachments, intake
from portal.extensions import db
from portal.models import Attachment, Channel
from tests.stories import at


def photo(width=1600, height=1200, orientation=None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 60, 40))
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation  # the camera was held upright: the picture is stored sideways
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def leak(world):
    return intake.log_case(world.staff, world.leak, Channel.PHONE, "暖气漏水", "王大爷", "13912345678",
                           household=world.household)


def test_a_photo_of_a_heating_fault_is_kept_with_a_thumbnail_turned_as_taken(world, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = leak(world)
    auth.login("staff-p01")
    page = client.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "照片和附件" in page and 'accept="image/jpeg,image/png,application/pdf"' in page
    answer = client.post(f"/cases/{case.number}/files", data={"file": (io.BytesIO(photo(orientation=6)), "漏水.jpg")},
                         content_type="multipart/form-data")
    assert answer.status_code == 303
    kept = db.session.scalars(sa.select(Attachment).where(Attachment.case_id == case.id)).one()
    assert kept.filename == "漏水.jpg" and kept.thumb_sha256
    with client.get(f"/cases/files/{kept.id}/thumbnail") as thumb:
        assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
        assert "sandbox" in thumb.headers["Content-Security-Policy"] and thumb.headers["Cache-Control"] == "no-store"
        small = Image.open(io.BytesIO(thumb.data))
    assert small.size == (240, 320)  # at most 320 a side, and upright: 1600 x 1200 turned a quarter
    assert f'/cases/files/{kept.id}/thumbnail' in client.get(f"/cases/{case.number}").get_data(as_text=True)
    with client.get(f"/cases/files/{kept.id}") as full:
        assert full.status_code == 200 and full.data[:3] == b"\xff\xd8\xff"


def test_a_file_that_is_not_a_photo_or_is_too_big_is_refused_and_nothing_is_kept(world, client, auth, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = leak(world)
    auth.login("staff-p01")
    answer = client.post(f"/cases/{case.number}/files", content_type="multipart/form-data",
                         data={"file": (io.BytesIO(b"<html><script>alert(1)</script>"), "照片.jpg")})
    assert answer.status_code == 422 and "只接受照片（JPEG、PNG）和 PDF 文件" in answer.get_data(as_text=True)
    with pytest.raises(DomainError, match="5 MB"):
        attachments.attach(case, world.staff, "照片.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_a_photo_that_cannot_be_decoded_is_kept_without_a_thumbnail(world):
    case = leak(world)
    kept = attachments.attach(case, world.staff, "scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    assert kept.thumb_sha256 is None
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # 400 million pixels in a few kilobytes
    assert attachments.attach(case, world.staff, "bomb.png", bomb.getvalue()).thumb_sha256 is None


def test_only_those_who_see_the_case_open_its_photos(world, client, auth):
    case = leak(world)
    kept = attachments.attach(case, world.staff, "漏水.jpg", photo(200, 100))
    auth.login("staff-p02")
    assert client.get(f"/cases/files/{kept.id}").status_code == 404
    assert client.get(f"/cases/files/{kept.id}/thumbnail").status_code == 404
    assert client.post(f"/cases/{case.number}/files", data={"file": (io.BytesIO(photo()), "x.jpg")},
                       content_type="multipart/form-data").status_code == 404
