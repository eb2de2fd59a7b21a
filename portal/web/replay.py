"""The web side of replays (``portal/domain/platform/replays.py``): the key a field form carries, and the
answer the browser's offline queue gets when it sends a kept form again.

A form made with the ``offline_fields`` macro carries ``offline_key`` and ``offline_acted_at`` (filled in by
static/portal.js when the user submits), and ``offline_case`` and ``offline_seen``: the case and the version of
it the page showed; and ``offline_served``, when the server gave the user the form, signed with the app's secret
for the user, the case and the form's label (``served_stamp``): the moment the user acted is no earlier
(``replays.parse``). ``submit.run`` hands the key to ``replays.once``, so the action and its key are saved in
one transaction, with what the answer says of the step (``first_answer``). A key saved before is answered here,
before the view runs, with what its first answer said (``answer_first``).

The user's later items on a case were made on the page as it was before their earlier items: a replay is read
as made on the version the user's own earlier replays moved the case to (``_as_moved_on``), so that the browser
sends each item as it was kept and never rewrites one.

The queue sends a kept form with the header ``X-Offline-Replay: 1``, through the same route, the same
``@allow`` rule, the same CSRF check (with a token it fetched fresh from /offline/state) and the same session
timeouts, and marked as a poll, so that the queue sending by itself never keeps an idle session alive. Its
answer is JSON: ``ok``, ``status``, ``message`` (what the route flashed or the form's errors, and what changed
on the case since the user saw it), ``next`` (what the user can do about a refusal), ``case`` and ``location``.
It says nothing of a case the user may not see: a form naming one is answered as one naming no case at all.
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, current_app, flash, get_flashed_messages, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import Signer
from markupsafe import Markup
from werkzeug.datastructures import ImmutableMultiDict

from portal import clock
from portal.domain import DomainError, Forbidden, access
from portal.domain.cases import lifecycle
from portal.domain.platform import replays, unit
from portal.extensions import db
from portal.models import Case, CaseEvent, Mode, Replay

REPLAY_HEADER = "X-Offline-Replay"
# COMPAT offline-queue-rename: until the next release a browser's queue may still speak the names it had when it was
# called the outbox (docs/ARCHITECTURE.md, "Offline"): the header and the outbox_* fields are taken as well.
OLD_REPLAY_HEADER = "X-Outbox-Replay"
FIELD, OLD_FIELD = "offline_", "outbox_"

NEXT_STEPS = {
    401: _l("Sign in again: the outbox sends it then."),
    403: _l("You may no longer do this on this case (it may have gone to someone else). Open the case, or ask "
            "your station; discard this item once it is settled."),
    404: _l("The case or visit is no longer there for you. Discard this item."),
    409: _l("Open the case to see its latest state; do it again there if it still applies, then discard this item."),
    422: _l("Open the form, correct what is said and submit it again; then discard this item."),
}


def is_replay() -> bool:
    """Whether the request is the browser's offline queue sending a kept form."""
    return request.headers.get(REPLAY_HEADER) == "1" or request.headers.get(OLD_REPLAY_HEADER) == "1"


def field(form, name: str) -> str | None:
    """The form's ``offline_<name>`` (or, from a queue kept before the rename, its ``outbox_<name>``)."""
    value = form.get(FIELD + name)
    return value if value is not None else form.get(OLD_FIELD + name)


def _signer() -> Signer:
    return Signer(current_app.secret_key, salt="portal.offline.served", digest_method=hashlib.sha256)


def _served_text(user_id: int, case: str, label: str, at: int) -> bytes:
    return "\x1f".join((str(user_id), case, label, str(at))).encode()


def stamp(user_id: int, case: str, label: str, at: datetime) -> str:
    """The signed ``offline_served`` of a form given to a user at ``at``, about ``case`` ("" for none)."""
    seconds = int(at.timestamp())
    return f"{seconds}.{_signer().get_signature(_served_text(user_id, case, label, seconds)).decode()}"


def served_stamp(label, case: Case | None = None) -> str:
    """When the server gives the signed-in user this form (``offline_fields``): the moment, signed for them, the
    case and the form's label, so that it cannot be moved back nor carried to another user's or case's form."""
    if not current_user.is_authenticated:
        return ""
    text = label.unescape() if isinstance(label, Markup) else str(label)  # as the browser sends it back
    return stamp(current_user.id, case.number if case else "", text, clock.now())


def served(form, user) -> replays.Served | None:
    """When the form was given to ``user``, as its page signed it; None when it does not say, or the signature
    is not the portal's for this user, case and label."""
    at, _dot, signature = (field(form, "served") or "").partition(".")
    if not at.isdigit() or not signature or len(at) > 12:
        return None
    case = field(form, "case") or ""
    if not _signer().verify_signature(_served_text(user.id, case, field(form, "label") or "", int(at)),
                                      signature.encode()):
        return None
    return replays.Served(datetime.fromtimestamp(int(at), UTC), case)


def sending() -> replays.Sending:
    """The submitted form of this request (``replays.Sending``), kept with the request's unit of work."""
    state = unit.current().sending
    if state is None:
        state = unit.current().sending = replays.Sending()
    return state


def sent() -> replays.Sent | None:
    """The key the submitted form carries, with when the user acted if it waited in the offline queue; or None. Parsed
    once a request (by the hook before the view, ``init_app``), and kept with the request's ``sending()``."""
    if request.method != "POST":
        return None
    state = sending()
    if not state.parsed:
        state.sent, state.parsed = _parse(), True
    return state.sent


def _parse() -> replays.Sent | None:
    if not is_replay():  # sent at once, the user acted now; only a kept form has an earlier moment to tell
        return replays.parse(field(request.form, "key"), None)
    given = served(request.form, current_user) if current_user.is_authenticated else None
    return replays.parse(field(request.form, "key"), field(request.form, "acted_at"), given)


def note_form(form) -> None:
    """Keep the submitted form, so that a refused replay can say what was wrong with its fields."""
    sending().form = form


def note_outcome(saved: bool, refusal: DomainError | None = None, said: str | None = None) -> None:
    """Keep how the form's action ended (``submit.run``): a replay is answered from it."""
    state = sending()
    state.ran, state.saved, state.refusal, state.said = True, saved, refusal, said


def case_url(case: Case) -> str:
    return url_for("errands.show" if case.mode is Mode.ERRAND else "cases.show", number=case.number)


def answer_first(first: Replay):
    """Answer a key that was saved before with what its first answer said: nothing is done again."""
    when = clock.local(first.arrived_at).strftime("%m-%d %H:%M")
    message = _("This was already saved at %(when)s; it was not saved twice.", when=when)
    said = first.answer or {}
    location = said.get("location") or (case_url(first.case) if first.case is not None else url_for("main.home"))
    if is_replay():
        first_words = said.get("message") or ""
        return jsonify({"case": first.case.number if first.case is not None else None, "seen": None, "version": None,
                        **said, "ok": True, "replayed": True, "status": 200, "location": location,
                        "message": f"{message} {first_words}".strip()})
    flash(message, "info")
    return redirect(location, 303)


def _as_moved_on(seen: int, moved: int) -> None:
    """Read this replay's form as made on version ``moved`` of its case where it says ``seen`` (its ``offline_seen``
    and its version fields): the user's own earlier replays moved the case from one to the other
    (``replays.moved_on``), and this item was made on the page before them. A change by anyone else, or by the user
    outside the queue (another tab), is not skipped: it is still between ``moved`` and the case as it is."""
    if moved == seen:
        return
    pairs = [(name, str(moved) if (name in (FIELD + "seen", OLD_FIELD + "seen") or name == "version"
                                   or name.endswith("-version")) and value == str(seen) else value)
             for name, value in request.form.items(multi=True)]
    request.form = ImmutableMultiDict(pairs)
    request.__dict__.pop("values", None)


def _case_and_seen() -> tuple[Case | None, int | None]:
    """The case the form was about, and the version of it the user saw; (None, None) when the user may not see
    that case, as when there is none: an answer never tells whether a case of another scope exists."""
    number, seen = field(request.form, "case"), field(request.form, "seen") or ""
    if not number or not seen.isdigit() or not current_user.is_authenticated:
        return None, None
    case = db.session.scalars(db.select(Case).where(Case.number == number)).first()
    if case is None or not access.can(current_user._get_current_object(), "case.view", case):
        return None, None
    return case, int(seen)


def _changed_since_seen(user) -> str:
    """What happened to the form's case since the user saw it, when they may still see the case."""
    case, seen = _case_and_seen()
    if case is None or case.version == seen:
        return ""
    return _what_changed(user._get_current_object(), case)


def _what_changed(user, case: Case) -> str:
    """Who changed ``case`` since the user's page was served, and when. A step of the user's own (done in another
    tab) is said to be theirs, never someone else's."""
    query = sa.select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
    page = served(request.form, user)
    events = db.session.scalars(query.where(CaseEvent.at > page.at).limit(50)).all() if page else []
    events = events or db.session.scalars(query.limit(1)).all()
    others = [event for event in events if event.actor_id != user.id]
    if events and not others:
        return _("You changed this case yourself at %(when)s (now: %(status)s), in a step saved before this one; "
                 "this step was made on the page as it was before that, and was not saved. Open the case and do it "
                 "again there if it still applies.",
                 when=clock.local(events[0].at).strftime("%H:%M"), status=case.status.label)
    if not events or events[0] is others[0]:
        return str(lifecycle.stale_message(case))
    other = others[0]
    return _("%(who)s changed this case at %(when)s after you opened it, and so did you at %(yours)s (now: "
             "%(status)s). Your change was not saved; look at the latest state and try again if it still applies.",
             who=other.actor.display_name if other.actor else (other.actor_label or _("Someone")),
             when=clock.local(other.at).strftime("%H:%M"), yours=clock.local(events[0].at).strftime("%H:%M"),
             status=case.status.label)


def first_answer(cases: list[Case]) -> dict:
    """What a replay's answer says of its step, worked out as the step is saved and saved with its key
    (``replays.once``): the cases it changed, and, when the case had not changed between what the user saw and
    this step, the version the step left (``version``): the user's next replays made on the version this one
    saw are read as made on this one (``_as_moved_on``): a note then a callback, both offline, are one person's
    steps in order, not a conflict with oneself. Versions are said only of the case the step changed (``case``),
    to a user who may see it: the form's ``offline_case`` is the user's to write, and may name any case."""
    case, seen = _case_and_seen()
    if case is None or not cases or cases[0] is not case:
        case = seen = None
    version = case.version if case is not None and sending().version_before == seen else None
    return {"case": cases[0].number if cases else None, "cases": [changed.number for changed in cases],
            "seen": seen, "version": version}


def _saved(response, flashed):
    """A saved replay's answer: what was saved with the key, the route's words and where it led (kept too, so that
    the key sent again is answered the same)."""
    given = sending().sent
    first = replays.earlier(current_user, given.key) if given is not None else None
    said = {"message": "；".join(str(text) for _c, text in flashed), "location": response.location}
    if first is not None:
        try:
            unit.alone(lambda: replays.note_answer(first, **said))
        except sa.exc.SQLAlchemyError:  # the step is saved; sent again, it is answered without these words
            unit.abandon()
    stored = first.answer if first is not None and first.answer else {"case": None, "seen": None, "version": None}
    return jsonify({**stored, **said, "ok": True, "status": 200})


def _as_json(response, form=None):
    """A replay's answer: whether it was saved, and if not, why and what to do next."""
    status = response.status_code
    state = sending()
    flashed = get_flashed_messages(with_categories=True)
    said = [state.said] if state.ran and not state.saved and state.said else []  # the refusal of the action
    # and what the route or the check before it refused by itself (a route that says it in its own way)
    refusals = said + [str(text) for category, text in flashed if category == "error" and str(text) not in said]
    typos = [] if form is None else [f"{form[name].label.text}：{text}" for name, texts in form.errors.items()
                                     if name in form._fields for text in texts]
    if status < 400 and not refusals and not typos and (state.saved or not state.ran):
        return _saved(response, flashed)
    if status < 400:  # a route that flashes its refusal and goes back (visits' start)
        status = 422
    meanwhile = _changed_since_seen(current_user) if current_user.is_authenticated else ""
    case, _seen = _case_and_seen()
    if meanwhile and case is not None:  # a step checked against the version seen says it in the same words
        stale = str(lifecycle.stale_message(case))
        refusals = [meanwhile if text == stale else text for text in refusals]
    if meanwhile in refusals:  # the refusal already says it
        meanwhile = ""
    message = " ".join([*([meanwhile] if meanwhile else []), *refusals, *typos]) or str(_("This could not be saved."))
    if meanwhile and not typos:  # refused because of the change, not because of what was typed
        status = 409
    result = jsonify(ok=False, status=status, message=message, next=str(NEXT_STEPS.get(status, NEXT_STEPS[422])),
                     case=field(request.form, "case") or None)
    result.status_code = status
    return result


def signed_out():
    """The queue's answer when the session has ended: nothing was done; it keeps the item until sign-in (and
    leaves no "please sign in" behind for each try: the queue asks every 30 seconds)."""
    session.pop("_flashes", None)
    result = jsonify(ok=False, status=401, signed_in=False, message=str(_("Your session has ended.")),
                     next=str(NEXT_STEPS[401]))
    result.status_code = 401
    return result


def try_again(message: str):
    """The queue's answer when nothing was done for a reason that passes (an expired token): send it later."""
    result = jsonify(ok=False, status=400, retry=True, message=message)
    result.status_code = 400
    return result


def init_app(app: Flask) -> None:
    app.jinja_env.globals["offline_served"] = served_stamp

    @app.before_request
    def answer_a_saved_key():
        if request.method == "POST":
            unit.current().sending = None  # this request's own
        if request.method != "POST" or not current_user.is_authenticated or request.endpoint == "static":
            return None
        try:
            given = sent()
            owner = field(request.form, "user")
            if given and owner and owner != str(current_user.id):
                raise Forbidden(_l("This was done by another user on this device; it is sent when they sign in."))
        except DomainError as error:  # a key or time no page of the portal made, another user's item
            if not is_replay():
                raise
            flash(str(error.message), "error")
            return _as_json(app.response_class(status=403 if isinstance(error, Forbidden) else 422))
        first = replays.earlier(current_user, given.key) if given else None
        if first is not None:
            return answer_first(first)
        if given and is_replay():
            case, seen = _case_and_seen()
            if case is not None:
                _as_moved_on(seen, replays.moved_on(current_user, case, seen))
            sending().version_before = case.version if case is not None else None
        return None

    @app.after_request
    def answer_a_replay_in_json(response):
        state = unit.current().sending
        if is_replay() and response.mimetype != "application/json":
            response = _as_json(response, state.form if state is not None else None)
        unit.current().sending = None  # (a test's application context, and its session, outlive its requests)
        return response
