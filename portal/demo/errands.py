"""One errand of the demo walked through the portal's own steps, with a signature at every handover: a resident of
东岙 hands her documents to the hamlet's proxy (signed on the screen), the proxy hands them in at the civil affairs
office (the clerk signs), and the off-island hall's clerk records the office's approval (the office's clerk signs):
the documents now wait at the hall for the proxy, and its printed handover slip shows three signed steps."""
from __future__ import annotations

import io
import math
import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from PIL import Image, ImageDraw

from portal import clock
from portal.domain import errands
from portal.domain.cases import intake, lifecycle, timekeeping
from portal.extensions import db
from portal.models import Channel, Household, Place, ServiceItem, SignatureKind, User


def drawn_signature(seed: int) -> errands.Signature:
    """A signature as the screen's pad makes one: a few joined strokes, drawn in a PNG."""
    rng = random.Random(seed)
    image = Image.new("RGBA", (320, 120), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    x = 18.0
    for _stroke in range(rng.randint(3, 4)):
        points = []
        width = rng.uniform(45, 80)
        for step in range(16):
            t = step / 15
            points.append((x + t * width, 60 + 28 * math.sin(t * math.pi * rng.uniform(1.5, 3.5)) * rng.uniform(.6, 1)))
        pen.line(points, fill=(17, 17, 17, 255), width=3, joint="curve")
        x += width + rng.uniform(8, 18)
    out = io.BytesIO()
    image.save(out, "PNG")
    return errands.Signature(SignatureKind.DRAWN, out.getvalue())


def load_signed_handover() -> str | None:
    """Walk one errand from the resident to the off-island hall, each handover signed; its number."""
    def user(name):
        return db.session.scalars(sa.select(User).filter_by(username=name)).first()

    staff, proxy, hall = user("staff-ls-p01"), user("proxy-h01"), user("staff-ls-off")
    item = db.session.scalars(sa.select(ServiceItem).filter_by(code="CA04")).first()
    household = db.session.scalars(sa.select(Household).join(Place).where(Place.code == "H01", Household.phone != "")
                                   .order_by(Household.id).limit(1)).first()
    if None in (staff, proxy, hall, item, household) or not household.residents:
        return None
    resident = household.residents[0]
    logged, handed_in, answered = _days_of_the_round(staff.service_point)
    with clock.told(logged):  # at the post, on an island working day: logged, claimed, documents collected
        case = intake.log_case(staff, item, Channel.COUNTER, "老人行动不便，请代办党员代为申领高龄津贴", resident.name,
                               household.phone, household=household, resident=resident)
        lifecycle.claim(case, proxy)
        errands.collect(case, proxy, [m.id for m in case.materials], resident.name, signature=drawn_signature(1))
    with clock.told(handed_in):  # at the office, the morning of the last off-island day
        errands.submit(case, proxy, "民政局窗口 刘", signature=drawn_signature(2))
    with clock.told(answered):  # the office's answer, recorded at the hall that afternoon
        errands.record_answer(case, hall, "approved", note="高龄津贴申领已审核通过", confirmed_by="民政局窗口 刘",
                              signature=drawn_signature(3))
    return case.number


def _days_of_the_round(point) -> tuple[datetime, datetime, datetime]:
    """When the walked errand's steps happened: collected at 10:00 of an island working day, handed in at 10:00 of
    the last off-island day after it whose morning has passed, answered at 15:00 that day (or now, when that
    afternoon has not come yet)."""
    calendar = timekeeping.calendar_for(point)
    now = clock.now()
    day = clock.today()
    for _ in range(60):  # an island point has an off-island day every week
        if calendar.is_off_island(day) and _at(day, 11) < now:
            break
        day -= timedelta(days=1)
    before = day - timedelta(days=1)
    for _ in range(60):
        if calendar.kind_of(before) == "W":
            break
        before -= timedelta(days=1)
    return _at(before, 10), _at(day, 10), min(_at(day, 15), now)


def _at(day: date, hour: int) -> datetime:
    return clock.local_midnight(day) + timedelta(hours=hour)
