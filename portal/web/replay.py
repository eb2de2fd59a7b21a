"""The web side of replays (``portal/domain/platform/replays.py``): the key a field form carries, and the
answer the browser's outbox gets when it sends a kept form again.

A form made with the ``offline_fields`` macro carries ``outbox_key`` and ``outbox_acted_at`` (filled in by
static/portal.js when the user submits), and ``outbox_case`` and ``outbox_seen``: the case and the version of
it the page showed. ``submit.run`` hands the key to ``replays.once``, so the action and its key are saved in
one transaction. A key saved before is answered here, before the view runs, with what it saved then.

The outbox sends a kept form with the header ``X-Outbox-Replay: 1``, through the same route, the same
``@allow`` rule, the same CSRF check (with a token it fetched fresh from /offline/state) and the same session
timeouts, and marked as a poll, so that the outbox sending by itself never keeps an idle session alive. Its
answer is JSON: ``ok``, ``status``, ``message`` (what the route flashed or the form's errors, and what changed
on the case since the user saw it), ``next`` (what the user can do about a refusal), ``case`` and ``location``.
"""
from __future__ import annotations

from flask import Flask, flash, g, get_flashed_messages, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import clock
from portal.domain import DomainError, Forbidden, access
from portal.domain.cases import lifecycle
from portal.domain.platform import replays
from portal.extensions import db
from portal.models import Case, Mode, Replay

REPLAY_HEADER = "X-Outbox-Replay"

NEXT_STEPS = {
    401: _l("Sign in again: the outbox sends it then."),
    403: _l("You may no longer do this on this case (it may have gone to someone else). Open the case, or ask "
            "your station; discard this item once it is settled."),
    404: _l("The case or visit is no longer there for you. Discard this item."),
    409: _l("Open the case to see its latest state; do it again there if it still applies, then discard this item."),
    422: _l("Open the form, correct what is said and submit it again; then discard this item."),
}


def is_replay() -> bool:
    """Whether the request is the browser's outbox sending a kept form."""
    return request.headers.get(REPLAY_HEADER) == "1"


def sent() -> replays.Sent | None:
    """The key the submitted form carries, with when the user acted if it waited in the outbox; or None."""
    if request.method != "POST":
        return None
    # Sent at once, the user acted now; only a kept form has an earlier moment to tell.
    return replays.parse(request.form.get("outbox_key"), request.form.get("outbox_acted_at") if is_replay() else None)


def note_form(form) -> None:
    """Keep the submitted form, so that a refused replay can say what was wrong with its fields."""
    g.replay_form = form


def case_url(case: Case) -> str:
    return url_for("errands.show" if case.mode is Mode.ERRAND else "cases.show", number=case.number)


def answer_first(first: Replay):
    """Answer a key that was saved before with what it saved: nothing is done again."""
    when = clock.local(first.arrived_at).strftime("%m-%d %H:%M")
    message = _("This was already saved at %(when)s; it was not saved twice.", when=when)
    location = case_url(first.case) if first.case is not None else url_for("main.home")
    if is_replay():
        return jsonify(ok=True, replayed=True, status=200, message=message, location=location,
                       case=first.case.number if first.case is not None else None)
    flash(message, "info")
    return redirect(location, 303)


def _case_and_seen() -> tuple[Case | None, int | None]:
    """The case the form was about, and the version of it the user saw."""
    number, seen = request.form.get("outbox_case"), request.form.get("outbox_seen", "")
    if not number or not seen.isdigit():
        return None, None
    return db.session.scalars(db.select(Case).where(Case.number == number)).first(), int(seen)


def _changed_since_seen(user) -> str:
    """What happened to the form's case since the user saw it, when they may still see the case."""
    case, seen = _case_and_seen()
    if case is None or case.version == seen or not access.can(user._get_current_object(), "case.view", case):
        return ""
    return str(lifecycle.stale_message(case))


def _saved(response, flashed):
    """A saved replay's answer. When the case had not changed between what the user saw and this step, the
    outbox may count the step's own change as seen by the user's next steps on the case (``version``): a note
    then a callback, both offline, are one person's steps in order, not a conflict with oneself."""
    case, seen = _case_and_seen()
    version = case.version if case is not None and g.get("replay_version_before") == seen else None
    return jsonify(ok=True, status=200, message="；".join(str(text) for _c, text in flashed),
                   location=response.location, case=request.form.get("outbox_case") or None, seen=seen,
                   version=version)


def _as_json(response, form=None):
    """A replay's answer: whether it was saved, and if not, why and what to do next."""
    status = response.status_code
    flashed = get_flashed_messages(with_categories=True)
    refusals = [str(text) for category, text in flashed if category == "error"]
    typos = [] if form is None else [f"{form[name].label.text}：{text}" for name, texts in form.errors.items()
                                     if name in form._fields for text in texts]
    if status < 400 and not refusals and not typos:
        return _saved(response, flashed)
    if status < 400:  # a route that flashes its refusal and goes back (visits' start)
        status = 422
    meanwhile = _changed_since_seen(current_user) if current_user.is_authenticated else ""
    if meanwhile in refusals:  # the refusal already says it (a step checked against the version seen)
        meanwhile = ""
    message = " ".join([*([meanwhile] if meanwhile else []), *refusals, *typos]) or str(_("This could not be saved."))
    if meanwhile and not typos:  # refused because of the change, not because of what was typed
        status = 409
    result = jsonify(ok=False, status=status, message=message, next=str(NEXT_STEPS.get(status, NEXT_STEPS[422])),
                     case=request.form.get("outbox_case") or None)
    result.status_code = status
    return result


def signed_out():
    """The outbox's answer when the session has ended: nothing was done; it keeps the item until sign-in (and
    leaves no "please sign in" behind for each try: the outbox asks every 30 seconds)."""
    session.pop("_flashes", None)
    result = jsonify(ok=False, status=401, signed_in=False, message=str(_("Your session has ended.")),
                     next=str(NEXT_STEPS[401]))
    result.status_code = 401
    return result


def try_again(message: str):
    """The outbox's answer when nothing was done for a reason that passes (an expired token): send it later."""
    result = jsonify(ok=False, status=400, retry=True, message=message)
    result.status_code = 400
    return result


def init_app(app: Flask) -> None:
    @app.before_request
    def answer_a_saved_key():
        if request.method != "POST" or not current_user.is_authenticated or request.endpoint == "static":
            return None
        try:
            given = sent()
            owner = request.form.get("outbox_user")
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
            case, _seen = _case_and_seen()
            g.replay_version_before = case.version if case is not None else None
        return None

    @app.after_request
    def answer_a_replay_in_json(response):
        form = g.pop("replay_form", None)  # (a test's application context outlives its requests)
        if is_replay() and response.mimetype != "application/json":
            response = _as_json(response, form)
        g.pop("replay_version_before", None)
        return response
