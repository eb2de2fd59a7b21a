"""The ways the portal reaches people (SMS, e-mail), each one module behind one interface (``channel.Channel``),
registered here once. The outbox (``portal.domain.platform.outbox``) looks a message's channel up by its stored
value and asks only the interface; senders say whom they tell (``outbox.tell_resident``, ``outbox.tell_user``)
and every registered channel that reaches that person carries it.

A new channel (WeChat, say) is a module here with a subclass of ``Channel`` (its stored value, a member of
``MessageChannel``; the setting that turns it on; where it finds a person's address; its own rules; ``send``),
and one line in ``REGISTERED``.
"""
from __future__ import annotations

from portal.domain.platform.channels import email, sms
from portal.domain.platform.channels.channel import Channel, DeliveryError, Outgoing
from portal.models import MessageChannel

__all__ = ["Channel", "DeliveryError", "Outgoing", "get", "registered"]

# In the order a person's messages of one event are written.
REGISTERED: dict[MessageChannel, type[Channel]] = {channel.key: channel for channel in (sms.Sms, email.Email)}


def get(key: MessageChannel) -> type[Channel]:
    """The channel whose messages are stored under ``key``."""
    return REGISTERED[key]


def registered() -> list[type[Channel]]:
    return list(REGISTERED.values())
