"""How a timeline event reads, in the reader's language.

Events store what happened (kind, statuses, data) and the words a person typed (note); the sentence
around them is composed here when the page is shown, so Chinese and English readers, and the
resident on the public lookup page, each read it in their own language.
"""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal.domain.lifecycle import OFFICE_ANSWERS
from portal.models import CaseEvent, Channel, EventKind, Outcome, Satisfaction

FIELD_LABELS = {
    "description": _l("What the resident needs"),
    "requester_name": _l("Name"),
    "requester_phone": _l("Phone"),
    "address": _l("Address"),
    "priority": _l("Priority"),
}


def who(event: CaseEvent) -> str:
    if event.actor is not None:
        return event.actor.display_name
    return event.actor_label or _("System")


def describe(event: CaseEvent) -> str:
    """One line saying what happened, without the note."""
    data = event.data or {}
    kind = event.kind
    if kind is EventKind.LOGGED:
        channel = Channel(data["channel"]).label if data.get("channel") in Channel._value2member_map_ else ""
        return _("Logged (%(channel)s)", channel=channel) if channel else _("Logged")
    if kind is EventKind.ASSIGNED:
        return _("Assigned to %(name)s", name=data.get("owner", ""))
    if kind is EventKind.SENT_OFF:
        return _("Materials submitted to %(office)s", office=data.get("office") or _("the higher office"))
    if kind is EventKind.OFFICE_ANSWERED:
        answer = OFFICE_ANSWERS.get(data.get("answer"), "")
        return _("The higher office answered: %(answer)s", answer=answer)
    if kind in (EventKind.CLOSED, EventKind.REOPENED) and "satisfaction" in data:
        outcome = Outcome(data["outcome"]).label if data.get("outcome") else ""
        rating = Satisfaction(data["satisfaction"]).label
        if data.get("redo"):
            return _("Callback: %(outcome)s, %(rating)s; the case is redone", outcome=outcome, rating=rating)
        return _("Callback: %(outcome)s, %(rating)s", outcome=outcome, rating=rating)
    if kind is EventKind.CLOSED and data.get("unrated"):
        return _("Closed without a rating: the resident could not be reached")
    if kind is EventKind.TRANSFERRED:
        target = data.get("to_point", "")
        if data.get("owner"):
            target = f"{target} · {data['owner']}"
        return _("Transferred to %(target)s", target=target)
    if kind is EventKind.MERGED:
        return _("Merged into %(number)s, which is handled for you", number=data.get("original", ""))
    if kind is EventKind.NOTE and data.get("duplicate"):
        return _("Duplicate %(number)s merged into this case", number=data["duplicate"])
    if kind is EventKind.EDITED:
        fields = "、".join(str(FIELD_LABELS.get(f, f)) for f in data.get("fields", []))
        return _("Details edited: %(fields)s", fields=fields)
    return str(kind.label)
