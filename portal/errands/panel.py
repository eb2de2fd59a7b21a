"""The errand's part of a case page: who holds which document now, the errand's stage, and the office's answer
form for those who record it there (the off-island hall's clerk has no other step on the case page)."""
from __future__ import annotations

from portal.cases import page
from portal.domain import access, errands
from portal.errands.forms import AnswerForm
from portal.models import Case, CaseStatus, Holder, Mode, User


@page.panel
def errand_panel(case: Case, user: User, errand_answer=None, **_other_parts) -> dict:
    """Custody and stage of an errand, with the answer form while it waits for the office and ``user`` may record
    the answer."""
    if case.mode is not Mode.ERRAND:
        return {"errand": None}
    custody = errands.custody(case)
    stage = errands.stage(case)
    may_answer = case.status is CaseStatus.AWAITING_OFFICE and access.can(user, "case.office_answer", case)
    answer = (errand_answer or AnswerForm(formdata=None)) if may_answer else None
    if answer is not None:  # the case page has a note form of its own: keep every id once on the page
        for field in answer:
            field.id = field.label.field_id = f"errand-{field.id}"
    return {"errand": {
        "custody": custody,
        "stage": dict(errands.STAGES).get(stage),
        "may_work": access.can(user, "case.work", case),
        "answer": answer,
        "documents_come_back": any(h.holder is Holder.OFFICE for h in custody),
    }}
