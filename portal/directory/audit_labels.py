"""What the audit log's codes mean, in the reader's language: actions, kinds of object, pages.

The log keeps codes (stable, searchable, the same in every language); the page and the export show these
labels beside them. A code without a label here is shown as it is.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.domain.cases.lifecycle import TRANSITIONS
from portal.models import AuditEntry, CaseStatus

ACTIONS = {
    "activate": _l("Activated or deactivated"), "attach": _l("Attached a file"), "attendance": _l("Recorded the day"),
    "attendance_corrected": _l("Corrected a day on the island"),
    "findings_to_cases": _l("Made campaign findings cases"), "heating_season": _l("Set a heating season"),
    "temperature": _l("Recorded a room temperature"),
    "recompute_due": _l("Counted a time limit again (calendar changed)"), "sailing_cancelled": _l("Marked a sailing cancelled"),
    "sailing_restored": _l("Restored a cancelled sailing"), "book_visit": _l("Booked a visit"),
    "calendar": _l("Changed the working calendar"), "calendar_token": _l("Renewed a calendar address"), "caller_lookup": _l("Looked up a caller"),
    "campaign_visit": _l("Recorded a campaign visit"), "change_password": _l("Changed a password"),
    "close_incident": _l("Closed an incident"), "create": _l("Created"), "declare_incident": _l("Declared an incident"),
    "demo_data": _l("Loaded demo data"), "denied": _l("Refused access"), "duty": _l("Changed the duty roster"),
    "edit": _l("Edited a case"), "end_sessions": _l("Ended sessions"), "export": _l("Exported"),
    "extension_approved": _l("Approved an extension"), "extension_asked": _l("Asked for an extension"),
    "extension_refused": _l("Refused an extension"), "hand_off": _l("Handed off an errand"),
    "handover": _l("Handed over documents"), "import": _l("Imported a roster"), "log": _l("Logged a case"), "message_retry": _l("Sent a message again"),
    "login": _l("Signed in"), "login_failed": _l("Failed sign-in"), "login_throttled": _l("Sign-in throttled"),
    "move_visit": _l("Moved a visit"), "note": _l("Added a note"), "opt_out": _l("Stopped messages to a number"), "overdue": _l("Became overdue"),
    "password_check_failed": _l("Wrong current password"), "publish": _l("Published a notice"),
    "purge_personal_data": _l("Cleared personal data"), "remind": _l("Sent a reminder"),
    "reveal": _l("Revealed a full ID number"), "revoke": _l("Revoked"), "start_visit": _l("Started a visit"),
    "supervise": _l("Supervised a case"), "topic": _l("Chose the month's topic"), "update": _l("Changed"), "withdraw": _l("Withdrew a notice"),
}

OBJECTS = {
    "cases": _l("Case"), "users": _l("User"), "households": _l("Household"), "residents": _l("Resident"),
    "places": _l("Place"), "service_points": _l("Service point"), "service_items": _l("Service item"),
    "teams": _l("Team"), "visits": _l("Visit"), "incidents": _l("Incident"), "campaigns": _l("Campaign"),
    "notices": _l("Notice"), "monthly_topics": _l("Month's topic"), "outbox": _l("Message"), "api_keys": _l("API key"), "wall_screens": _l("Wall screen"),
    "cancelled_sailings": _l("Cancelled sailing"), "attachments": _l("Attachment"), "audit_entries": _l("Audit log"), "duty_shifts": _l("Duty shift"),
    "extension_requests": _l("Extension request"), "calendar_years": _l("Year of the working calendar"), "canned_replies": _l("Stock phrase"), "route": _l("Page"),
}


def action_label(code: str) -> str:
    """The action in words: a step of a case's lifecycle by its own name, else from ``ACTIONS``."""
    if code in TRANSITIONS:
        return str(TRANSITIONS[code].label)
    return str(ACTIONS.get(code, code))


def object_label(code: str) -> str:
    return str(OBJECTS.get(code, code))


def describe_object(row: AuditEntry) -> str:
    """Which object a row is about: "工单 17"; a refused page by the address asked for."""
    if row.object_type == "route":
        path = row.reason.split(" ", 1)[-1] if row.reason else row.object_id
        return f"{object_label('route')} {path}"
    return f"{object_label(row.object_type)} {row.object_id}".strip()


def describe_value(name: str, value) -> str:
    """One side of a change; a case's status by its name."""
    if name == "status" and value in {s.value for s in CaseStatus}:
        return str(CaseStatus(value).label)
    return "" if value is None else str(value)
