"""Who may ask for more time, decide on it, and put a case under supervision (督办).

The owner of a claimed, open case asks for an extension; a lead who answers for the case decides, never on
their own request. A lead who answers for a case puts it under supervision while it is open or waits for
its callback, and names someone the case may be given to.
"""
from __future__ import annotations

from portal.domain.access.cases import can_view
from portal.domain.access.policy import rule
from portal.models import Case, CaseStatus, ExtensionRequest, Role, User


@rule("extension.ask", Case)
def may_ask(user: User, case: Case) -> bool:
    return case.owner_id == user.id and case.status.is_open and case.status is not CaseStatus.LOGGED \
        and case.due_at is not None


@rule("extension.view", ExtensionRequest, reads=True)
def may_see_request(user: User, request: ExtensionRequest) -> bool:
    return can_view(user, request.case)


@rule("extension.decide", ExtensionRequest)
def may_decide(user: User, request: ExtensionRequest) -> bool:
    return user.role is Role.LEAD and request.requested_by_id != user.id and can_view(user, request.case)


@rule("case.supervise", Case)
def may_supervise(user: User, case: Case) -> bool:
    return user.role is Role.LEAD and can_view(user, case) and (
        case.status.is_open or case.status is CaseStatus.RESOLVED)


@rule("supervision.list")
def sees_supervision(user: User) -> bool:
    return user.role is Role.LEAD
