"""The SMS gateway's callback for residents' replies: a reply of TD (or 退订, T, N, STOP) stops every message to
that number, as the Chinese SMS rules require of every message that says "回复TD退订"."""
from __future__ import annotations

import hmac
from collections.abc import Mapping

from flask import abort, current_app, jsonify, request

from portal.domain.platform import outbox, privacy, unit
from portal.messages import bp
from portal.web.guards import public

STOP_WORDS = frozenset({"TD", "T", "N", "STOP", "退订", "退"})


@bp.post("/sms-reply")
@public
def sms_reply():
    """A resident replied to an SMS; the gateway passes the number and the text (fields as configured in
    ``SMS_INBOUND_FIELDS``) with the shared token. Answers 404 while no token is configured."""
    expected = current_app.config["SMS_INBOUND_TOKEN"]
    given = request.headers.get("X-Portal-Token") or request.args.get("token", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        abort(404)
    values = request.get_json(silent=True) if request.is_json else request.form
    if not isinstance(values, Mapping):  # a JSON list, string or number, or a body that is not JSON at all
        return jsonify(code="1", msg="the body must be an object of fields"), 400
    fields = current_app.config["SMS_INBOUND_FIELDS"]
    phone, text = values.get(fields["phone"], ""), values.get(fields["text"], "")
    if not isinstance(phone, str | int) or not isinstance(text, str):
        return jsonify(code="1", msg="the phone and the text must be plain values"), 400
    phone, text = privacy.normalise_phone(str(phone)[:40]), text.strip().upper()
    if not phone or len(phone) > 20:
        return jsonify(code="1", msg="no phone number"), 400
    stopped = text in STOP_WORDS
    if stopped:
        unit.with_retries(lambda: outbox.stop(phone, via="sms reply"))
    return jsonify(code="0", stopped=stopped)
