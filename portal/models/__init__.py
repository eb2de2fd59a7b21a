"""The tables, as SQLAlchemy 2 typed models. Models know nothing of the domain or the web."""
from portal.models.audit import AuditEntry
from portal.models.calendar import CalendarDay, CalendarYear, CancelledSailing, DayKind, SailingReason, YearStatus
from portal.models.cases import (
    OPEN_STATUSES,
    CallbackRecord,
    CannedReply,
    Case,
    CaseEvent,
    CaseNumberCounter,
    CaseStatus,
    CaseViewer,
    Channel,
    EventKind,
    Outcome,
    Priority,
    Satisfaction,
)
from portal.models.catalog import Mode, ServiceItem
from portal.models.credentials import ApiKey, IdempotentRequest, RateHit, Replay
from portal.models.errands import Attachment, CaseMaterial, Holder, MaterialHandover, SignatureKind
from portal.models.heating import (
    Campaign,
    CampaignVisit,
    DutyShift,
    Finding,
    HeatingSeason,
    Incident,
    ReadingSource,
    SeasonPhase,
    TemperatureReading,
    VisitResult,
    campaign_places,
    incident_places,
)
from portal.models.jobs import Job, JobStatus
from portal.models.notices import Notice
from portal.models.outbox import MessageChannel, MessageStatus, OptOut, OutboxMessage
from portal.models.people import (
    Attendance,
    AttendanceKind,
    FailedLogin,
    Office,
    Role,
    Team,
    User,
    team_places,
    user_places,
)
from portal.models.places import Household, Place, PlaceKind, PointKind, Resident, ServicePoint
from portal.models.stats import COUNTERS, HOUR_BUCKETS, CaseCount, ChangeMark, MonthlyTopic, WallScreen
from portal.models.supervision import (
    ExtensionRequest,
    ExtensionStatus,
    Notification,
    Supervision,
    SupervisionReason,
)
from portal.models.visits import ACTIVE_VISITS, IN_THE_DAY, FishingSeason, Slot, Visit, VisitKind, VisitStatus

__all__ = [
    "Job", "JobStatus",
    "MessageChannel", "MessageStatus", "OptOut", "OutboxMessage",
    "COUNTERS", "HOUR_BUCKETS", "ChangeMark", "CaseCount", "MonthlyTopic", "WallScreen", "ApiKey", "IdempotentRequest", "Notice", "RateHit", "Replay",
    "Campaign", "CampaignVisit", "DutyShift", "Finding", "Incident", "VisitResult", "campaign_places",
    "HeatingSeason", "ReadingSource", "SeasonPhase", "TemperatureReading",
    "incident_places",
    "ACTIVE_VISITS", "IN_THE_DAY", "FishingSeason", "Office", "Slot", "Visit", "VisitKind", "VisitStatus",
    "Attachment", "CaseMaterial", "Holder", "MaterialHandover", "SignatureKind",
    "AuditEntry", "CallbackRecord", "CalendarDay", "CalendarYear", "CancelledSailing", "DayKind", "SailingReason", "YearStatus", "ExtensionRequest", "ExtensionStatus", "Notification", "Supervision",
    "SupervisionReason", "CannedReply", "Case", "CaseViewer", "CaseEvent", "CaseNumberCounter", "CaseStatus", "Channel", "EventKind",
    "FailedLogin", "Household", "Mode", "OPEN_STATUSES", "Outcome", "Place", "PlaceKind", "PointKind",
    "Priority", "Resident", "Role", "Satisfaction", "ServiceItem", "ServicePoint", "Team", "User", "Attendance", "AttendanceKind",
    "team_places", "user_places",
]
