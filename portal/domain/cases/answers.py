"""Closure confirmed by the resident: the link sent with a case's result, and what it may still do.

When a case is resolved, the resident gets an SMS with a link to a page where they say whether their matter was
solved and how satisfied they are (``lifecycle.answer_by_resident`` records it as the callback, a dissatisfied
answer redoing the case exactly as a clerk's callback does). The link is

- **signed and single-case** (``links``): bound to the case and the moment it was resolved, so that nobody can
  make one, and a link of an earlier resolution (the case was redone since) no longer opens it;
- **expiring**: it answers until ``case.answer_until``, ``RESIDENT_ANSWER_DAYS`` after the resolution; then the
  case falls back to the clerk's callback queue (which leaves it alone until then);
- **single use**: the answer closes the case (or redoes it), after which the link only says it was answered;
- **free of personal data** (``links``).
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app

from portal import clock
from portal.domain.cases import links, messages
from portal.models import Case, CaseStatus


def open_for_answer(case: Case) -> bool:
    """Whether the resident may still answer (resolved, not yet called back, the link not expired)."""
    return case.status is CaseStatus.RESOLVED and case.answer_until is not None and clock.now() < case.answer_until


def offer(case: Case) -> None:
    """On a resolution: send the resident the result with the link, and hold the clerk's callback until the
    link expires (the caller commits). A case without a phone, or whose resident opted out, goes straight to
    the clerk's callback."""
    case.answer_until = None
    if messages.result(case, links.url(case, "answer")):
        case.answer_until = case.resolved_at + timedelta(days=current_app.config["RESIDENT_ANSWER_DAYS"])
