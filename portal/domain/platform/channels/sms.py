"""SMS, through the city's HTTP gateway: to residents (the phone of their case) and to colleagues (their phone).

Its own rules: a number is kept in the one canonical form of ``privacy.normalise_phone``; a resident's opt-out
(a reply of TD) stops it; and no SMS reaches a resident in the quiet hours (21:00–08:00, local): one that would
waits for 08:00. Colleagues are told at any hour.
"""
from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from datetime import datetime, timedelta
from datetime import time as clock_time

from portal import clock
from portal.domain.platform import privacy
from portal.domain.platform.channels.channel import Channel, DeliveryError, Outgoing
from portal.domain.platform.channels.deadline import Deadline
from portal.models import Case, MessageChannel, User

QUIET_FROM, QUIET_UNTIL = clock_time(21, 0), clock_time(8, 0)


def after_quiet_hours(moment: datetime) -> datetime:
    """``moment``, or the end of the quiet hours it falls in (08:00 local)."""
    local = clock.local(moment)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return moment
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=local.tzinfo).astimezone(moment.tzinfo)


class Sms(Channel):
    """An HTTP SMS gateway, as configured (each city's differs): ``SMS_GATEWAY_URL`` (http or https, its
    certificate verified), ``SMS_GATEWAY_METHOD``, ``SMS_GATEWAY_FORMAT`` ("json" or "form"),
    ``SMS_GATEWAY_FIELDS`` (the body's fields, each a template of {phone}, {text} and {key}),
    ``SMS_GATEWAY_HEADERS``, ``SMS_GATEWAY_SUCCESS`` ("field=value" in the JSON answer, a dotted path for nested
    fields; empty: any 2xx) and ``SMS_GATEWAY_TIMEOUT`` (seconds for the whole request, answer included)."""

    key = MessageChannel.SMS
    setting = "SMS_GATEWAY_URL"
    opt_outs = True

    @staticmethod
    def address(raw: str | None) -> str:
        """One number however it is written: "+86 139 3524 9848" and "13935249848" alike."""
        stripped = (raw or "").strip()
        return privacy.normalise_phone(stripped) or stripped

    @staticmethod
    def of_resident(case: Case) -> str | None:
        return case.requester_phone

    @staticmethod
    def of_user(user: User) -> str | None:
        return user.phone

    @staticmethod
    def not_before(moment: datetime, to_resident: bool) -> datetime:
        return after_quiet_hours(moment) if to_resident else moment

    def body(self, message: Outgoing) -> tuple[bytes, str]:
        values = {"phone": message.address, "text": message.text, "key": message.key}
        fields = {name: template.format(**values) for name, template in self.config["SMS_GATEWAY_FIELDS"].items()}
        if self.config["SMS_GATEWAY_FORMAT"] == "form":
            return urllib.parse.urlencode(fields).encode(), "application/x-www-form-urlencoded; charset=utf-8"
        return json.dumps(fields, ensure_ascii=False).encode(), "application/json; charset=utf-8"

    def send(self, message: Outgoing) -> None:
        data, content_type = self.body(message)
        with Deadline(self.config["SMS_GATEWAY_TIMEOUT"]) as deadline:
            try:
                status, answer = self._post(data, content_type, deadline)
            except (OSError, http.client.HTTPException) as error:  # OSError: timeouts, refusals, TLS too
                reason = deadline.reason() if deadline.expired else f"{error.__class__.__name__}: {error}"
                raise DeliveryError(f"no answer: {reason}") from error
            if deadline.expired:  # an answer cut short at the deadline may look whole
                raise DeliveryError(f"no answer: {deadline.reason()}")
        if not 200 <= status < 300:
            raise DeliveryError(f"HTTP {status}")
        self.check(answer)

    def _post(self, data: bytes, content_type: str, deadline: Deadline) -> tuple[int, bytes]:
        url = urllib.parse.urlsplit(self.config["SMS_GATEWAY_URL"])
        https = url.scheme == "https"
        port = url.port or (443 if https else 80)
        sock = deadline.connect(url.hostname, port)
        if https:
            try:
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=url.hostname)
            except BaseException:
                sock.close()
                raise
        connection = (http.client.HTTPSConnection if https else http.client.HTTPConnection)(url.hostname, port)
        connection.sock = sock  # the connection made under the deadline, not one of http.client's own
        try:
            connection.request(self.config["SMS_GATEWAY_METHOD"], (url.path or "/") + (f"?{url.query}" if url.query else ""),
                               body=data, headers={"Content-Type": content_type, **self.config["SMS_GATEWAY_HEADERS"]})
            response = connection.getresponse()
            return response.status, response.read(65536)
        finally:
            connection.close()

    def check(self, answer: bytes) -> None:
        """Raise unless the answer says the message was taken (``SMS_GATEWAY_SUCCESS``)."""
        success = self.config["SMS_GATEWAY_SUCCESS"]
        if not success:
            return
        path, _, expected = success.partition("=")
        try:
            value = json.loads(answer)
            for part in path.split("."):
                value = value[part]
        except (ValueError, KeyError, TypeError) as error:
            raise DeliveryError(f"unreadable answer: {answer[:100]!r}") from error
        if str(value) != expected:
            raise DeliveryError(f"refused: {path}={value}")
