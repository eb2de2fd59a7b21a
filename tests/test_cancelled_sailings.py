"""Sailings are cancelled (issue 35.2): fog and wind stop the boat on an off-island day. A lead marks the day 停航;
the manifest goes with the next sailing, the open errands whose time limit runs across the day move by the day lost
(said on each timeline), the visits that need the boat are listed for rebooking, the boards say the day was lost,
and the staff's days on the island are not judged on it.

The week of 7 December 2026: Monday to Wednesday on the island, Thursday 10 and Friday 11 off the island."""
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from portal import clock
from portal.domain import Conflict, DomainError, Forbidden, attendance, errands, sailings, visits
from portal.domain.cases import timekeeping
from portal.extensions import db
from portal.models import (
    AttendanceKind,
    AuditEntry,
    CancelledSailing,
    Case,
    CaseEvent,
    EventKind,
    FishingSeason,
    OutboxMessage,
    Role,
    SailingReason,
    ServicePoint,
    Slot,
    Team,
    User,
    Visit,
    VisitStatus,
)
from tests.stories import at, claimed, in_progress, log

THURSDAY, FRIDAY = date(2026, 12, 10), date(2026, 12, 11)


def _local(moment):
    return clock.local(moment).replace(tzinfo=None)


def _events(case, kind=EventKind.DUE_RECOMPUTED):
    return db.session.scalars(sa.select(CaseEvent).filter_by(case_id=case.id, kind=kind).order_by(CaseEvent.id)).all()


def _said(app, event):
    from portal.cases.timeline import describe

    with app.test_request_context():
        return describe(event)


def _point(code):
    return db.session.scalars(sa.select(ServicePoint).filter_by(code=code)).one()


@pytest.fixture
def wednesday(world, monkeypatch):
    """Wednesday 9 December 2026, 09:00, on the island; an errand of two working days claimed now runs across
    Thursday's sailing (Wednesday and Thursday: due Friday 09:00)."""
    at(monkeypatch, 2026, 12, 9, 9, 0)
    return world


# --- the errands' time limits -------------------------------------------------------------------------------

def test_a_cancelled_sailing_moves_the_errands_limit_by_the_day_lost_and_says_so_on_its_timeline(app, wednesday):
    w = wednesday
    errand = claimed(w, item=w.plain_errand)  # 48 h: two working days, off-island days included
    assert _local(errand.due_at) == datetime(2026, 12, 11, 9, 0)
    counter = log(w, w.counter_item)  # counter work never counts an off-island day
    counter_due = counter.due_at
    done = in_progress(w, item=w.plain_errand)
    from portal.domain.cases import lifecycle

    lifecycle.resolve(done, w.proxy, "药已送到家")
    done_due = done.due_at
    outcome = sailings.cancel(w.lead, THURSDAY, SailingReason.FOG)
    db.session.expire_all()
    assert [c.id for c in outcome.moved] == [errand.id]
    errand = db.session.get(Case, errand.id)
    assert _local(errand.due_at) == datetime(2026, 12, 14, 9, 0)  # Friday, then Monday: one working day later
    assert db.session.get(Case, counter.id).due_at == counter_due and not _events(counter)
    assert db.session.get(Case, done.id).due_at == done_due and not _events(done)  # resolved: not moved
    [event] = _events(errand)
    said = _said(app, event)
    assert event.public and "2026-12-10 停航（大雾）" in said
    assert "2026-12-11 09:00" in said and "2026-12-14 09:00" in said and said.index("12-11") < said.index("12-14")
    assert db.session.scalars(sa.select(AuditEntry).filter_by(action="recompute_due", object_id=str(errand.id))).one()
    cancelled = db.session.scalars(sa.select(AuditEntry).filter_by(action="sailing_cancelled")).one()
    assert cancelled.actor_id == w.lead.id
    # The receipt told the resident 12-11 09:00: they are told the new due time, and only they.
    told = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "due_moved")).all()
    assert [(m.case_id, m.text.split("，", 1)[1]) for m in told] == [
        (errand.id, f"因12-10停航，工单{errand.number}的办理时限顺延至12-14 09:00。回复TD退订")]
    sailings.undo(w.lead, db.session.scalars(sa.select(CancelledSailing)).one().id, "雾散了，照常开船")
    back = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "due_moved")
                              .order_by(OutboxMessage.id.desc()).limit(1)).one()
    assert back.text.endswith(f"12-10恢复通航，工单{errand.number}的办理时限恢复为12-11 09:00。回复TD退订")


def test_an_errand_due_before_the_day_does_not_move_and_one_logged_on_it_is_counted_without_it(app, world,
                                                                                                    monkeypatch):
    w = world
    at(monkeypatch, 2026, 12, 7, 9, 0)  # Monday: due Wednesday 09:00, before Thursday's sailing
    earlier = claimed(w, item=w.plain_errand)
    earlier_due = earlier.due_at
    at(monkeypatch, 2026, 12, 9, 9, 0)
    on_friday = claimed(w, item=w.plain_errand)  # due Friday 09:00: the first half hour of Friday runs on it
    sailings.cancel(w.lead, THURSDAY, SailingReason.FOG)
    sailings.cancel(w.lead, FRIDAY, SailingReason.WIND)
    db.session.expire_all()
    assert db.session.get(Case, earlier.id).due_at == earlier_due and not _events(earlier)
    assert _local(db.session.get(Case, on_friday.id).due_at) == datetime(2026, 12, 15, 9, 0)  # two days lost
    assert len(_events(on_friday)) == 2  # each day said on its own
    at(monkeypatch, 2026, 12, 11, 10, 0)  # signed for on the day without a boat: the day does not run
    later = claimed(w, item=w.plain_errand)
    assert _local(later.due_at) == datetime(2026, 12, 15, 17, 30) and not _events(later)


# --- the manifest ---------------------------------------------------------------------------------------

def test_the_manifest_goes_with_the_next_sailing(wednesday):
    w = wednesday
    post = _point("LS-P01")
    assert timekeeping.next_off_island_day(post) == THURSDAY and errands.next_day_for(w.lead) == THURSDAY
    outcome = sailings.cancel(w.lead, THURSDAY, SailingReason.FOG)
    assert outcome.next_day == FRIDAY
    assert timekeeping.next_off_island_day(post) == FRIDAY and errands.manifest(w.lead).day == FRIDAY
    assert errands.is_off_island_day(THURSDAY) is False
    sailings.cancel(w.lead, FRIDAY, SailingReason.WIND)
    assert errands.manifest(w.lead).day == date(2026, 12, 17)  # the next Thursday that sails
    assert sailings.carried_by(date(2026, 12, 17)) == [THURSDAY, FRIDAY]
    assert sailings.carried_by(FRIDAY) == []


# --- what may be marked, once -------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "words"), [
    (date(2026, 12, 9), "不是出岛日"),   # Wednesday: a day on the island
    (date(2026, 12, 12), "不是出岛日"),  # Saturday
    (date(2026, 12, 3), "已经过去"),    # last Thursday
    (date(2027, 1, 7), "天以后"),       # a Thursday beyond the forecast
])
def test_only_an_off_island_day_of_today_or_the_next_two_weeks_is_marked(app, wednesday, day, words):
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        sailings.cancel(wednesday.lead, day, SailingReason.FOG)
    assert refused.value.field == "day" and words in str(refused.value.message)
    assert sailings.lost_days(date(2026, 1, 1), date(2027, 12, 31)) == []


def test_another_reason_says_what_it_is(app, wednesday):
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        sailings.cancel(wednesday.lead, THURSDAY, SailingReason.OTHER, "  ")
    assert refused.value.field == "note" and "说明" in str(refused.value.message)
    sailing = sailings.cancel(wednesday.lead, THURSDAY, "other", "渡轮检修").sailing
    assert sailings.reason_text(sailing) == "渡轮检修"


def test_a_day_is_marked_once_and_a_second_mark_names_the_first(app, wednesday, make):
    w = wednesday
    errand = claimed(w, item=w.plain_errand)
    sailings.cancel(w.lead, THURSDAY, SailingReason.FOG)
    due = db.session.get(Case, errand.id).due_at
    other = make.user(Role.ADMIN, username="root2")
    with app.test_request_context(), pytest.raises(Conflict) as refused:
        sailings.cancel(other, THURSDAY, SailingReason.WIND)
    assert w.lead.display_name in str(refused.value.message) and "大雾" in str(refused.value.message)
    db.session.rollback()
    assert db.session.get(Case, errand.id).due_at == due and len(_events(errand)) == 1  # moved once, not twice


def test_two_leads_at_once_the_later_is_told_and_nothing_moves_twice(app, wednesday, make, monkeypatch):
    w = wednesday
    errand = claimed(w, item=w.plain_errand)
    sailings.cancel(w.lead, THURSDAY, SailingReason.FOG)
    db.session.commit()
    monkeypatch.setattr(sailings, "active_on", lambda day: None)  # the second lead looked before the first saved
    with app.test_request_context(), pytest.raises(Conflict) as refused:
        sailings.cancel(make.user(Role.ADMIN, username="root2"), THURSDAY, SailingReason.WIND)
    assert "刚刚" in str(refused.value.message)
    db.session.rollback()
    assert len(_events(errand)) == 1 and len(sailings.lost_days(THURSDAY, THURSDAY)) == 1


# --- undoing it -----------------------------------------------------------------------------------------

def test_a_lead_restores_a_sailing_with_a_reason_and_the_limits_move_back(app, wednesday, monkeypatch):
    w = wednesday
    errand = claimed(w, item=w.plain_errand)
    first_due = errand.due_at
    sailing = sailings.cancel(w.lead, THURSDAY, SailingReason.FOG).sailing
    with app.test_request_context(), pytest.raises(DomainError) as refused:
        sailings.undo(w.lead, sailing.id, " ")
    assert refused.value.field == "undo_reason"
    outcome = sailings.undo(w.lead, sailing.id, "雾散了，船照常开")
    db.session.expire_all()
    assert [c.id for c in outcome.moved] == [errand.id] and db.session.get(Case, errand.id).due_at == first_due
    restored = _said(app, _events(errand)[-1])
    assert "2026-12-10 恢复通航" in restored and "2026-12-11 09:00" in restored
    assert timekeeping.next_off_island_day(_point("LS-P01")) == THURSDAY
    with app.test_request_context(), pytest.raises(Conflict):
        sailings.undo(w.lead, sailing.id, "再点一次")
    db.session.rollback()
    again = sailings.cancel(w.lead, THURSDAY, SailingReason.WIND).sailing  # marked again after the undo
    at(monkeypatch, 2026, 12, 11, 9, 0)
    with app.test_request_context(), pytest.raises(DomainError) as passed:
        sailings.undo(w.lead, again.id, "太晚了")
    assert "已经过去" in str(passed.value.message)


# --- who may ---------------------------------------------------------------------------------------------

def test_the_leads_of_the_island_and_the_admin_mark_a_sailing_nobody_else(wednesday, make):
    w = wednesday
    island_lead = make.user(Role.LEAD, username="lead-p01", service_point=_point("LS-P01"), places=[w.h01])
    heating_lead = make.user(Role.LEAD, username="lead-sqt", service_point=_point("HT-SQT"), places=[w.e01])
    for outsider in (w.staff, w.proxy, w.member, w.butler, heating_lead):
        with pytest.raises(Forbidden):
            sailings.cancel(outsider, THURSDAY, SailingReason.FOG)
    assert sailings.cancel(island_lead, THURSDAY, SailingReason.FOG).sailing.cancelled_by_id == island_lead.id
    assert sailings.cancel(w.admin, FRIDAY, SailingReason.WIND).sailing.cancelled_by_id == w.admin.id


# --- the staff's days, the visits, the boards ------------------------------------------------------------

def test_a_day_without_a_boat_is_not_held_against_the_staff(wednesday, monkeypatch):
    w = wednesday
    sailings.cancel(w.lead, THURSDAY, SailingReason.FOG)
    at(monkeypatch, 2026, 12, 10, 9, 0)
    assert AttendanceKind.ON_ISLAND in attendance.kinds_today(w.staff)  # they stayed: true, and recorded
    assert AttendanceKind.OFF_ISLAND not in attendance.kinds_today(w.staff)  # no boat: nobody went off the island
    with pytest.raises(DomainError, match="停航，无人出岛"):
        attendance.record(w.staff, AttendanceKind.OFF_ISLAND)
    attendance.record(w.staff, AttendanceKind.ON_ISLAND)
    at(monkeypatch, 2026, 12, 14, 9, 0)  # the week has ended
    [office] = attendance.week(date(2026, 12, 7), [w.staff]).offices
    [person] = office.people
    assert person.letters[THURSDAY] == "S" and person.letters[FRIDAY] == "O"
    assert (person.working_days, person.required, person.on_island) == (3, 3, 0)  # neither asked for nor counted
    with pytest.raises(DomainError):  # a day that sails is still no day on the island
        attendance.record(w.staff, AttendanceKind.ON_ISLAND, FRIDAY)


def _evening_visit(w, team, day):
    case = log(w, w.home_item)
    visit = Visit(case_id=case.id, team_id=team.id, day=day, slot=Slot.EVENING, status=VisitStatus.BOOKED)
    db.session.add(visit)
    db.session.commit()
    return visit


def _thursday_evening_visits(w, make) -> tuple[Visit, Visit]:
    """Two evening visits on Thursday in the fishing season: one of the island's team 1, one of a team based off the
    island (at the off-island hall), which comes by boat."""
    db.session.add(FishingSeason(name="渔季", first=date(2026, 12, 1), last=date(2026, 12, 31)))
    w.t1.season_evenings = True
    from_the_mainland = make.team("T9", places=[w.h01], service_point=_point("LS-OFF"), season_evenings=True)
    db.session.commit()
    return _evening_visit(w, w.t1, THURSDAY), _evening_visit(w, from_the_mainland, THURSDAY)


def test_only_visits_that_need_the_boat_are_listed_for_rebooking(wednesday, make):
    w = wednesday
    island, crossing = _thursday_evening_visits(w, make)
    assert crossing.id not in [r.visit.id for r in visits.to_rebook()]
    outcome = sailings.cancel(w.lead, THURSDAY, SailingReason.FOG)
    assert [v.id for v in outcome.visits] == [crossing.id]
    listed = {r.visit.id: r.reason for r in visits.to_rebook()}
    assert listed.get(crossing.id) == "no_boat" and island.id not in listed  # the island's team is on the island  # the island's team is on the island
    assert db.session.get(Team, w.t1.id).season_evenings


# --- through the pages ---------------------------------------------------------------------------------

def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def test_a_lead_marks_the_day_on_the_page_and_the_errand_the_manifest_and_the_board_say_so(app, wednesday,
                                                                                            monkeypatch):
    w = wednesday
    errand = claimed(w, item=w.plain_errand)
    assert _client(app, "staff-p01").get("/errands/sailings").status_code == 403
    assert _client(app, "proxy-h01").post("/errands/sailings", data={"day": "2026-12-10", "reason": "fog"}
                                          ).status_code == 403
    lead = _client(app, "leader")
    assert 'href="/errands/sailings"' in lead.get("/").get_data(as_text=True)  # in the lead's menu
    refused = lead.post("/errands/sailings", data={"day": "2026-12-09", "reason": "fog"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "不是出岛日" in page and not sailings.lost_days(THURSDAY, THURSDAY)
    done = lead.post("/errands/sailings", data={"day": "2026-12-10", "reason": "fog"}, follow_redirects=True)
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "2026-12-11" in page and "1 个办理时限" in page
    twice = lead.post("/errands/sailings", data={"day": "2026-12-10", "reason": "wind"})
    assert twice.status_code == 409
    timeline = lead.get(f"/cases/{errand.number}").get_data(as_text=True)
    assert "2026-12-10 停航（大雾）" in timeline and "2026-12-14 09:00" in timeline
    manifest = lead.get("/errands/manifest?day=2026-12-10").get_data(as_text=True)
    assert "2026-12-10 停航（大雾）：当天的代办件随下一班船（2026-12-11）出岛。" in manifest
    assert 'href="/errands/sailings"' in manifest
    proxy_manifest = _client(app, "proxy-h01").get("/errands/manifest").get_data(as_text=True)
    assert "出岛日: <strong>2026-12-11</strong>" in proxy_manifest  # the next sailing, not the day without a boat
    assert "2026-12-10 停航：当天的代办件随本班船出岛。" in proxy_manifest  # and it carries the lost day's errands
    assert 'href="/errands/sailings"' not in proxy_manifest  # a proxy is not offered the page
    at(monkeypatch, 2026, 12, 11, 9, 0)  # the day has passed: this month's board counts it lost
    lead = _client(app, "leader")
    board = lead.get("/boards/district/all?period=custom&first=2026-12-01&last=2026-12-11").get_data(as_text=True)
    assert "本期停航 1 天（2026-12-10）" in board
    quiet = lead.get("/boards/district/all?period=custom&first=2026-11-01&last=2026-11-30").get_data(as_text=True)
    assert "本期停航" not in quiet
    # The island's own board too: the island (LS) has no service point of its own, its hamlets' points are the island's.
    island = lead.get("/boards/place/LS?period=custom&first=2026-12-01&last=2026-12-11").get_data(as_text=True)
    assert "本期停航 1 天（2026-12-10）" in island
    estate = lead.get("/boards/place/E01?period=custom&first=2026-12-01&last=2026-12-11").get_data(as_text=True)
    assert "本期停航" not in estate  # the heating district sails no boat
    report = lead.get("/boards/report?month=2026-12").get_data(as_text=True)
    assert "本月停航 1 天（2026-12-10）" in report
    assert "本月停航" not in lead.get("/boards/report?month=2026-11").get_data(as_text=True)



def test_the_weeks_page_marks_the_day_without_a_boat_as_not_counted(app, wednesday, monkeypatch):
    sailings.cancel(wednesday.lead, THURSDAY, SailingReason.FOG)
    at(monkeypatch, 2026, 12, 14, 9, 0)
    page = _client(app, "leader").get("/attendance/weeks?week=2026-12-07").get_data(as_text=True)
    assert "停航（不计）" in page and "应在岛天数" in page and "申请延至" not in page


def test_a_lead_restores_the_sailing_on_the_page_and_is_told_what_moved_back(app, wednesday):
    w = wednesday
    errand = claimed(w, item=w.plain_errand)
    due = db.session.get(Case, errand.id).due_at
    lead = _client(app, "leader")
    lead.post("/errands/sailings", data={"day": "2026-12-10", "reason": "wind"})
    [sailing] = db.session.scalars(sa.select(CancelledSailing)).all()
    unsaid = lead.post(f"/errands/sailings/{sailing.id}/restore", data={"undo_reason": ""})
    page = unsaid.get_data(as_text=True)
    assert unsaid.status_code == 422 and f'id="undo-reason-{sailing.id}-error">请说明恢复通航的原因。' in page
    assert sailings.lost_days(THURSDAY, THURSDAY) == [THURSDAY]  # still without a boat
    restored = lead.post(f"/errands/sailings/{sailing.id}/restore", data={"undo_reason": "风停了，照常开船"},
                         follow_redirects=True).get_data(as_text=True)
    assert "2026-12-10 已恢复通航：1 个办理时限已重新计算。" in restored
    db.session.expire_all()
    assert db.session.get(Case, errand.id).due_at == due and not sailings.lost_days(THURSDAY, THURSDAY)


def test_a_lead_marking_a_sailing_is_told_how_many_visits_need_the_boat_and_the_page_lists_those(app, wednesday,
                                                                                                  make):
    """Of the visits booked that day, only those whose team comes by boat are counted and listed."""
    w = wednesday
    island, crossing = _thursday_evening_visits(w, make)
    page = _client(app, "leader").post("/errands/sailings", data={"day": "2026-12-10", "reason": "fog"},
                                       follow_redirects=True).get_data(as_text=True)
    assert "当天有 1 个上门服务需要乘船" in page
    assert "当天预约了 2 个上门服务，其中 1 个需要乘船" in page
    assert crossing.case.number in page and island.case.number not in page


def test_the_working_calendar_says_why_each_visit_is_to_rebook_and_a_calendar_change_counts_only_its_own(
        app, wednesday, make):
    """The visits stopped by a cancelled sailing are listed with the others, said as such; a change of the days
    tells how many visits the days themselves moved, not those the boat did."""
    w = wednesday
    db.session.add(FishingSeason(name="渔季", first=date(2026, 12, 1), last=date(2026, 12, 31)))
    crossing_team = make.team("T9", places=[w.h01], service_point=_point("LS-OFF"), season_evenings=True)
    db.session.commit()
    crossing = _evening_visit(w, crossing_team, THURSDAY)
    sailings.cancel(w.lead, THURSDAY, SailingReason.FOG)
    admin = _client(app, "root")
    filled = admin.post("/directory/working-calendar/2027/provisional", follow_redirects=True).get_data(as_text=True)
    assert "已暂定填入 2027 年" in filled
    assert "个已预约的上门服务落在服务队不上门的日子" not in filled  # the boat stopped it, not the days
    listed = filled[filled.index('id="rebook"'):]
    assert crossing.case.number in listed and "停航，服务队需乘船前来" in listed


# --- the demo --------------------------------------------------------------------------------------------

def test_the_demo_shows_a_cancelled_sailing_with_its_consequences(demo_app):
    with demo_app.app_context():
        [sailing] = db.session.scalars(sa.select(CancelledSailing)).all()
        head = db.session.scalars(sa.select(User).filter_by(username="head-ls-c")).one()
        assert sailing.active and sailing.reason is SailingReason.FOG and sailing.cancelled_by_id == head.id
        assert sailing.day >= clock.today() and not errands.is_off_island_day(sailing.day)
        assert errands.manifest(head).day == sailings.next_sailing(sailing.day) != sailing.day
        moved = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.kind == EventKind.DUE_RECOMPUTED)).all()
        ours = [e for e in moved if (e.data or {}).get("sailing") == sailing.day.isoformat()]
        assert ours and all(db.session.get(Case, e.case_id).mode.value == "errand" for e in ours)
    client = demo_app.test_client()
    client.post("/auth/login", data={"username": "head-ls-c", "password": "demo2026"})
    page = client.get("/errands/sailings").get_data(as_text=True)
    assert sailing.day.isoformat() in page and "大雾" in page
