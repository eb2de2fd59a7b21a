"""The clock in the pages: extensions, the supervision list, callbacks, reminders, the calendar."""
import re
from datetime import timedelta

import sqlalchemy as sa

from portal import clock
from portal.domain.cases import supervision
from portal.extensions import db
from portal.models import Case, CaseStatus, ExtensionRequest, Role
from tests.stories import in_progress, resolved, unanswered


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def _local_text(moment):
    return clock.local(moment).strftime("%Y-%m-%dT%H:%M")


def test_owner_asks_for_an_extension_and_the_lead_approves_from_the_case_page(app, world):
    case = in_progress(world)
    number, due = case.number, case.due_at
    proxy = _client(app, "proxy-h01")
    page = proxy.get(f"/cases/{number}").get_data(as_text=True)
    assert "申请延期" in page
    bad = proxy.post(f"/supervision/cases/{number}/extension", data={"new_due_at": _local_text(due - timedelta(days=1)),
                                                                     "reason": "等批复"})
    assert bad.status_code == 422 and "新的时限必须晚于现有时限" in bad.get_data(as_text=True)
    new_due = (due + timedelta(days=3)).replace(second=0, microsecond=0)
    assert proxy.post(f"/supervision/cases/{number}/extension",
                      data={"new_due_at": _local_text(new_due), "reason": "等批复"}).status_code == 303
    lead = _client(app, "leader")
    listing = lead.get("/supervision/").get_data(as_text=True)
    assert number in listing and "等批复" in listing
    request_id = db.session.scalar(sa.select(ExtensionRequest.id))
    # The page holds the decision's note and the timeline note: each field its own id (a chip or a label
    # that fills or focuses one must not reach the other).
    ids = re.findall(r'\bid="([^"]+)"', lead.get(f"/cases/{number}").get_data(as_text=True))
    assert "decision-note" in ids and "note" in ids
    assert len(ids) == len(set(ids)), sorted(i for i in set(ids) if ids.count(i) > 1)
    assert lead.post(f"/supervision/extensions/{request_id}/approve", data={"decision-note": ""}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, case.id).due_at == new_due
    public = proxy.get(f"/cases/{number}?timeline=public").get_data(as_text=True)
    assert "已延期，新的预计办结时间为" in public


def test_staff_cannot_decide_extensions(app, world):
    case = in_progress(world)
    supervision.request_extension(case, world.proxy, case.due_at + timedelta(days=1), "原因")
    request_id = db.session.scalar(sa.select(ExtensionRequest.id))
    staff = _client(app, "staff-p01")
    assert staff.post(f"/supervision/extensions/{request_id}/approve").status_code == 403
    assert staff.get("/supervision/").status_code == 403


def test_callbacks_tab_lists_resolved_cases_and_the_callback_is_recorded(app, world):
    case = unanswered(resolved(world))
    staff = _client(app, "staff-p01")
    listing = staff.get("/cases/?tab=callbacks").get_data(as_text=True)
    assert case.number in listing and "待回访" in listing
    response = staff.post(f"/cases/{case.number}/act/no_answer", data={"no_answer-version": case.version,
                                                                      "no_answer-note": "无人接听"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, case.id).callback_attempts == 1
    version = db.session.get(Case, case.id).version
    done = staff.post(f"/cases/{case.number}/act/close", data={"close-version": version, "close-outcome": "solved",
                                                               "close-satisfaction": "satisfied"})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.CLOSED


def test_the_callbacks_tab_lists_only_the_cases_the_clerk_may_call_back(app, world):
    """A case of the clerk's hamlet finished by another point is that point's to call back."""
    ours = unanswered(resolved(world))
    theirs = unanswered(resolved(world))
    theirs.service_point_id = world.staff_p02.service_point_id
    db.session.commit()
    staff = _client(app, "staff-p01")
    assert staff.get(f"/cases/{theirs.number}").status_code == 200  # the clerk sees it (their hamlet)...
    listing = staff.get("/cases/?tab=callbacks").get_data(as_text=True)
    assert ours.number in listing and theirs.number not in listing  # ...but does not call it back
    other = _client(app, "staff-p02").get("/cases/?tab=callbacks").get_data(as_text=True)
    assert theirs.number in other and ours.number not in other


def test_reminders_page_lists_and_marks_read(app, world):
    case = in_progress(world)
    supervision.sweep(now=case.remind_at + timedelta(minutes=1))
    proxy = _client(app, "proxy-h01")
    badge = proxy.get("/cases/badge").get_data(as_text=True)
    assert "1 条新提醒" in badge
    page = proxy.get("/notifications").get_data(as_text=True)
    assert case.number in page and "75%" in page
    proxy.post("/notifications/read")
    assert "新提醒" not in proxy.get("/cases/badge").get_data(as_text=True)


def test_admin_edits_the_calendar_and_working_hours_with_clear_errors(app, make, auth, client):
    make.directory()
    make.user(Role.ADMIN, username="root")
    auth.login("root")
    added = client.post("/directory/calendar/new", data={"day": "2026-12-07", "kind": "holiday", "name": "台风停航",
                                                         "service_point_id": ""})
    assert added.status_code == 303
    twice = client.post("/directory/calendar/new", data={"day": "2026-12-07", "kind": "holiday", "name": "重复",
                                                         "service_point_id": ""})
    assert twice.status_code == 422 and "该日期已在日历中" in twice.get_data(as_text=True)
    from portal.models import ServicePoint

    point = make.get(ServicePoint, code="LS-P01")
    form = {"code": "LS-P01", "kind": "post", "name_zh": "东岙便民驿站", "case_prefix": "LS", "place_id": "",
            "hours": "13:30-17:30,08:30-12:00", "week": "WWWOORR"}
    bad_hours = client.post(f"/directory/points/{point.id}", data=form)
    assert bad_hours.status_code == 422 and 'id="hours-error">请按 08:30-12:00,13:30-17:30 的格式' in bad_hours.get_data(as_text=True)
    bad_week = client.post(f"/directory/points/{point.id}", data={**form, "hours": "08:30-12:00", "week": "RRRRRRR"})
    assert bad_week.status_code == 422 and 'id="week-error">' in bad_week.get_data(as_text=True)
    good = client.post(f"/directory/points/{point.id}", data={**form, "hours": "08:00-12:00,14:00-18:00",
                                                              "week": "wwwoorr"})
    assert good.status_code == 303
    with app.app_context():
        saved = db.session.get(ServicePoint, point.id)
        assert (saved.hours, saved.week) == ("08:00-12:00,14:00-18:00", "WWWOORR")


def test_sweep_command_reports_and_is_safe_to_run_twice(app, world, runner):
    in_progress(world)
    first = runner.invoke(args=["sweep"])
    second = runner.invoke(args=["sweep"])
    assert first.exit_code == 0 and "reminded" in first.output
    assert "reminded 0, flagged overdue 0, put under supervision 0" in second.output
