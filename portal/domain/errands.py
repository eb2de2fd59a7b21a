"""Party-member proxy errands (党员代办) and the "3+2" off-island run.

A proxy claims an errand of their places (at most ``ERRAND_LIMIT`` open at once, so the load is
shared), collects the resident's original documents, carries the ready errands off the island on
the next off-island day, records the office's answer, and hands the result and the documents back,
which resolves the case and counts a round trip the resident did not have to make.

Every document has exactly one holder at a time. A handover moves it with a conditional UPDATE on
its current holder, so two people recording the same handover cannot both succeed, and every move
is kept (who, when, confirmed by whom) and written to the timeline in the same transaction.

Each handover is signed by the person on the other side of it, the one not signed in: the giver when the
recorder receives (the resident handing documents over, the office giving them back, the hall's clerk handing
them to the proxy), the receiver when the recorder gives (the office's clerk taking them in, the resident taking
them back) — the recorder's own signature would add nothing to their sign-in, and the receipt is what shows the
documents left their hands. The signature is drawn on the phone's screen or is a photo of the signed paper slip
(``handover_slip``), and kept as a file of the case.

The custody list (``custody``) is the one answer to "who holds what now": the errand page, the case page and
the printed slip read it.
"""
from __future__ import annotations

import base64
import binascii
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps
from sqlalchemy.orm import joinedload, selectinload

from portal import clock
from portal.domain import Conflict, DomainError, access
from portal.domain.access.people import place_ids
from portal.domain.cases import attachments, lifecycle, queues, timekeeping
from portal.domain.cases.timeline import record_event
from portal.domain.platform import audit, files, replays, unit
from portal.extensions import db
from portal.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseMaterial,
    CaseStatus,
    EventKind,
    Holder,
    MaterialHandover,
    Mode,
    Place,
    ServiceItem,
    ServicePoint,
    SignatureKind,
    User,
)

# The moves a document may make, and nothing else.
MOVES = {
    (Holder.RESIDENT, Holder.PROXY),   # collected from the resident
    (Holder.PROXY, Holder.PROXY),      # taken over from the previous proxy, when a lead reassigns
    (Holder.PROXY, Holder.OFFICE),     # handed in off the island
    (Holder.OFFICE, Holder.PROXY),     # given back by the office with its answer
    (Holder.OFFICE, Holder.HALL),      # given back to the off-island hall, whose clerk took the answer
    (Holder.HALL, Holder.PROXY),       # collected by the proxy at the hall
    (Holder.PROXY, Holder.RESIDENT),   # returned to the resident
}
# Holders who are a person signed in to the portal (``CaseMaterial.holder_user``).
PERSONS = (Holder.PROXY, Holder.HALL)

def ensure_materials(case: Case) -> list[CaseMaterial]:
    """The case's documents, created from the item's checklist the first time they are needed."""
    if not case.materials and case.item.material_list:
        case.materials = [CaseMaterial(name=name[:80], holder=Holder.RESIDENT) for name in case.item.material_list]
        db.session.flush()
    return case.materials


# --- custody ----------------------------------------------------------------------------------------

@dataclass
class Signature:
    """A handover's signature as it came from the phone: ``DRAWN`` (a PNG of the screen's pad) or ``PHOTO`` (a
    photo or PDF of the paper slip, signed)."""

    kind: SignatureKind
    data: bytes
    filename: str = ""

    @classmethod
    def drawn(cls, data_url: str) -> Signature:
        """The pad's picture, as the page's script hands it over (``data:image/png;base64,…``)."""
        prefix = "data:image/png;base64,"
        if not data_url.startswith(prefix):
            raise DomainError(_l("The signature did not come through; ask them to sign again."), field="signature")
        try:
            data = base64.b64decode(data_url[len(prefix):], validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(_l("The signature did not come through; ask them to sign again."),
                              field="signature") from None
        return cls(SignatureKind.DRAWN, data, "signature.png")


# A drawn signature is a small picture of strokes; anything larger is not what the pad makes.
MAX_DRAWN_BYTES = 512 * 1024


def _blank(data: bytes) -> bool:
    """Whether a drawn signature has no stroke on it (an untouched pad, on a clear or a white background)."""
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        if image.width * image.height > 4_000_000:
            return True
        image = image.convert("RGBA")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return True
    paper = Image.new("RGBA", image.size, (255, 255, 255, 255))
    ink = ImageOps.invert(Image.alpha_composite(paper, image).convert("L")).point(lambda v: 255 if v > 40 else 0)
    return ink.getbbox() is None


def _keep_signature(case: Case, actor: User, signature: Signature | None, who: str) -> Attachment:
    """Check a handover's signature and keep it as a file of the case (not a note of the timeline: the
    handover's own event says it was signed)."""
    if signature is None or not signature.data:
        raise DomainError(_l("Ask %(who)s to sign on the screen, or add a photo of the signed slip.", who=who),
                          field="signature")
    try:
        content_type, extension = files.kind_of(signature.data)  # an image or a PDF, at most 5 MB
    except DomainError as error:
        error.field = "signature"
        raise
    if signature.kind is SignatureKind.DRAWN:
        if len(signature.data) > MAX_DRAWN_BYTES or content_type != "image/png" or _blank(signature.data):
            raise DomainError(_l("The signature is empty; ask %(who)s to sign on the screen.", who=who),
                              field="signature")
        name = f"{_l('signature')}-{case.number}-{clock.now().astimezone(clock.LOCAL_TZ):%Y%m%d%H%M%S}"
    else:
        name = (signature.filename or "").rsplit(".", 1)[0] or f"{_l('handover slip')}-{case.number}"
    digest = files.store(signature.data)
    thumbnail = attachments.thumbnail_of(signature.data) if content_type.startswith("image/") else None
    stem = "".join(ch for ch in name.rsplit("/", 1)[-1] if ch.isprintable() and ch not in '"\\/')[:90] or "signature"
    kept = Attachment(case=case, filename=f"{stem}{extension}", content_type=content_type, size=len(signature.data),
                      sha256=digest, thumb_sha256=files.store(thumbnail) if thumbnail else None,
                      uploaded_by=actor, uploaded_at=clock.now())
    db.session.add(kept)
    return kept


def _who_signs(case: Case, material: CaseMaterial, to: Holder) -> str:
    """Whom a handover of ``material`` to ``to`` asks to sign: the one not signed in (see the module's docstring)."""
    if to in PERSONS:  # the recorder receives: the giver signs
        if material.holder is Holder.RESIDENT:
            return str(_l("the resident"))
        if material.holder is Holder.OFFICE:
            return str(_l("the office's clerk"))
        return holder_label(case, material)
    return str(_l("the resident") if to is Holder.RESIDENT else _l("the office's clerk"))


def hand_over(case: Case, actor: User, materials: list[CaseMaterial], to: Holder, confirmed_by: str,
              rule: str = "case.work", signature: Signature | None = None) -> None:
    """Move documents to ``to``, each from the one holder it has now, signed by the person named in
    ``confirmed_by``; refuse any other move. ``rule`` is the access rule the move asks (the office's answer:
    ``case.office_answer``, which the hall's staff pass)."""
    access.require(actor, rule, case, _l("Only the errand's proxy records handovers."))
    if not case.status.is_open:
        raise DomainError(_l("This case is %(status)s; its documents no longer move.", status=case.status.label))
    confirmed_by = (confirmed_by or "").strip()
    if not confirmed_by:
        raise DomainError(_l("Write who confirmed the handover (the resident, the office's clerk)."),
                          field="confirmed_by")
    if not materials:
        raise DomainError(_l("Tick the documents that changed hands."), field="materials")
    now = clock.now()
    moved = []
    for material in materials:
        if material.case_id != case.id:
            raise DomainError(_l("That document belongs to another case."), field="materials")
        source = material.holder
        if source is Holder.PROXY and to is Holder.PROXY and material.holder_user_id == actor.id:
            raise DomainError(_l("You already hold %(name)s.", name=material.name), field="materials")
        if (source, to) not in MOVES:
            raise DomainError(_l("%(name)s is held by %(holder)s; it cannot go to %(to)s.", name=material.name,
                                 holder=source.label, to=to.label), field="materials")
    kept = _keep_signature(case, actor, signature, _who_signs(case, materials[0], to))
    db.session.flush()
    for material in materials:
        source = material.holder
        result = db.session.execute(
            sa.update(CaseMaterial).where(CaseMaterial.id == material.id, CaseMaterial.holder == source,
                                          CaseMaterial.holder_user_id.is_(material.holder_user_id)
                                          if material.holder_user_id is None
                                          else CaseMaterial.holder_user_id == material.holder_user_id)
            .values(holder=to, holder_user_id=actor.id if to in PERSONS else None, since=now)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            unit.abandon()
            raise Conflict(_l("%(name)s changed hands meanwhile; look at the latest custody and try again.",
                              name=material.name))
        db.session.add(MaterialHandover(material_id=material.id, at=now, from_holder=source, to_holder=to,
                                        by_id=actor.id, confirmed_by=confirmed_by[:50], signature_id=kept.id,
                                        signature_kind=signature.kind))
        moved.append((material.name, source))
    for material in materials:
        db.session.expire(material)
    sources = sorted({source.value for _name, source in moved})
    record_event(case, actor, EventKind.MATERIALS, public=True,
                 data={"materials": [name for name, _source in moved], "from": sources, "to": to.value,
                       "confirmed_by": confirmed_by[:50], "signed": signature.kind.value})
    case.updated_at = now
    audit.record("handover", actor=actor, obj=case, changes={"materials": (sources, to.value)},
                 reason=f"{', '.join(name for name, _source in moved)} sha256={kept.sha256}")
    unit.end_step()


@dataclass
class Holding:
    """Who holds some of an errand's documents now: one holder (and the person, where one is), its documents."""

    holder: Holder
    user: User | None
    names: list[str]
    since: datetime
    label: str  # the holder as people read it: 出岛服务厅 · 李四, 代办党员 · 张三, 居民 · 王大爷, 上级部门 · 民政局

    @property
    def key(self) -> str:
        return f"{self.holder.value}-{self.user.id if self.user else ''}"


def holder_label(case: Case, material: CaseMaterial) -> str:
    """Who holds ``material`` now, as people read it: the holder, and the person or office it is."""
    holder, user = material.holder, material.holder_user
    if holder is Holder.RESIDENT:
        return f"{_l('The resident')} · {case.requester_name}" if case.requester_name else str(_l("The resident"))
    if holder is Holder.OFFICE:
        return f"{holder.label} · {case.item.approving_office}" if case.item.approving_office else str(holder.label)
    if user is None:
        return str(holder.label)
    if holder is Holder.HALL:
        return f"{holder.label} · {user.display_name}"
    return f"{user.role.label} · {user.display_name}"  # a proxy, or whoever else works the errand (a lead)


def custody(case: Case) -> list[Holding]:
    """Who holds which of the errand's documents now, one line a holder, in the order of the round trip."""
    groups: dict[tuple, Holding] = {}
    for material in case.materials:
        key = (material.holder, material.holder_user_id)
        if key not in groups:
            groups[key] = Holding(material.holder, material.holder_user, [], material.since,
                                  holder_label(case, material))
        groups[key].names.append(material.name)
        groups[key].since = max(groups[key].since, material.since)
    order = [Holder.RESIDENT, Holder.PROXY, Holder.OFFICE, Holder.HALL]
    return sorted(groups.values(), key=lambda h: (order.index(h.holder), h.label))


@dataclass
class Readiness:
    ready: bool
    missing: list[str]


def _with_owner(case: Case, material: CaseMaterial) -> bool:
    return material.holder is Holder.PROXY and material.holder_user_id == case.owner_id


def readiness(case: Case) -> Readiness:
    """An errand is ready to travel when its proxy holds every document itself: none still with the
    resident, none still with a proxy it was taken from or at the hall."""
    missing = [m.name for m in case.materials if m.holder is not Holder.OFFICE and not _with_owner(case, m)]
    return Readiness(not missing, missing)


def stage(case: Case) -> str:
    """Where an errand stands, for "my errands": collecting, ready, submitted, at the hall, to return, done."""
    if not case.status.is_open:
        return "done"
    if case.status is CaseStatus.AWAITING_OFFICE:
        return "submitted"
    if case.status is CaseStatus.LOGGED:
        return "collecting"
    if any(m.holder is Holder.HALL for m in case.materials):
        return "at_hall"
    if not readiness(case).ready and not any(m.holder is Holder.OFFICE for m in case.materials):
        return "collecting"
    if not case.item.needs_approval:  # nothing to hand in off the island: do it and hand back
        return "to_return"
    answered = any(e.kind is EventKind.OFFICE_ANSWERED for e in case.events)
    return "to_return" if answered and not _needs_more(case) else "ready"


def _needs_more(case: Case) -> bool:
    answers = [e for e in case.events if e.kind is EventKind.OFFICE_ANSWERED]
    return bool(answers) and (answers[-1].data or {}).get("answer") == "more_materials"


STAGES = [
    ("collecting", _l("Collecting the documents")),
    ("ready", _l("Ready for the off-island day")),
    ("submitted", _l("Handed in, awaiting the office")),
    ("at_hall", _l("Answered: collect the documents at the off-island hall")),
    ("to_return", _l("To hand back to the resident")),
]


def next_giver(case: Case) -> Holding | None:
    """Whom the errand's proxy collects documents from next, one giver a handover (each signs for their own):
    the off-island hall first (the answer waits there), then a person it was taken over from, then the
    resident. None when the proxy holds everything it can collect."""
    for holding in custody(case):
        if holding.holder is Holder.HALL:
            return holding
    for holding in custody(case):
        if holding.holder is Holder.PROXY and (holding.user is None or holding.user.id != case.owner_id):
            return holding
    return next((h for h in custody(case) if h.holder is Holder.RESIDENT), None)


def giver_name(case: Case, holding: Holding) -> str:
    """The name a handover from ``holding`` is confirmed by, until the proxy writes another."""
    if holding.holder is Holder.RESIDENT:
        return case.requester_name or ""
    return holding.user.display_name if holding.user else ""


# --- the round trip -----------------------------------------------------------------------------------

def collect(case: Case, actor: User, material_ids: list[int], confirmed_by: str,
            signature: Signature | None = None) -> None:
    """Take documents from the resident, at the off-island hall, or over from the previous holder (starting the
    work if it has not started): from one giver at a time, who signs for them."""
    if case.status is CaseStatus.CLAIMED:
        lifecycle.start(case, actor)
    ensure_materials(case)
    chosen = [m for m in case.materials if m.id in set(material_ids)]
    givers = {(m.holder, m.holder_user_id) for m in chosen}
    if len(givers) > 1:
        raise DomainError(_l("Record one giver at a time: each signs for their own documents."), field="materials")
    hand_over(case, actor, chosen, Holder.PROXY, confirmed_by, signature=signature)


@unit.transactional
def submit(case: Case, actor: User, confirmed_by: str, signature: Signature | None = None) -> None:
    """Hand a ready errand's documents to the office and send it off (one transaction); the office's clerk
    signs for them."""
    if not case.item.needs_approval:
        raise DomainError(_l("This errand needs no office's approval; hand the result back when it is done."))
    ensure_materials(case)
    if case.status is CaseStatus.CLAIMED:
        lifecycle.start(case, actor)
    state = readiness(case)
    if not state.ready:
        raise DomainError(_l("Not ready: the proxy does not hold %(missing)s yet.", missing="、".join(state.missing)))
    with_proxy = [m for m in case.materials if m.holder is Holder.PROXY]
    if with_proxy:
        hand_over(case, actor, with_proxy, Holder.OFFICE, confirmed_by, signature=signature)
    lifecycle.send_off_island(case, actor)


def submit_all(actor: User, day: date, confirmed_by: str, signature: Signature | None = None) -> list[str]:
    """Hand in every ready errand of ``actor`` for the off-island day ``day`` (one signature of the office's clerk
    for all, kept with each); the numbers sent. Only on that day (the day the proxy acted, for a step sent later
    from a phone's queue), an off-island day: a hand-in is recorded at the moment it is made."""
    acting = replays.acting_day()
    if day != acting:
        raise DomainError(_l("Only today's manifest is handed in (today is %(today)s): documents are handed to the "
                             "offices on the off-island day itself.", today=acting.isoformat()), field="day")
    if not is_off_island_day(day):
        raise DomainError(_l("%(day)s is not an off-island day: the proxies are not at the offices.",
                             day=day.isoformat()), field="day")
    sent = []
    for group in manifest(actor, day).ready_by_office.values():
        for case in group:
            if case.owner_id == actor.id:
                submit(case, actor, confirmed_by, signature)
                sent.append(case.number)
    return sent


@unit.transactional
def record_answer(case: Case, actor: User, answer: str, note: str = "", more: list[str] | None = None,
                  confirmed_by: str = "", signature: Signature | None = None) -> None:
    """Record the office's answer; the documents it held come back, signed for by the office's clerk: to the
    one who works the errand, or to the off-island hall, whose clerk keeps them for the proxy. Documents it asks
    for are added to the checklist (still with the resident)."""
    ensure_materials(case)
    access.require(actor, "case.office_answer", case, _l("You may not record this errand's answer."))
    at_office = [m for m in case.materials if m.holder is Holder.OFFICE]
    if at_office:
        to = Holder.PROXY if access.can(actor, "case.work", case) else Holder.HALL
        hand_over(case, actor, at_office, to, confirmed_by or str(_l("the office")), "case.office_answer",
                  signature=signature)
    if answer == "more_materials":
        names = [n.strip()[:80] for n in (more or []) if n.strip()]
        if not names:
            raise DomainError(_l("Name the documents the office asks for, one per line."), field="more")
        for name in names:
            db.session.add(CaseMaterial(case=case, name=name, holder=Holder.RESIDENT, added_later=True))
        lifecycle.record_office_answer(case, actor, answer, note=note, more=names)
        return
    lifecycle.record_office_answer(case, actor, answer, note=note)


@unit.transactional
def deliver(case: Case, actor: User, note: str, confirmed_by: str, signature: Signature | None = None) -> None:
    """Hand the result and the documents back to the resident, who signs for them; this resolves the errand and
    counts a round trip saved."""
    ensure_materials(case)
    if case.status is not CaseStatus.IN_PROGRESS or stage(case) != "to_return":
        raise DomainError(_l("This errand is not ready to hand back: its documents must be collected and, "
                             "where an office decides, handed in and answered first."))
    back = [m for m in case.materials if m.holder is Holder.PROXY]
    if back:
        hand_over(case, actor, back, Holder.RESIDENT, confirmed_by, signature=signature)
    lifecycle.resolve(case, actor, note)


def office_answer(case: Case) -> CaseEvent | None:
    """The office's last answer, while the errand is back from it (approved, rejected, more documents): the proxy
    and the hall's clerk read it where they work the errand, not only on the case's timeline."""
    if case.status is not CaseStatus.IN_PROGRESS:
        return None
    return db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.kind == EventKind.OFFICE_ANSWERED)
                              .order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(1)).first()


# --- the printed slips --------------------------------------------------------------------------------

@dataclass
class SlipStep:
    """One handover of the slip: the documents that moved together, from whom to whom, and its signature."""

    at: datetime
    names: list[str]
    giver: str
    receiver: str
    recorded_by: User
    confirmed_by: str
    signature: Attachment | None
    signature_kind: SignatureKind | None


def handover_slip(case: Case) -> list[SlipStep]:
    """Every handover of the errand, oldest first, a step per moment and signature (交接单)."""
    steps: dict[tuple, SlipStep] = {}
    rows = sorted((h for m in case.materials for h in m.handovers), key=lambda h: (h.at, h.id))
    last_person: dict[int, User | None] = {}  # the person holding each document after its latest move
    for h in rows:
        material = h.material
        giver_user = last_person.get(material.id)
        giver = _side(case, h.from_holder, giver_user)
        receiver = _side(case, h.to_holder, h.by if h.to_holder in PERSONS else None)
        key = (h.at, h.by_id, h.from_holder, h.to_holder, h.signature_id, giver)
        if key not in steps:
            steps[key] = SlipStep(h.at, [], giver, receiver, h.by, h.confirmed_by, h.signature, h.signature_kind)
        steps[key].names.append(material.name)
        last_person[material.id] = h.by if h.to_holder in PERSONS else None
    return list(steps.values())


def _side(case: Case, holder: Holder, user: User | None) -> str:
    if holder is Holder.RESIDENT:
        return f"{_l('The resident')} · {case.requester_name}"
    if holder is Holder.OFFICE:
        return f"{holder.label} · {case.item.approving_office}" if case.item.approving_office else str(holder.label)
    if user is None:
        return str(holder.label)
    return f"{holder.label if holder is Holder.HALL else user.role.label} · {user.display_name}"


# --- the off-island manifest ----------------------------------------------------------------------------

@dataclass
class Manifest:
    day: date | None
    ready_by_office: dict[str, list[Case]] = field(default_factory=dict)
    ready_by_proxy: dict[str, list[Case]] = field(default_factory=dict)
    not_ready: list[tuple[Case, list[str]]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(cases) for cases in self.ready_by_office.values())


def next_day_for(user: User) -> date | None:
    """The next off-island day of the user's points: the points of the places they cover and every place below
    them (a proxy's hamlet post; the island's posts for the off-island hall's clerk, who covers the island), or
    their own point, or the island's points for a lead."""
    covered = place_ids(user)
    point_ids = set(db.session.scalars(sa.select(Place.service_point_id).where(
        Place.id.in_(covered), Place.service_point_id.is_not(None)))) if covered else set()
    if user.service_point_id:
        point_ids.add(user.service_point_id)
    query = sa.select(ServicePoint).where(ServicePoint.active, ServicePoint.on_island)
    if point_ids and not access.sees_everything(user):
        query = query.where(ServicePoint.id.in_(point_ids))
    days = [d for d in (timekeeping.next_off_island_day(p) for p in db.session.scalars(query)) if d is not None]
    return min(days) if days else None


def is_off_island_day(day: date) -> bool:
    """Whether some island service point goes off the island on ``day``."""
    points = db.session.scalars(sa.select(ServicePoint).where(ServicePoint.active, ServicePoint.on_island))
    return any(timekeeping.calendar_for(p).is_off_island(day) for p in points)


def manifest(user: User, day: date | None = None) -> Manifest:
    """The errands to carry off the island on ``day`` (the next off-island day by default): the ready
    ones by destination office and by proxy, and apart, those still missing documents."""
    day = day or next_day_for(user)
    cases = db.session.scalars(
        sa.select(Case).join(Case.item).where(
            access.case_scope(user), Case.mode == Mode.ERRAND, Case.owner_id.is_not(None),
            Case.status.in_([CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS]), ServiceItem.needs_approval)
        .options(joinedload(Case.item), joinedload(Case.owner), joinedload(Case.service_point),
                 selectinload(Case.materials), selectinload(Case.events))
        .order_by(Case.number)
    ).unique().all()
    result = Manifest(day)
    by_office, by_proxy = defaultdict(list), defaultdict(list)
    calendars: dict[int, timekeeping.WorkCalendar] = {}
    for case in cases:
        if stage(case) in ("to_return", "at_hall"):  # answered: nothing to carry off the island
            continue
        if day is not None:  # only errands whose point goes off the island that day
            if case.service_point_id not in calendars:
                calendars[case.service_point_id] = timekeeping.calendar_for(case.service_point)
            if not calendars[case.service_point_id].is_off_island(day):
                continue
        state = readiness(case)
        if state.ready:
            by_office[case.item.approving_office or str(_l("the higher office"))].append(case)
            by_proxy[case.owner.display_name].append(case)
        else:
            result.not_ready.append((case, state.missing))
    result.ready_by_office = dict(sorted(by_office.items()))
    result.ready_by_proxy = dict(sorted(by_proxy.items()))
    return result


# --- the proxy's page -----------------------------------------------------------------------------------

def _urgent_and_oldest_first(c):
    return (c.priority.desc(), c.created_at, c.id)


def pool(user: User, page: int = 1) -> queues.Page:
    """Errands waiting to be claimed in the proxy's places, urgent and oldest first, a page of 20 (a phone's
    screenful or two) as plain rows (``queues.LINE``), with how many wait in all (counted up to
    ``queues.COUNT_CAP``)."""
    page = min(max(page, 1), queues.MAX_PAGE)
    # The union of the two halves of ``claimable`` (assigned to them; unassigned in their places), each one index
    # look-up, not the OR of the two, which would walk every waiting case of the district.
    where = [[half, Case.mode == Mode.ERRAND] for half in access.cases.claimable_halves(user)]
    return queues.Page(queues.lines(queues.listed(where, *queues.ORDERED), _urgent_and_oldest_first, page),
                       queues.total_of(queues.listed(where, Case.id)), page)


def mine_by_stage(user: User) -> dict[str, list[Case]]:
    """The proxy's open errands, grouped by stage."""
    cases = db.session.scalars(
        sa.select(Case).where(Case.owner_id == user.id, Case.mode == Mode.ERRAND,
                              Case.status.in_([CaseStatus.LOGGED, CaseStatus.CLAIMED, CaseStatus.IN_PROGRESS, CaseStatus.AWAITING_OFFICE]))
        .options(joinedload(Case.item), joinedload(Case.place), selectinload(Case.materials),
                 selectinload(Case.events))
        .order_by(Case.due_at)
    ).unique().all()
    grouped: dict[str, list[Case]] = {key: [] for key, _label in STAGES}
    for case in cases:
        grouped.setdefault(stage(case), []).append(case)
    return grouped
