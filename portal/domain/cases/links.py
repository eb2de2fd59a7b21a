"""Signed links sent to residents by SMS: to answer about a resolved case (``answers``), to choose the half-day of
a home visit (``visits`` books it). Each is

- **single-case and unforgeable**: ``<case id>-<HMAC>``, the HMAC (keyed by the portal's secret key, 12 bytes) of
  its purpose, the case and one moment of the case (when it was resolved; when it was logged), so that nobody can
  make one, a link of one purpose opens nothing of another, and a link of an earlier resolution (the case was
  redone since) no longer opens the case;
- **free of personal data**: the address holds an id and a signature, nothing about the resident.

Until when each may be used, and what it may do, is its purpose's own rule.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from flask import current_app

from portal.domain.platform import public_address
from portal.extensions import db
from portal.models import Case

# purpose -> (the page it opens, the moment of the case it is bound to)
PURPOSES = {"answer": ("lookup.answer", "resolved_at"), "book": ("lookup.book", "created_at")}


def _signature(purpose: str, case_id: int, moment) -> str:
    message = f"{purpose}:{case_id}:{moment.timestamp():.0f}".encode()
    digest = hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def token(case: Case, purpose: str) -> str:
    return f"{case.id:x}-{_signature(purpose, case.id, getattr(case, PURPOSES[purpose][1]))}"


def case_of(value: str, purpose: str) -> Case | None:
    """The case a link of ``purpose`` names, if its signature holds; None otherwise (made up, altered, of another
    purpose, or bound to a moment the case no longer has)."""
    number, _, signature = value.partition("-")
    if not (number.isascii() and number.isalnum()):  # int() would take " 1", "1_0" and other digits than ASCII
        return None
    try:
        case_id = int(number, 16)
    except ValueError:
        return None
    case = db.session.get(Case, case_id) if 0 < case_id < 2**31 else None
    moment = getattr(case, PURPOSES[purpose][1]) if case is not None else None
    if moment is None:
        return None
    expected = _signature(purpose, case.id, moment).encode()
    return case if hmac.compare_digest(signature.encode("utf-8", "replace"), expected) else None


def url(case: Case, purpose: str) -> str | None:
    """The link, at the one address residents reach (``public_address``); None while none is configured: then
    no message may carry it."""
    return public_address.url(PURPOSES[purpose][0], token=token(case, purpose))
