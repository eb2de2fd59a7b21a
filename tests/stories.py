"""Cases at a given point of their lives, for service tests: the ``world`` of the hamlet 东岙 (H01)
(see the ``world`` fixture in conftest.py) and one helper per stage of a case."""
import sqlalchemy as sa

from portal.domain.cases import intake, lifecycle
from portal.extensions import db
from portal.models import CaseEvent, Channel


def log(w, item=None, **kw):
    kw.setdefault("household", w.household)
    return intake.log_case(w.staff, item or w.errand_item, Channel.COUNTER, "需要办理", "王大爷", "13912345678", **kw)


def log_home(w, **kw):
    """A home-visit case logged as the intake form logs one without a day: the resident is told how it is booked."""
    from portal.domain import visits

    kw.setdefault("household", w.household)
    return visits.log_and_offer(w.staff, w.home_item, Channel.COUNTER, "需要上门", "王大爷", "13912345678", **kw)


def claimed(w, who=None, item=None):
    case = log(w, item)
    lifecycle.claim(case, who or w.proxy)
    return case


def in_progress(w, who=None, item=None):
    case = claimed(w, who, item)
    lifecycle.start(case, who or w.proxy)
    return case


def resolved(w):
    case = in_progress(w, item=w.plain_errand)
    lifecycle.resolve(case, w.proxy, "药已送到家")
    return case


def unanswered(case):
    """The resident let the link of the result's SMS expire: the case is the clerk's to call back."""
    from portal import clock

    case.answer_until = clock.now()
    db.session.commit()
    return case


def events(case):
    return db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()


def at(monkeypatch, *moment):
    """Stop the clock at a local moment for the rest of the test."""
    from datetime import datetime

    from portal import clock

    when = datetime(*moment, tzinfo=clock.LOCAL_TZ)
    monkeypatch.setattr(clock, "now", lambda: when)
    monkeypatch.setattr(clock, "today", lambda: when.date())
    return when


def signed(kind="drawn"):
    """A handover's signature: strokes drawn on the screen's pad (a PNG), or a photo of the signed slip."""
    import io

    from PIL import Image, ImageDraw

    from portal.domain.errands import Signature
    from portal.models import SignatureKind

    image = Image.new("RGBA", (240, 90), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(10, 60), (60, 20), (120, 70), (200, 30)], fill=(17, 17, 17, 255), width=3)
    out = io.BytesIO()
    if kind == "photo":
        image.convert("RGB").save(out, "JPEG")
        return Signature(SignatureKind.PHOTO, out.getvalue(), "交接单.jpg")
    image.save(out, "PNG")
    return Signature(SignatureKind.DRAWN, out.getvalue())
