"""What the portal tells a resident about their case, and when: each text and the event that sends it.

Every message is written to the outbox (``portal.domain.platform.outbox``) in the transaction of its event,
under a key naming the event, so that it goes out once and only if the event stands, by each channel that
reaches the resident (today an SMS to the case's phone: ``portal.domain.platform.channels``). Texts are short (a
receipt fits one SMS of 70 characters; a link makes two), in Chinese whatever the language of the person who
acted, and name the resident masked.
"""
from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain.platform import outbox, privacy
from portal.extensions import db
from portal.models import Case, MessageStatus, OutboxMessage

TEXTS = {
    "receipt": _l("%(name)s, your request is logged as case %(number)s and due by %(due)s. Reply TD to stop "
                  "messages."),
    "proactive_receipt": _l("%(name)s, case %(number)s was logged for you on our visit and is due by %(due)s. "
                            "Reply TD to stop messages."),
    "due_sailing": _l("%(name)s, no boat sails on %(day)s: case %(number)s is now due by %(due)s. Reply TD to stop "
                      "messages."),
    "due_restored": _l("%(name)s, the boat sails on %(day)s after all: case %(number)s is due by %(due)s again. Reply "
                       "TD to stop messages."),
    "due_calendar": _l("%(name)s, the holidays were rearranged: case %(number)s is now due by %(due)s. Reply TD to "
                       "stop messages."),
    "office_approved": _l("%(name)s, the higher office has approved the errand of case %(number)s; the proxy will "
                          "bring back your documents. Reply TD to stop messages."),
    "office_rejected": _l("%(name)s, the higher office did not approve the errand of case %(number)s; the proxy will "
                          "call you to explain. Reply TD to stop messages."),
    "office_more_materials": _l("%(name)s, the higher office needs more documents for case %(number)s; the proxy "
                                "will call you. Reply TD to stop messages."),
    "visit": _l("%(name)s, the service team will visit you %(when)s for case %(number)s. To change it call "
                "%(phone)s. Reply TD to stop messages."),
    "booked": _l("%(name)s, the home visit of case %(number)s is booked: the service team comes %(when)s. To change "
                 "it call %(phone)s. Reply TD to stop messages."),
    "moved": _l("%(name)s, the home visit of case %(number)s is moved: the service team now comes %(when)s. To "
                "change it call %(phone)s. Reply TD to stop messages."),
    "visit_cancelled": _l("%(name)s, the home visit of case %(number)s on %(when)s is cancelled: the service team "
                          "will not come. Questions: %(phone)s. Reply TD to stop messages."),
    "book": _l("%(name)s, home-visit case %(number)s is logged. Choose when the team comes: %(link)s Reply TD to "
               "stop messages."),
    "call_to_book": _l("%(name)s, home-visit case %(number)s is logged. The service point will call you to agree "
                       "when the team comes (%(phone)s). Reply TD to stop messages."),
    "result": _l("%(name)s, case %(number)s is resolved. Was it solved, and are you satisfied? Tell us here: "
                 "%(link)s Reply TD to stop messages."),
}


def _text(kind: str, case: Case, **extra) -> str:
    due = clock.local(case.due_at).strftime("%m-%d %H:%M") if case.due_at else ""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(TEXTS[kind] % {"name": privacy.mask_name(case.requester_name) or "", "number": case.number,
                                  "due": due, **extra})


def receipt(case: Case) -> None:
    """The case number and due time, as soon as a case is logged (the caller commits); proactive work (a campaign's
    finding) is not called the resident's request."""
    text = _text("proactive_receipt" if case.proactive else "receipt", case)  # "your request" only if they asked
    outbox.tell_resident("receipt", case, text, f"receipt:{case.number}")


def result(case: Case, link: str | None) -> bool:
    """The case is resolved: was it solved, is the resident satisfied? With the link to answer (``answers``).
    False when no message could be written (no phone, opted out, no public address for the link)."""
    return link is not None and outbox.tell_resident("result", case, _text("result", case, link=link),
                                                     f"result:{case.number}:{case.resolved_at.timestamp():.0f}")


def due_moved(case: Case, cause: dict | None) -> None:
    """The case's due time (told in its receipt) moved: a sailing cancelled or restored (``cause``, as
    ``calendar_years.recompute_limits`` keeps it), or the year's holidays changed; the resident is told the new one,
    once for each due time."""
    if cause and cause.get("sailing"):
        kind, day = ("due_restored" if cause.get("restored") else "due_sailing"), cause["sailing"][5:]
    else:
        kind, day = "due_calendar", ""
    outbox.tell_resident("due_moved", case, _text(kind, case, day=day),
                         f"due:{case.number}:{case.due_at.timestamp():.0f}")


def office_answered(case: Case, answer: str) -> None:
    """The errand is back from the higher office: approved, rejected or wanting more documents."""
    outbox.tell_resident("errand_back", case, _text(f"office_{answer}", case),
                         f"office:{case.number}:{clock.now().timestamp():.0f}")


def _when(day, slot, window=None) -> str:
    """The day and half-day, with its hours when known (``window``: when the half-day begins and ends): "12-09 上午
    （08:30-12:00）"."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        hours = f"（{clock.local(window[0]):%H:%M}-{clock.local(window[1]):%H:%M}）" if window else ""
        return f"{day:%m-%d} {slot.label}{hours}"


def _contact(case: Case) -> str:
    """Whom the resident calls about the visit: the service point's phone, or its name where it has none."""
    point = case.service_point
    return (point.phone or point.name_zh) if point is not None else ""


# What waits to tell a resident about a visit or its booking: given up when the visit moves or ends (``outbox.withdraw``),
# so that nothing arrives after the fact saying a day that is no longer true, or offering a booking already made.
ABOUT_THE_VISIT = ("visit", "book", "book_call")


def visit_booked(case: Case, day, slot, moved: bool = False, window=None) -> bool:
    """A visit was booked (by a clerk, the care schedule or the resident) or moved: the day and half-day the team
    comes, and whom to call to change it. Never a booking link: the visit is booked. What still waited to tell them
    of an earlier day (or to offer the link) is withdrawn; each booking and each move is told, under the moment it
    was made (a visit moved back to an earlier day is told again)."""
    outbox.withdraw(case, ABOUT_THE_VISIT)
    kind = "moved" if moved else "booked"
    key = f"visit-{kind}:{case.number}:{uuid.uuid4().hex}"  # each booking and each move is an event of its own
    return outbox.tell_resident("visit", case, _text(kind, case, when=_when(day, slot, window), phone=_contact(case)),
                                key)


def visit_cancelled(case: Case, day, slot) -> bool:
    """A booked visit was cancelled with its case (withdrawn, returned, merged): what still waited to tell of it is
    withdrawn, and a resident who was told of the visit (a message about it went) is told that the team will not
    come that day; one who never heard of it is told nothing of it."""
    heard = db.session.scalar(sa.select(OutboxMessage.id).where(
        OutboxMessage.case_id == case.id, OutboxMessage.kind == "visit", OutboxMessage.status == MessageStatus.SENT)
        .limit(1)) is not None
    outbox.withdraw(case, ABOUT_THE_VISIT)
    if not heard:
        return False
    return outbox.tell_resident("visit", case, _text("visit_cancelled", case, when=_when(day, slot),
                                                     phone=_contact(case)),
                                f"visit-cancelled:{case.number}:{uuid.uuid4().hex}")


def visit_tomorrow(case: Case, visit, day, slot, window=None) -> bool:
    """The day before a home visit: when the team comes (``day``, the half-day ``slot``), and whom to call to
    change it; once a booking of the visit (its version: a visit moved away and back is reminded again)."""
    return outbox.tell_resident("visit", case, _text("visit", case, when=_when(day, slot, window),
                                                     phone=_contact(case)),
                                f"visit:{visit.id}:{visit.version}:{day}")


def book_yourself(case: Case, link: str) -> None:
    """A home-visit case without a visit, whose team has a free half-day before it is due: the link to choose one
    (``visits`` decides and books it)."""
    outbox.tell_resident("book", case, _text("book", case, link=link), f"book:{case.number}")


def call_to_book(case: Case) -> None:
    """A home-visit case that cannot be booked by a link (no free half-day before it is due, or no public address
    to link to): the service point will call to agree the visit."""
    outbox.tell_resident("book_call", case, _text("call_to_book", case, phone=_contact(case)), f"book:{case.number}")


def booking_offer(case: Case) -> str | None:
    """What the resident of a home case was told about booking its visit: "book" (the link to choose the half-day),
    "book_call" (the service point will call), each with "_waiting" while the SMS has not gone yet (held back at
    night, or no gateway), "not_told" (such an SMS was given up: it never reached them), or None (no such SMS: no
    phone, they stopped SMS, or it was withdrawn when a visit was booked). The case page says it, so that the post
    calls those it promised to call, and those a promise never reached."""
    row = db.session.execute(sa.select(OutboxMessage.kind, OutboxMessage.status, OutboxMessage.last_error).where(
        OutboxMessage.case_id == case.id, OutboxMessage.kind.in_(["book", "book_call"]))
        .order_by(OutboxMessage.id.desc())).first()
    if row is None or row.last_error == outbox.WITHDRAWN:
        return None
    if row.status is MessageStatus.DEAD:
        return "not_told"
    return row.kind if row.status is MessageStatus.SENT else f"{row.kind}_waiting"
