"""The public self-service lookup (自助查询): a resident follows a case with its number and the last four
digits of the phone it was logged with; kiosk and WeChat cases are rated there once resolved.

Wrong guesses are throttled in the database, so that guessing the four digits (10,000 tries) is
hopeless: in LOOKUP_WINDOW_MINUTES, LOOKUP_ATTEMPTS wrong tries on one number from one address,
LOOKUP_CASE_ATTEMPTS on one number from anywhere, or LOOKUP_ADDRESS_ATTEMPTS from one address, and even
the right answer waits. One person's typos at a kiosk lock neither the kiosk nor the case for others;
locking a case for its resident takes many wrong tries from several addresses, and then lasts the window
only. A case that does not exist and a wrong phone get the same answer.
"""
from __future__ import annotations

import hmac
import re
import unicodedata

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from portal.domain import DomainError
from portal.domain.platform import privacy, throttle
from portal.extensions import db
from portal.models import Case, CaseEvent

NUMBER = re.compile(r"^[A-Z]{2,8}-[0-9]{8}-[0-9]{4,6}$")


class Throttled(DomainError):
    status = 429


def _limits(number: str, address: str) -> tuple[tuple[tuple[str, int], ...], int]:
    config = current_app.config
    keys = ((f"lookup-try:{number}:{address}", config["LOOKUP_ATTEMPTS"]),
            (f"lookup-case:{number}", config["LOOKUP_CASE_ATTEMPTS"]),
            (f"lookup-ip:{address}", config["LOOKUP_ADDRESS_ATTEMPTS"]))
    return keys, config["LOOKUP_WINDOW_MINUTES"] * 60


def find(number: str, last_four: str, address: str) -> Case:
    """The case, if ``last_four`` are the last four digits of its phone; DomainError otherwise."""
    # Full-width characters, as Chinese phone keyboards type them, count as their plain forms.
    number = unicodedata.normalize("NFKC", number or "").strip().upper()
    last_four = unicodedata.normalize("NFKC", last_four or "").strip()
    if not NUMBER.match(number):
        raise DomainError(_l("Enter the case number as printed on the slip, e.g. LS-20261128-0001."), field="number")
    if not re.fullmatch(r"[0-9]{4}", last_four):
        raise DomainError(_l("Enter the last four digits of the phone number you gave."), field="last_four")
    keys, window = _limits(number, address)
    # Every try counts first (atomically, so parallel guesses cannot slip past), a right one is forgiven.
    within = [throttle.hit(key, limit, window) for key, limit in keys]
    if not all(within):
        raise Throttled(_l("Too many wrong tries. Please wait %(minutes)d minutes, or ask at the service point.",
                           minutes=window // 60))
    case = db.session.scalars(
        sa.select(Case).where(Case.number == number)
        .options(joinedload(Case.item), joinedload(Case.service_point), joinedload(Case.place),
                 selectinload(Case.events).joinedload(CaseEvent.actor), selectinload(Case.materials))
    ).first()
    phone = case.requester_phone if case is not None else "0000"
    if case is None or not hmac.compare_digest(phone[-4:].encode(), last_four.encode()):
        raise DomainError(_l("No case matches this number and these digits. Check the slip and try again."),
                          field="number")
    for key, limit in keys:
        throttle.hit(key, limit, window, amount=-1)
    return case


def public_events(case: Case) -> list[CaseEvent]:
    """The timeline the resident sees: the events marked for them, oldest first."""
    return [event for event in case.events if event.public]


def public_note(text: str | None) -> str:
    """A note as a kiosk shows it: phone and ID numbers someone typed into it masked."""
    return privacy.mask_text(text or "")
