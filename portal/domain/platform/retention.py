"""Keeping personal data no longer than needed (PIPL art. 19): cases finished more than
``RETENTION_YEARS`` ago lose what identifies the resident, and keep what the boards and reports count.

Cleared: the requester's name, phone and address, the description, the notes of the timeline, callback
comments, the links to the household and resident, and scans and photos (their files, and the thumbnails
made from them, are deleted from the upload folder unless another case still uses them). Kept: the number,
item, place, point, team, statuses, times, outcome and satisfaction, so figures of past years do not change.
``flask --app portal purge-personal-data --dry-run`` says what would go; each run writes one audit row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.domain.platform import audit, files, unit
from portal.extensions import db
from portal.models import Attachment, CallbackRecord, Case, CaseEvent, CaseStatus

PURGED_NAME = "（已清除）"
FINISHED = (CaseStatus.CLOSED, CaseStatus.CANCELLED, CaseStatus.MERGED)


@dataclass
class Purge:
    cases: int
    notes: int
    comments: int
    files: int
    cutoff: object


def _due(years: int):
    cutoff = clock.now() - timedelta(days=round(365.25 * years))
    finished_at = sa.func.coalesce(Case.closed_at, Case.updated_at)
    ids = sa.select(Case.id).where(Case.status.in_(FINISHED), finished_at < cutoff, Case.requester_name != PURGED_NAME)
    return ids, cutoff


def purge(years: int | None = None, dry_run: bool = False, actor_name: str = "retention") -> Purge:
    """Clear the personal data of cases finished more than ``years`` ago (RETENTION_YEARS by default)."""
    years = years if years is not None else current_app.config["RETENTION_YEARS"]
    ids, cutoff = _due(years)
    count = lambda model, *where: db.session.scalar(  # noqa: E731
        sa.select(sa.func.count()).select_from(model).where(*where)) or 0
    result = Purge(
        cases=count(Case, Case.id.in_(ids)),
        notes=count(CaseEvent, CaseEvent.case_id.in_(ids), CaseEvent.note != ""),
        comments=count(CallbackRecord, CallbackRecord.case_id.in_(ids), CallbackRecord.comment != ""),
        files=count(Attachment, Attachment.case_id.in_(ids)),
        cutoff=cutoff,
    )
    if dry_run or not result.cases:
        return result
    case_ids = list(db.session.scalars(ids))
    kept = db.session.execute(sa.select(Attachment.sha256, Attachment.thumb_sha256)
                              .where(Attachment.case_id.in_(ids))).all()
    hashes = {digest for row in kept for digest in row if digest}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start:start + 500]
        db.session.execute(sa.update(Case).where(Case.id.in_(chunk)).values(
            requester_name=PURGED_NAME, requester_phone="", address="", description=PURGED_NAME,
            callback_comment="", household_id=None, resident_id=None, version=Case.version + 1)
            .execution_options(synchronize_session=False))
        db.session.execute(sa.update(CaseEvent).where(CaseEvent.case_id.in_(chunk), CaseEvent.note != "")
                           .values(note="").execution_options(synchronize_session=False))
        db.session.execute(sa.update(CallbackRecord).where(CallbackRecord.case_id.in_(chunk))
                           .values(comment="").execution_options(synchronize_session=False))
        db.session.execute(sa.delete(Attachment).where(Attachment.case_id.in_(chunk))
                           .execution_options(synchronize_session=False))
    audit.record("purge_personal_data", actor_name=actor_name, object_type="cases",
                 reason=f"{result.cases} cases finished before {clock.local(cutoff):%Y-%m-%d}; "
                        f"{result.notes} notes, {result.comments} comments, {result.files} files")
    unit.end_step()
    _delete_unused_files(hashes)
    return result


def _delete_unused_files(hashes: set[str]) -> None:
    """Delete the files of purged attachments, and their thumbnails, that no remaining attachment uses (the
    folder is content-addressed: the same photo on another case is the same file)."""
    still_used, ordered = set(), sorted(hashes)
    for start in range(0, len(ordered), 500):
        for column in (Attachment.sha256, Attachment.thumb_sha256):
            still_used.update(db.session.scalars(sa.select(column).where(column.in_(ordered[start:start + 500]))))
    for digest in hashes - still_used:
        files.delete(digest)
