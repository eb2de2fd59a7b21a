"""Closure confirmed by the resident: the link sent with a case's result, and what it may still do.

When a case is resolved, the resident gets an SMS with a link to a page where they say whether their matter was
solved and how satisfied they are (``lifecycle.answer_by_resident`` records it as the callback, a dissatisfied
answer redoing the case exactly as a clerk's callback does). The link is

- **signed and single-case**: ``<case id>-<HMAC>``, the HMAC (keyed by the portal's secret key) of the case and
  of the moment it was resolved, so that nobody can make one, and a link of an earlier resolution (the case was
  redone since) no longer opens it;
- **expiring**: it answers until ``case.answer_until``, ``RESIDENT_ANSWER_DAYS`` after the resolution; then the
  case falls back to the clerk's callback queue (which leaves it alone until then);
- **single use**: the answer closes the case (or redoes it), after which the link only says it was answered;
- **free of personal data**: the address holds an id and a signature, nothing about the resident.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

from flask import current_app, has_request_context, request

from portal import clock
from portal.domain.cases import messages
from portal.extensions import db
from portal.models import Case, CaseStatus


def _signature(case_id: int, resolved_at) -> str:
    message = f"answer:{case_id}:{resolved_at.timestamp():.0f}".encode()
    digest = hmac.new(current_app.secret_key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def token(case: Case) -> str:
    return f"{case.id:x}-{_signature(case.id, case.resolved_at)}"


def case_of(value: str) -> Case | None:
    """The case a link names, if its signature holds for the case's present resolution; None otherwise (made
    up, altered, or of an earlier resolution)."""
    number, _, signature = value.partition("-")
    try:
        case_id = int(number, 16)
    except ValueError:
        return None
    case = db.session.get(Case, case_id) if 0 < case_id < 2**31 else None
    if case is None or case.resolved_at is None:
        return None
    return case if hmac.compare_digest(signature, _signature(case.id, case.resolved_at)) else None


def open_for_answer(case: Case) -> bool:
    """Whether the resident may still answer (resolved, not yet called back, the link not expired)."""
    return case.status is CaseStatus.RESOLVED and case.answer_until is not None and clock.now() < case.answer_until


def link(case: Case) -> str:
    path = current_app.url_map.bind("localhost").build("lookup.answer", {"token": token(case)})
    base = current_app.config["PUBLIC_URL"] or (request.host_url if has_request_context() else "http://localhost/")
    return base.rstrip("/") + path


def offer(case: Case) -> None:
    """On a resolution: send the resident the result with the link, and hold the clerk's callback until the
    link expires (the caller commits). A case without a phone, or whose resident opted out, goes straight to
    the clerk's callback."""
    case.answer_until = None
    if messages.result(case, link(case)):
        case.answer_until = case.resolved_at + timedelta(days=current_app.config["RESIDENT_ANSWER_DAYS"])
