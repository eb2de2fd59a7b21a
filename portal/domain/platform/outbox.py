"""Messages that always arrive, once, by day, and never after TD: the transactional outbox.

A message (a resident's receipt, a reminder to staff) is written to ``outbox`` in the same transaction as the
event that causes it, so it exists exactly when the event does. ``flask deliver`` (cron, every minute, on as
many hosts as there are) claims due messages in small batches (a conditional UPDATE; on PostgreSQL with SKIP
LOCKED), sends them outside any transaction, and notes the outcome:

- sent: ``sent_at``;
- failed (an error, no whole answer in time, an answer that does not say success): tried again after 1, 2,
  4… minutes (at most an hour), up to ``OUTBOX_MAX_ATTEMPTS`` times, then given up ("dead", listed for
  administrators, who may send it again).

What each promise rests on:

- Once. Just before it is sent, a message's own lease is renewed by a conditional UPDATE that succeeds only
  while the claim is still this worker's; a send then takes at most the gateway's whole deadline
  (``SMS_GATEWAY_TIMEOUT``: connecting, TLS and every byte of the answer, enforced by shutting the connection,
  so a gateway trickling its answer cannot stretch it), and the lease (``OUTBOX_LEASE_SECONDS``) is checked to
  be longer than that deadline. So no other worker can take a message while it is being sent: one sender at
  a time. Only a worker that dies mid-send leaves its claim to run out and the message to be sent again
  (delivery is at least once); every message carries its key to the gateway (and as the e-mail's Message-ID)
  so that such a repeat can be recognised there.
- By day. No SMS reaches a resident in quiet hours (21:00–08:00, local): checked when it is written, when it
  is claimed, right before it is sent, when it is retried and when an administrator resends it. One found in
  the quiet hours waits for 08:00 without counting as an attempt.
- Never after TD. A number that opted out (``OptOut``, compared in the one canonical form of
  ``privacy.normalise_phone``) is written nothing; what waits for it, claimed or not, is given up when it opts
  out, checked again right before sending, and an administrator cannot resend it.
- Nothing pretends. A channel with no gateway configured (no ``SMS_GATEWAY_URL``, no ``SMTP_HOST``) sends
  nothing and marks nothing: its messages wait, untouched, and ``flask deliver`` and the administrators'
  messages page say so.

Texts are short, in Chinese, with the resident's name masked.
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import smtplib
import socket
import ssl
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain import DomainError
from portal.domain.platform import audit, privacy, unit
from portal.extensions import db
from portal.models import MessageChannel, MessageStatus, OptOut, OutboxMessage

log = logging.getLogger("portal.outbox")

QUIET_FROM, QUIET_UNTIL = clock_time(21, 0), clock_time(8, 0)
# A claim takes this many messages at most: the lease that matters is each message's own (renewed just before
# it is sent), and small claims let the workers of several hosts share a long queue.
BATCH = 10
# How much longer than the gateway's whole deadline a lease must be: room for the bookkeeping around a send and
# for hosts whose clocks differ by a few seconds.
LEASE_MARGIN_SECONDS = 30
OUTCOMES = ("sent", "retry", "dead", "later", "stopped")
OPTED_OUT = "opted out"


class DeliveryError(Exception):
    """The gateway did not take the message (the reason is kept with it)."""


# --- numbers and opting out ------------------------------------------------------------------------------------

def number(address: str | None) -> str:
    """The form an SMS address is stored and compared in: "+86 139 3524 9848" and "13935249848" are one number."""
    stripped = (address or "").strip()
    return privacy.normalise_phone(stripped) or stripped


def opted_out(address: str | None) -> bool:
    # The number as typed too: opt-outs recorded before numbers had one canonical form.
    forms = {number(address), (address or "").strip()} - {""}
    return bool(forms) and db.session.scalar(
        sa.select(OptOut.address).where(OptOut.address.in_(forms)).limit(1)) is not None


def opt_out(address: str) -> None:
    """No more messages to ``address`` (the caller commits); what waits for it, claimed by a worker or not, is
    given up too, so that neither a running batch nor a dead worker's claim sends it later."""
    phone = number(address)
    db.session.execute(_insert()(OptOut).values(address=phone, at=clock.now())
                       .on_conflict_do_nothing(index_elements=["address"]))  # the first opt-out's moment stays
    waiting = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.address).where(
        _resident_sms(), OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]),
        OutboxMessage.address.endswith(phone[-4:]))).all()
    ids = [id_ for id_, to in waiting if number(to) == phone]  # the same number, however it was written
    if ids:
        db.session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.id.in_(ids), OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]))
            .values(status=MessageStatus.DEAD, claimed_until=None, last_error=OPTED_OUT))


def stop(address: str, *, actor=None, via: str = "") -> None:
    """Record that ``address`` wants no more messages, audited with who asked for it (``actor``, the clerk the
    resident told) or by what way (``via``, e.g. "sms reply": a reply of TD through the gateway), and commit."""
    if isinstance(actor, str) or not (actor or via):
        # A label passed where the user goes would leave the audit row without its actor.
        raise TypeError("stop() needs actor=<the user> or via=<how it came>, e.g. via='sms reply'")
    opt_out(address)
    audit.record("opt_out", actor=actor, actor_name="" if actor else via, reason=privacy.mask_phone(number(address)))
    unit.commit()


# --- writing ---------------------------------------------------------------------------------------------------

def enqueue(kind: str, channel: MessageChannel, address: str | None, text: str, key: str, *, case=None,
            to_resident: bool = False, subject: str = "") -> bool:
    """Write a message in the transaction under way (the caller commits). False when nothing is to be sent: no
    address, a resident who opted out, or a message with this key already written (an event told once)."""
    address = number(address) if channel is MessageChannel.SMS else (address or "").strip()
    if not address or (to_resident and channel is MessageChannel.SMS and opted_out(address)):
        return False
    now = clock.now()
    written = db.session.execute(
        _insert()(OutboxMessage).values(
            key=key[:120], channel=channel, address=address[:200], subject=subject[:120], text=text[:500], kind=kind,
            to_resident=to_resident, case_id=getattr(case, "id", None), status=MessageStatus.PENDING, attempts=0,
            not_before=after_quiet_hours(now) if to_resident and channel is MessageChannel.SMS else now,
            worker="", last_error="", created_at=now)
        .on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id)).scalar()
    return written is not None


def _insert():
    return postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert


def after_quiet_hours(moment: datetime) -> datetime:
    """``moment``, or the end of the quiet hours it falls in (08:00 local)."""
    local = clock.local(moment)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return moment
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=local.tzinfo).astimezone(moment.tzinfo)


def in_quiet_hours(moment: datetime) -> bool:
    return after_quiet_hours(moment) != moment


def _resident_sms():
    return sa.and_(OutboxMessage.to_resident, OutboxMessage.channel == MessageChannel.SMS)


# --- delivering ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outgoing:
    id: int
    key: str
    channel: MessageChannel
    address: str
    subject: str
    text: str
    to_resident: bool = False

    @property
    def resident_sms(self) -> bool:
        return self.to_resident and self.channel is MessageChannel.SMS


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def check_lease(config) -> None:
    """Refuse a lease that a send could outlast: another worker would take the message while the first still
    waits for the gateway, and send it again."""
    lease, deadline = config["OUTBOX_LEASE_SECONDS"], config["SMS_GATEWAY_TIMEOUT"]
    if lease < deadline + LEASE_MARGIN_SECONDS:
        raise ValueError(f"OUTBOX_LEASE_SECONDS ({lease}) must be at least SMS_GATEWAY_TIMEOUT ({deadline}) + "
                         f"{LEASE_MARGIN_SECONDS} s: a message's lease must outlast the longest a send may take")


def _due(now: datetime, channels: set[MessageChannel]):
    """Pending messages whose time has come, and those whose claim ran out, on channels that can send."""
    return sa.and_(OutboxMessage.channel.in_(channels), sa.or_(
        sa.and_(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.not_before <= now),
        sa.and_(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.claimed_until < now)))


def _unlocked(select: sa.Select) -> sa.Select:
    if db.session.get_bind().dialect.name == "postgresql":
        return select.with_for_update(skip_locked=True)  # rows another worker is claiming are its own
    return select


def claim(worker: str, limit: int = BATCH) -> list[Outgoing]:
    """Claim up to ``limit`` due messages for ``worker`` (and commit the claim): pending ones whose time has
    come, and those whose claim ran out; never a resident's SMS in the quiet hours, nor a message of a channel
    with no gateway. Two workers never claim one message."""
    now, channels = clock.now(), configured()
    if not channels:
        return []
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    due = sa.select(OutboxMessage.id).where(_due(now, channels))
    if in_quiet_hours(now):
        due = due.where(sa.not_(_resident_sms()))
    ids = db.session.scalars(sa.update(OutboxMessage)
                             .where(OutboxMessage.id.in_(_unlocked(due.order_by(OutboxMessage.id).limit(limit))
                                                         .scalar_subquery()))
                             .values(status=MessageStatus.SENDING, claimed_until=now + lease, worker=worker)
                             .returning(OutboxMessage.id)).all()
    rows = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.channel,
                                        OutboxMessage.address, OutboxMessage.subject, OutboxMessage.text,
                                        OutboxMessage.to_resident)
                              .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).all() if ids else []
    db.session.commit()
    return [Outgoing(*row) for row in rows]


def _wait_for_morning(now: datetime) -> int:
    """In the quiet hours, residents' SMS that fell due (or whose claim ran out) wait for 08:00, no attempt
    counted; how many."""
    channels = configured()
    if not in_quiet_hours(now) or MessageChannel.SMS not in channels:
        return 0
    due = _unlocked(sa.select(OutboxMessage.id).where(_due(now, channels), _resident_sms()))
    waiting = db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(due.scalar_subquery()))
                                 .values(status=MessageStatus.PENDING, not_before=after_quiet_hours(now),
                                         claimed_until=None, worker="")).rowcount
    db.session.commit()
    return waiting


def deliver(limit: int = 200, worker: str | None = None) -> dict[str, int]:
    """Send what is due, once each, claiming a few at a time; return how many were sent, will be tried again,
    were given up, wait for the morning, and were stopped by an opt-out. A channel with no gateway sends
    nothing: its messages wait (``unconfigured``)."""
    check_lease(current_app.config)
    worker = worker or worker_name()
    outcome = dict.fromkeys(OUTCOMES, 0)
    outcome["later"] += _wait_for_morning(clock.now())
    claimed = 0
    while claimed < limit and (batch := claim(worker, min(BATCH, limit - claimed))):
        claimed += len(batch)
        for message in batch:
            if (result := _deliver_one(message, worker)) is not None:
                outcome[result] += 1
    return outcome


def _deliver_one(message: Outgoing, worker: str) -> str | None:
    """Check the message at the moment it would go, take its lease, send it, and note the outcome; None when
    it turned out to be another worker's (or given up by an opt-out) meanwhile."""
    now = clock.now()
    if message.resident_sms and opted_out(message.address):
        return "stopped" if _finish(message, worker, status=MessageStatus.DEAD, claimed_until=None,
                                    last_error=OPTED_OUT) else None
    if message.resident_sms and in_quiet_hours(now):
        return "later" if _finish(message, worker, status=MessageStatus.PENDING, claimed_until=None, worker="",
                                  not_before=after_quiet_hours(now)) else None
    if not _renew(message, worker, now):
        return None
    try:
        channel_for(message.channel).send(message)
    except DeliveryError as error:
        return _failed(message, worker, str(error))
    except Exception as error:  # noqa: BLE001 - a broken gateway adapter must not lose the message
        log.exception("sending message %s failed", message.id)
        return _failed(message, worker, f"{error.__class__.__name__}: {error}")
    _sent(message, worker)
    return "sent"


def _sent(message: Outgoing, worker: str) -> None:
    """Note that the message went, also when an opt-out gave it up while it was on its way: it went all the same
    (the record says so), and nothing after it will."""
    db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.worker == worker, sa.or_(
            OutboxMessage.status == MessageStatus.SENDING,
            sa.and_(OutboxMessage.status == MessageStatus.DEAD, OutboxMessage.last_error == OPTED_OUT)))
        .values(status=MessageStatus.SENT, sent_at=clock.now(), claimed_until=None, last_error=""))
    db.session.commit()


def _renew(message: Outgoing, worker: str, now: datetime) -> bool:
    """Take the message for one send: renew its own lease, only if the claim is still this worker's (a batch's
    claim may have run out and been taken by another, or the message given up by an opt-out). The lease then
    outlasts the send (``check_lease``), so no one else takes it meanwhile."""
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    return _finish(message, worker, claimed_until=now + lease)


def _failed(message: Outgoing, worker: str, reason: str) -> str | None:
    attempts = db.session.scalar(sa.select(OutboxMessage.attempts).where(OutboxMessage.id == message.id)) + 1
    db.session.rollback()
    if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        if not _finish(message, worker, status=MessageStatus.DEAD, attempts=attempts, claimed_until=None,
                       last_error=reason[:300]):
            return None
        log.warning("message %s given up after %s attempts: %s", message.id, attempts, reason)
        return "dead"
    again = clock.now() + timedelta(seconds=min(60 * 2 ** (attempts - 1), 3600))
    if message.resident_sms:
        again = after_quiet_hours(again)  # a retry never reaches a resident at night either
    return "retry" if _finish(message, worker, status=MessageStatus.PENDING, attempts=attempts, claimed_until=None,
                              not_before=again, last_error=reason[:300]) else None


def _finish(message: Outgoing, owner: str, /, **values) -> bool:
    """Change the message, if it is still ``owner``'s (a claim that ran out may be another's now, an opt-out
    may have given it up), and commit; whether it was."""
    changed = db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.worker == owner,
        OutboxMessage.status == MessageStatus.SENDING).values(**values)).rowcount == 1
    db.session.commit()
    return changed


def retry(message: OutboxMessage, actor=None) -> datetime | None:
    """Send a given-up message again (an administrator's decision, audited): from now, or for a resident's SMS
    in the quiet hours from 08:00; when it will go, or None if it is not given up (any more). Refused for a
    resident's SMS to a number that opted out."""
    resident_sms = message.to_resident and message.channel is MessageChannel.SMS
    if resident_sms and opted_out(message.address):
        raise DomainError(_l("%(phone)s asked for no more messages (a reply of TD, or said at the counter): the "
                             "message is not sent again.", phone=privacy.mask_phone(message.address)))
    now = clock.now()
    when = after_quiet_hours(now) if resident_sms else now
    again = db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.status == MessageStatus.DEAD)
        .values(status=MessageStatus.PENDING, attempts=0, not_before=when, claimed_until=None, worker="",
                last_error="")).rowcount == 1
    if again:
        audit.record("message_retry", actor=actor, obj=message, actor_name="" if actor else "cli", reason=message.key)
    unit.commit()
    return when if again else None


def counts() -> dict[MessageStatus, int]:
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return {status: 0 for status in MessageStatus} | dict(rows.all())


def troubled(limit: int = 100) -> list[OutboxMessage]:
    """Messages given up, and those waiting after a failure: newest first."""
    return list(db.session.scalars(sa.select(OutboxMessage).where(sa.or_(
        OutboxMessage.status == MessageStatus.DEAD,
        sa.and_(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.attempts > 0)))
        .order_by(OutboxMessage.id.desc()).limit(limit)))


# --- channels --------------------------------------------------------------------------------------------------

def channel_for(channel: MessageChannel):
    """The gateway of ``channel``, or None where none is configured (then its messages wait)."""
    config = current_app.config
    if channel is MessageChannel.EMAIL:
        return SmtpMail(config) if config.get("SMTP_HOST") else None
    return SmsGateway(config) if config.get("SMS_GATEWAY_URL") else None


def configured() -> set[MessageChannel]:
    return {channel for channel in MessageChannel if channel_for(channel) is not None}


def unconfigured() -> dict[MessageChannel, int]:
    """The channels with no gateway configured, and how many messages wait for each (sent once it is)."""
    missing = [channel for channel in MessageChannel if channel not in configured()]
    if not missing:
        return {}
    rows = db.session.execute(sa.select(OutboxMessage.channel, sa.func.count()).where(
        OutboxMessage.channel.in_(missing),
        OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING])).group_by(OutboxMessage.channel))
    return dict.fromkeys(missing, 0) | dict(rows.all())


class Deadline:
    """The whole time one request to a gateway may take: connecting, TLS, sending, and every byte of the answer.
    A socket's timeout bounds each read alone, so a gateway trickling its answer a byte at a time could hold a
    message for ever, past its lease. When the time is up, the connection is shut under whatever call waits on
    it (through a duplicate of the socket, which wrapping it in TLS leaves open)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._watched: list[socket.socket] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            for twin in self._watched:
                twin.close()
            self._watched.clear()

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError(self.reason())
        return left

    def reason(self) -> str:
        return f"no whole answer within {self.seconds:g} s"

    def connect(self, host: str, port: int, source_address=None) -> socket.socket:
        """A TCP connection to ``host``, shut when the time is up."""
        sock = socket.create_connection((host, port), self.remaining(), source_address)
        twin = sock.dup()
        with self._lock:
            self._watched.append(twin)
            if self.expired:
                _shut(twin)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for twin in self._watched:
                _shut(twin)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


class SmsGateway:
    """An HTTP SMS gateway, as configured (each city's differs): ``SMS_GATEWAY_URL`` (http or https, its
    certificate verified), ``SMS_GATEWAY_METHOD``, ``SMS_GATEWAY_FORMAT`` ("json" or "form"),
    ``SMS_GATEWAY_FIELDS`` (the body's fields, each a template of {phone}, {text} and {key}),
    ``SMS_GATEWAY_HEADERS``, ``SMS_GATEWAY_SUCCESS`` ("field=value" in the JSON answer, a dotted path for nested
    fields; empty: any 2xx) and ``SMS_GATEWAY_TIMEOUT`` (seconds for the whole request, answer included)."""

    def __init__(self, config):
        self.config = config

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


class _Smtp(smtplib.SMTP):
    """smtplib's client on a connection made under a deadline, in TLS from its first byte when given a context
    (SMTP over implicit TLS, port 465)."""

    deadline: Deadline

    def __init__(self, timeout: float, tls: ssl.SSLContext | None):
        self.tls = tls
        super().__init__(timeout=timeout)  # no host: it connects under its deadline, below

    def connect(self, host="localhost", port=0, source_address=None):
        # The name STARTTLS checks the certificate against; smtplib notes it only when given it at construction.
        self._host = host
        return super().connect(host, port, source_address)

    def _get_socket(self, host, port, timeout):  # smtplib's one place that opens the connection
        sock = self.deadline.connect(host, port, self.source_address)
        return self.tls.wrap_socket(sock, server_hostname=host) if self.tls else sock


class SmtpMail:
    """E-mail through an SMTP server: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_FROM``, and where the server wants them
    ``SMTP_STARTTLS`` (upgrade the connection) or ``SMTP_SSL`` (TLS from the start), ``SMTP_USER`` and
    ``SMTP_PASSWORD``. The server's certificate is verified against the system's authorities and its name, or
    nothing is sent (a password must not go to whoever answers). The whole exchange takes at most
    ``SMS_GATEWAY_TIMEOUT`` seconds."""

    def __init__(self, config):
        self.config = config

    def send(self, message: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"] = self.config["SMTP_FROM"], message.address
        mail["Subject"] = message.subject or message.text[:40]
        mail["Message-ID"] = f"<{message.key.replace(':', '.')}@{self.config['SMTP_FROM'].rpartition('@')[2] or 'portal'}>"
        mail.set_content(message.text)
        tls = ssl.create_default_context()
        timeout = self.config["SMS_GATEWAY_TIMEOUT"]
        server = _Smtp(timeout, tls if self.config.get("SMTP_SSL") else None)  # asks this host's name first
        with Deadline(timeout) as deadline:
            server.deadline = deadline
            try:
                server.connect(self.config["SMTP_HOST"], self.config["SMTP_PORT"])
                if self.config.get("SMTP_STARTTLS") and not self.config.get("SMTP_SSL"):
                    server.starttls(context=tls)
                if self.config.get("SMTP_USER"):
                    server.login(self.config["SMTP_USER"], self.config["SMTP_PASSWORD"])
                server.send_message(mail)
            except (smtplib.SMTPException, OSError) as error:  # OSError: timeouts, refusals, TLS too
                raise DeliveryError(f"SMTP: {deadline.reason() if deadline.expired else error}") from error
            else:
                _quit(server)
            finally:
                server.close()


def _quit(server: smtplib.SMTP) -> None:
    """Say goodbye; the server took the message already, so a goodbye that fails changes nothing."""
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        server.close()
