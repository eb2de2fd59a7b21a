"""What the outbox asks of a channel (SMS, e-mail): the one interface each channel's module implements.

A channel is a class. Its rules are the class's own and need no settings: the form its addresses are kept and
compared in, where a resident's or a colleague's address is found, when a message may go (an SMS to a resident
waits out the quiet hours), whether a resident's opt-out stops it. An instance, made with the application's
settings once the channel is ``configured``, sends one message at a time within a whole deadline. The generic
queue (``portal.domain.platform.outbox``: claiming, leases, retries, opt-outs, counts) asks only this.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from portal.models import Case, MessageChannel, User


class DeliveryError(Exception):
    """The gateway did not take the message (the reason is kept with it)."""


@dataclass(frozen=True)
class Outgoing:
    """A message claimed by a worker, as a channel sends it."""

    id: int
    key: str
    channel: MessageChannel
    address: str
    subject: str
    text: str
    to_resident: bool = False


class Channel:
    """One way of reaching people. A subclass names its stored value (``key``, a member of ``MessageChannel``),
    the setting without which it sends nothing (``setting``), and overrides what differs below."""

    key: ClassVar[MessageChannel]
    # The setting that turns the channel on; without it its messages wait (``flask deliver`` and the messages page
    # say so).
    setting: ClassVar[str]
    # The setting of the most seconds one send may take, connecting and the whole answer included: a worker's
    # lease on a message must outlast it.
    deadline_setting: ClassVar[str] = "SMS_GATEWAY_TIMEOUT"
    # Added to the key of the event a message tells of, so that one event goes once by each channel (the first
    # channel, SMS, adds nothing: the keys written before there was a second stay what they were).
    key_suffix: ClassVar[str] = ""
    # Whether a resident's opt-out (a reply of TD, a clerk's 停发短信: both name a phone number) stops this
    # channel's messages to residents.
    opt_outs: ClassVar[bool] = False
    # Whether a message keeps a subject line (an SMS has none).
    subjects: ClassVar[bool] = False

    def __init__(self, config):
        self.config = config

    @classmethod
    def configured(cls, config) -> bool:
        """Whether the settings say where to send (else nothing is sent, nor marked)."""
        return bool(config.get(cls.setting))

    @staticmethod
    def address(raw: str | None) -> str:
        """The form an address is stored and compared in ("" when there is none)."""
        return (raw or "").strip()

    @staticmethod
    def of_resident(case: Case) -> str | None:
        """Where this channel reaches the resident of ``case``; None where it does not reach residents."""
        return None

    @staticmethod
    def of_user(user: User) -> str | None:
        """Where this channel reaches a colleague (their own contact details); None where it does not."""
        return None

    @staticmethod
    def not_before(moment: datetime, to_resident: bool) -> datetime:
        """The earliest a message may go, asked at ``moment``: ``moment`` itself, unless the channel holds its
        messages back then (quiet hours)."""
        return moment

    def send(self, message: Outgoing) -> None:
        """Hand ``message`` to the gateway within the whole deadline (``deadline_setting``), its key with it so a
        repeat can be recognised there; raise ``DeliveryError`` when it was not taken."""
        raise NotImplementedError
