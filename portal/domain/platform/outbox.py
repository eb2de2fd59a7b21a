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
- By day. A channel may hold its messages back (``Channel.not_before``: no SMS reaches a resident in the quiet
  hours, 21:00–08:00 local): asked when a message is written, when it is claimed, right before it is sent, when
  it is retried and when an administrator resends it. One held back waits without counting as an attempt.
- Never after TD. A number that opted out (``OptOut``, compared in the one canonical form of
  ``privacy.normalise_phone``) is written nothing by the channels its opt-out concerns (``Channel.opt_outs``:
  SMS); what waits for it, claimed or not, is given up when it opts out, checked again right before sending, and
  an administrator cannot resend it.
- Nothing pretends. A channel with no gateway configured (``Channel.setting``: no ``SMS_GATEWAY_URL``, no
  ``SMTP_HOST``) sends nothing and marks nothing: its messages wait, untouched, and ``flask deliver`` and the
  administrators' messages page say so.

This queue knows no channel by name: it looks each message's channel up in ``portal.domain.platform.channels``
and asks only its interface (address, rules, send). Texts are short, in Chinese, with the resident's name masked.
"""
from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql, sqlite

from portal import clock
from portal.domain import DomainError
from portal.domain.platform import audit, channels, privacy, unit
from portal.domain.platform.channels import Channel, DeliveryError, Outgoing
from portal.extensions import db
from portal.models import Case, MessageChannel, MessageStatus, OptOut, OutboxMessage, User

log = logging.getLogger("portal.outbox")

# A claim takes this many messages at most: the lease that matters is each message's own (renewed just before
# it is sent), and small claims let the workers of several hosts share a long queue.
BATCH = 10
# How much longer than the gateway's whole deadline a lease must be: room for the bookkeeping around a send and
# for hosts whose clocks differ by a few seconds.
LEASE_MARGIN_SECONDS = 30
OUTCOMES = ("sent", "retry", "dead", "later", "stopped")
OPTED_OUT = "opted out"
WITHDRAWN = "withdrawn"  # given up because it is no longer true (``withdraw``): never trouble, never sent again


# --- numbers and opting out ------------------------------------------------------------------------------------

def number(address: str | None) -> str:
    """The form an opt-out's number is kept and compared in: "+86 139 3524 9848" and "13935249848" are one
    number."""
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
        _stopped_by_opt_outs(), OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]),
        OutboxMessage.address.endswith(phone[-4:]))).all()
    ids = [id_ for id_, to in waiting if number(to) == phone]  # the same number, however it was written
    if ids:
        db.session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.id.in_(ids), OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]))
            .values(status=MessageStatus.DEAD, claimed_until=None, last_error=OPTED_OUT))


def withdraw(case: Case, kinds: tuple[str, ...]) -> int:
    """Give up the messages of these kinds that still wait to tell the resident of ``case`` something no longer
    true (a visit moved or cancelled: its booking, its reminder, a booking link), in the transaction under way: those
    waiting and those claimed by a worker and not yet sent (its lease is renewed only while a message is SENDING, so
    it skips them; one whose send has begun goes, and is recorded as sent). They are not listed as trouble and cannot
    be sent again. How many were given up."""
    return unit.write(sa.update(OutboxMessage).where(
        OutboxMessage.case_id == case.id, OutboxMessage.kind.in_(kinds),
        OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]))
        .values(status=MessageStatus.DEAD, claimed_until=None, last_error=WITHDRAWN)).rowcount


def stop(address: str, *, actor=None, via: str = "") -> None:
    """Record that ``address`` wants no more messages, audited with who asked for it (``actor``, the clerk the
    resident told) or by what way (``via``, e.g. "sms reply": a reply of TD through the gateway), and commit."""
    if isinstance(actor, str) or not (actor or via):
        # A label passed where the user goes would leave the audit row without its actor.
        raise TypeError("stop() needs actor=<the user> or via=<how it came>, e.g. via='sms reply'")
    opt_out(address)
    audit.record("opt_out", actor=actor, actor_name="" if actor else via, reason=privacy.mask_phone(number(address)))
    unit.end_step()


# --- writing ---------------------------------------------------------------------------------------------------

def tell_resident(kind: str, case: Case, text: str, key: str) -> bool:
    """Write ``text`` to the resident of ``case`` by each channel that reaches them (today: an SMS to the case's
    phone), in the transaction under way; whether anything was written (see ``enqueue``)."""
    written = [enqueue(kind, channel.key, channel.of_resident(case), text, key + channel.key_suffix, case=case,
                       to_resident=True) for channel in channels.registered()]
    return any(written)


def tell_user(kind: str, user: User, text: str, key: str, *, case: Case | None = None, subject: str = "") -> bool:
    """Write ``text`` to a colleague by each channel that reaches them (an SMS to their phone, an e-mail to their
    address, where they have them), in the transaction under way; whether anything was written."""
    written = [enqueue(kind, channel.key, channel.of_user(user), text, key + channel.key_suffix, case=case,
                       subject=subject) for channel in channels.registered()]
    return any(written)


def enqueue(kind: str, channel: MessageChannel, address: str | None, text: str, key: str, *, case=None,
            to_resident: bool = False, subject: str = "") -> bool:
    """Write a message in the transaction under way (the caller commits). False when nothing is to be sent: no
    address, a resident who opted out, or a message with this key already written (an event told once)."""
    rules = channels.get(channel)
    address = rules.address(address)
    if not address:
        return False
    now = clock.now()
    values = {"key": key[:120], "channel": channel, "address": address[:200],
              "subject": subject[:120] if rules.subjects else "", "text": text[:500], "kind": kind,
              "to_resident": to_resident, "case_id": getattr(case, "id", None), "status": MessageStatus.PENDING,
              "attempts": 0, "not_before": rules.not_before(now, to_resident), "worker": "", "last_error": "",
              "created_at": now}
    # A resident's message by a channel an opt-out concerns: one INSERT … SELECT that writes nothing for a number
    # that opted out (no look-up of its own); its forms as ``opted_out`` compares them.
    guarded = to_resident and rules.opt_outs
    parameters = {f"v_{name}": value for name, value in values.items()}
    if guarded:
        parameters["forms"] = sorted({number(address), address.strip()} - {""})
    written = unit.write(_enqueue(db.session.get_bind().dialect.name, guarded), parameters).scalar()
    return written is not None


@functools.cache
def _enqueue(dialect: str, guarded: bool) -> sa.Insert:
    """The INSERT of a message (made once): skipped when its key was written already, and, ``guarded``, when its
    number opted out."""
    table = OutboxMessage.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {name: sa.bindparam(f"v_{name}", type_=table.c[name].type) for name in _MESSAGE_COLUMNS}
    if guarded:
        row = sa.select(*values.values()).where(
            ~sa.exists().where(OptOut.address.in_(sa.bindparam("forms", expanding=True))))
        statement = insert(table).from_select(list(values), row)
    else:
        statement = insert(table).values(values)
    return statement.on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)


_MESSAGE_COLUMNS = ("key", "channel", "address", "subject", "text", "kind", "to_resident", "case_id", "status",
                    "attempts", "not_before", "worker", "last_error", "created_at")


def _insert():
    return postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _stops(rules: type[Channel], address: str) -> bool:
    """Whether a resident's opt-out stops a message to ``address`` by this channel."""
    return rules.opt_outs and opted_out(address)


def _stopped_by_opt_outs():
    """Residents' messages by the channels an opt-out concerns."""
    return sa.and_(OutboxMessage.to_resident,
                   OutboxMessage.channel.in_([channel.key for channel in channels.registered() if channel.opt_outs]))


def _held_back(now: datetime) -> list[tuple[MessageChannel, sa.ColumnElement[bool], datetime]]:
    """What the channels hold back at ``now`` (a resident's SMS in the quiet hours): for each channel and kind of
    recipient held back, its messages as a condition and the moment they may go."""
    held = []
    for channel in channels.registered():
        for to_resident in (True, False):
            if (until := channel.not_before(now, to_resident)) > now:
                recipient = OutboxMessage.to_resident if to_resident else sa.not_(OutboxMessage.to_resident)
                held.append((channel.key, sa.and_(recipient, OutboxMessage.channel == channel.key), until))
    return held


# --- delivering ------------------------------------------------------------------------------------------------

def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def check_lease(config) -> None:
    """Refuse a lease that a send could outlast: another worker would take the message while the first still
    waits for the gateway, and send it again."""
    lease = config["OUTBOX_LEASE_SECONDS"]
    for setting in dict.fromkeys(channel.deadline_setting for channel in channels.registered()):
        if lease < (deadline := config[setting]) + LEASE_MARGIN_SECONDS:
            raise ValueError(f"OUTBOX_LEASE_SECONDS ({lease}) must be at least {setting} ({deadline}) + "
                             f"{LEASE_MARGIN_SECONDS} s: a message's lease must outlast the longest a send may take")


def _due(now: datetime, sending: set[MessageChannel]):
    """Pending messages whose time has come, and those whose claim ran out, on channels that can send."""
    return sa.and_(OutboxMessage.channel.in_(sending), sa.or_(
        sa.and_(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.not_before <= now),
        sa.and_(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.claimed_until < now)))


def _unlocked(select: sa.Select) -> sa.Select:
    if db.session.get_bind().dialect.name == "postgresql":
        return select.with_for_update(skip_locked=True)  # rows another worker is claiming are its own
    return select


def claim(worker: str, limit: int = BATCH) -> list[Outgoing]:
    """Claim up to ``limit`` due messages for ``worker`` (and commit the claim): pending ones whose time has
    come, and those whose claim ran out; never one its channel holds back now (a resident's SMS in the quiet
    hours), nor a message of a channel with no gateway. Two workers never claim one message."""
    now, sending = clock.now(), configured()
    if not sending:
        return []
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    due = sa.select(OutboxMessage.id).where(_due(now, sending))
    if held := _held_back(now):
        due = due.where(sa.not_(sa.or_(*(which for _channel, which, _until in held))))
    ids = db.session.scalars(sa.update(OutboxMessage)
                             .where(OutboxMessage.id.in_(_unlocked(due.order_by(OutboxMessage.id).limit(limit))
                                                         .scalar_subquery()))
                             .values(status=MessageStatus.SENDING, claimed_until=now + lease, worker=worker)
                             .returning(OutboxMessage.id)).all()
    rows = db.session.execute(sa.select(OutboxMessage.id, OutboxMessage.key, OutboxMessage.channel,
                                        OutboxMessage.address, OutboxMessage.subject, OutboxMessage.text,
                                        OutboxMessage.to_resident)
                              .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).all() if ids else []
    unit.end_step()
    return [Outgoing(*row) for row in rows]


def _postpone_held_back(now: datetime) -> int:
    """Messages that fell due (or whose claim ran out) while their channel holds them back (residents' SMS in the
    quiet hours) wait until it lets them go (08:00), no attempt counted; how many."""
    sending = configured()
    held = [(which, until) for channel, which, until in _held_back(now) if channel in sending]
    if not held:
        return 0
    waiting = 0
    for which, until in held:
        due = _unlocked(sa.select(OutboxMessage.id).where(_due(now, sending), which))
        waiting += db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id.in_(due.scalar_subquery()))
                                      .values(status=MessageStatus.PENDING, not_before=until, claimed_until=None,
                                              worker="")).rowcount
    unit.end_step()
    return waiting


def deliver(limit: int = 200, worker: str | None = None) -> dict[str, int]:
    """Send what is due, once each, claiming a few at a time; return how many were sent, will be tried again,
    were given up, wait for the morning, and were stopped by an opt-out. A channel with no gateway sends
    nothing: its messages wait (``unconfigured``)."""
    check_lease(current_app.config)
    worker = worker or worker_name()
    outcome = dict.fromkeys(OUTCOMES, 0)
    outcome["later"] += _postpone_held_back(clock.now())
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
    now, rules = clock.now(), channels.get(message.channel)
    if message.to_resident and _stops(rules, message.address):
        return "stopped" if _finish(message, worker, status=MessageStatus.DEAD, claimed_until=None,
                                    last_error=OPTED_OUT) else None
    if (until := rules.not_before(now, message.to_resident)) > now:
        return "later" if _finish(message, worker, status=MessageStatus.PENDING, claimed_until=None, worker="",
                                  not_before=until) else None
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
            sa.and_(OutboxMessage.status == MessageStatus.DEAD, OutboxMessage.last_error.in_([OPTED_OUT, WITHDRAWN]))))
        .values(status=MessageStatus.SENT, sent_at=clock.now(), claimed_until=None, last_error=""))
    unit.end_step()


def _renew(message: Outgoing, worker: str, now: datetime) -> bool:
    """Take the message for one send: renew its own lease, only if the claim is still this worker's (a batch's
    claim may have run out and been taken by another, or the message given up by an opt-out). The lease then
    outlasts the send (``check_lease``), so no one else takes it meanwhile."""
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    return _finish(message, worker, claimed_until=now + lease)


def _failed(message: Outgoing, worker: str, reason: str) -> str | None:
    attempts = db.session.scalar(sa.select(OutboxMessage.attempts).where(OutboxMessage.id == message.id)) + 1
    unit.abandon()
    if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        if not _finish(message, worker, status=MessageStatus.DEAD, attempts=attempts, claimed_until=None,
                       last_error=reason[:300]):
            return None
        log.warning("message %s given up after %s attempts: %s", message.id, attempts, reason)
        return "dead"
    again = clock.now() + timedelta(seconds=min(60 * 2 ** (attempts - 1), 3600))
    # A retry keeps the channel's rules too: never a resident's SMS at night.
    again = channels.get(message.channel).not_before(again, message.to_resident)
    return "retry" if _finish(message, worker, status=MessageStatus.PENDING, attempts=attempts, claimed_until=None,
                              not_before=again, last_error=reason[:300]) else None


def _finish(message: Outgoing, owner: str, /, **values) -> bool:
    """Change the message, if it is still ``owner``'s (a claim that ran out may be another's now, an opt-out
    may have given it up), and commit; whether it was."""
    changed = db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.worker == owner,
        OutboxMessage.status == MessageStatus.SENDING).values(**values)).rowcount == 1
    unit.end_step()
    return changed


def retry(message: OutboxMessage, actor=None) -> datetime | None:
    """Send a given-up message again (an administrator's decision, audited): from now, or for a resident's SMS
    in the quiet hours from 08:00; when it will go, or None if it is not given up (any more). Refused for a
    resident's SMS to a number that opted out."""
    rules = channels.get(message.channel)
    if message.last_error == WITHDRAWN:
        raise DomainError(_l("This message was withdrawn because what it said is no longer true (the visit was "
                             "moved or cancelled); it is not sent again."))
    if message.to_resident and _stops(rules, message.address):
        raise DomainError(_l("%(phone)s asked for no more messages (a reply of TD, or said at the counter): the "
                             "message is not sent again.", phone=privacy.mask_phone(message.address)))
    now = clock.now()
    when = rules.not_before(now, message.to_resident)
    again = db.session.execute(sa.update(OutboxMessage).where(
        OutboxMessage.id == message.id, OutboxMessage.status == MessageStatus.DEAD)
        .values(status=MessageStatus.PENDING, attempts=0, not_before=when, claimed_until=None, worker="",
                last_error="")).rowcount == 1
    if again:
        audit.record("message_retry", actor=actor, obj=message, actor_name="" if actor else "cli", reason=message.key)
    unit.end_step()
    return when if again else None


def counts() -> dict[MessageStatus, int]:
    rows = db.session.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status))
    return {status: 0 for status in MessageStatus} | dict(rows.all())


def troubled(limit: int = 100) -> list[OutboxMessage]:
    """Messages given up (not those withdrawn: ``withdraw``), and those waiting after a failure: newest first."""
    return list(db.session.scalars(sa.select(OutboxMessage).where(sa.or_(
        sa.and_(OutboxMessage.status == MessageStatus.DEAD, OutboxMessage.last_error != WITHDRAWN),
        sa.and_(OutboxMessage.status == MessageStatus.PENDING, OutboxMessage.attempts > 0)))
        .order_by(OutboxMessage.id.desc()).limit(limit)))


# --- channels --------------------------------------------------------------------------------------------------

def channel_for(channel: MessageChannel) -> Channel | None:
    """What sends the messages of ``channel`` with this application's settings, or None where it is not
    configured (then its messages wait)."""
    config = current_app.config
    sender = channels.get(channel)
    return sender(config) if sender.configured(config) else None


def configured() -> set[MessageChannel]:
    return {channel.key for channel in channels.registered() if channel_for(channel.key) is not None}


def unconfigured() -> dict[MessageChannel, int]:
    """The channels with no gateway configured, and how many messages wait for each (sent once it is)."""
    sending = configured()
    missing = [channel.key for channel in channels.registered() if channel.key not in sending]
    if not missing:
        return {}
    rows = db.session.execute(sa.select(OutboxMessage.channel, sa.func.count()).where(
        OutboxMessage.channel.in_(missing),
        OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.SENDING])).group_by(OutboxMessage.channel))
    return dict.fromkeys(missing, 0) | dict(rows.all())
