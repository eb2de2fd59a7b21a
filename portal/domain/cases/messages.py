"""What the portal tells a resident about their case by SMS, and when: each text and the event that sends it.

Every message is written to the outbox (``portal.domain.platform.outbox``) in the transaction of its event,
under a key naming the event, so that it goes out once and only if the event stands. Texts are short (one SMS
of 70 characters), in Chinese whatever the language of the person who acted, and name the resident masked.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain.platform import outbox, privacy
from portal.models import Case, MessageChannel

TEXTS = {
    "receipt": _l("%(name)s, your request is logged as case %(number)s and due by %(due)s. Reply TD to stop "
                  "messages."),
    "result": _l("%(name)s, case %(number)s is resolved. Was it solved, and are you satisfied? Tell us here: "
                 "%(link)s Reply TD to stop messages."),
}


def _text(kind: str, case: Case, **extra) -> str:
    due = clock.local(case.due_at).strftime("%m-%d %H:%M") if case.due_at else ""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(TEXTS[kind] % {"name": privacy.mask_name(case.requester_name) or "", "number": case.number,
                                  "due": due, **extra})


def receipt(case: Case) -> None:
    """The case number and due time, as soon as a case is logged (the caller commits)."""
    outbox.enqueue("receipt", MessageChannel.SMS, case.requester_phone, _text("receipt", case),
                   f"receipt:{case.number}", case=case, to_resident=True)


def result(case: Case, link: str) -> bool:
    """The case is resolved: was it solved, is the resident satisfied? With the link to answer (``answers``).
    False when no message could be written (no phone, opted out)."""
    return outbox.enqueue("result", MessageChannel.SMS, case.requester_phone, _text("result", case, link=link),
                          f"result:{case.number}:{case.resolved_at.timestamp():.0f}", case=case, to_resident=True)
