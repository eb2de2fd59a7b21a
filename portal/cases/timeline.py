"""How a timeline event reads, in the reader's language.

Events store what happened (kind, statuses, data) and the words a person typed (note); the sentence
around them is composed here when the page is shown, so Chinese and English readers, and the
resident on the public lookup page, each read it in their own language.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.domain.cases.lifecycle import OFFICE_ANSWERS
from portal.domain.platform import privacy
from portal.models import (
    CaseEvent,
    Channel,
    EventKind,
    Finding,
    Holder,
    Outcome,
    SailingReason,
    Satisfaction,
    SignatureKind,
)

FIELD_LABELS = {
    "description": _l("What the resident needs"),
    "requester_name": _l("Name"),
    "requester_phone": _l("Phone"),
    "address": _l("Address"),
    "priority": _l("Priority"),
}


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    return clock.local(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M")


# Who acted when it was not a signed-in user: stored as a marker, read in the reader's language.
ACTORS = {
    "system": _l("System"),
    "resident": _l("The resident"),
    "kiosk": _l("Self-service kiosk"),
    "wechat": _l("WeChat"),
    "care-schedule": _l("Care visit schedule"),
}


def _sailing_reason(data: dict) -> str:
    """Why the boat did not sail, as the lead said it (fog, wind, or their own words)."""
    reason = data.get("reason")
    if reason == SailingReason.OTHER.value and data.get("note"):
        return data["note"]
    return str(SailingReason(reason).label) if reason in SailingReason._value2member_map_ else ""


def who(event: CaseEvent) -> str:
    if event.actor is not None:
        return event.actor.display_name
    return str(ACTORS.get(event.actor_label, event.actor_label or ACTORS["system"]))


def describe(event: CaseEvent, public: bool = False) -> str:
    """One line saying what happened, without the note. ``public`` is for the resident's own lookup page,
    which a kiosk shows in a hall: every person named in it is masked (张*)."""
    data = event.data or {}
    name = privacy.mask_name if public else (lambda text: text or "")
    kind = event.kind
    if kind is EventKind.LOGGED:
        channel = Channel(data["channel"]).label if data.get("channel") in Channel._value2member_map_ else ""
        return _("Logged (%(channel)s)", channel=channel) if channel else _("Logged")
    if kind is EventKind.ASSIGNED:
        return _("Assigned to %(name)s", name=name(data.get("owner", "")))
    if kind is EventKind.SENT_OFF:
        return _("Materials submitted to %(office)s", office=data.get("office") or _("the higher office"))
    if kind is EventKind.OFFICE_ANSWERED:
        answer = OFFICE_ANSWERS.get(data.get("answer"), "")
        return _("The higher office answered: %(answer)s", answer=answer)
    if kind in (EventKind.CLOSED, EventKind.REOPENED) and "satisfaction" in data:
        rating = Satisfaction(data["satisfaction"]).label
        if data.get("by_resident"):
            text = _("Rated by the resident: %(rating)s", rating=rating)
            if data.get("outcome"):
                text = _("Rated by the resident: %(outcome)s, %(rating)s", outcome=Outcome(data["outcome"]).label,
                         rating=rating)
            return text + (_("; the case is redone") if data.get("redo") else "")
        outcome = Outcome(data["outcome"]).label if data.get("outcome") else ""
        if data.get("redo"):
            return _("Callback: %(outcome)s, %(rating)s; the case is redone", outcome=outcome, rating=rating)
        return _("Callback: %(outcome)s, %(rating)s", outcome=outcome, rating=rating)
    if kind is EventKind.CLOSED and data.get("unrated"):
        return _("Closed without a rating: the resident could not be reached")
    if kind is EventKind.TRANSFERRED:
        target = data.get("to_point", "")
        if data.get("owner"):
            target = f"{target} · {name(data['owner'])}"
        return _("Transferred to %(target)s", target=target)
    if kind is EventKind.MERGED:
        return _("Merged into %(number)s, which is handled for you", number=data.get("original", ""))
    if kind is EventKind.NOTE and data.get("duplicate"):
        return _("Duplicate %(number)s merged into this case", number=data["duplicate"])
    if kind in (EventKind.EXTENSION_ASKED, EventKind.EXTENDED) and data.get("due"):
        due = _local(data["due"])
        if kind is EventKind.EXTENDED:
            return _("Extended: the new expected date is %(due)s", due=due)
        return _("Extension to %(due)s asked", due=due)
    if kind is EventKind.DUE_RECOMPUTED and data.get("sailing"):  # domain/sailings.py
        if data.get("restored"):
            return _("Sailing of %(day)s restored: the time limit moves from %(old)s back to %(due)s",
                     day=data["sailing"], old=_local(data.get("old")), due=_local(data.get("due")))
        return _("No sailing on %(day)s (停航, %(reason)s): the time limit moves from %(old)s to %(due)s",
                 day=data["sailing"], reason=_sailing_reason(data), old=_local(data.get("old")),
                 due=_local(data.get("due")))
    if kind is EventKind.DUE_RECOMPUTED:
        days = data.get("days") or []
        changed = "、".join(day[5:] for day in days[:6]) + ("…" if len(days) > 6 else "")
        return _("The working calendar of %(year)s changed (%(days)s): the time limit is counted again, due %(due)s "
                 "(was %(old)s)", year=data.get("year", ""), days=changed, due=_local(data.get("due")),
                 old=_local(data.get("old")))
    if kind is EventKind.REMINDED:
        return _("Reminder: 75%% of the time limit has passed (due %(due)s)", due=_local(data.get("due")))
    if kind is EventKind.OVERDUE:
        return _("Overdue: it was due %(due)s; the leads were told", due=_local(data.get("due")))
    if kind is EventKind.SUPERVISED:
        if data.get("responsible"):
            return _("Under supervision: %(name)s answers for it by %(deadline)s", name=name(data["responsible"]),
                     deadline=_local(data.get("deadline")))
        return _("Became a problem case under supervision")
    if kind is EventKind.CALLBACK_ATTEMPT:
        if data.get("retry_at"):
            return _("Callback attempt %(n)d: no answer; call again %(at)s", n=data.get("attempt", 1),
                     at=_local(data["retry_at"]))
        return _("Callback attempt %(n)d: no answer", n=data.get("attempt", 1))
    if kind is EventKind.MATERIALS:
        names = "、".join(data.get("materials", []))
        to = Holder(data["to"]).label if data.get("to") in Holder._value2member_map_ else ""
        if data.get("signed") in SignatureKind._value2member_map_:  # how it was signed (domain/errands.py)
            return _("Documents handed to %(to)s: %(names)s (confirmed by %(name)s, %(signed)s)", to=to,
                     names=names, name=name(data.get("confirmed_by", "")), signed=SignatureKind(data["signed"]).label)
        return _("Documents handed to %(to)s: %(names)s (confirmed by %(name)s)", to=to, names=names,
                 name=name(data.get("confirmed_by", "")))
    if kind is EventKind.NOTE and "again" in data:
        return _("Called again about this (%(caller)s)", caller=name(data["again"]) if public else data["again"])
    if kind is EventKind.NOTE and data.get("attachment"):
        return _("File kept: %(name)s", name=data["attachment"])
    if kind is EventKind.NOTE and data.get("below_standard_case"):  # domain/heating.record_temperature, on a fault
        return _("Room temperature measured: %(celsius)s ℃ (standard %(standard)s ℃), below it: case %(number)s",
                 celsius=f"{data['temperature']:g}", standard=f"{data.get('standard', 0):g}",
                 number=data["below_standard_case"])
    if kind is EventKind.NOTE and "temperature" in data:  # domain/heating.record_temperature
        return _("Room temperature measured: %(celsius)s ℃ (standard %(standard)s ℃)", celsius=f"{data['temperature']:g}",
                 standard=f"{data.get('standard', 0):g}")
    if kind is EventKind.NOTE and data.get("found_again") and data.get("finding"):  # domain/heating._case_of_finding
        finding = Finding(data["finding"]).label if data["finding"] in Finding._value2member_map_ else data["finding"]
        return _("Found again on the campaign “%(campaign)s”: %(finding)s", campaign=data.get("campaign", ""),
                 finding=finding)
    if kind is EventKind.ROUTED and data.get("why") == "campaign" and data.get("finding"):
        finding = Finding(data["finding"]).label if data["finding"] in Finding._value2member_map_ else data["finding"]
        return _("From the finding “%(finding)s” of the campaign “%(campaign)s”; routed to %(name)s", finding=finding,
                 campaign=data.get("campaign", ""), name=name(data.get("owner") or ""))
    if kind is EventKind.ROUTED and data.get("why") == "temperature":
        return _("Room temperature %(celsius)s ℃, below the standard %(standard)s ℃; routed to %(name)s",
                 celsius=f"{data.get('celsius', 0):g}", standard=f"{data.get('standard', 0):g}", name=name(data.get("owner") or ""))
    if kind is EventKind.ROUTED:
        owner = name(data.get("owner") or "")
        return {
            "butler": _("Routed to the estate's butler %(name)s", name=owner),
            "duty": _("Routed to %(name)s, on duty at night or on a holiday", name=owner),
            "campaign": _("Found on a home-visit campaign; routed to %(name)s", name=owner),
        }.get(data.get("why"), _("In the station's queue: the address is to be checked"))
    if kind is EventKind.INCIDENT:
        return _("Linked to the incident “%(title)s”", title=data.get("incident", ""))
    if kind is EventKind.EDITED:
        fields = "、".join(str(FIELD_LABELS.get(f, f)) for f in data.get("fields", []))
        return _("Details edited: %(fields)s", fields=fields)
    return str(kind.label)
