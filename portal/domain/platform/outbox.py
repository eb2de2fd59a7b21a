"""Messages that always arrive: the transactional outbox.

A message (a resident's receipt, a reminder to staff) is written to ``outbox`` in the same transaction as the
event that causes it, so it exists exactly when the event does. ``flask deliver`` (cron, every minute, on as
many hosts as there are) claims due messages, each by exactly one worker (a conditional UPDATE; on PostgreSQL
with SKIP LOCKED), sends them outside any transaction, and notes the outcome:

- sent: ``sent_at``;
- failed (an error, a timeout, an answer that does not say success): tried again after 1, 2, 4… minutes (at
  most an hour), up to ``OUTBOX_MAX_ATTEMPTS`` times, then given up ("dead", listed for administrators);
- a worker that dies mid-send leaves its claim to run out (``OUTBOX_LEASE_SECONDS``, longer than a
  gateway's timeout), and the message is claimed again: delivery is at least once, and every message
  carries its key to the gateway (and as the e-mail's Message-ID) so that a repeat can be recognised.

No SMS reaches a resident in quiet hours (21:00–08:00): it waits for the morning. A resident's number that
opted out (``OptOut``) is sent nothing. Texts are short, in Chinese, with the resident's name masked.
"""
from __future__ import annotations

import json
import logging
import os
import smtplib
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from email.message import EmailMessage

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain.platform import audit, privacy, unit
from portal.extensions import db
from portal.models import MessageChannel, MessageStatus, OptOut, OutboxMessage

log = logging.getLogger("portal.outbox")

QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)


class DeliveryError(Exception):
    """The gateway did not take the message (the reason is kept with it)."""


# --- writing ---------------------------------------------------------------------------------------------------

def enqueue(kind: str, channel: MessageChannel, address: str | None, text: str, key: str, *, case=None,
            to_resident: bool = False, subject: str = "") -> bool:
    """Write a message in the transaction under way (the caller commits). False when nothing is to be sent: no
    address, a resident who opted out, or a message with this key already written (an event told once)."""
    address = (address or "").strip()
    if not address or (to_resident and opted_out(address)):
        return False
    now = clock.now()
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    written = db.session.execute(
        insert(OutboxMessage).values(
            key=key[:120], channel=channel, address=address[:200], subject=subject[:120], text=text[:500], kind=kind,
            to_resident=to_resident, case_id=getattr(case, "id", None), status=MessageStatus.PENDING, attempts=0,
            not_before=after_quiet_hours(now) if to_resident and channel is MessageChannel.SMS else now,
            worker="", last_error="", created_at=now)
        .on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id)).scalar()
    return written is not None


def after_quiet_hours(moment: datetime) -> datetime:
    """``moment``, or the end of the quiet hours it falls in (08:00 local)."""
    local = clock.local(moment)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return moment
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=local.tzinfo).astimezone(moment.tzinfo)


def opted_out(address: str) -> bool:
    return db.session.get(OptOut, address.strip()) is not None


def opt_out(address: str) -> None:
    """No more messages to ``address`` (the caller commits); what waits for it is not sent either."""
    address = address.strip()
    if not opted_out(address):
        db.session.add(OptOut(address=address, at=clock.now()))
    db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.address == address, OutboxMessage.to_resident, OutboxMessage.status == MessageStatus.PENDING)
        .values(status=MessageStatus.DEAD, last_error="opted out"))


def stop(address: str, actor=None, via: str = "") -> None:
    """Record that ``address`` wants no more messages (a reply of TD, or said to a clerk), audited, and commit."""
    opt_out(address)
    audit.record("opt_out", actor=actor, actor_name="" if actor else via, reason=privacy.mask_phone(address))
    unit.commit()


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


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim(worker: str, limit: int = 50) -> list[Outgoing]:
    """Claim up to ``limit`` due messages for ``worker`` (and commit the claim): pending ones whose time has
    come, and those whose claim ran out. Two workers never claim one message."""
    now = clock.now()
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    due = (sa.select(OutboxMessage.id).where(sa.or_(
        sa.and_(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.not_before <= now),
        sa.and_(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.claimed_until < now)))
        .order_by(OutboxMessage.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = db.session.scalars(sa.update(OutboxMessage).where(OutboxMessage.id.in_(due.scalar_subquery()))
                             .values(status=MessageStatus.SENDING, claimed_until=now + lease, worker=worker)
                             .returning(OutboxMessage.id)).all()
    rows = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.channel,
                                        OutboxMessage.address, OutboxMessage.subject, OutboxMessage.text,
                                        OutboxMessage.to_resident)
                              .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).all() if ids else []
    db.session.commit()
    return [Outgoing(*row) for row in rows]


def deliver(limit: int = 50, worker: str | None = None) -> dict[str, int]:
    """Send what is due, once each; return how many were sent, will be tried again, and were given up."""
    worker = worker or worker_name()
    outcome = {"sent": 0, "retry": 0, "dead": 0}
    for message in claim(worker, limit):
        try:
            channel_for(message.channel).send(message)
        except DeliveryError as error:
            outcome[_failed(message, worker, str(error))] += 1
        except Exception as error:  # noqa: BLE001 - a broken gateway adapter must not lose the message
            log.exception("sending message %s failed", message.id)
            outcome[_failed(message, worker, f"{error.__class__.__name__}: {error}")] += 1
        else:
            _finish(message, worker, status=MessageStatus.SENT, sent_at=clock.now(), claimed_until=None,
                    last_error="")
            outcome["sent"] += 1
    return outcome


def _failed(message: Outgoing, worker: str, reason: str) -> str:
    attempts = db.session.scalar(sa.select(OutboxMessage.attempts).where(OutboxMessage.id == message.id)) + 1
    db.session.rollback()
    if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        _finish(message, worker, status=MessageStatus.DEAD, attempts=attempts, claimed_until=None,
                last_error=reason[:300])
        log.warning("message %s given up after %s attempts: %s", message.id, attempts, reason)
        return "dead"
    again = clock.now() + timedelta(seconds=min(60 * 2 ** (attempts - 1), 3600))
    if message.to_resident and message.channel is MessageChannel.SMS:
        again = after_quiet_hours(again)  # a retry never reaches a resident at night either
    _finish(message, worker, status=MessageStatus.PENDING, attempts=attempts, claimed_until=None,
            not_before=again, last_error=reason[:300])
    return "retry"


def _finish(message: Outgoing, worker: str, **values) -> None:
    """Note the outcome, if the message is still this worker's (a claim that ran out may be another's now)."""
    db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.worker == worker,
        OutboxMessage.status == MessageStatus.SENDING).values(**values))
    db.session.commit()


def retry(message: OutboxMessage, actor=None) -> bool:
    """Send a given-up message again from now (an administrator's decision, audited); False if it is not given
    up (any more)."""
    again = db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.status == MessageStatus.DEAD)
        .values(status=MessageStatus.PENDING, attempts=0, not_before=clock.now(), last_error="")).rowcount == 1
    if again:
        audit.record("message_retry", actor=actor, obj=message, actor_name="" if actor else "cli", reason=message.key)
    unit.commit()
    return again


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
    config = current_app.config
    if channel is MessageChannel.EMAIL:
        return SmtpMail(config) if config.get("SMTP_HOST") else LogOnly("email")
    return SmsGateway(config) if config.get("SMS_GATEWAY_URL") else LogOnly("sms")


class LogOnly:
    """Where no gateway is configured (the demo): the message goes to the application log."""

    def __init__(self, name: str):
        self.name = name

    def send(self, message: Outgoing) -> None:
        log.info("%s to %s (%s): %s", self.name, message.address[:3] + "****", message.key, message.text)


class SmsGateway:
    """An HTTP SMS gateway, as configured (each city's differs): ``SMS_GATEWAY_URL``, ``SMS_GATEWAY_METHOD``,
    ``SMS_GATEWAY_FORMAT`` ("json" or "form"), ``SMS_GATEWAY_FIELDS`` (the body's fields, each a template of
    {phone}, {text} and {key}), ``SMS_GATEWAY_HEADERS``, ``SMS_GATEWAY_SUCCESS`` ("field=value" in the JSON
    answer, a dotted path for nested fields; empty: any 2xx) and ``SMS_GATEWAY_TIMEOUT`` (seconds)."""

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
        request = urllib.request.Request(self.config["SMS_GATEWAY_URL"], data=data,
                                         method=self.config["SMS_GATEWAY_METHOD"],
                                         headers={"Content-Type": content_type, **self.config["SMS_GATEWAY_HEADERS"]})
        try:
            with urllib.request.urlopen(request, timeout=self.config["SMS_GATEWAY_TIMEOUT"]) as response:  # noqa: S310
                answer = response.read(65536)
        except urllib.error.HTTPError as error:
            raise DeliveryError(f"HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise DeliveryError(f"no answer: {getattr(error, 'reason', error)}") from error
        success = self.config["SMS_GATEWAY_SUCCESS"]
        if success:
            path, _, expected = success.partition("=")
            try:
                value = json.loads(answer)
                for part in path.split("."):
                    value = value[part]
            except (ValueError, KeyError, TypeError) as error:
                raise DeliveryError(f"unreadable answer: {answer[:100]!r}") from error
            if str(value) != expected:
                raise DeliveryError(f"refused: {path}={value}")


class SmtpMail:
    """E-mail through an SMTP server: ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_FROM``, and where the server wants them
    ``SMTP_STARTTLS``, ``SMTP_USER`` and ``SMTP_PASSWORD``."""

    def __init__(self, config):
        self.config = config

    def send(self, message: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"] = self.config["SMTP_FROM"], message.address
        mail["Subject"] = message.subject or message.text[:40]
        mail["Message-ID"] = f"<{message.key.replace(':', '.')}@{self.config['SMTP_FROM'].rpartition('@')[2] or 'portal'}>"
        mail.set_content(message.text)
        try:
            with smtplib.SMTP(self.config["SMTP_HOST"], self.config["SMTP_PORT"],
                              timeout=self.config["SMS_GATEWAY_TIMEOUT"]) as server:
                if self.config.get("SMTP_STARTTLS"):
                    server.starttls()
                if self.config.get("SMTP_USER"):
                    server.login(self.config["SMTP_USER"], self.config["SMTP_PASSWORD"])
                server.send_message(mail)
        except (smtplib.SMTPException, OSError) as error:
            raise DeliveryError(f"SMTP: {error}") from error
