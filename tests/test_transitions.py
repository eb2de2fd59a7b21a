"""Every transition of the table (``lifecycle.TRANSITIONS``), tried from every status: refused for its status
exactly where the table says it does not start, and carried out from at least one status where it does. The
table is the one place a transition is named: its row gives its label, its service (the function of its name)
and what the case page asks for it (the form), and a transition added without one of them, or a service or form
with no row, fails the suite."""
import inspect
import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.cases.forms import ACTION_FORMS, FORMS
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


# --- one table: each transition named once ---------------------------------------------------------

# What a user types in each form of the case page, by what the transition asks (``Transition.asks``).
TYPED = {
    "nothing": {},
    "note": {"note": "已联系居民"},
    "result": {"note": "办好了"},
    "office_answer": {"answer": "rejected", "note": "缺户口本"},
    "callback": {"outcome": "solved", "satisfaction": "satisfied", "comment": "很满意"},
    "call_again": {"retry_at": "2030-01-07T09:30", "note": "关机"},
    "reason": {"reason": "居民撤回"},
    "point_or_person": {"point": "1", "owner": "", "reason": "改由沙嘴办理"},
    "person": {"owner": "1"},
    "original": {"original": "20260101-0001"},
}


def test_each_transition_has_its_service_and_a_label_of_its_own():
    for t in TRANSITIONS.values():
        service = vars(lifecycle).get(t.name)
        assert inspect.isfunction(service), f"lifecycle has no function {t.name}"
        assert t.service is service
        assert f'_check(case, actor, "{t.name}"' in inspect.getsource(service), f"{t.name} checks another transition"
        assert str(t.label).strip(), t.name
    labels = [str(t.label) for t in TRANSITIONS.values()]
    assert len(set(labels)) == len(labels), "two transitions read the same on the page and in the audit log"


def test_every_service_that_makes_a_transition_has_its_row():
    checked = re.findall(r'_check\(case, actor, "(\w+)"', inspect.getsource(lifecycle))
    assert set(checked) == set(TRANSITIONS)


def test_every_transition_of_the_case_page_has_exactly_one_form_and_every_form_a_transition():
    on_page = {t.name for t in TRANSITIONS.values() if t.on_page}
    assert set(ACTION_FORMS) == on_page
    assert {t.asks for t in TRANSITIONS.values() if t.on_page} == set(FORMS) == set(TYPED)
    assert not TRANSITIONS["resolve_for_incident"].on_page  # done to an incident's calls at once, elsewhere


def test_what_each_form_takes_is_what_its_service_is_called_with(app):
    for name, form_class in ACTION_FORMS.items():
        t = TRANSITIONS[name]
        typed = {f"{name}-{field}": value for field, value in {"version": "3", **TYPED[t.asks]}.items()}
        with app.test_request_context(method="POST", data=typed):
            arguments = form_class(prefix=name).arguments()
        inspect.signature(t.service).bind("case", "user", **arguments)  # a TypeError names what does not fit
        assert ("version" in arguments) is (name != "claim")  # whoever claims first wins, whatever they saw


def test_the_callback_says_that_it_closes_the_case_or_has_it_redone(app):
    with app.test_request_context(), force_locale("zh"):
        assert str(TRANSITIONS["close"].label) == "登记回访（结案或重办）"


def test_a_transition_not_offered_on_the_case_page_cannot_be_posted_there(world, client, auth):
    case = log(world, world.leak)
    auth.login("leader")
    response = client.post(f"/cases/{case.number}/act/resolve_for_incident",
                           data={"resolve_for_incident-version": case.version})
    assert response.status_code == 404
