"""Every change writes exactly one audit row, in the same transaction; the rows say who, what, old and
new, with phones masked; the database refuses to change or remove them (tests/test_schema.py)."""
import pytest
import sqlalchemy as sa

from portal.domain import Conflict
from portal.domain.cases import intake, lifecycle
from portal.extensions import db
from portal.models import AuditEntry, Channel, Outcome, Satisfaction, ServicePoint
from tests.stories import log


def audit_rows() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def test_each_step_of_a_case_writes_exactly_one_audit_row(world):
    p02 = db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P02")).one()
    steps = []

    def step(name, action):
        before = audit_rows()
        action()
        steps.append((name, audit_rows() - before))

    holder = {}
    step("log", lambda: holder.setdefault("case", log(world, world.plain_errand)))
    case = holder["case"]
    step("claim", lambda: lifecycle.claim(case, world.proxy))
    step("start", lambda: lifecycle.start(case, world.proxy))
    step("resolve", lambda: lifecycle.resolve(case, world.proxy, "办好了"))
    step("close (redo)", lambda: lifecycle.close(case, world.staff, Outcome.UNSOLVED, Satisfaction.DISSATISFIED))
    step("transfer", lambda: lifecycle.transfer(case, world.staff, "改由沙嘴办理", point=p02))
    step("claim again", lambda: lifecycle.claim(case, world.staff_p02))
    step("return", lambda: lifecycle.return_case(case, world.staff_p02, "不属于本站"))
    step("cancel", lambda: lifecycle.cancel(case, world.staff, "居民撤回", version=case.version))
    assert all(count == 1 for _, count in steps), steps


def test_a_refused_change_writes_nothing(world):
    case = log(world)
    lifecycle.claim(case, world.proxy)
    before = audit_rows()
    with pytest.raises(Conflict):
        lifecycle.claim(case, world.proxy_h02)
    assert audit_rows() == before


def test_an_audit_row_says_who_what_and_masks_the_phone(world):
    case = intake.log_case(world.staff, world.plain_errand, Channel.PHONE, "代办", "王大爷", "13912345678",
                           household=world.household)
    row = db.session.scalars(sa.select(AuditEntry).filter_by(action="log", object_id=str(case.id))).one()
    assert row.actor_name == "staff-p01" and row.object_type == "cases"
    assert row.changes["number"] == [None, case.number]
    assert row.changes["requester_phone"] == [None, "139****5678"]


def test_audit_rows_keep_no_residents_name_address_or_case_note_in_clear(world):
    case = intake.log_case(world.staff, world.plain_errand, Channel.PHONE, "代办", "王大爷", "13912345678",
                           household=world.household, address="东岙8号")
    lifecycle.claim(case, world.proxy)
    lifecycle.return_case(case, world.proxy, "王大爷住院了，东岙8号没人")
    text = " ".join(f"{row.actor_name} {row.reason} {row.changes}" for row in db.session.scalars(sa.select(AuditEntry)))
    assert "王大爷" not in text and "东岙8号" not in text and "13912345678" not in text
