"""Replays (portal/domain/platform/replays.py, portal/web/replay.py): a field form sent with a key is done once
per key, whether it comes straight from the page or from the browser's offline queue later; the timeline keeps when
the user acted beside when it arrived, never before the page gave them the form; a refusal explains itself to
the queue, and never saves anything; an answer tells nothing of a case the user may not see."""
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import g

from portal import clock
from portal.domain import DomainError
from portal.domain.cases import lifecycle
from portal.domain.platform import replays
from portal.extensions import db
from portal.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Channel,
    EventKind,
    Outcome,
    Replay,
    Role,
    Satisfaction,
    Slot,
    Visit,
    VisitStatus,
)
from portal.web import replay
from tests.stories import claimed, log, resolved

REPLAY = {"X-Offline-Replay": "1", "X-Portal-Poll": "1"}


def _client(app, username):
    client = app.test_client()
    assert client.post("/auth/login", data={"username": username, "password": "correct-horse-7"}).status_code == 303
    return client


def _fields(case, user, key="a" * 32, acted=None, served=None, **more):
    """A kept form as the offline queue sends it: by default the page was given to the user a minute before they acted."""
    acted = acted or clock.now() - timedelta(hours=2)
    served = served or min(acted, clock.now()) - timedelta(minutes=1)
    fields = {"offline_key": key, "offline_acted_at": acted.isoformat(),
              "offline_user": str(user.id), "offline_label": "测试", "offline_case": case.number,
              "offline_seen": str(case.version), "offline_served": replay.stamp(user.id, case.number, "测试", served)}
    fields.update(more)
    return fields


def _notes(case):
    return db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.kind == EventKind.NOTE)).all()


def test_a_note_sent_twice_with_one_key_is_saved_once_and_keeps_when_the_user_acted(app, home):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    acted = clock.now() - timedelta(hours=3)
    fields = _fields(case, home.staff, acted=acted, note="居民来电补充：下午在家")
    first = clerk.post(f"/cases/{case.number}/notes", data=fields, headers=REPLAY)
    assert first.status_code == 200 and first.json["ok"] is True and not first.json.get("replayed")
    again = clerk.post(f"/cases/{case.number}/notes", data=fields, headers=REPLAY)
    assert again.status_code == 200 and again.json["ok"] is True and again.json["replayed"] is True
    assert "没有重复保存" in again.json["message"] and again.json["case"] == case.number
    straight = clerk.post(f"/cases/{case.number}/notes", data=fields)  # the same key from the page itself
    assert straight.status_code == 303 and straight.location.endswith(case.number)
    db.session.expire_all()
    notes = _notes(case)
    assert len(notes) == 1
    assert notes[0].acted_at == acted and notes[0].at == clock.now()  # acted while offline, arrived now
    replay = db.session.scalars(sa.select(Replay)).one()
    assert (replay.user_id, replay.case_id, replay.acted_at) == (home.staff.id, case.id, acted)
    page = clerk.get(f"/cases/{case.number}").get_data(as_text=True)
    assert "离线" in page and clock.local(acted).strftime("%H:%M") in page


def test_a_key_from_the_page_stops_a_double_submission_too(app, home):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    fields = _fields(case, home.staff, note="同一条备注")
    assert clerk.post(f"/cases/{case.number}/notes", data=fields).status_code == 303
    assert clerk.post(f"/cases/{case.number}/notes", data=fields).status_code == 303
    db.session.expire_all()
    notes = _notes(case)
    assert len(notes) == 1 and notes[0].acted_at is None  # sent at once: no second time to show


def test_a_refused_replay_saves_nothing_says_why_and_what_to_do_and_is_checked_again_when_resent(app, home, make):
    case = resolved(home)
    lifecycle.no_answer(case, home.staff, retry_at=None)
    db.session.expire_all()
    case = db.session.get(Case, case.id)
    clerk = _client(app, "staff-p01")
    seen = case.version
    # Meanwhile another clerk of the post closed the callback.
    other = make.user(Role.STAFF, username="clerk-two", service_point=home.staff.service_point, places=[home.h01])
    lifecycle.close(case, other, Outcome.SOLVED, Satisfaction.SATISFIED, "")
    fields = _fields(case, home.staff, **{"close-outcome": "solved", "close-satisfaction": "satisfied",
                                          "close-comment": "", "close-version": str(seen), "offline_seen": str(seen)})
    refused = clerk.post(f"/cases/{case.number}/act/close", data=fields, headers=REPLAY)
    assert refused.status_code == 409 and refused.json["ok"] is False
    assert "clerk-two" in refused.json["message"] and "已办结回访" in refused.json["message"]  # what happened meanwhile
    assert "打开案件" in refused.json["next"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Replay)) == 0


def test_a_refused_visit_start_names_what_changed_since_the_user_saw_the_case(app, home):
    case = log(home, home.home_item)
    visit = Visit(case=case, household_id=case.household_id, team_id=home.t1.id, day=clock.today(), slot=Slot.AM)
    db.session.add(visit)
    db.session.commit()
    member = _client(app, "team1-a")
    fields = _fields(case, home.member)
    lifecycle.cancel(case, home.staff, "居民已自行办理")  # meanwhile, at the post
    refused = member.post(f"/visits/{visit.id}/start", data=fields, headers=REPLAY)
    assert refused.json["ok"] is False and refused.status_code == 409, refused.json
    assert "staff-p01" in refused.json["message"] and "已撤销" in refused.json["message"], refused.json
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status is not VisitStatus.STARTED


def test_an_expired_session_keeps_the_item_for_after_sign_in(app, home, monkeypatch):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    later = clock.now() + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1)
    monkeypatch.setattr(clock, "now", lambda: later)
    fields = _fields(case, home.staff, note="离线时记下的备注", acted=later - timedelta(minutes=5))
    expired = clerk.post(f"/cases/{case.number}/notes", data=fields, headers=REPLAY)
    assert expired.status_code == 401 and expired.json["signed_in"] is False
    assert clerk.get("/offline/state", headers=REPLAY).status_code == 401
    assert _notes(case) == []
    clerk = _client(app, "staff-p01")
    state = clerk.get("/offline/state", headers=REPLAY).json
    assert state["user"] == home.staff.id and state["csrf"]
    assert clerk.post(f"/cases/{case.number}/notes", data=fields, headers=REPLAY).json["ok"] is True
    db.session.expire_all()
    assert len(_notes(case)) == 1


def test_a_replay_never_keeps_an_idle_session_alive(app, home, monkeypatch):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    start = clock.now()
    idle = app.config["SESSION_IDLE_MINUTES"]
    answers = []
    for minutes in (idle - 5, idle + 2):  # the queue sending on its own, then once more
        monkeypatch.setattr(clock, "now", lambda m=minutes: start + timedelta(minutes=m))
        answers.append(clerk.post(f"/cases/{case.number}/notes", headers=REPLAY,
                                  data=_fields(case, home.staff, key=f"{minutes:032d}", note="自动上传")))
    assert answers[0].json["ok"] is True  # sent within the session...
    assert answers[1].status_code == 401  # ...but it did not count as the user being there
    assert clerk.get("/cases/").status_code == 302
    assert len(_notes(case)) == 1


def test_another_users_item_is_not_sent_under_this_session(app, home):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    fields = _fields(case, home.proxy, note="别人的备注")
    refused = clerk.post(f"/cases/{case.number}/notes", data=fields, headers=REPLAY)
    assert refused.status_code == 403 and "其他用户" in refused.json["message"], refused.json
    assert _notes(case) == []


def test_a_key_or_time_no_page_made_is_refused(app, home):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    bad_key = clerk.post(f"/cases/{case.number}/notes", data=_fields(case, home.staff, key="x'; drop", note="a"),
                         headers=REPLAY)
    assert bad_key.status_code == 422 and bad_key.json["ok"] is False
    too_old = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY,
                         data=_fields(case, home.staff, acted=clock.now() - timedelta(days=30), note="a"))
    assert too_old.status_code == 422 and "14" in too_old.json["message"]
    future = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY,
                        data=_fields(case, home.staff, key="f" * 32, acted=clock.now() + timedelta(hours=5), note="b"))
    assert future.json["ok"] is True
    db.session.expire_all()
    assert [n.acted_at for n in _notes(case)] == [clock.now()]  # a clock ahead counts as the arrival


def test_a_case_logged_at_a_post_while_offline_arrives_once_and_counts_once(app, home):
    clerk = _client(app, "staff-p01")
    fields = {"offline_key": "c" * 32, "offline_acted_at": (clock.now() - timedelta(hours=1)).isoformat(),
              "offline_user": str(home.staff.id), "offline_label": "登记案件",
              "offline_served": replay.stamp(home.staff.id, "", "登记案件", clock.now() - timedelta(hours=2)),
              "requester_phone": "13912345678",
              "requester_name": "王大爷", "item_query": home.counter_item.code, "channel": "counter",
              "description": "离线登记：开具证明", "place_id": str(home.h01.id)}
    answers = [clerk.post("/intake/", data=fields, headers=REPLAY).json for _ in range(2)]
    assert [a["ok"] for a in answers] == [True, True] and answers[1]["replayed"] is True
    cases = db.session.scalars(sa.select(Case).where(Case.description == "离线登记：开具证明")).all()
    assert len(cases) == 1 and cases[0].status is CaseStatus.LOGGED
    assert answers[1]["case"] == cases[0].number
    logged = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == cases[0].id)).all()
    assert [e.acted_at is not None for e in logged] == [True]


def test_once_saves_the_key_with_the_action_or_not_at_all(app, home):
    case = claimed(home, home.proxy)
    sent = replays.Sent("d" * 32, clock.now() - timedelta(minutes=1))
    from portal.domain.platform.unit import with_retries

    with pytest.raises(DomainError):
        with_retries(lambda: replays.once(home.staff, sent, lambda: lifecycle.add_note(case, home.staff, "")))
    assert replays.earlier(home.staff, sent.key) is None  # refused: nothing, the key included
    for _ in range(2):
        try:
            with_retries(lambda: replays.once(home.staff, sent, lambda: lifecycle.add_note(case, home.staff, "好")))
        except replays.Replayed as again:
            assert again.first.case_id == case.id
    assert len(_notes(case)) == 1


def test_a_visit_finished_offline_arrives_the_next_morning_as_done_on_its_day(app, home, monkeypatch):
    case = log(home, home.home_item)
    visit = Visit(case=case, household_id=case.household_id, team_id=home.t1.id, day=clock.today(), slot=Slot.PM)
    db.session.add(visit)
    db.session.commit()
    member = _client(app, "team1-a")
    acted = clock.now() + timedelta(hours=6)  # 16:00, no link
    next_morning = clock.now() + timedelta(hours=22)
    monkeypatch.setattr(clock, "now", lambda: next_morning)
    monkeypatch.setattr(clock, "today", lambda: clock.local(next_morning).date())
    member = _client(app, "team1-a")
    done = member.post(f"/visits/{visit.id}/finish", headers=REPLAY, data=_fields(
        case, home.member, acted=acted, work_done="已完成养老金资格认证", resident_confirmed="老人本人确认"))
    assert done.json["ok"] is True, done.json
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status is VisitStatus.DONE
    assert db.session.get(Case, case.id).status is CaseStatus.RESOLVED
    started = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                           CaseEvent.kind == EventKind.VISIT_STARTED)).one()
    assert started.acted_at == acted and started.at == next_morning


def test_a_later_item_made_on_the_same_page_needs_no_rewriting_after_the_users_own_replays(app, home):
    """Three items kept on one page (all carrying the version it showed) are sent as they were kept: each of the
    user's own saved replays moves the version the next one is read with; anyone else's change is not skipped."""
    case = claimed(home, home.staff, item=home.counter_item)
    clerk = _client(app, "staff-p01")
    seen = case.version
    first = clerk.post(f"/cases/{case.number}/act/start", headers=REPLAY,
                       data=_fields(case, home.staff, **{"start-version": str(seen), "start-note": ""}))
    db.session.expire_all()
    assert first.json["ok"] is True, first.json
    assert first.json["seen"] == seen and first.json["version"] == db.session.get(Case, case.id).version > seen
    noted = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY, data=_fields(
        case, home.staff, key="b" * 32, offline_seen=str(seen), note="先记一笔"))
    assert noted.json["ok"] is True and noted.json["seen"] == first.json["version"], noted.json
    resolved = clerk.post(f"/cases/{case.number}/act/resolve", headers=REPLAY, data=_fields(
        case, home.staff, key="c" * 32, offline_seen=str(seen),
        **{"resolve-version": str(seen), "resolve-note": "已当场办结"}))
    assert resolved.json["ok"] is True, resolved.json
    assert resolved.json["seen"] == (noted.json["version"] or first.json["version"])
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.RESOLVED
    # Another clerk's step in between: the next item of the queue does not get to skip it.
    case = db.session.get(Case, case.id)
    lifecycle.reopen(case, home.lead, "居民说还没办好")
    late = clerk.post(f"/cases/{case.number}/act/resolve", headers=REPLAY, data=_fields(
        case, home.staff, key="d" * 32, offline_seen=str(seen),
        **{"resolve-version": str(seen), "resolve-note": "再次办结"}))
    assert late.status_code == 409 and "您本人" not in late.json["message"], late.json
    again = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY,
                       data=_fields(case, home.staff, key="e" * 32, note="二", offline_seen=str(seen)))
    assert again.json["ok"] is True and again.json["version"] is None


def test_the_names_of_the_queue_before_its_rename_are_still_taken_for_one_release(app, home):
    """A browser still holding items kept as the "outbox" (outbox_* fields, X-Outbox-Replay) after the update:
    they are done once, dated by when the user acted, and answered in JSON as before (COMPAT offline-queue-rename)."""
    case = claimed(home, home.staff, item=home.counter_item)
    clerk = _client(app, "staff-p01")
    acted = clock.now() - timedelta(hours=2)
    old = {name.replace("offline_", "outbox_"): value
           for name, value in _fields(case, home.staff, acted=acted, note="旧名字的备注").items()}
    assert "outbox_key" in old and not any(name.startswith("offline_") for name in old)
    headers = {"X-Outbox-Replay": "1", "X-Portal-Poll": "1"}
    first = clerk.post(f"/cases/{case.number}/notes", headers=headers, data=old)
    assert first.status_code == 200 and first.json["ok"] is True, first.get_data(as_text=True)
    assert first.json["case"] == case.number and first.json["version"] is not None
    again = clerk.post(f"/cases/{case.number}/notes", headers=headers, data=old)
    assert again.json["replayed"] is True
    notes = _notes(case)
    assert len(notes) == 1 and notes[0].acted_at is not None and notes[0].acted_at < notes[0].at
    # an item of another user is refused under the old names as under the new
    other = clerk.post(f"/cases/{case.number}/notes", headers=headers,
                       data={**old, "outbox_key": "f" * 32, "outbox_user": str(home.proxy.id)})
    assert other.status_code == 403 and len(_notes(case)) == 1


def test_a_replay_with_an_expired_csrf_token_is_told_to_try_again_and_passes_with_a_fresh_one(app, home):
    app.config["WTF_CSRF_ENABLED"] = True
    case = claimed(home, home.proxy)
    clerk = app.test_client()
    login = clerk.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    clerk.post("/auth/login", data={"username": "staff-p01", "password": "correct-horse-7", "csrf_token": token})
    fields = _fields(case, home.staff, note="断网时的备注", csrf_token=token)  # the token of the page before
    stale = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY, data=fields)
    assert stale.status_code == 400 and stale.json["retry"] is True and _notes(case) == []
    g.pop("csrf_token", None)  # Flask-WTF keeps a request's token in g, which this test's app context shares
    fresh = clerk.get("/offline/state", headers=REPLAY).json["csrf"]
    sent = clerk.post(f"/cases/{case.number}/notes", headers={**REPLAY, "X-CSRFToken": fresh},
                      data={**fields, "csrf_token": fresh})
    assert sent.json["ok"] is True and len(_notes(case)) == 1, sent.json


def test_the_queue_asking_while_signed_out_leaves_no_messages_behind(app, home):
    client = app.test_client()
    for _ in range(5):
        assert client.get("/offline/state", headers=REPLAY).status_code == 401
    with client.session_transaction() as session:
        assert session.get("_flashes") is None


def test_the_sweep_forgets_keys_no_queue_can_send_again(app, home, runner, monkeypatch):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    clerk.post(f"/cases/{case.number}/notes", headers=REPLAY, data=_fields(case, home.staff, note="旧"))
    assert runner.invoke(args=["sweep"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Replay)) == 1  # still young
    later = clock.now() + replays.KEPT_FOR + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert runner.invoke(args=["sweep"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Replay)) == 0


def test_a_replay_on_a_case_no_longer_the_users_is_refused_with_what_to_do(app, home):
    case = claimed(home, home.proxy)
    other = _client(app, "staff-p02")  # a clerk of another post: the case is not theirs to see
    refused = other.post(f"/cases/{case.number}/notes", headers=REPLAY,
                         data=_fields(case, home.staff_p02, note="不该保存"))
    assert refused.status_code == 404 and refused.json["ok"] is False
    assert "删除这一条" in refused.json["next"] and "staff-p01" not in refused.json["message"]
    assert _notes(case) == []


def test_a_form_that_does_not_say_when_it_was_served_counts_as_done_when_it_arrived(app, home):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    acted = clock.now() - timedelta(hours=3)
    good = _fields(case, home.staff, acted=acted)["offline_served"]
    at, signature = good.split(".")
    variants = {
        "none": "",
        "forged": f"{int(at) - 86400}.{signature}",  # the page's moment moved back a day
        "another user's": replay.stamp(home.proxy.id, case.number, "测试", acted - timedelta(minutes=1)),
        "another case's": replay.stamp(home.staff.id, "LS-20261127-9999", "测试", acted - timedelta(minutes=1)),
        "another form's": replay.stamp(home.staff.id, case.number, "登记案件", acted - timedelta(minutes=1)),
    }
    for n, (why, stamp) in enumerate(variants.items()):
        answer = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY, data=_fields(
            case, home.staff, key=f"{n:032d}", acted=acted, note=why, offline_served=stamp))
        assert answer.json["ok"] is True, (why, answer.json)
    db.session.expire_all()
    assert [(n.note, n.acted_at) for n in _notes(case)] == [(why, None) for why in variants]  # done on arrival


def test_a_visit_finish_cannot_be_dated_before_the_page_that_offered_it(app, home):
    """Booked three days ago for that day and never done: a finish sent today, saying it was done then, from a page
    fetched today, is refused; from the page the phone really kept then, it is the day's."""
    case = log(home, home.home_item)
    three_days_ago = clock.now() - timedelta(days=3)
    visit = Visit(case=case, household_id=case.household_id, team_id=home.t1.id, day=clock.local(three_days_ago).date(),
                  slot=Slot.PM)
    db.session.add(visit)
    db.session.commit()
    member = _client(app, "team1-a")
    done_then = three_days_ago + timedelta(hours=6)
    work = {"work_done": "已完成养老金资格认证", "resident_confirmed": "老人本人确认"}
    refused = member.post(f"/visits/{visit.id}/finish", headers=REPLAY, data=_fields(
        case, home.member, acted=done_then, served=clock.now() - timedelta(minutes=10), **work))
    assert refused.status_code == 422 and refused.json["ok"] is False, refused.json
    assert "设备的时钟" in refused.json["message"] and "早于页面" in refused.json["message"]
    unsigned = member.post(f"/visits/{visit.id}/finish", headers=REPLAY, data=_fields(
        case, home.member, key="b" * 32, acted=done_then, offline_served="", **work))
    assert unsigned.json["ok"] is False  # done when it arrived: today, not the visit's day
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status is VisitStatus.BOOKED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Replay)) == 0
    kept_then = member.post(f"/visits/{visit.id}/finish", headers=REPLAY, data=_fields(
        case, home.member, key="c" * 32, acted=done_then, served=three_days_ago + timedelta(hours=1), **work))
    assert kept_then.json["ok"] is True, kept_then.json
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status is VisitStatus.DONE


def test_a_device_clock_a_little_slow_is_set_to_when_the_page_was_served(app, home):
    case = claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    served = clock.now() - timedelta(hours=1)
    answer = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY, data=_fields(
        case, home.staff, acted=served - timedelta(minutes=2), served=served, note="手机慢了两分钟"))
    assert answer.json["ok"] is True, answer.json
    db.session.expire_all()
    assert [n.acted_at for n in _notes(case)] == [served]


def test_a_served_moment_of_one_case_cannot_date_a_step_on_another(app, home):
    kept, other = claimed(home, home.proxy), claimed(home, home.proxy)
    clerk = _client(app, "staff-p01")
    long_ago = clock.now() - timedelta(days=10)
    fields = _fields(kept, home.staff, acted=long_ago, served=long_ago, note="挪用另一案件页面的时间")
    refused = clerk.post(f"/cases/{other.number}/notes", headers=REPLAY, data=fields)
    assert refused.status_code == 422 and refused.json["ok"] is False, refused.json
    assert _notes(kept) == [] and _notes(other) == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Replay)) == 0


def test_a_replay_answer_tells_nothing_of_a_case_the_user_may_not_see(app, home):
    from portal.domain import access
    from portal.domain.cases import intake

    mine = claimed(home, home.proxy)
    theirs = intake.log_case(home.staff_p02, home.errand_item, Channel.COUNTER, "别的服务点的案件", "李四",
                             "13900000001", place=home.h02)
    assert not access.can(home.staff, "case.view", theirs)
    clerk = _client(app, "staff-p01")
    answers = []
    for n, number in enumerate((theirs.number, "LS-20261127-9999")):  # one of another scope, one that is not
        fields = _fields(mine, home.staff, key=f"{n:032d}", note="备注", offline_case=number,
                         offline_seen=str(theirs.version))
        answer = clerk.post(f"/cases/{mine.number}/notes", headers=REPLAY, data=fields)
        answers.append((answer.status_code, answer.get_data(as_text=True)))
    assert answers[0] == answers[1]
    assert answers[0][0] == 200 and '"version":null' in answers[0][1].replace(" ", "")
    assert theirs.number not in answers[0][1]


def test_a_users_own_earlier_step_is_never_called_someone_elses_change(app, home, monkeypatch):
    """开始办理 kept on a page, and meanwhile a note by the same clerk in another tab, online (not through the
    queue, so it does not move the version the start is read with): the refusal says the change was the user's own."""
    case = claimed(home, home.staff, item=home.counter_item)
    seen = case.version
    acted = clock.now() + timedelta(minutes=5)  # the page was kept at 10:00; the link came back at 11:00
    later = clock.now() + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    clerk = _client(app, "staff-p01")
    note = clerk.post(f"/cases/{case.number}/notes", data={"note": "先记一笔"})
    assert note.status_code == 303 and len(_notes(case)) == 1
    start = clerk.post(f"/cases/{case.number}/act/start", headers=REPLAY, data=_fields(
        case, home.staff, key="b" * 32, acted=acted + timedelta(minutes=1), served=acted - timedelta(minutes=1),
        offline_seen=str(seen), **{"start-version": str(seen), "start-note": ""}))
    assert start.status_code == 409, start.json
    message = start.json["message"]
    assert "您本人" in message and "您打开此工单后" not in message, message
    assert home.staff.display_name not in message


def test_an_already_saved_answer_carries_what_the_first_answer_carried(app, home, monkeypatch):
    """A note then 开始办理 on one kept page; the note's answer is lost after the server saved it: sent again, it is
    answered as the first time (the version included), and the start, moved on to it, is saved."""
    case = claimed(home, home.staff, item=home.counter_item)
    seen = case.version
    acted = clock.now() + timedelta(minutes=5)
    later = clock.now() + timedelta(hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    clerk = _client(app, "staff-p01")
    note = _fields(case, home.staff, acted=acted, served=clock.now() - timedelta(hours=1), note="先记一笔")
    first = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY, data=note).json
    assert first["ok"] is True and first["version"] > seen and first["seen"] == seen, first
    again = clerk.post(f"/cases/{case.number}/notes", headers=REPLAY, data=note).json
    assert again["replayed"] is True and "没有重复保存" in again["message"] and first["message"] in again["message"]
    said = ("case", "cases", "seen", "version", "location")
    assert {k: again[k] for k in said} == {k: first[k] for k in said} == {
        **{k: first[k] for k in said}, "case": case.number, "cases": [case.number]}
    start = clerk.post(f"/cases/{case.number}/act/start", headers=REPLAY, data=_fields(
        case, home.staff, key="b" * 32, acted=acted + timedelta(minutes=1), served=clock.now() - timedelta(hours=1),
        offline_seen=str(again["version"]), **{"start-version": str(again["version"]), "start-note": ""}))
    assert start.json["ok"] is True, start.json
    db.session.expire_all()
    assert db.session.get(Case, case.id).status is CaseStatus.IN_PROGRESS
    assert len(_notes(case)) == 1
