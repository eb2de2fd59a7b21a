"""Every transition of the table (``lifecycle.TRANSITIONS``), tried from every status: refused for its status
exactly where the table says it does not start, and carried out from at least one status where it does. A
transition added to the table without a way to call it here fails the suite."""
import pytest
import sqlalchemy as sa

from portal.domain import DomainError
from portal.domain.cases import lifecycle
from portal.domain.cases.lifecycle import TRANSITIONS, WrongStatus
from portal.extensions import db
from portal.models import CaseStatus, Incident, Outcome, Satisfaction, ServicePoint
from tests.stories import log

# How to call each transition: (who acts, which item the case is of, the call).
CALLS = {
    "claim": ("staff", "plain_errand", lambda w, case: lifecycle.claim(case, w.staff)),
    "start": ("lead", "plain_errand", lambda w, case: lifecycle.start(case, w.lead)),
    "send_off_island": ("lead", "errand_item", lambda w, case: lifecycle.send_off_island(case, w.lead)),
    "record_office_answer": ("lead", "errand_item",
                             lambda w, case: lifecycle.record_office_answer(case, w.lead, "approved")),
    "resolve": ("lead", "plain_errand", lambda w, case: lifecycle.resolve(case, w.lead, "办好了")),
    "finish_on_spot": ("staff", "counter_item", lambda w, case: lifecycle.finish_on_spot(case, w.staff)),
    "close": ("lead", "plain_errand",
              lambda w, case: lifecycle.close(case, w.lead, Outcome.SOLVED, Satisfaction.SATISFIED)),
    "no_answer": ("lead", "plain_errand", lambda w, case: lifecycle.no_answer(case, w.lead)),
    "return_case": ("lead", "plain_errand", lambda w, case: lifecycle.return_case(case, w.lead, "不属于本站")),
    "transfer": ("lead", "plain_errand", lambda w, case: lifecycle.transfer(
        case, w.lead, "改由沙嘴办理", point=db.session.scalars(sa.select(ServicePoint).filter_by(code="LS-P02")).one())),
    "assign": ("lead", "plain_errand", lambda w, case: lifecycle.assign(case, w.lead, w.staff)),
    "merge": ("lead", "plain_errand", lambda w, case: lifecycle.merge(case, w.lead, w.original.number)),
    "reopen": ("lead", "plain_errand", lambda w, case: lifecycle.reopen(case, w.lead, "居民说还没好")),
    "cancel": ("lead", "plain_errand", lambda w, case: lifecycle.cancel(case, w.lead, "居民撤回")),
    "resolve_for_incident": ("lead", "leak",
                             lambda w, case: lifecycle.resolve_for_incident([case], w.lead, "管网已修复")),
}


def test_every_transition_of_the_table_can_be_tried_here():
    assert set(CALLS) == set(TRANSITIONS)


@pytest.mark.parametrize("name", sorted(TRANSITIONS))
def test_a_transition_is_refused_for_its_status_exactly_where_the_table_says(world, name):
    who, item, call = CALLS[name]
    world.original = log(world)
    station = db.session.scalars(sa.select(ServicePoint).filter_by(code="HT-SQT")).one()
    incident = Incident(service_point=station, title="主管网抢修", created_by=world.lead)
    refused, done = set(), set()
    for status in CaseStatus:
        case = log(world, getattr(world, item))
        case.status = status
        case.owner = None if name == "claim" else getattr(world, who)
        case.incident = incident if name == "resolve_for_incident" else None
        db.session.commit()
        try:
            call(world, case)
        except WrongStatus:
            refused.add(status)
            continue
        except DomainError:
            db.session.rollback()  # refused for another reason (a condition beyond the status)
            continue
        done.add(status)
    assert refused == set(CaseStatus) - TRANSITIONS[name].sources
    assert done and done <= TRANSITIONS[name].sources
