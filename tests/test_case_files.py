"""Photos and files on any case (portal.domain.cases.attachments): from a phone's camera on a heating fault, a
repair or a visit, with the errand scans' content checks, size limit and access rules, and a thumbnail on the
case page; what no phone camera makes is refused, a large photo's thumbnail costs little memory, the files are
private on disk and go with the retention purge."""
import io
import os
import stat
import subprocess
import sys
import textwrap
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from portal import clock
from portal.domain import DomainError
from portal.domain.cases import attachments, intake, lifecycle
from portal.domain.platform import files, retention
from portal.extensions import db
from portal.models import Attachment, Channel, Outcome, Satisfaction
from tests.stories import at, resolved

ROOT = Path(__file__).resolve().parent.parent
TOO_LARGE = "图片尺寸超出手机相机拍摄的范围"


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


def test_only_those_who_see_the_case_open_its_photos(world, client, auth):
    case = leak(world)
    kept = attachments.attach(case, world.staff, "漏水.jpg", photo(200, 100))
    auth.login("staff-p02")
    assert client.get(f"/cases/files/{kept.id}").status_code == 404
    assert client.get(f"/cases/files/{kept.id}/thumbnail").status_code == 404
    assert client.post(f"/cases/{case.number}/files", data={"file": (io.BytesIO(photo()), "x.jpg")},
                       content_type="multipart/form-data").status_code == 404


# --- what no phone camera makes, and what a large photo costs -------------------------------------------------

@pytest.fixture(scope="module")
def huge_photo(tmp_path_factory) -> bytes:
    """A 79-megapixel JPEG (10240 x 7720, held upright) of a few hundred KB: mostly one colour, so it compresses
    to almost nothing. Made in a process of its own (it takes half a gigabyte to make)."""
    path = tmp_path_factory.mktemp("huge") / "huge.jpg"
    subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys
        from PIL import Image
        image = Image.new("RGB", (10240, 7720), (200, 60, 40))
        image.paste((20, 90, 200), (0, 0, 2000, 1000))
        exif = Image.Exif()
        exif[0x0112] = 6
        image.save(sys.argv[1], "JPEG", quality=75, optimize=True, exif=exif.tobytes())
    """), str(path)], check=True)
    data = path.read_bytes()
    assert len(data) < 600 * 1024
    return data


def kept_files() -> list[str]:
    """What the upload folder holds, by name."""
    return sorted(path.name for path in files.folder().rglob("*") if path.is_file())


def png(width, height, mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG")
    return out.getvalue()


def png_claiming(width, height) -> bytes:
    """A PNG whose header says ``width`` x ``height`` (what a decompression bomb says: its pixels would be a
    zlib stream of a few kilobytes), made without holding them here."""
    data = bytearray(png(1, 1))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")  # in the IHDR chunk, then its CRC
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def test_a_picture_larger_than_any_phone_camera_makes_is_refused_from_its_header_and_nothing_is_kept(
        world, client, auth, huge_photo):
    case = leak(world)
    auth.login("staff-p01")
    header_only = huge_photo[:4096]  # no pixel data at all: the refusal reads the header, never decodes
    for name, data in [("大图.jpg", huge_photo), ("大图.jpg", header_only), ("全景.png", png(12_001, 10)),
                       ("炸弹.png", png_claiming(20_000, 20_000)), ("大图.png", png_claiming(8_000, 7_000))]:
        answer = client.post(f"/cases/{case.number}/files", data={"file": (io.BytesIO(data), name)},
                             content_type="multipart/form-data")
        assert answer.status_code == 422 and TOO_LARGE in answer.get_data(as_text=True), name
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0 and kept_files() == []
    # the largest a phone makes is kept; a PDF is never decoded, whatever it says
    assert attachments.attach(case, world.staff, "50mp.png", png(8660, 5770, "1")).thumb_sha256
    pdf = attachments.attach(case, world.staff, "扫描件.pdf", b"%PDF-1.7 /Width 99999 /Height 99999")
    assert pdf.content_type == "application/pdf" and pdf.thumb_sha256 is None


def test_the_thumbnail_of_a_79_megapixel_photo_is_made_from_a_reduced_decode_in_little_memory(huge_photo, tmp_path):
    """Turning the whole photo as the camera held it decoded it fully: 620 MB for this one. Measured in a process
    of its own, which says its own peak memory: VmHWM, not ru_maxrss, which Linux carries over from the parent
    (the test run) across the exec."""
    (tmp_path / "huge.jpg").write_bytes(huge_photo)
    script = textwrap.dedent("""
        import io, sys
        from PIL import Image
        from portal.domain.cases import attachments
        thumbnail = attachments.thumbnail_of(open(sys.argv[1], "rb").read())
        peak = next(line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM:"))
        print(*Image.open(io.BytesIO(thumbnail)).size, peak)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "huge.jpg")], cwd=ROOT, check=True,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    width, height, peak_kb = map(int, done.stdout.split())
    assert (width, height) == (241, 320)  # upright: 10240 x 7720 turned a quarter
    assert peak_kb < 150 * 1024, f"{peak_kb // 1024} MB"  # the portal's modules alone take about 75 MB


def test_a_photo_that_would_take_more_memory_than_the_budget_to_decode_gets_no_thumbnail(monkeypatch):
    """A progressive JPEG, or one with a colour a scan, is buffered whole by libjpeg at any scale; a PNG is
    decoded whole: measured from the header against the budget (here 1 MB, to keep the pictures small)."""
    monkeypatch.setattr(attachments, "DECODE_BUDGET", 1024 * 1024)

    def jpeg(**options) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", (640, 480), (200, 60, 40)).save(out, "JPEG", subsampling=0, **options)  # 1.8 MB buffered
        return out.getvalue()

    baseline = jpeg()
    assert attachments.thumbnail_of(baseline)  # one interleaved scan: decoded row by row, at an eighth of it
    assert attachments.thumbnail_of(jpeg(progressive=True)) is None
    scan = baseline.index(b"\xff\xda")
    one_colour_a_scan = baseline[:scan + 4] + b"\x01" + baseline[scan + 5:]  # the first scan holds 1 of 3 colours
    assert attachments.thumbnail_of(one_colour_a_scan) is None
    assert attachments.thumbnail_of(png(600, 600)) is None  # 4 bytes a pixel: 1.4 MB
    assert attachments.thumbnail_of(png(600, 600, "L"))  # 1 byte a pixel: 0.36 MB
    monkeypatch.undo()
    assert attachments.thumbnail_of(jpeg(progressive=True))  # within the real budget of 64 MB


# --- on disk ------------------------------------------------------------------------------------------------

def test_the_retention_purge_deletes_the_photos_and_their_thumbnails_from_the_upload_folder(world, app):
    old = resolved(world)
    lifecycle.close(old, world.staff, Outcome.SOLVED, Satisfaction.SATISFIED, "")
    photo_of_old = attachments.attach(old, world.staff, "漏水.jpg", photo(orientation=6))
    scan_of_old = attachments.attach(old, world.staff, "户口簿.pdf", b"%PDF-1.4 household register")
    old.closed_at = clock.now() - timedelta(days=6 * 365)
    db.session.commit()
    recent = leak(world)
    photo_of_recent = attachments.attach(recent, world.staff, "阀门.jpg", photo(800, 600))
    leftover = files.path_of(photo_of_old.sha256).with_suffix(".4242.part")  # a worker stopped while writing it
    leftover.write_bytes(b"half a photo")
    assert photo_of_old.thumb_sha256 in kept_files() and scan_of_old.sha256 in kept_files()

    assert retention.purge(5).files == 2

    assert kept_files() == sorted([photo_of_recent.sha256, photo_of_recent.thumb_sha256])


def test_the_upload_folder_and_its_files_are_private_whatever_the_umask(world, app, tmp_path):
    folder = tmp_path / "uploads-of-an-older-version"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    app.config["UPLOAD_FOLDER"] = str(folder)
    mode = lambda path: stat.S_IMODE(os.stat(path).st_mode)  # noqa: E731
    previous = os.umask(0o022)
    try:
        kept = attachments.attach(leak(world), world.staff, "漏水.jpg", photo())
        os.umask(0o277)  # even one that takes the owner's own rights away
        app.config["UPLOAD_FOLDER"] = str(tmp_path / "new" / "uploads")
        digest = files.store(b"%PDF-1.4 id card")
    finally:
        os.umask(previous)
    assert mode(folder) == 0o700
    for path in (files.path_of(digest), *(folder / name[:2] / name for name in (kept.sha256, kept.thumb_sha256))):
        assert (mode(path), mode(path.parent)) == (0o600, 0o700), path
    assert mode(tmp_path / "new" / "uploads") == 0o700
