"""Closure confirmed by the resident (portal.domain.cases.answers): the result's SMS carries a signed, expiring,
single-case link; the answer is the callback; no answer in time falls back to the clerk's phone callback."""
import re
from datetime import timedelta

import sqlalchemy as sa

from portal.domain.boards import counters, metrics
from portal.domain.cases import answers, lifecycle, links, queues
from portal.extensions import db
from portal.models import CallbackRecord, CaseCount, CaseStatus, OutboxMessage, Outcome, Satisfaction
from tests.stories import at, resolved


def the_link(case) -> str:
    [message] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "result",
                                                                  OutboxMessage.case_id == case.id)).all()
    return re.search(r"(/lookup/r/\S+)", message.text).group(1)


def test_a_resolution_sends_the_resident_a_link_that_names_no_one(world, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = resolved(world)
    [message] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "result")).all()
    assert message.address == "13912345678" and message.to_resident and case.number in message.text
    assert "王**" in message.text and "王大爷" not in message.text
    link = the_link(case)
    assert "1391234" not in link and "王" not in link and case.number not in link
    assert case.answer_until == case.resolved_at + timedelta(days=3)


def test_the_resident_answers_once_and_the_answer_is_the_callback(world, client, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = resolved(world)
    link = the_link(case)
    page = client.get(link).get_data(as_text=True)
    assert case.number in page and "请告诉我们办理结果" in page and "王*" in page and "13912345678" not in page
    refused = client.post(link, data={"satisfaction": "satisfied"})
    assert refused.status_code == 422 and "请选择解决情况。" in refused.get_data(as_text=True)
    assert client.post(link, data={"outcome": "solved", "satisfaction": "satisfied",
                                   "comment": "谢谢"}).status_code == 200
    db.session.expire_all()
    assert case.status is CaseStatus.CLOSED and case.answer_until is None
    [record] = db.session.scalars(sa.select(CallbackRecord).where(CallbackRecord.case_id == case.id)).all()
    assert record.by_resident and record.actor_id is None and record.comment == "谢谢"
    again = client.post(link, data={"outcome": "unsolved", "satisfaction": "dissatisfied"}).get_data(as_text=True)
    assert "无需再评价" in again
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CallbackRecord)) == 1


def test_a_dissatisfied_answer_redoes_the_case_and_spends_the_link(world, client, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = resolved(world)
    link = the_link(case)
    client.post(link, data={"outcome": "unsolved", "satisfaction": "dissatisfied"})
    db.session.expire_all()
    assert case.status is CaseStatus.IN_PROGRESS and case.redo_count == 1
    assert client.get(link).status_code == 404  # the resolution it was for is gone
    at(monkeypatch, 2026, 11, 27, 15, 0)
    lifecycle.resolve(case, world.proxy, "已重新办理")
    links = [re.search(r"(/lookup/r/\S+)", m.text).group(1) for m in db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "result"))]
    assert len(links) == 2 and links[0] == link and client.get(links[1]).status_code == 200


def test_a_made_up_or_altered_link_opens_nothing(world, client, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = resolved(world)
    link = the_link(case)
    for wrong in (link[:-1] + ("A" if link[-1] != "A" else "B"), f"/lookup/r/{case.id:x}-", "/lookup/r/zz-abc",
                  f"/lookup/r/{case.id + 1:x}-{link.rsplit('-', 1)[1]}"):
        assert client.get(wrong).status_code == 404, wrong
    assert links.case_of(link.rsplit("/", 1)[1], "answer").id == case.id


def test_no_answer_in_time_falls_back_to_the_clerks_callback(world, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    case = resolved(world)
    in_queue = lambda: case.id in [c.id for c in queues.page_of(world.staff, "callbacks", queues.Filters()).cases]  # noqa: E731
    assert not in_queue() and queues.counts(world.staff)["callbacks"] == 0
    at(monkeypatch, 2026, 11, 30, 10, 1)
    assert not answers.open_for_answer(case)
    assert in_queue() and queues.counts(world.staff)["callbacks"] == 1


def test_a_case_without_a_phone_goes_straight_to_the_clerk(world, monkeypatch):
    from portal.domain.platform import outbox

    at(monkeypatch, 2026, 11, 27, 10, 0)
    outbox.opt_out("13912345678")
    db.session.commit()
    case = resolved(world)
    assert case.answer_until is None
    assert case.id in [c.id for c in queues.page_of(world.staff, "callbacks", queues.Filters()).cases]


def test_the_boards_count_satisfaction_by_who_answered(world, client, monkeypatch):
    at(monkeypatch, 2026, 11, 27, 10, 0)
    by_link, by_phone = resolved(world), resolved(world)
    client.post(the_link(by_link), data={"outcome": "solved", "satisfaction": "dissatisfied"})
    lifecycle.close(by_phone, world.staff, Outcome.SOLVED, Satisfaction.SATISFIED, "")
    figures = metrics.figures(sa.true(), by_link.created_at.date(), by_link.created_at.date())
    assert (figures.resident_satisfaction.numerator, figures.resident_satisfaction.denominator) == (0, 1)
    assert (figures.called_satisfaction.numerator, figures.called_satisfaction.denominator) == (1, 1)
    assert (figures.satisfaction.numerator, figures.satisfaction.denominator) == (1, 2)
    kept = counters.as_rows()
    counters.rebuild()
    assert counters.as_rows() == kept
    assert db.session.scalar(sa.select(sa.func.sum(CaseCount.rated_by_resident))) == 1
